"""Page furniture: the link lists, tag lines, subscription appeals and breadcrumbs a page
wraps around an article ("Related: ...", "Most read: 1. ...", "Tags: ...", "Home > Energy").

The labelling guidelines give such lines no topic even when they carry topical headlines,
and a bag of words cannot tell a linked headline from the article's own sentence. A model
trained with ``furniture`` (the default) recognises them by how they open and gives them no
topic. Its markers are written into the model, so it tags as it was measured.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from topictag import defaults

#: What follows a marker: a colon, bar or arrow, a numbered list, or the end of the text.
_AFTER_MARKER = r"(?:\s*(?:[:|>»›→–—]|$)|\s+\d+[.)]\s)"


def furniture_settings(
    markers: Sequence[str] = defaults.FURNITURE_MARKERS,
    openers: Sequence[str] = defaults.FURNITURE_OPENERS,
) -> dict[str, list[str]]:
    """The markers as a model records them (regular expressions, matched ignoring case)."""
    return {"markers": list(markers), "openers": list(openers)}


def compile_furniture(settings: dict[str, list[str]]) -> re.Pattern[str]:
    """One pattern that matches at the start of a furniture paragraph, past any leading
    punctuation."""
    markers = "|".join(settings["markers"])
    openers = "|".join(settings["openers"])
    return re.compile(rf"[\W_]*(?:(?:{markers}){_AFTER_MARKER}|(?:{openers}))", re.IGNORECASE)


def furniture_rows(texts: Sequence[str], pattern: re.Pattern[str]) -> list[bool]:
    """Which of ``texts`` are page furniture."""
    return [pattern.match(text) is not None for text in texts]
