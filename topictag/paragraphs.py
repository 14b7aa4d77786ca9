"""Split an article into paragraphs that keep their place in the original text."""

from __future__ import annotations

import operator
import re
import unicodedata
from dataclasses import dataclass

from topictag.defaults import MAX_PARAGRAPH_CHARS
from topictag.normalize import without_format_characters

#: A line's text: from a character that is not white space to the line's end.
_TEXT_LINE = re.compile(r"\S[^\r\n]*")
_NEWLINES = re.compile(r"\r\n?")


@dataclass(frozen=True)
class Paragraph:
    """One paragraph: its position in the article and its text.

    ``original[start:end]`` is the paragraph as it stands in the original text; ``text`` is
    the same with its line endings normalised to ``\\n``.
    """

    index: int
    start: int
    end: int
    text: str


def normalize_newlines(text: str) -> str:
    """Turn CRLF and CR line endings into LF."""
    return _NEWLINES.sub("\n", text)


def _line_breaks(gap: str) -> int:
    """The line breaks in ``gap``, a CRLF counting as one."""
    return gap.count("\n") + gap.count("\r") - gap.count("\r\n")


def has_text(chunk: str) -> bool:
    """Whether ``chunk`` holds a character other than white space and format characters
    (zero-width spaces and joiners, soft hyphens, bidi marks: the ones normalisation drops).
    A line of only those is blank: a page that separates its paragraphs with a zero-width
    space must not join them, nor give a paragraph with nothing to tag."""
    stripped = chunk.strip()
    if not stripped:
        return False
    first = stripped[0]
    if first < "\x80" or unicodedata.category(first) != "Cf":  # nearly every line: at once
        return True
    # A line led by a bidi mark (right-to-left text) decides on its next character; a run of
    # format characters is translated away.
    second = stripped[1:2]
    if (
        second
        and not second.isspace()
        and (second < "\x80" or unicodedata.category(second) != "Cf")
    ):
        return True
    return bool(without_format_characters(stripped).strip())


def count_paragraphs(text: str) -> int:
    """The number of paragraphs :func:`split_paragraphs` gives before long ones are cut, counted
    line by line without building any: a cheap first check of a text of very many lines."""
    blocks = lines = 0
    previous = None
    crlf = "\r" in text
    for match in _TEXT_LINE.finditer(text):  # blank lines are skipped inside the expression
        if has_text(match.group()):
            start, end = match.span()
            gap = text[previous:start] if previous is not None else ""
            lines += 1
            blocks += previous is None or (_line_breaks(gap) if crlf else gap.count("\n")) >= 2
            previous = end
    return blocks if blocks > 1 else lines


def paragraphs_over(text: str, limit: int) -> int | None:
    """How many paragraphs ``text`` has when that is over ``limit``, else None; counted only
    when its line breaks allow that many, so an ordinary text costs two ``str.count``."""
    if text.count("\n") + text.count("\r") < limit:
        return None
    count = count_paragraphs(text)
    return count if count > limit else None


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    chunk = text[start:end]
    left = len(chunk) - len(chunk.lstrip())
    right = len(chunk.rstrip())
    return start + left, start + right


def _cut(start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Cut a span longer than ``limit`` characters into consecutive pieces of ``limit``."""
    return [(s, min(s + limit, end)) for s in range(start, end, limit)]


def split_paragraphs(text: str, max_chars: int = MAX_PARAGRAPH_CHARS) -> list[Paragraph]:
    """Split ``text`` into paragraphs.

    Paragraphs are blocks of lines separated by blank lines (white space and format
    characters only; see :func:`has_text`). A text with
    no blank line between its lines is taken as one paragraph per line. Surrounding
    whitespace is stripped. A paragraph longer than ``max_chars`` is cut into pieces of
    ``max_chars`` characters, so that one huge line cannot exhaust memory downstream.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    if isinstance(max_chars, bool) or not hasattr(max_chars, "__index__") or max_chars < 1:
        raise ValueError(f"max_chars must be a whole number of at least 1, not {max_chars!r}")
    max_chars = operator.index(max_chars)  # a numpy integer too
    # The lines with text; blank ones are skipped inside the expression, never built (a text
    # of millions of empty lines costs no memory).
    found = [m.span() for m in _TEXT_LINE.finditer(text)]  # each opens on a non-space
    lines = [(s, e) for s, e in found if text[s] < "\x80" or has_text(text[s:e])]
    if not lines:
        return []
    crlf = "\r" in text
    blocks: list[list[tuple[int, int]]] = [[lines[0]]]
    for prev, line in zip(lines, lines[1:]):
        gap = text[prev[1] : line[0]]
        if (_line_breaks(gap) if crlf else gap.count("\n")) >= 2:  # a blank line between
            blocks.append([line])
        else:
            blocks[-1].append(line)
    if len(blocks) == 1:
        blocks = [[line] for line in lines]

    spans: list[tuple[int, int]] = []
    for block in blocks:
        start, end = _strip_span(text, block[0][0], block[-1][1])
        if end - start <= max_chars:  # its lines are not blank: the block is text
            spans.append((start, end))
            continue
        spans.extend(
            span for span in _cut(start, end, max_chars) if has_text(text[span[0] : span[1]])
        )
    if not crlf:
        return [Paragraph(i, s, e, text[s:e]) for i, (s, e) in enumerate(spans)]
    return [
        Paragraph(index=i, start=s, end=e, text=normalize_newlines(text[s:e]))
        for i, (s, e) in enumerate(spans)
    ]
