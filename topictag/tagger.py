"""Tag texts with topics: scores per paragraph, decisions by threshold, article = any paragraph.

Scores and decisions are separate: :meth:`Tagger.scores` gives every topic's probability,
:meth:`Tagger.decide` applies the thresholds stored with the model (or one given instead).
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from topictag import defaults
from topictag.errors import InputError
from topictag.furniture import furniture_rows
from topictag.language import english_check
from topictag.paragraphs import paragraphs_over, split_paragraphs
from topictag.processes import ForkSafeLock
from topictag.scorer import PortableModel

#: Decimals of a score as results show it (JSON, tables, corpora); thresholds compare it so.
SCORE_DIGITS = 6
_SHOWN_UNIT = 10.0**-SCORE_DIGITS


@dataclass
class ParagraphResult:
    index: int
    start: int
    end: int
    text: str
    topics: list[str]
    scores: dict[str, float]
    #: Page furniture ("Related: ...", "Tags: ..."; ``topictag.furniture``): no topic, scores 0.
    furniture: bool = False
    #: With ``explain``: topic -> the terms that pushed it up (see ``topictag.explain``).
    evidence: dict[str, list[dict]] = field(default_factory=dict)


@dataclass
class ArticleResult:
    """An article's topics (those of any of its paragraphs), scores (the paragraph maximum)
    and its paragraphs, each with offsets into the original text."""

    source: str | None
    topics: list[str]
    scores: dict[str, float]
    paragraphs: list[ParagraphResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: False when the text does not look like English (see ``topictag.language``): the
    #: model knows English only, so its topics for such a text mean little.
    english: bool = True

    def to_dict(self) -> dict:
        """Plain data for JSON; a paragraph has ``evidence`` only when it was explained."""
        out = asdict(self)
        for paragraph in out["paragraphs"]:
            if not paragraph["evidence"]:
                del paragraph["evidence"]
        return out


class Tagger:
    """A loaded model with its topics and thresholds."""

    def __init__(self, model: PortableModel, threshold: float | None = None):
        if threshold is not None and (
            isinstance(threshold, bool) or not isinstance(threshold, numbers.Real)
        ):
            raise TypeError(f"threshold must be a number from 0 to 1, not {threshold!r}")
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise InputError(f"threshold must be a number from 0 to 1, not {threshold!r}")
        self.model = model
        self.topics = list(model.topics)
        self.thresholds: list[float] = (
            [float(threshold)] * len(self.topics)
            if threshold is not None
            else [float(t) for t in model.thresholds]
        )

    @classmethod
    def load(
        cls, model_dir: str | os.PathLike | None = None, threshold: float | None = None
    ) -> Tagger:
        return cls(_load_portable(defaults.model_dir(model_dir)), threshold)

    def scores(
        self, texts: Sequence[str], furniture: Sequence[bool] | None = None
    ) -> list[list[float]]:
        """The probability of every topic for each text, taken as one paragraph; 0 for page
        furniture when the model was trained to leave it untagged (``topictag.furniture``).
        ``furniture`` is :meth:`is_furniture` of the texts when the caller has it already."""
        texts = _texts(texts)
        if furniture is None:
            furniture = self.is_furniture(texts)
        if not any(furniture):
            return self.model.scores(texts)
        scored = iter(self.model.scores([t for t, f in zip(texts, furniture) if not f]))
        none = [0.0] * len(self.topics)
        return [list(none) if f else next(scored) for f in furniture]

    def is_furniture(self, texts: Sequence[str]) -> list[bool]:
        """Which texts are page furniture, for a model trained to leave it untagged."""
        rule = self.model.furniture
        return furniture_rows(texts, rule) if rule else [False] * len(texts)

    def decide(
        self, scores: Sequence[Sequence[float]], furniture: Sequence[bool] | None = None
    ) -> list[list[str]]:
        """The topics whose score reaches its threshold, per row of ``scores``; none for a row
        of page furniture (``furniture``), even at a threshold of 0, which its 0 would meet.

        A score is compared as it is shown, to ``SCORE_DIGITS`` decimals: oil shown as 1.0 is
        tagged at a threshold of 1, and 0.004532 is not at 0.0045324. (Only a score within a
        millionth of its threshold is rounded: further off, rounding cannot cross it.)"""
        width = len(self.topics)
        if isinstance(scores, (str, bytes, Mapping)) or hasattr(scores, "columns"):
            raise TypeError(f"scores must be rows of scores, not {type(scores).__name__}")
        if not all(_is_row(row) and len(row) == width for row in scores):
            raise ValueError(
                f"scores must be rows (one per paragraph) of one score per topic ({width})"
            )
        if furniture is None:
            furniture = [False] * len(scores)
        elif len(furniture) != len(scores):
            raise ValueError(f"furniture has {len(furniture)} flags for {len(scores)} rows")
        cuts = [
            (t, cut, cut + _SHOWN_UNIT, cut - _SHOWN_UNIT)
            for t, cut in zip(self.topics, self.thresholds)
        ]
        return [
            []
            if f
            else [
                t
                for (t, cut, above, below), s in zip(cuts, row)
                if s >= above or (s > below and round(s, SCORE_DIGITS) >= cut)
            ]
            for row, f in zip(scores, furniture)
        ]

    def _named(self, row: Sequence[float]) -> dict[str, float]:
        return {t: round(float(s), SCORE_DIGITS) for t, s in zip(self.topics, row)}

    def _article(
        self, rows: Sequence[Sequence[float]], hits: Sequence[list[str]]
    ) -> tuple[list[str], dict[str, float]]:
        """An article's topics (any paragraph's) and scores (the paragraph maximum), from its
        paragraphs' scores and topics."""
        best = [max(column) for column in zip(*rows)] if len(rows) else [0.0] * len(self.topics)
        present = {t for topics in hits for t in topics}
        return [t for t in self.topics if t in present], self._named(best)

    def tag(
        self,
        text: str,
        source: str | None = None,
        explain: bool = False,
        max_paragraphs: int | None = defaults.MAX_ARTICLE_PARAGRAPHS,
    ) -> ArticleResult:
        """Split ``text`` into paragraphs and tag each; the article gets any paragraph's topic.

        With ``explain``, each paragraph's ``evidence`` gives, for every topic it was given,
        the terms that pushed that topic up most (``topictag.explain.evidence``). A text of
        more than ``max_paragraphs`` paragraphs (None: no limit) is refused
        (:class:`InputError`) before any is scored: their results would not fit in memory.
        """
        text = _text(text)
        if source is not None:
            source = _text(
                os.fspath(source) if isinstance(source, os.PathLike) else source, "source"
            )
        if max_paragraphs is not None and (
            isinstance(max_paragraphs, bool) or not isinstance(max_paragraphs, int)
        ):
            raise TypeError(f"max_paragraphs must be an int or None, not {max_paragraphs!r}")
        if max_paragraphs is not None and (count := paragraphs_over(text, max_paragraphs)):
            _refuse_paragraphs(count, max_paragraphs)  # before building them
        paragraphs = split_paragraphs(text)
        if max_paragraphs is not None:
            _refuse_paragraphs(len(paragraphs), max_paragraphs)
        texts = [p.text for p in paragraphs]
        furniture = self.is_furniture(texts)
        scores = self.scores(texts, furniture) if paragraphs else []
        hits = self.decide(scores, furniture)
        topics, article_scores = self._article(scores, hits)
        result = ArticleResult(
            source=source,
            topics=topics,
            scores=article_scores,
            paragraphs=[
                ParagraphResult(p.index, p.start, p.end, p.text, tops, self._named(row), f)
                for p, tops, row, f in zip(paragraphs, hits, scores, furniture)
            ],
        )
        result.english, reason = english_check(text)
        if not result.english:
            result.warnings.append(f"text does not look like English ({reason}); topics unreliable")
        if explain:
            from topictag.explain import explain as explain_topics

            for p in result.paragraphs:
                p.evidence = explain_topics(self.model, p.text, p.topics)
        return result

    def tag_batch(self, texts: Iterable[str]) -> list[dict]:
        """Topics and scores of each text taken as a whole article: a plain function of a list
        of texts, so it runs unchanged in worker processes or Dask partitions.

        The same result as :meth:`tag` on each text; the paragraphs of all texts are scored
        together, which is faster than one text at a time.
        """
        split = [split_paragraphs(text) for text in _texts(texts)]
        flat = [p.text for paragraphs in split for p in paragraphs]
        furniture = self.is_furniture(flat)
        scores = self.scores(flat, furniture) if flat else []
        hits = self.decide(scores, furniture)
        out, start = [], 0
        for paragraphs in split:
            end = start + len(paragraphs)
            topics, article_scores = self._article(scores[start:end], hits[start:end])
            out.append({"topics": topics, "scores": article_scores})
            start = end
        return out


