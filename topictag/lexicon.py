"""Topic term lists: counted as extra model features and used as the keyword baseline.

Pure Python on purpose: the portable scorer and the scikit-learn transformer share
:func:`count_terms`, so both compute the very same numbers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from topictag.errors import LabelError

LEXICON_FILE = "lexicon.toml"

#: Per topic: (case-sensitive terms, case-insensitive terms, phrases that hide terms).
Patterns = list[tuple["re.Pattern[str] | None", "re.Pattern[str] | None", "re.Pattern[str] | None"]]

#: A term written with this prefix is an exclusion: a phrase in which the topic's terms do not
#: count ("!tear gas" keeps "gas" in "tear gas" from counting for gas).
NOT = "!"


def load_lexicon(labels_dir: Path, topics: Sequence[str]) -> dict[str, list[str]]:
    """Term lists from ``labels_dir/lexicon.toml``: topic -> terms, then the topic's ``not``
    phrases prefixed with ``!``. Empty if there is no file."""
    path = Path(labels_dir) / LEXICON_FILE
    if not path.exists():
        return {}
    from topictag.topics import read_toml

    data = read_toml(path)
    lexicon: dict[str, list[str]] = {}
    for topic, table in data.items():
        if topic not in topics:
            raise LabelError(f"{path}: unknown topic {topic!r}; allowed: {', '.join(topics)}")
        terms = table.get("terms") if isinstance(table, dict) else None
        if not isinstance(terms, list) or not all(_is_term(t) for t in terms):
            raise LabelError(f"{path}: [{topic}] needs terms = a list of strings")
        hidden = table.get("not", [])
        if not isinstance(hidden, list) or not all(_is_term(t) for t in hidden):
            raise LabelError(f"{path}: [{topic}] not = must be a list of strings")
        lexicon[topic] = terms + [NOT + t for t in hidden]
    return lexicon


def _is_term(term: object) -> bool:
    return isinstance(term, str) and bool(term.strip()) and not term.startswith(NOT)


def _alternation(terms: Sequence[str], flags: int) -> re.Pattern[str] | None:
    if not terms:
        return None
    ordered = sorted(set(terms), key=lambda t: (-len(t), t))  # longest first; no set order
    body = "|".join(re.escape(t) for t in ordered)
    return re.compile(rf"(?<![\w-])(?:{body})(?![\w-])", flags)


def compile_lexicon(lexicon: Mapping[str, Sequence[str]], topics: Sequence[str]) -> Patterns:
    """One (case-sensitive, case-insensitive, exclusion) pattern triple per topic, in
    ``topics`` order.

    A term with a capital letter matches case-sensitively; any other term ignores case. A
    term matches only as a whole word: not inside another word, nor joined to one by a hyphen
    ("oil" does not match "non-oil" or "oil-rich"). A term written ``!phrase`` is an
    exclusion (any case): the topic's terms inside that phrase do not count.
    """
    patterns: Patterns = []
    for topic in topics:
        terms = [t for t in lexicon.get(topic, []) if not t.startswith(NOT)]
        hidden = [t[len(NOT) :] for t in lexicon.get(topic, []) if t.startswith(NOT)]
        exact = [t for t in terms if t != t.lower()]
        loose = [t for t in terms if t == t.lower()]
        patterns.append(
            (
                _alternation(exact, 0),
                _alternation(loose, re.IGNORECASE),
                _alternation(hidden, re.IGNORECASE),
            )
        )
    return patterns


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group())


def term_matches(patterns: tuple, text: str) -> list[re.Match[str]]:
    """The occurrences of one topic's terms in ``text``, outside its exclusion phrases
    (offsets are those of ``text``)."""
    exact, loose, hidden = patterns
    if hidden is not None:
        text = hidden.sub(_blank, text)
    return [m for pattern in (exact, loose) if pattern is not None for m in pattern.finditer(text)]


def count_terms(patterns: Patterns, text: str) -> list[int]:
    """How many term occurrences of each topic ``text`` contains."""
    return [len(term_matches(p, text)) for p in patterns]


def term_features(patterns: Patterns, text: str) -> list[float]:
    """The lexicon feature of each topic: log(1 + number of term occurrences)."""
    return [math.log1p(n) for n in count_terms(patterns, text)]


def keyword_hits(
    lexicon: Mapping[str, Sequence[str]], topics: Sequence[str], texts: Sequence[str]
) -> list[list[bool]]:
    """The keyword baseline: per text, each topic whenever one of its terms occurs."""
    patterns = compile_lexicon(lexicon, topics)
    return [[n > 0 for n in count_terms(patterns, text)] for text in texts]
