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

Patterns = list[tuple["re.Pattern[str] | None", "re.Pattern[str] | None"]]


def load_lexicon(labels_dir: Path, topics: Sequence[str]) -> dict[str, list[str]]:
    """Term lists from ``labels_dir/lexicon.toml``: topic -> terms. Empty if there is no file."""
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
        if not isinstance(terms, list) or not all(isinstance(t, str) and t for t in terms):
            raise LabelError(f"{path}: [{topic}] needs terms = a list of strings")
        lexicon[topic] = terms
    return lexicon


def _alternation(terms: Sequence[str], flags: int) -> re.Pattern[str] | None:
    if not terms:
        return None
    ordered = sorted(set(terms), key=len, reverse=True)
    body = "|".join(re.escape(t) for t in ordered)
    return re.compile(rf"(?<![\w-])(?:{body})(?![\w-])", flags)


def compile_lexicon(lexicon: Mapping[str, Sequence[str]], topics: Sequence[str]) -> Patterns:
    """One (case-sensitive, case-insensitive) pattern pair per topic, in ``topics`` order.

    A term with a capital letter matches case-sensitively; any other term ignores case. A
    term matches only as a whole word: not inside another word, nor joined to one by a hyphen
    ("oil" does not match "non-oil" or "oil-rich").
    """
    patterns: Patterns = []
    for topic in topics:
        terms = lexicon.get(topic, [])
        exact = [t for t in terms if t != t.lower()]
        loose = [t for t in terms if t == t.lower()]
        patterns.append((_alternation(exact, 0), _alternation(loose, re.IGNORECASE)))
    return patterns


def count_terms(patterns: Patterns, text: str) -> list[int]:
    """How many term occurrences of each topic ``text`` contains."""
    counts = []
    for exact, loose in patterns:
        n = 0
        if exact is not None:
            n += sum(1 for _ in exact.finditer(text))
        if loose is not None:
            n += sum(1 for _ in loose.finditer(text))
        counts.append(n)
    return counts


def term_features(patterns: Patterns, text: str) -> list[float]:
    """The lexicon feature of each topic: log(1 + number of term occurrences)."""
    return [math.log1p(n) for n in count_terms(patterns, text)]
