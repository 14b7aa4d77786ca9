"""Is this text English? A cheap check, so the tagger can say when its topics mean little.

The model knows English words only; Russian, Azerbaijani or Kazakh text gets scores near the
topics' base rates, which look like confident "no topic" answers. The rule: a text of at least
``MIN_WORDS`` words is taken as not English when most of its letters are not Latin or when
more than ``MAX_ACCENTED_SHARE`` of its words carry letters outside ASCII (Azerbaijani, Turkish,
Uzbek in Latin script); a text of
at least ``MIN_WORDS_FUNCTION`` words also when fewer than ``MIN_FUNCTION_SHARE`` of its words
are common English function words (English news prose runs at 30-45%; headlines, which drop
them, are shorter than that).
"""

from __future__ import annotations

import re

MIN_WORDS = 8
MIN_WORDS_FUNCTION = 25
MAX_ACCENTED_SHARE = 0.2
MIN_FUNCTION_SHARE = 0.10
#: Only the start of a long text is looked at, so the check costs the same for any size.
SAMPLE_CHARS = 20_000

_WORD = re.compile(r"[^\W\d_]+")
_FUNCTION_WORDS = frozenset(
    "a an the of in on at to for from by with as and or but not no is are was were be been has "
    "have had will would can could may might must should it its this that these those which who "
    "whom whose what when where while than then there their they them he she his her we our you "
    "your i into over under after before between about also such more most other some any all "
    "said says if so up out per new two one".split()
)


def english_check(text: str) -> tuple[bool, str]:
    """(looks English, the reason when it does not)."""
    words = _WORD.findall(text[:SAMPLE_CHARS])
    if len(words) < MIN_WORDS:
        return True, ""
    letters = [c for w in words for c in w]
    latin = sum(1 for c in letters if c.isascii() or "\u00c0" <= c <= "\u024f")
    if latin < len(letters) / 2:
        return False, f"most letters are not Latin ({100 * latin // len(letters)}% Latin)"
    accented = sum(1 for w in words if not w.isascii()) / len(words)
    if accented > MAX_ACCENTED_SHARE:
        return False, f"{accented:.0%} of words have non-English letters"
    share = sum(1 for w in words if w.lower() in _FUNCTION_WORDS) / len(words)
    if len(words) >= MIN_WORDS_FUNCTION and share < MIN_FUNCTION_SHARE:
        return False, f"only {share:.0%} of words are common English words"
    return True, ""
