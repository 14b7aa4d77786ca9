"""Score texts with the pickle-free model, in plain numpy: no scikit-learn, no scipy.

It reproduces the fitted pipeline step by step: scikit-learn's word and ``char_wb``
tokenisation and n-grams, sublinear TF-IDF with L2 normalisation per block, the lexicon
counts, and one logistic regression per topic. A test checks that both give the same
probabilities.

Two ways to the same numbers: up to ``PURE_PYTHON_CHARS`` characters (an article or two) are
scored in plain Python, so that tagging one article never imports numpy; larger batches are
scored in vectorised numpy steps, about twice as fast per paragraph. Where numba works, larger
batches go instead to the compiled kernels of ``topictag.compiled`` (the same numbers again,
some ten times faster); this module stays the reference they are tested against.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter, mul
from pathlib import Path
from typing import TYPE_CHECKING

from topictag.artifact import (
    PORTABLE_JSON,
    PORTABLE_NPZ,
    Floats,
    read_metrics,
    read_npz,
    verified_bytes,
)
from topictag.errors import ModelError
from topictag.furniture import Furniture, compile_furniture
from topictag.lexicon import compile_lexicon, term_features
from topictag.normalize import FORMS, normalize, normalize_all
from topictag.processes import ForkSafeLock, signals_deferred

if TYPE_CHECKING:
    import numpy as np

_WHITE_SPACES = re.compile(r"\s\s+")

#: Distinct words whose character n-gram columns a block remembers. The memo is emptied when
#: full, so memory stays bounded (about 15 MB) whatever the corpus.
WORD_MEMO_SIZE = 50_000

#: Batches of at most this many characters are scored in plain Python, larger ones with numpy.
PURE_PYTHON_CHARS = 20_000

#: Characters scored in one vectorised step; longer batches are cut, so the temporary arrays
#: stay at some 20 MB whatever the batch size (smaller steps are no slower).
SCORE_BATCH_CHARS = 50_000

#: Score large batches with the compiled kernels (``topictag.compiled``) when numba works;
#: False keeps them on numpy.
COMPILED = True

#: Once a model has this many characters to score in batches too large for plain Python (in
#: one batch or over several), they go to the compiled kernels, before that to numpy: importing
#: numba and loading the kernels takes about a second, the time numpy needs for some 400,000
#: characters.
COMPILED_CHARS = 500_000


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


#: Held while a compiled scorer is built, so that threads starting cold build one (builds
#: are rare: one lock serves every model).
_BUILDING = ForkSafeLock()


def imported(name: str):
    """The module ``name``, imported with Ctrl-C held back until the import is done: an import
    cut short leaves numpy or numba half-made in the process, and every later large batch
    failed ("cannot load module more than once") or went without the kernels for good."""
    module = sys.modules.get(name)
    if module is None:
        import importlib

        with signals_deferred():
            module = importlib.import_module(name)
    return module


@dataclass
class _Block:
    name: str
    kind: str
    settings: dict
    width: int
    offset: int = 0
    vocabulary: dict[str, int] | None = None
    idf: Floats | None = None
    token_pattern: re.Pattern[str] | None = None
    patterns: list | None = None
    memo: dict[str, list[int]] = field(default_factory=dict, repr=False)
    _idf_numpy: np.ndarray | None = field(default=None, repr=False)

    def doc(self, text: str) -> str:
        """``text`` as this block reads it (lowercased if the block lowercases)."""
        return text.lower() if self.kind == "tfidf" and self.settings["lowercase"] else text

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(column indices, values) of this block's non-zero features for one text: the
        one-text case of :meth:`batch`, so explanations use the scorer's own numbers."""
        _, cols, values = self.batch([self.doc(text)])
        return cols, values

    def lookup(self) -> dict[str, int]:
        """n-gram -> column, built on first use: the compiled kernels never read it (a dict of
        the whole vocabulary is some 4 MB per 100,000 n-grams)."""
        if self.vocabulary is None:
            terms = self.settings["vocabulary"]
            self.vocabulary = dict(zip(terms, range(len(terms))))
        return self.vocabulary

    def columns(self, doc: str) -> list[int]:
        """The column of every in-vocabulary n-gram occurrence of ``doc``, repeats included
        (``doc`` already lowercased if the block lowercases)."""
        vocab = self.lookup()
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

    def weights(self, doc: str) -> tuple[list[int], list[float]]:
        """(columns, values) of the non-zero features of one text, in plain Python: the same
        numbers as a row of :meth:`batch`, columns in the same (ascending) order."""
        if self.kind == "lexicon":
            dense = term_features(self.patterns, doc)
            cols = [j for j, v in enumerate(dense) if v]
            return cols, [dense[j] for j in cols]
        counts = Counter(self.columns(doc))
        if not counts:
            return [], []
        cols = sorted(counts)
        tf = list(map(counts.__getitem__, cols))
        if self.settings["sublinear_tf"]:
            tf = [_SUBLINEAR[n] if n < len(_SUBLINEAR) else math.log(n) + 1.0 for n in tf]
        values = list(map(mul, tf, _gather(cols)(self.idf.values)))
        if self.settings["norm"] == "l2":
            norm = math.sqrt(sum(map(mul, values, values)))
            values = [v / norm for v in values]
        return cols, values

    def batch(self, docs: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, column, value) of every non-zero feature of ``docs``, sorted by row then
        column, with numpy. Each row's values depend on its own text only, bit for bit."""
        import numpy as np

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
        if self._idf_numpy is None:
            self._idf_numpy = self.idf.numpy()
        values *= self._idf_numpy[cols]
        if self.settings["norm"] == "l2":
            norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=len(docs)))
            values /= norms[rows]
        return rows, cols, values


