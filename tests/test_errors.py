"""Errors are one line: what the CLI prints after ``error:`` and what Python code reads."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topictag import load_model
from topictag.errors import CONTROLS, ModelError, TopictagError, counted, one_line


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