def _is_row(row: object) -> bool:
    """A row of scores: a sized sequence that is not text (a str of the right length is not
    a row of numbers)."""
    return hasattr(row, "__len__") and not isinstance(row, (str, bytes, Mapping))


def _refuse_paragraphs(count: int, limit: int) -> None:
    if count > limit:
        raise InputError(
            f"{count:,} paragraphs, over the {limit:,} of one article; "
            "tag a corpus with --input (one article per row)"
        )


def _text(value: object, name: str = "text") -> str:
    """``value`` if it is a text, else a TypeError that says what was given instead."""
    if isinstance(value, str):
        return value
    kind = "None" if value is None else type(value).__name__
    if isinstance(value, (bytes, bytearray, memoryview)):
        hint = ": decode it first, e.g. bytes(data).decode('utf-8')"
    elif name == "text" and not isinstance(value, dict) and hasattr(value, "__iter__"):
        hint = ": tag several texts with tag_batch(texts)"
    else:
        hint = ""
    raise TypeError(f"{name} must be a str, not {kind}{hint}")


def _texts(values: Iterable[str], name: str = "texts") -> list[str]:
    """``values`` as a list of texts; a TypeError naming the first item that is not a text
    (``texts[3]``), or ``values`` itself when it is one text instead of a list of them
    (iterating over a str would tag each character)."""
    if isinstance(values, (str, bytes)):
        raise TypeError(
            f"{name} must be a list of texts, not a single {type(values).__name__}: "
            "put one text in a list, or use predict() or tag_article()"
        )
    if hasattr(values, "columns") and hasattr(values, "iloc"):  # its column names would be
        raise TypeError(f"{name} must be a list of texts, not a DataFrame: pass df['text']")
    if isinstance(values, dict):  # its keys would be tagged
        raise TypeError(f"{name} must be a list of texts, not a dict: pass list(d.values())")
    if isinstance(values, (set, frozenset)):  # the results would come in no knowable order
        raise TypeError(
            f"{name} must be a list of texts, not a {type(values).__name__}, whose order is "
            "arbitrary: pass sorted(s)"
        )
    try:
        values = list(values)
    except TypeError:
        raise TypeError(f"{name} must be a list of texts, not {type(values).__name__}") from None
    for i, value in enumerate(values):
        if not isinstance(value, str):
            _text(value, f"{name}[{i}]")
    return values


