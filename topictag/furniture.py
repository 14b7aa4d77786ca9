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
import unicodedata
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
        if self.pattern.match(text) is not None:
            return True
        head = text[:FOLDED_CHARS]
        if head.isascii() or not _FOLDABLE.search(head):
            return False  # nothing to fold: the common case, kept fast
        return self.pattern.match(fold_opening(head)) is not None


#: How much of a paragraph's opening is folded to look for a marker written oddly.
FOLDED_CHARS = 200
#: Characters that hide a marker from the pattern: soft hyphen, zero-width characters,
#: full-width forms. (Odd spaces and curly apostrophes the pattern itself allows.)
_FOLDABLE = re.compile("[\u00ad\u200b-\u200d\u2060\ufeff\uff01-\uff5e]")


def fold_opening(text: str) -> str:
    """``text`` with compatibility forms folded (full-width letters) and soft hyphens and
    zero-width characters dropped: "Re\u00adlated:" and "\uff32elated:" read as "Related:"."""
    return _FOLDABLE.sub("", unicodedata.normalize("NFKC", text))


def _tolerant(regex: str) -> str:
    """A marker's regular expression with each space matching any run of whitespace (a
    no-break space, two spaces, a tab) and each apostrophe a curly one too."""
    return regex.replace(" ", r"\s+").replace("'", "['\u2018\u2019]")


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
    markers = "|".join(map(_tolerant, settings["markers"]))
    openers = "|".join(map(_tolerant, settings["openers"]))
    max_chars = settings.get("max_chars")
    if max_chars is not None and (not isinstance(max_chars, int) or max_chars < 0):
        raise TypeError(f"max_chars must be a whole number, not {max_chars!r}")
    pattern = re.compile(rf"[\W_]*(?:(?:{markers}){_AFTER_MARKER}|(?:{openers}))", re.IGNORECASE)
    return Furniture(pattern, max_chars)


def furniture_rows(texts: Sequence[str], rule: Furniture) -> list[bool]:
    """Which of ``texts`` are page furniture."""
    return [rule(text) for text in texts]
