"""Score texts with the pickle-free model, in plain numpy: no scikit-learn, no scipy.

It reproduces the fitted pipeline step by step: scikit-learn's word and ``char_wb``
tokenisation and n-grams, sublinear TF-IDF with L2 normalisation per block, the lexicon
counts, and one logistic regression per topic. A test checks that both give the same
probabilities.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from topictag.artifact import PORTABLE_JSON, PORTABLE_NPZ, read_metrics, verified_path
from topictag.errors import ModelError
from topictag.lexicon import compile_lexicon, term_features

_WHITE_SPACES = re.compile(r"\s\s+")

#: Distinct words whose character n-gram columns a block remembers. The memo is emptied when
#: full, so memory stays bounded (about 15 MB) whatever the corpus.
WORD_MEMO_SIZE = 50_000

#: Characters scored in one vectorised step; longer batches are cut, so the temporary arrays
#: stay at some 20 MB whatever the batch size (smaller steps are no slower).
SCORE_BATCH_CHARS = 50_000


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
    grams: list[str] = []
    for word in _WHITE_SPACES.sub(" ", text).split():
        grams.extend(_word_char_ngrams(word, low, high))
    return grams


def _word_char_ngrams(word: str, low: int, high: int) -> list[str]:
    """The ``char_wb`` n-grams of one word (padded with a space on each side)."""
    padded = f" {word} "
    size = len(padded)
    grams = []
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
    memo: dict[str, list[int]] = field(default_factory=dict, repr=False)

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(column indices, values) of this block's non-zero features for one text: the
        one-text case of :meth:`batch`, so explanations use the scorer's own numbers."""
        doc = text.lower() if self.kind == "tfidf" and self.settings["lowercase"] else text
        _, cols, values = self.batch([doc])
        return cols, values

    def columns(self, doc: str) -> list[int]:
        """The column of every in-vocabulary n-gram occurrence of ``doc``, repeats included
        (``doc`` already lowercased if the block lowercases)."""
        vocab = self.vocabulary
        low, high = self.settings["ngram_range"]
        if self.settings["analyzer"] == "word":
            grams = word_ngrams(doc, self.token_pattern, (low, high))
            return [i for i in map(vocab.get, grams) if i is not None]
        # char_wb n-grams never cross a word boundary, so a word's columns depend on the word
        # alone: each distinct word is cut into n-grams and looked up once.
        memo = self.memo
        out: list[int] = []
        for word in _WHITE_SPACES.sub(" ", doc).split():
            cols = memo.get(word)
            if cols is None:
                grams = _word_char_ngrams(word, low, high)
                cols = [i for i in map(vocab.get, grams) if i is not None]
                if len(memo) >= WORD_MEMO_SIZE:
                    memo.clear()
                memo[word] = cols
            out += cols
        return out

    def batch(self, docs: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, column, value) of every non-zero feature of ``docs``, sorted by row then
        column. Each row's values depend on its own text only, bit for bit."""
        if self.kind == "lexicon":
            dense = np.array(
                [term_features(self.patterns, doc) for doc in docs], dtype=np.float64
            ).reshape(len(docs), self.width)
            rows, cols = np.nonzero(dense)
            return rows, cols, dense[rows, cols]
        per_doc = [self.columns(doc) for doc in docs]
        lengths = np.fromiter(map(len, per_doc), dtype=np.int64, count=len(per_doc))
        cols = np.fromiter(
            itertools.chain.from_iterable(per_doc), dtype=np.int64, count=int(lengths.sum())
        )
        rows = np.repeat(np.arange(len(docs), dtype=np.int64), lengths)
        keys, counts = np.unique(rows * self.width + cols, return_counts=True)
        rows, cols = np.divmod(keys, self.width)
        values = counts.astype(np.float64)
        if self.settings["sublinear_tf"]:
            values = np.log(values) + 1.0
        values *= self.idf[cols]
        if self.settings["norm"] == "l2":
            norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=len(docs)))
            values /= norms[rows]
        return rows, cols, values


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
        """(n, k) linear scores before the logistic link.

        Texts are scored together in vectorised steps of at most ``SCORE_BATCH_CHARS``
        characters; a text's scores do not depend on the other texts of the batch.
        """
        texts = list(texts)
        out = np.empty((len(texts), len(self.topics)))
        start, size = 0, 0
        for end, text in enumerate(texts):
            if size and size + len(text) > SCORE_BATCH_CHARS:
                out[start:end] = self._decision(texts[start:end])
                start, size = end, 0
            size += len(text)
        if start < len(texts):
            out[start:] = self._decision(texts[start:])
        return out

    def _decision(self, texts: list[str]) -> np.ndarray:
        n = len(texts)
        out = np.tile(self.intercept, (n, 1))
        lowered = None
        for block in self.blocks:
            docs = texts
            if block.kind == "tfidf" and block.settings["lowercase"]:
                lowered = lowered if lowered is not None else [t.lower() for t in texts]
                docs = lowered
            rows, cols, values = block.batch(docs)
            if not len(rows):
                continue
            weights = self.coef[:, cols + block.offset] * values  # type: ignore[attr-defined]
            for topic, row_weights in enumerate(weights):
                out[:, topic] += np.bincount(rows, weights=row_weights, minlength=n)
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
