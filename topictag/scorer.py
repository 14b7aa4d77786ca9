"""Score texts with the pickle-free model, in plain numpy: no scikit-learn, no scipy.

It reproduces the fitted pipeline step by step: scikit-learn's word and ``char_wb``
tokenisation and n-grams, sublinear TF-IDF with L2 normalisation per block, the lexicon
counts, and one logistic regression per topic. A test checks that both give the same
probabilities.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from topictag.artifact import PORTABLE_JSON, PORTABLE_NPZ, read_metrics, verified_path
from topictag.errors import ModelError
from topictag.lexicon import compile_lexicon, term_features

_WHITE_SPACES = re.compile(r"\s\s+")


def word_ngrams(
    text: str, token_pattern: re.Pattern[str], ngram_range: tuple[int, int]
) -> list[str]:
    """Word n-grams as scikit-learn's ``analyzer='word'`` makes them (text already lowercased)."""
    tokens = token_pattern.findall(text)
    low, high = ngram_range
    grams = list(tokens) if low == 1 else []
    for n in range(max(low, 2), min(high, len(tokens)) + 1):
        grams.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return grams


def char_wb_ngrams(text: str, ngram_range: tuple[int, int]) -> list[str]:
    """Character n-grams inside word boundaries, as scikit-learn's ``analyzer='char_wb'``."""
    low, high = ngram_range
    grams = []
    for word in _WHITE_SPACES.sub(" ", text).split():
        padded = f" {word} "
        size = len(padded)
        for n in range(low, high + 1):
            if size < n:
                grams.append(padded)
                break
            grams.extend(padded[i : i + n] for i in range(size - n + 1))
            if size == n:
                break
    return grams


@dataclass
class _Block:
    name: str
    kind: str
    settings: dict
    width: int
    vocabulary: dict[str, int] | None = None
    idf: np.ndarray | None = None
    token_pattern: re.Pattern[str] | None = None
    patterns: list | None = None

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(column indices, values) of this block's non-zero features for one text."""
        if self.kind == "lexicon":
            values = np.asarray(term_features(self.patterns, text), dtype=np.float64)
            nonzero = np.flatnonzero(values)
            return nonzero, values[nonzero]
        doc = text.lower() if self.settings["lowercase"] else text
        ngram_range = tuple(self.settings["ngram_range"])
        if self.settings["analyzer"] == "word":
            grams = word_ngrams(doc, self.token_pattern, ngram_range)
        else:
            grams = char_wb_ngrams(doc, ngram_range)
        vocab = self.vocabulary
        counts = Counter(vocab[g] for g in grams if g in vocab)
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        index = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        if self.settings["sublinear_tf"]:
            tf = np.log(tf) + 1.0
        values = tf * self.idf[index]
        if self.settings["norm"] == "l2":
            values = values / np.sqrt(np.dot(values, values))
        order = np.argsort(index)
        return index[order], values[order]


class PortableModel:
    """The model as plain arrays: ``scores(texts)`` gives an (n, k) probability matrix."""

    def __init__(self, settings: dict, arrays: dict[str, np.ndarray]):
        self.topics: list[str] = list(settings["topics"])
        self.lexicon: dict[str, list[str]] = dict(settings.get("lexicon") or {})
        self.thresholds = np.asarray(arrays["thresholds"], dtype=np.float64)
        self.coef = np.asarray(arrays["coef"], dtype=np.float64)
        self.intercept = np.asarray(arrays["intercept"], dtype=np.float64)
        self.blocks: list[_Block] = []
        offset = 0
        for spec in settings["blocks"]:
            if spec["kind"] == "tfidf":
                vocab = {term: i for i, term in enumerate(spec["vocabulary"])}
                block = _Block(
                    spec["name"],
                    "tfidf",
                    spec,
                    len(vocab),
                    vocab,
                    arrays[f"{spec['name']}.idf"],
                    re.compile(spec["token_pattern"]),
                )
            else:
                block = _Block(
                    spec["name"],
                    "lexicon",
                    spec,
                    len(spec["topics"]),
                    patterns=compile_lexicon(spec["lexicon"], spec["topics"]),
                )
            block.offset = offset  # type: ignore[attr-defined]
            offset += block.width
            self.blocks.append(block)
        if offset != self.coef.shape[1]:
            raise ModelError("portable model: feature count does not match the coefficients")
        self.n_features = offset

    @classmethod
    def load(cls, model_dir: str | Path) -> PortableModel:
        """Read a model directory, refusing files whose checksums do not match metrics.json."""
        model_dir = Path(model_dir)
        metrics = read_metrics(model_dir)
        settings_path = verified_path(model_dir, PORTABLE_JSON, metrics)
        arrays_path = verified_path(model_dir, PORTABLE_NPZ, metrics)
        try:
            settings = json.loads(settings_path.read_text(encoding="utf-8"))
            with np.load(arrays_path, allow_pickle=False) as npz:
                arrays = {name: npz[name] for name in npz.files}
            return cls(settings, arrays)
        except (KeyError, ValueError, OSError) as exc:
            raise ModelError(f"{model_dir}: portable model is unreadable ({exc})") from None

    def decision(self, texts: Sequence[str]) -> np.ndarray:
        """(n, k) linear scores before the logistic link."""
        out = np.empty((len(texts), len(self.topics)))
        for i, text in enumerate(texts):
            columns, values = [], []
            for block in self.blocks:
                index, value = block.features(text)
                columns.append(index + block.offset)  # type: ignore[attr-defined]
                values.append(value)
            index = np.concatenate(columns)
            out[i] = self.coef[:, index] @ np.concatenate(values) + self.intercept
        return out

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """(n, k) probability of every topic for every text."""
        z = self.decision(texts)
        return 1.0 / (1.0 + np.exp(-z))

    def contributions(self, text: str, topic: int) -> list[tuple[str, float]]:
        """Each feature's push on one topic's score (TF-IDF weight times coefficient)."""
        out = []
        for block in self.blocks:
            index, value = block.features(text)
            weights = self.coef[topic, index + block.offset] * value  # type: ignore[attr-defined]
            if block.kind == "lexicon":
                names = [f"lexicon:{block.settings['topics'][j]}" for j in index]
            else:
                names = [block.settings["vocabulary"][j] for j in index]
            out.extend(zip(names, weights.tolist()))
        return out