#: log(n) + 1, the sublinear term frequency, for the small counts that nearly all features have.
_SUBLINEAR = [0.0] + [math.log(n) + 1.0 for n in range(1, 64)]


def _gather(indices: list[int]) -> Callable[[Sequence[float]], tuple[float, ...]]:
    """A function that picks ``indices`` (at least one) out of a sequence, in one C call."""
    if len(indices) == 1:
        index = indices[0]
        return lambda values: (values[index],)
    return itemgetter(*indices)


def _sigmoid(z: float) -> float:
    """The logistic function, without overflow for large negative ``z``."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _sigmoid_array(z):
    """:func:`_sigmoid` of every value of a numpy array, in a few vectorised steps."""
    import numpy as np

    out = np.empty_like(z)
    high = z >= 0
    out[high] = 1.0 / (1.0 + np.exp(-z[high]))
    e = np.exp(z[~high])
    out[~high] = e / (1.0 + e)
    return out


class PortableModel:
    """The model as plain arrays: ``scores(texts)`` gives each text's probability per topic."""

    def __init__(self, settings: dict, arrays: dict):
        """``arrays``: name -> numpy array or :class:`~topictag.artifact.Floats`."""
        arrays = {name: Floats.of(value) for name, value in arrays.items()}
        self.topics: list[str] = list(settings["topics"])
        self.lexicon: dict[str, list[str]] = dict(settings.get("lexicon") or {})
        #: How texts are normalised before features (``topictag.normalize``); None for a model
        #: trained without it, which then scores texts exactly as they are.
        self.normalize: str | None = settings.get("normalize")
        if self.normalize is not None and self.normalize not in FORMS:
            raise ModelError(f"portable model: unknown text normalisation {self.normalize!r}")
        #: The rule of page furniture, which the tagger gives no topic; None for a model
        #: trained without it (``topictag.furniture``).
        try:
            furniture = settings.get("furniture")
            self.furniture: Furniture | None = compile_furniture(furniture) if furniture else None
        except (re.error, KeyError, TypeError) as exc:
            raise ModelError(f"portable model: unreadable page furniture markers ({exc})") from None
        self._arrays = arrays
        self._numpy: dict[str, np.ndarray] = {}
        self._compiled: list = []  # [CompiledScorer or None] once tried
        self._batch_chars = 0  # characters scored in batches too large for plain Python
        self._coef_rows: list | None = None  # the plain-Python path's, built on first use
        #: Set by :meth:`keep_compiled_only`; True once the other paths' data are freed.
        self._compiled_only = False
        self._lean = False
        self._intercept = arrays["intercept"].values.tolist()
        self.blocks: list[_Block] = []
        offset = 0
        for spec in settings["blocks"]:
            if spec["kind"] == "tfidf":
                vocabulary = spec["vocabulary"]
                block = _Block(
                    spec["name"],
                    "tfidf",
                    spec,
                    len(vocabulary),
                    offset,
                    None,  # the n-gram -> column dict: built by the first lookup
                    arrays[f"{spec['name']}.idf"],
                    re.compile(spec["token_pattern"]),
                )
            else:
                block = _Block(
                    spec["name"],
                    "lexicon",
                    spec,
                    len(spec["topics"]),
                    offset,
                    patterns=compile_lexicon(spec["lexicon"], spec["topics"]),
                )
            offset += block.width
            self.blocks.append(block)
        if arrays["coef"].shape != (len(self.topics), offset):
            raise ModelError("portable model: feature count does not match the coefficients")
        for name in ("intercept", "thresholds"):
            if len(arrays[name].values) != len(self.topics):
                raise ModelError(
                    f"portable model: {name} do not match the {len(self.topics)} topics"
                )
        if any(not 0.0 <= t <= 1.0 for t in self.thresholds):  # NaN fails too
            raise ModelError("portable model: a threshold is not a number from 0 to 1")
        self.n_features = offset

    def _array(self, name: str) -> np.ndarray:
        if name not in self._numpy:
            self._numpy[name] = self._arrays[name].numpy()
        return self._numpy[name]

    @property
    def coef(self) -> np.ndarray:
        """(k, n_features) coefficients, as numpy."""
        return self._array("coef")

    @property
    def intercept(self) -> np.ndarray:
        return self._array("intercept")

    @property
    def thresholds(self) -> list[float]:
        """The decision threshold of each topic, chosen at training time."""
        return self._arrays["thresholds"].values.tolist()

    @classmethod
    def load(cls, model_dir: str | Path) -> PortableModel:
        """Read a model directory, refusing files whose checksums do not match metrics.json."""
        from topictag.files import reading

        model_dir = Path(model_dir)
        with reading(model_dir):  # all three files of one model, even while one is swapped in
            metrics = read_metrics(model_dir)
            settings = verified_bytes(model_dir, PORTABLE_JSON, metrics)
            arrays = verified_bytes(model_dir, PORTABLE_NPZ, metrics)
        try:
            return cls(json.loads(settings.decode("utf-8")), read_npz(arrays))
        except (LookupError, ValueError, TypeError, OSError, AttributeError, re.error) as exc:
            raise ModelError(f"{model_dir}: portable model is unreadable ({exc!r})") from None

    def decision(self, texts: Sequence[str]) -> list[list[float]]:
        """Linear scores before the logistic link: a list of k scores per text.

        A text's scores do not depend on the other texts of the batch. Batches of at most
        ``PURE_PYTHON_CHARS`` characters are scored in plain Python; larger ones by the
        compiled kernels once such batches have reached ``COMPILED_CHARS`` characters in all
        and numba works, else with numpy in vectorised steps of at most ``SCORE_BATCH_CHARS``
        characters. Texts are normalised first when the model says so.
        """
        rows = self._decision(texts)
        return rows if isinstance(rows, list) else rows.tolist()

    def _decision(self, texts: Sequence[str]):
        """:meth:`decision` as a list of lists (plain Python) or a numpy array (the kernels
        and the vectorised path), so that :meth:`scores` takes the logistic of an array at
        once."""
        texts = normalize_all(texts, self.normalize)
        if self._lean:  # only the kernels can score now, whatever the batch
            return self._compiled[0].decision(texts)
        total = sum(map(len, texts))
        if total <= PURE_PYTHON_CHARS:
            return [self._decision_one(text) for text in texts]
        imported("numpy")
        self._batch_chars += total if COMPILED else 0
        if COMPILED and (self._batch_chars >= COMPILED_CHARS or self._compiled):
            if not self._compiled:
                with _BUILDING:
                    if not self._compiled:
                        try:  # numba, and the kernels defined
                            imported("topictag._kernels")
                        except Exception:  # no numba: compiled_scorer says why, once
                            pass
                        from topictag.compiled import compiled_scorer

                        self._compiled.append(compiled_scorer(self))
            if self._compiled[0] is not None:
                if self._compiled_only:
                    self._free_python_tables()
                return self._compiled[0].decision(texts)
        out: list = []
        start, size = 0, 0
        for end, text in enumerate(texts):
            if size and size + len(text) > SCORE_BATCH_CHARS:
                out.append(self._decision_batch(texts[start:end]))
                start, size = end, 0
            size += len(text)
        if start < len(texts):
            out.append(self._decision_batch(texts[start:]))
        import numpy as np

        return np.vstack(out) if out else np.zeros((0, len(self.topics)))

    def keep_compiled_only(self) -> None:
        """For a process that only scores batches (a batch-tagging worker): once a batch has
        gone to the compiled kernels, free what only the other paths read, the vocabularies as
        Python strings and dicts and the coefficients (some 20 MB for the shipped model), and
        score every later batch, however small, with the kernels. Until then, and for good
        where the kernels are unavailable, nothing changes. A lean model cannot explain
        (:meth:`contributions`)."""
        self._compiled_only = True

    def _free_python_tables(self) -> None:
        """Drop the plain-Python and numpy paths' data: the kernels hold their own tables."""
        for block in self.blocks:
            if block.kind == "tfidf":
                block.vocabulary = None
                block.memo = {}
                block.settings = {k: v for k, v in block.settings.items() if k != "vocabulary"}
        self._coef_rows = None
        self._numpy.pop("coef", None)
        self._arrays.pop("coef", None)
        self._lean = True

    def _decision_one(self, text: str) -> list[float]:
        if self._coef_rows is None:
            self._coef_rows = self._arrays["coef"].rows()
        out = list(self._intercept)
        for block in self.blocks:
            cols, values = block.weights(block.doc(text))
            if not cols:
                continue
            gather = _gather([c + block.offset for c in cols])
            for topic, row in enumerate(self._coef_rows):
                out[topic] += sum(map(mul, gather(row), values))
        return out

    def _decision_batch(self, texts: list[str]) -> np.ndarray:
        import numpy as np

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
            weights = self.coef[:, cols + block.offset] * values
            for topic, row_weights in enumerate(weights):
                out[:, topic] += np.bincount(rows, weights=row_weights, minlength=n)
        return out

    def scores(self, texts: Sequence[str]) -> list[list[float]]:
        """The probability of every topic, a list of k per text."""
        rows = self._decision(texts)
        if isinstance(rows, list):
            return [[_sigmoid(z) for z in row] for row in rows]
        return _sigmoid_array(rows).tolist()

    def contributions(self, text: str, topic: int) -> list[tuple[str, float]]:
        """Each feature's push on one topic's score (TF-IDF weight times coefficient)."""
        if self._lean:
            raise RuntimeError("a model kept for the compiled kernels only cannot explain")
        if self.normalize:
            text = normalize(text, self.normalize)
        out = []
        for block in self.blocks:
            index, value = block.features(text)
            weights = self.coef[topic, index + block.offset] * value
            if block.kind == "lexicon":
                names = [f"lexicon:{block.settings['topics'][j]}" for j in index]
            else:
                names = [block.settings["vocabulary"][j] for j in index]
            out.extend(zip(names, weights.tolist()))
        return out
