"""Text for people on a terminal: one line per paragraph preview, and nothing in an article
(escape sequences, bidirectional overrides) that the terminal would obey."""

from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from topictag.cli import app
from topictag.errors import CONTROLS
from topictag.render import preview

HOSTILE = "Oil \x1b]0;title\x07 prices \x1b[2J fell \x9b31m; \u202eevil\tend"


@given(st.text(), st.integers(min_value=2, max_value=200))
def test_a_preview_is_one_line_within_its_width_and_obeys_nothing(text, width):
    shown = preview(text, width)
    assert len(shown) <= width
    assert not CONTROLS.intersection(shown)


def test_a_preview_escapes_control_characters_instead_of_dropping_them():
    assert preview(HOSTILE, 200) == (
        "Oil \\x1b]0;title\\x07 prices \\x1b[2J fell \\x9b31m; \\u202eevil end"
    )
    assert preview("a  b\n\nc", 70) == "a b c"
    assert preview("x" * 80, 10) == "x" * 9 + "…"


def test_tag_paragraphs_shows_an_article_s_escape_sequences_as_text(tmp_path, use_model):
    path = tmp_path / "a.txt"
    path.write_text(f"Gas exports rose.\n\n{HOSTILE}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["tag", str(path), "--paragraphs"])
    assert result.exit_code == 0
    assert not CONTROLS.intersection(result.stdout.replace("\n", ""))
    assert "\\x1b]0;title\\x07" in result.stdout
