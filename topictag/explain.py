"""Why a topic: the words that pushed its score up, and what the model learned per topic.

A topic's linear score for a paragraph is the sum, over the paragraph's features, of the
feature's value (TF-IDF weight, or lexicon count) times the topic's coefficient for it, plus an
intercept: :meth:`PortableModel.contributions` gives these products. Evidence turns them into
words a reader recognises:

- a word n-gram stays as it is (``"new sanctions"``), written as in the text;
- a character n-gram (``" sanc"``) is shared among the whitespace-separated words of the
  paragraph that contain it, in proportion to how often each does, and the word gets the sum
  (``"sanctions"``); punctuation at a word's edges is not part of it;
- a lexicon feature (``lexicon:sanctions``) is shared equally among the lexicon terms it
  counted in the paragraph.

Contributions landing on the same (lowercased) term are added up; the terms with the largest
positive sums are the evidence, each with the character spans where it occurs in the text.
When the model normalises its texts (``topictag.normalize``), the features and terms are those
of the normalised text and the spans are mapped back into the original one. Plain numpy and
``re``: explanations do not load scikit-learn.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence

import numpy as np

from topictag.lexicon import term_matches
from topictag.normalize import aligned, normalize
from topictag.scorer import PortableModel, char_wb_ngrams

#: Evidence items kept per topic and paragraph.
DEFAULT_TOP_K = 5

_TOKEN = re.compile(r"\S+")
_CORE = re.compile(r"\w(?:.*\w)?", re.S)


def _block_contributions(
    model: PortableModel, text: str, topic: int
) -> Iterator[tuple[object, np.ndarray, np.ndarray]]:
    """(block, feature indices within the block, value times coefficient) for each block: the
    terms of :meth:`PortableModel.contributions`, with the block each comes from."""
    if model.normalize:
        text = normalize(text, model.normalize)
    for block in model.blocks:
        index, value = block.features(text)
        offset = block.offset  # type: ignore[attr-defined]
        yield block, index, model.coef[topic, index + offset] * value


def _word_spans(block, text: str) -> dict[str, list[tuple[int, int]]]:
    """Where each word n-gram of ``text`` occurs: n-gram -> [(start, end), ...]."""
    lower = block.settings["lowercase"]
    tokens = [
        (m.group().lower() if lower else m.group(), m.start(), m.end())
        for m in block.token_pattern.finditer(text)
    ]
    low, high = block.settings["ngram_range"]
    out: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for n in range(low, high + 1):
        for i in range(len(tokens) - n + 1):
            gram = " ".join(t[0] for t in tokens[i : i + n])
            out[gram].append((tokens[i][1], tokens[i + n - 1][2]))
    return out


def _word_of(token: re.Match[str]) -> tuple[str, int, int]:
    """A whitespace token without the punctuation at its edges, nor a possessive 's, so that
    "Russia's" and "Russia" are one term: (text, start, end)."""
    core = _CORE.search(token.group())
    if core is None:
        return token.group(), token.start(), token.end()
    word, end = core.group(), core.end()
    if len(word) > 2 and word[-2] in "'’" and word[-1] in "sS":
        word, end = word[:-2], end - 2
    return word, token.start() + core.start(), token.start() + end


class _Terms:
    """Contributions summed per lowercased term, with the spans where each term occurs."""

    def __init__(self) -> None:
        self.weight: dict[str, float] = defaultdict(float)
        self.spans: dict[str, set[tuple[int, int]]] = defaultdict(set)

    def add(self, term: str, weight: float, spans: Sequence[tuple[int, int]] = ()) -> None:
        key = term.lower()
        self.weight[key] += weight
        self.spans[key].update(spans)

    def top(self, k: int) -> list[dict]:
        ranked = sorted(
            ((w, t) for t, w in self.weight.items() if w > 0), key=lambda x: (-x[0], x[1])
        )
        return [
            {"term": t, "weight": round(w, 6), "spans": [list(s) for s in sorted(self.spans[t])]}
            for w, t in ranked[:k]
        ]


def _add_char_block(terms: _Terms, block, text: str, index, weights) -> None:
    low, high = block.settings["ngram_range"]
    lower = block.settings["lowercase"]
    names = block.settings["vocabulary"]
    wanted = {names[j]: float(w) for j, w in zip(index.tolist(), weights.tolist()) if w}
    if not wanted:
        return
    # Which words of the paragraph hold each n-gram, and how many times.
    holders: dict[str, list[tuple[tuple[str, int, int], int]]] = defaultdict(list)
    for token in _TOKEN.finditer(text):
        raw = token.group().lower() if lower else token.group()
        counts = Counter(g for g in char_wb_ngrams(raw, (low, high)) if g in wanted)
        if counts:
            word = _word_of(token)
            for gram, count in counts.items():
                holders[gram].append((word, count))
    for gram, weight in wanted.items():
        total = sum(count for _, count in holders[gram])
        for (word, start, end), count in holders[gram]:
            terms.add(word, weight * count / total, [(start, end)])


def _add_lexicon_block(terms: _Terms, block, text: str, index, weights) -> None:
    for j, weight in zip(index.tolist(), weights.tolist()):
        matches = term_matches(block.patterns[j], text)
        for m in matches:
            terms.add(m.group(), weight / len(matches), [(m.start(), m.end())])


def evidence(
    model: PortableModel, text: str, topic: int | str, k: int = DEFAULT_TOP_K
) -> list[dict]:
    """The ``k`` terms of ``text`` that pushed ``topic`` up most: ``{"term", "weight",
    "spans"}`` each, strongest first. ``weight`` is the term's contribution to the topic's
    linear score (its log-odds): the sum of its features' values times their coefficients,
    so the weights of all terms plus the intercept give the score. ``spans`` are
    ``[start, end]`` character offsets into ``text``, the original text even when the model
    normalises it."""
    j = model.topics.index(topic) if isinstance(topic, str) else int(topic)
    original = text
    if model.normalize:
        text, starts, ends = aligned(original, model.normalize)
    terms = _Terms()
    for block, index, weights in _block_contributions(model, text, j):
        if not len(index):
            continue
        if block.kind == "lexicon":
            _add_lexicon_block(terms, block, text, index, weights)
        elif block.settings["analyzer"] == "word":
            spans = _word_spans(block, text)
            names = block.settings["vocabulary"]
            for i, w in zip(index.tolist(), weights.tolist()):
                where = spans.get(names[i], ())
                # An n-gram skips one-letter tokens ("putin’s state" -> "putin state"): show
                # it as it stands in the text.
                shown = " ".join(text[where[0][0] : where[0][1]].split()) if where else names[i]
                terms.add(shown, w, where)
        else:
            _add_char_block(terms, block, text, index, weights)
    items = terms.top(k)
    if text is not original:
        for item in items:
            item["spans"] = [_original_span(original, starts, ends, a, b) for a, b in item["spans"]]
    return items


def _original_span(text: str, starts: list[int], ends: list[int], a: int, b: int) -> list[int]:
    """The span of ``text`` that the span ``[a, b)`` of its normalised form comes from, without
    format characters at its end (a soft hyphen after the word)."""
    start, end = starts[a], ends[b - 1]
    while end > start + 1 and unicodedata.category(text[end - 1]) == "Cf":
        end -= 1
    return [start, end]


def explain(
    model: PortableModel, text: str, topics: Sequence[str], k: int = DEFAULT_TOP_K
) -> dict[str, list[dict]]:
    """Evidence for each of ``topics`` (topic -> list, see :func:`evidence`)."""
    return {t: evidence(model, text, t, k) for t in topics}


def _feature_names(model: PortableModel) -> list[tuple[str, str]]:
    """(kind, name) of every column of the model: kind is word, char or lexicon."""
    out = []
    for block in model.blocks:
        if block.kind == "lexicon":
            out += [("lexicon", f"lexicon:{t}") for t in block.settings["topics"]]
        else:
            out += [(block.settings["analyzer"], v) for v in block.settings["vocabulary"]]
    return [("char" if kind == "char_wb" else kind, name) for kind, name in out]


def shown(kind: str, name: str) -> str:
    """A feature name for people: character n-grams quoted, so their spaces show."""
    return f'"{name}"' if kind == "char" else name


def top_terms(model: PortableModel, n: int = 10) -> dict[str, dict[str, list[dict]]]:
    """The ``n`` largest and ``n`` most negative coefficients of each topic:
    ``{topic: {"for": [...], "against": [...]}}``, items ``{"feature", "kind", "weight"}``."""
    names = _feature_names(model)
    out = {}
    for j, topic in enumerate(model.topics):
        coef = model.coef[j]
        columns = np.arange(len(coef))
        top = [i for i in np.lexsort((columns, -coef))[:n] if coef[i] > 0]
        bottom = [i for i in np.lexsort((columns, coef))[:n] if coef[i] < 0]
        out[topic] = {
            side: [
                {"feature": names[i][1], "kind": names[i][0], "weight": round(float(coef[i]), 6)}
                for i in picked
            ]
            for side, picked in (("for", top), ("against", bottom))
        }
    return out


def top_terms_table(terms: dict[str, dict[str, list[dict]]]) -> str:
    """:func:`top_terms` as text: one block per topic, strongest first."""
    lines = []
    for topic, sides in terms.items():
        lines.append(topic)
        for side, items in sides.items():
            cells = ", ".join(f"{shown(x['kind'], x['feature'])} {x['weight']:+.2f}" for x in items)
            lines.append(f"  {side + ':':<9}{cells or '-'}")
    return "\n".join(lines)
