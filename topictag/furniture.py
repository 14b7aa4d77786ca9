"""Page furniture: the link lists, tag lines, subscription appeals and breadcrumbs a page
wraps around an article ("Related: ...", "Most read: 1. ...", "Tags: ...", "Home > Energy").

The labelling guidelines give such lines no topic even when they carry topical headlines,
and a bag of words cannot tell a linked headline from the article's own sentence. A model
trained with ``furniture`` (the default) recognises them by how they open, in a paragraph no
longer than furniture gets, and gives them no topic. Its rule is written into the model, so
it tags as it was measured.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from topictag import defaults

#: What follows a marker: a colon, bar or arrow, a numbered list, or the end of the text.
_AFTER_MARKER = r"(?:\s*(?:[:|>»›→–—]|$)|\s+\d+[.)]\s)"


@dataclass(frozen=True)
class Furniture:
    """The rule: ``rule(text)`` says whether a paragraph is page furniture."""

    pattern: re.Pattern[str]
    #: Longer paragraphs are text whatever they open with (a page without paragraph breaks
    #: can put a breadcrumb and the whole article in one); None for no limit.
    max_chars: int | None = None

    def __call__(self, text: str) -> bool:
        if self.max_chars is not None and len(text) > self.max_chars:
            return False
        return self.pattern.match(text) is not None


def furniture_settings(
    markers: Sequence[str] = defaults.FURNITURE_MARKERS,
    openers: Sequence[str] = defaults.FURNITURE_OPENERS,
    max_chars: int | None = defaults.FURNITURE_MAX_CHARS,
) -> dict:
    """The rule as a model records it (markers and openers are regular expressions, matched
    ignoring case)."""
    return {"markers": list(markers), "openers": list(openers), "max_chars": max_chars}


def compile_furniture(settings: dict) -> Furniture:
    """The rule of recorded ``settings``: one pattern that matches at the start of a furniture
    paragraph, past any leading punctuation, and the length limit."""
    markers = "|".join(settings["markers"])
    openers = "|".join(settings["openers"])
    max_chars = settings.get("max_chars")
    if max_chars is not None and (not isinstance(max_chars, int) or max_chars < 0):
        raise TypeError(f"max_chars must be a whole number, not {max_chars!r}")
    pattern = re.compile(rf"[\W_]*(?:(?:{markers}){_AFTER_MARKER}|(?:{openers}))", re.IGNORECASE)
    return Furniture(pattern, max_chars)


def furniture_rows(texts: Sequence[str], rule: Furniture) -> list[bool]:
    """Which of ``texts`` are page furniture."""
    return [rule(text) for text in texts]
