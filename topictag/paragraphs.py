"""Split an article into paragraphs that keep their place in the original text."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from topictag.defaults import MAX_PARAGRAPH_CHARS
from topictag.normalize import without_format_characters

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")
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


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of every line's content, line terminators excluded (a text that ends with
    a line break may end with an empty line)."""
    spans = []
    if "\r" not in text:  # the common case, without a regular expression
        start = 0
        for line in text.split("\n"):
            spans.append((start, start + len(line)))
            start += len(line) + 1
        return spans
    for match in _LINE.finditer(text):
        if match.start() == len(text) and spans:
            break
        line = match.group().rstrip("\r\n")
        spans.append((match.start(), match.start() + len(line)))
    return spans


#: Characters of a line that :func:`has_text` looks at one by one before translating the rest.
_LOOKED_AT = 64


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
    # A line led by bidi marks (right-to-left text) decides a few characters on; only a long
    # run of format characters is translated away.
    for char in stripped[1:_LOOKED_AT]:
        if not char.isspace() and (char < "\x80" or unicodedata.category(char) != "Cf"):
            return True
    return bool(without_format_characters(stripped[_LOOKED_AT:]).strip())


def count_paragraphs(text: str) -> int:
    """The number of paragraphs :func:`split_paragraphs` gives before long ones are cut, counted
    line by line without building any: a cheap first check of a text of very many lines."""
    blocks = lines = 0
    blank = True
    for match in _LINE.finditer(text):
        if has_text(match.group()):
            lines += 1
            blocks += blank
            blank = False
        else:
            blank = True
    return blocks if blocks > 1 else lines


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
    lines = [span for span in _lines(text) if has_text(text[span[0] : span[1]])]
    if not lines:
        return []
    crlf = "\r" in text
    blocks: list[list[tuple[int, int]]] = [[lines[0]]]
    for prev, line in zip(lines, lines[1:]):
        gap = text[prev[1] : line[0]]
        if crlf:
            gap = _NEWLINES.sub("\n", gap)
        if gap.count("\n") >= 2:  # a blank line between them
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
