"""Splitting an article into paragraphs."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topictag.normalize import without_format_characters
from topictag.paragraphs import has_text, normalize_newlines, split_paragraphs


def test_blocks_separated_by_blank_lines():
    text = "Title\n\nFirst line\nstill first.\n\n\nSecond."
    assert [p.text for p in split_paragraphs(text)] == [
        "Title",
        "First line\nstill first.",
        "Second.",
    ]


def test_whitespace_only_lines_count_as_blank():
    assert len(split_paragraphs("one\n  \t\ntwo")) == 2


def test_lines_of_format_characters_only_count_as_blank():
    """A zero-width space, joiner, soft hyphen or bidi mark alone on a line separates
    paragraphs (pages use one to keep an empty <p>), and is never a paragraph of its own."""
    text = "First.\n\u200b\nSecond.\n\n\u200c\u00ad \u2067\n\nThird \u200bword."
    assert [p.text for p in split_paragraphs(text)] == ["First.", "Second.", "Third \u200bword."]
    assert split_paragraphs("\u200b\u200b\n\n\ufeff") == []


#: Spaces, format characters (zero-width, bidi, soft hyphen, BOM) and a few letters.
_BLANKISH = st.text(
    st.sampled_from(" \t\u00a0\u3000\u200b\u200c\u200f\u00ad\u2067\ufeffa\u05d0"),
    max_size=200,
)


@given(_BLANKISH)
def test_a_line_has_text_when_something_is_left_without_spaces_and_format_characters(line):
    assert has_text(line) == bool(without_format_characters(line).strip())


def test_a_right_to_left_line_led_by_bidi_marks_has_text():
    assert has_text("\u200f\u200f\u05e9\u05dc\u05d5\u05dd")
    assert has_text("\u200b" * 500 + "x") and not has_text("\u200b \u200f" * 500)


def test_crlf_and_cr_are_normalised():
    for sep in ("\r\n", "\r"):
        text = f"a{sep}b{sep}{sep}c"
        assert [p.text for p in split_paragraphs(text)] == ["a\nb", "c"]


def test_one_paragraph_per_line_without_blank_lines():
    assert [p.text for p in split_paragraphs("one\ntwo\nthree")] == ["one", "two", "three"]


def test_surrounding_whitespace_is_stripped_and_offsets_point_at_the_text():
    text = "  \n\n   Hello there.  \n\n"
    (p,) = split_paragraphs(text)
    assert p.text == "Hello there."
    assert text[p.start : p.end] == "Hello there."


def test_empty_and_blank_text_has_no_paragraphs():
    assert split_paragraphs("") == []
    assert split_paragraphs(" \n\t\n \u00a0 ") == []


def test_long_paragraph_is_cut_to_the_limit():
    parts = split_paragraphs("x" * 25, max_chars=10)
    assert [len(p.text) for p in parts] == [10, 10, 5]
    assert [p.index for p in parts] == [0, 1, 2]


@given(st.text())
def test_offsets_slice_the_original_text(text):
    paragraphs = split_paragraphs(text)
    for i, p in enumerate(paragraphs):
        assert p.index == i
        assert normalize_newlines(text[p.start : p.end]) == p.text
        assert p.text == p.text.strip() and p.text
    starts = [p.start for p in paragraphs]
    assert starts == sorted(starts)


@given(st.text())
def test_splitting_is_deterministic(text):
    assert split_paragraphs(text) == split_paragraphs(text)


LINES = st.text(alphabet=st.sampled_from(["a", "é", " ", "\t", "\n", "\u2028", "\x0b", "\x85"]))


@given(LINES, st.sampled_from(["\r\n", "\r"]))
def test_line_endings_never_change_the_paragraphs(text, ending):
    """LF text is split without regular expressions, CRLF and CR text with them: the two
    ways give the same paragraphs, and each keeps its offsets into its own text. (Pieces of
    an over-long paragraph are cut by characters of the original text, line endings
    included, so only paragraphs under the limit are compared.)"""
    plain = split_paragraphs(text)
    other = text.replace("\n", ending)
    converted = split_paragraphs(other)
    assert [p.text for p in converted] == [p.text for p in plain]
    for p in converted:
        assert normalize_newlines(other[p.start : p.end]) == p.text


@given(
    st.text(
        alphabet=st.sampled_from(["a", "b", " ", "\t", "\n", "\r", "\u200b", "\u00e9"]), max_size=80
    )
)
def test_count_paragraphs_counts_what_split_paragraphs_gives(text):
    """The cheap count (no paragraph built) agrees with the split, long paragraphs uncut."""
    from topictag.paragraphs import count_paragraphs

    assert count_paragraphs(text) == len(split_paragraphs(text, max_chars=10**9))


@pytest.mark.parametrize("max_chars", [0, -1, 2.5, True, None])
def test_a_paragraph_length_that_is_not_a_positive_whole_number_is_refused(max_chars):
    """0 raised range()'s own error and -1 returned no paragraph: the text was dropped."""
    with pytest.raises(ValueError, match="max_chars must be a whole number of at least 1"):
        split_paragraphs("Gas flows.", max_chars=max_chars)


def test_a_numpy_integer_is_a_paragraph_length():
    import numpy as np

    assert [p.text for p in split_paragraphs("abcdef", max_chars=np.int64(4))] == ["abcd", "ef"]
