"""Errors are one line: what the CLI prints after ``error:`` and what Python code reads."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topictag import load_model
from topictag.errors import CONTROLS, ModelError, TopictagError, counted, listed, one_line


@given(st.text())
def test_one_line_leaves_no_line_break_or_control_character_and_is_idempotent(text):
    line = one_line(text)
    assert not CONTROLS.intersection(line)
    assert one_line(line) == line


def test_text_without_control_characters_is_unchanged():
    assert one_line("seeds/a.txt: no such file") == "seeds/a.txt: no such file"


def test_an_error_quoting_a_name_with_a_line_break_is_still_one_line():
    """load_model("path\\n") used to raise a message of two lines."""
    with pytest.raises(ModelError) as caught:
        load_model("path\n")
    assert str(caught.value).startswith("path\\n: ")
    assert "\n" not in str(caught.value)
    assert str(TopictagError("a\x1b[31mb")) == "a\\x1b[31mb"


@pytest.mark.parametrize("n, text", [(0, "0 rows"), (1, "1 row"), (1200, "1,200 rows")])
def test_counted_agrees_in_number(n, text):
    assert counted(n, "row") == text


def test_a_list_of_names_in_a_message_is_bounded():
    """A header of 50,000 columns, or a column name of 300 MB, made an error line that size."""
    assert listed(["id", "body"]) == "id, body"
    assert listed([f"c{i}" for i in range(50_000)]) == (
        "c0, c1, c2, c3, c4, c5, c6, c7, c8, c9 and 49,990 more"
    )
    assert listed(["a" * 300_000_000]) == "a" * 39 + "…"


def test_a_corpus_without_its_text_column_names_a_few_columns(tmp_path, model_dir):
    from topictag.batch import tag_corpus

    source = tmp_path / "wide.csv"
    source.write_text(",".join(f"col{i}" for i in range(50_000)) + "\n" + "x," * 49_999 + "x\n")
    with pytest.raises(TopictagError) as failure:
        tag_corpus(source, tmp_path / "out.jsonl", model=model_dir)
    assert str(failure.value) == (
        f"{source}: no column 'text' (columns: col0, col1, col2, col3, col4, col5, col6, col7, "
        "col8, col9 and 49,990 more); name the text column with --text-field"
    )