_CACHE: dict[tuple[str, float], PortableModel] = {}
#: Held while a model loads (see :func:`_load_portable`).
_LOADING = ForkSafeLock()


def _load_portable(model_dir: Path) -> PortableModel:
    """Load once per directory and modification time of its metrics file (the last one
    only), once whatever the threads: eight threads starting cold loaded eight models."""
    metrics = Path(model_dir) / "metrics.json"
    try:
        stamp = metrics.stat().st_mtime
    except OSError:
        stamp = -1.0
    key = (str(Path(model_dir).resolve()), stamp)
    with _LOADING:
        model = _CACHE.get(key)
        if model is None:
            _CACHE.clear()
            model = _CACHE[key] = PortableModel.load(model_dir)
    return model


def load_model(model: str | os.PathLike | None = None, threshold: float | None = None) -> Tagger:
    """The tagger for a model directory (argument, then ``$TOPICTAG_MODEL``, then ``model/``)."""
    return Tagger.load(model, threshold)


def predict(
    text: str, model: str | os.PathLike | None = None, threshold: float | None = None
) -> list[str]:
    """The topics of a text: a paragraph, or an article whose paragraphs are tagged one by one."""
    return load_model(model, threshold).tag(text).topics


def predict_scores(text: str, model: str | os.PathLike | None = None) -> dict[str, float]:
    """Every topic's probability for a text (for an article, the highest over its paragraphs)."""
    return load_model(model).tag(text).scores


def tag_article(
    text: str,
    source: str | None = None,
    model: str | os.PathLike | None = None,
    threshold: float | None = None,
    explain: bool = False,
) -> ArticleResult:
    """The full result: paragraphs with offsets, topics and scores, and the article's topics;
    with ``explain``, each paragraph's evidence for its topics."""
    return load_model(model, threshold).tag(text, source, explain=explain)


def tag_batch(
    texts: Iterable[str], model: str | os.PathLike | None = None, threshold: float | None = None
) -> list[dict]:
    """Topics and scores for each text of a list (see :meth:`Tagger.tag_batch`); ``threshold``
    replaces every topic's stored threshold."""
    return load_model(model, threshold).tag_batch(texts)
