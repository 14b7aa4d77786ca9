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


@given(
    st.floats(0, 1),
    st.one_of(st.integers(0, 10**6).map(lambda n: n / 10**6), st.floats(0, 1)),
)
def test_the_table_s_figures_read_as_the_decision_went(score, threshold):
    """A score is tagged when, to 6 decimals, it reaches its threshold; the table's figures
    must say the same, so 0.998547 at a threshold of 1 is not shown as 1.00."""
    from topictag.render import score_and_threshold

    tagged = round(score, 6) >= threshold
    shown, cut = score_and_threshold(score, threshold, tagged)
    assert (float(shown) >= float(cut)) == tagged
    assert len(shown.split(".")[1]) >= 2 and not cut.startswith("-")


def test_two_decimals_where_they_are_enough_and_no_minus_zero():
    from topictag.render import score_and_threshold

    assert score_and_threshold(0.998547, 1.0, False) == ("0.999", "1.000")
    assert score_and_threshold(0.71, 0.45, True) == ("0.71", "0.45")
    assert score_and_threshold(0.5, -0.0, True) == ("0.50", "0.00")
    assert score_and_threshold(0.9986841, 0.9986842, False) == ("0.998684", "0.9986842")


def test_tag_explain_shows_escape_sequences_in_evidence_words_as_text(tmp_path, use_model):
    """An evidence term is a whole word of the text: `oil\\x1b[8mpipeline` went to the
    terminal raw, and ESC [8m hid everything after it."""
    path = tmp_path / "inj.txt"
    path.write_text("EU sanctions on Rosneft oil\x1b[8mpipeline\x9b2J exports\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["tag", str(path), "--explain"])
    assert result.exit_code == 0, result.output
    assert not CONTROLS.intersection(result.stdout.replace("\n", ""))
    evidence = [line for line in result.stdout.splitlines() if "(+" in line]
    assert any("oil\\x1b[8mpipeline\\x9b2j (+" in line for line in evidence), result.stdout
