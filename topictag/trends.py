"""Topic trends of a tagged corpus, as plain data: articles per topic and period, topics that
come together, a breakdown by source, and the terms that carried each topic.

:func:`corpus_trends` reads the corpus in one streaming pass (``topictag.tagged``) and returns
a dict of figures; the report page and ``topictag report --format json`` show that same dict.

Counting is pure functions over :class:`~topictag.tagged.Batch` es: :func:`count_batch` counts
one batch, :func:`merge` adds two counts, so the figures do not depend on how the corpus is cut
into batches, and memory grows with the number of periods and groups, not of rows.

The terms that carried a topic in a period come from the model's evidence
(:func:`topictag.explain.evidence`, some 10 ms per paragraph), so they are read for a sample
only. Each row gets a pseudo-random key from its number alone; the sample of a topic and
period is the rows of that topic and period with the smallest keys (a bottom-k sample: the
same rows whatever the batches, and mergeable). About ``sample`` articles are read in all,
spread evenly over the topics and periods (at most ``defaults.REPORT_SAMPLE_PER_PERIOD`` per
topic and period); when there are more topic-periods than that, the latest periods are read.
Each sampled article is read at its paragraph that scored highest for the topic: the one that
gave the article the topic. The texts of the sampled rows are fetched in a second pass.
"""

from __future__ import annotations

import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from topictag import defaults
from topictag.errors import InputError
from topictag.tagged import BAD_DATE, NO_DATE, Batch, Source

BY = ("day", "week", "month")
#: Rows named per kind of problem (missing date, unparseable date, ...).
MAX_NAMED = 5
#: A time axis longer than this many periods is refused (one wrong date such as 0001-01-01
#: would otherwise draw a million days).
MAX_PERIODS = 5_000
#: The period key of rows without a usable date, in the sample.
UNDATED = 2**40
_EPOCH = date(1970, 1, 1).toordinal()
#: Evidence terms taken from each sampled paragraph.
_TERMS_PER_READING = 10


@dataclass
class Counts:
    """Counts of some rows of a corpus; :func:`merge` adds two."""

    n_topics: int
    rows: int = 0
    without_topic: int = 0
    #: period key -> [articles, articles with topic 0, with topic 1, ...]
    periods: dict[int, np.ndarray] = field(default_factory=dict)
    cooccurrence: np.ndarray | None = None
    #: group value (None: missing) -> [articles, with topic 0, ...]
    groups: dict[str | None, np.ndarray] | None = None
    missing: int = 0
    missing_rows: list[int] = field(default_factory=list)
    unparseable: int = 0
    unparseable_rows: list[tuple[int, str]] = field(default_factory=list)
    #: Rows whose topics do not follow the model's thresholds and their stored scores.
    off_threshold: int | None = None
    off_rows: list[int] = field(default_factory=list)
    #: (day, row) of the earliest and latest dates.
    first: tuple[int, int] | None = None
    last: tuple[int, int] | None = None
    #: The sample: cell (period key * topics + topic), key, row; the smallest keys per cell.
    cells: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    keys: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    sample_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __post_init__(self) -> None:
        if self.cooccurrence is None:
            self.cooccurrence = np.zeros((self.n_topics, self.n_topics), np.int64)


def period_keys(days: np.ndarray, by: str) -> np.ndarray:
    """The period of each day number (days since 1970-01-01): the day itself, the Monday of its
    week (as a day number), or the month (months since 1970-01)."""
    days = np.asarray(days, dtype=np.int64)
    if by == "day":
        return days
    if by == "week":
        return days - (days + 3) % 7  # 1970-01-01 was a Thursday
    if by == "month":
        return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    raise ValueError(f"by must be one of {BY}, not {by!r}")


def period_start(key: int, by: str) -> date:
    """The first day of the period ``key``."""
    if by == "month":
        year, month = divmod(int(key), 12)
        return date(1970 + year, month + 1, 1)
    return date.fromordinal(int(key) + _EPOCH)


def period_label(key: int, by: str) -> str:
    """2024-03-05 (day), 2024-W10 (ISO week), 2024-03 (month)."""
    start = period_start(key, by)
    if by == "day":
        return start.isoformat()
    if by == "week":
        year, week, _ = start.isocalendar()
        return f"{year:04d}-W{week:02d}"
    return f"{start.year:04d}-{start.month:02d}"


def sample_keys(rows: np.ndarray) -> np.ndarray:
    """A pseudo-random key for each row number (splitmix64): a fixed, well-spread order in
    which rows enter the sample, whatever the batches."""
    with np.errstate(over="ignore"):
        z = np.asarray(rows, dtype=np.int64).astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _smallest_per_cell(
    cells: np.ndarray, keys: np.ndarray, rows: np.ndarray, cap: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each cell, the ``cap`` entries with the smallest keys (sorted by cell, then key)."""
    order = np.lexsort((keys, cells))
    cells, keys, rows = cells[order], keys[order], rows[order]
    if not len(cells):
        return cells, keys, rows
    starts = np.flatnonzero(np.r_[True, cells[1:] != cells[:-1]])
    lengths = np.diff(np.r_[starts, len(cells)])
    rank = np.arange(len(cells)) - np.repeat(starts, lengths)
    keep = rank < cap
    return cells[keep], keys[keep], rows[keep]


def count_batch(
    batch: Batch,
    by: str,
    thresholds: Sequence[float] | None = None,
    cap: int = defaults.REPORT_SAMPLE_PER_PERIOD,
) -> Counts:
    """The counts of one batch: articles per period and topic, co-occurrence, groups, dates
    that are missing or unparseable, rows off the thresholds, and the batch's sample."""
    matrix = np.asarray(batch.topics, dtype=bool)
    n, n_topics = matrix.shape
    counts = Counts(n_topics, rows=n, without_topic=int((~matrix.any(axis=1)).sum()))
    ints = matrix.astype(np.int64)
    counts.cooccurrence = ints.T @ ints
    days = np.asarray(batch.days, dtype=np.int64)
    dated = days > BAD_DATE
    keys = np.full(n, UNDATED, dtype=np.int64)
    if dated.any():
        keys[dated] = period_keys(days[dated], by)
        unique, inverse = np.unique(keys[dated], return_inverse=True)
        table = np.zeros((len(unique), n_topics + 1), np.int64)
        table[:, 0] = np.bincount(inverse, minlength=len(unique))
        for j in range(n_topics):
            table[:, j + 1] = np.bincount(inverse, weights=ints[dated, j], minlength=len(unique))
        counts.periods = {int(k): table[i] for i, k in enumerate(unique)}
        where = np.flatnonzero(dated)
        lo, hi = where[np.argmin(days[dated])], where[np.argmax(days[dated])]
        counts.first = (int(days[lo]), int(batch.rows[lo]))
        counts.last = (int(days[hi]), int(batch.rows[hi]))
    missing = np.flatnonzero(days == NO_DATE)
    counts.missing = len(missing)
    counts.missing_rows = [int(r) for r in batch.rows[missing[:MAX_NAMED]]]
    bad = np.flatnonzero(days == BAD_DATE)
    counts.unparseable = len(bad)
    counts.unparseable_rows = [
        (int(r), batch.bad_values.get(int(r), "?")) for r in batch.rows[bad[:MAX_NAMED]]
    ]
    if batch.groups is not None:
        counts.groups = _group_counts(batch.groups, ints)
    if batch.scores is not None and thresholds is not None:
        off = _off_threshold(matrix, np.asarray(batch.scores, np.float64), thresholds)
        counts.off_threshold = int(off.sum())
        counts.off_rows = [int(r) for r in batch.rows[np.flatnonzero(off)[:MAX_NAMED]]]
    row_index, topic = np.nonzero(matrix)
    counts.cells, counts.keys, counts.sample_rows = _smallest_per_cell(
        keys[row_index] * n_topics + topic,
        sample_keys(batch.rows[row_index]),
        np.asarray(batch.rows, np.int64)[row_index],
        cap,
    )
    return counts


def _group_counts(groups: list, ints: np.ndarray) -> dict[str | None, np.ndarray]:
    import pyarrow as pa

    encoded = pa.array(groups, pa.string()).dictionary_encode()
    values = encoded.dictionary.to_pylist() + [None]
    codes = encoded.indices.fill_null(len(values) - 1).to_numpy(zero_copy_only=False)
    table = np.zeros((len(values), ints.shape[1] + 1), np.int64)
    table[:, 0] = np.bincount(codes, minlength=len(values))
    for j in range(ints.shape[1]):
        table[:, j + 1] = np.bincount(codes, weights=ints[:, j], minlength=len(values))
    return {v: table[i] for i, v in enumerate(values) if table[i, 0]}


def _off_threshold(matrix: np.ndarray, scores: np.ndarray, thresholds: Sequence[float]):
    """Rows whose topics differ from their stored scores against ``thresholds``: tagged with
    a score below its threshold, or not tagged with one above it (scores are stored rounded
    to six decimals, hence the margin)."""
    cut = np.asarray(thresholds, np.float64)
    with np.errstate(invalid="ignore"):
        below = scores < cut - 1e-6
        above = scores > cut + 1e-6
    return ((matrix & below) | (~matrix & above)).any(axis=1)


def merge(total: Counts, part: Counts, cap: int = defaults.REPORT_SAMPLE_PER_PERIOD) -> Counts:
    """Add ``part`` into ``total`` and return ``total``."""
    total.rows += part.rows
    total.without_topic += part.without_topic
    for key, row in part.periods.items():
        if key in total.periods:
            total.periods[key] = total.periods[key] + row
        else:
            total.periods[key] = row
    total.cooccurrence = total.cooccurrence + part.cooccurrence
    if part.groups is not None:
        if total.groups is None:
            total.groups = {}
        for key, row in part.groups.items():
            if key in total.groups:
                total.groups[key] = total.groups[key] + row
            else:
                total.groups[key] = row
    total.missing += part.missing
    total.missing_rows = (total.missing_rows + part.missing_rows)[:MAX_NAMED]
    total.unparseable += part.unparseable
    total.unparseable_rows = (total.unparseable_rows + part.unparseable_rows)[:MAX_NAMED]
    if part.off_threshold is not None:
        total.off_threshold = (total.off_threshold or 0) + part.off_threshold
        total.off_rows = (total.off_rows + part.off_rows)[:MAX_NAMED]
    for name, pick in (("first", min), ("last", max)):
        mine, theirs = getattr(total, name), getattr(part, name)
        if theirs is not None:
            setattr(total, name, theirs if mine is None else pick(mine, theirs))
    total.cells, total.keys, total.sample_rows = _smallest_per_cell(
        np.r_[total.cells, part.cells],
        np.r_[total.keys, part.keys],
        np.r_[total.sample_rows, part.sample_rows],
        cap,
    )
    return total


def count_corpus(
    batches: Iterable[Batch],
    n_topics: int,
    by: str,
    thresholds: Sequence[float] | None = None,
    cap: int = defaults.REPORT_SAMPLE_PER_PERIOD,
) -> Counts:
    """The counts of every batch, added up."""
    total = Counts(n_topics)
    for batch in batches:
        merge(total, count_batch(batch, by, thresholds, cap), cap)
    return total


# Figures ----------------------------------------------------------------------------------


def period_axis(counts: Counts, by: str, where: str = "row") -> list[int]:
    """Every period from the first dated one to the last, those without articles included."""
    if not counts.periods:
        return []
    lo, hi = min(counts.periods), max(counts.periods)
    step = 7 if by == "week" else 1
    n = (hi - lo) // step + 1
    if n > MAX_PERIODS:
        first, last = counts.first, counts.last
        raise InputError(
            f"the dates span {date.fromordinal(first[0] + _EPOCH)} ({where} {first[1]}) to "
            f"{date.fromordinal(last[0] + _EPOCH)} ({where} {last[1]}): {n:,} periods of a "
            f"{by}, more than {MAX_PERIODS:,}; fix those dates"
            + (", or use a longer --by" if by != "month" else "")
        )
    return list(range(lo, hi + 1, step))


def time_series(counts: Counts, topics: Sequence[str], axis: list[int]) -> dict:
    """Articles per period, and per topic and period as counts and as shares of all articles
    of the period (None for a period without articles)."""
    empty = np.zeros(len(topics) + 1, np.int64)
    table = np.array([counts.periods.get(k, empty) for k in axis], np.int64).reshape(
        len(axis), len(topics) + 1
    )
    totals = table[:, 0]
    share = {}
    for j, topic in enumerate(topics):
        share[topic] = [
            round(int(c) / int(t), 6) if t else None for c, t in zip(table[:, j + 1], totals)
        ]
    return {
        "totals": [int(t) for t in totals],
        "counts": {t: [int(c) for c in table[:, j + 1]] for j, t in enumerate(topics)},
        "share": share,
    }


def group_breakdown(counts: Counts, topics: Sequence[str], field_name: str, top: int) -> dict:
    """Articles per topic for the ``top`` largest groups (most articles first, then by name);
    the other groups summed."""
    groups = counts.groups or {}
    ranked = sorted(groups.items(), key=lambda kv: (-int(kv[1][0]), kv[0] is None, kv[0] or ""))

    def item(row: np.ndarray) -> dict:
        return {
            "articles": int(row[0]),
            "topics": {t: int(row[j + 1]) for j, t in enumerate(topics)},
        }

    shown = [{"group": key, **item(row)} for key, row in ranked[:top]]
    rest = ranked[top:]
    other = None
    if rest:
        other = {"groups": len(rest), **item(np.sum([row for _, row in rest], axis=0))}
    return {"field": field_name, "groups": len(groups), "top": shown, "other": other}


@dataclass
class Pick:
    """A sampled article to read for a topic, in a cell (period key, topic)."""

    row: int
    topic: int
    period: int


def choose_sample(counts: Counts, budget: int, cap: int) -> tuple[list[Pick], int, int, int]:
    """The articles to read: about ``budget`` in all, the same number per topic and period
    (at most ``cap``), the smallest keys of each cell; the latest periods first when there are
    more cells than ``budget``. Returns (picks, per cell, dated periods read, dated periods
    with a tagged article): undated articles, read last, are not a period."""
    n_topics = counts.n_topics
    if not len(counts.cells) or budget < 1:
        periods = set(np.floor_divide(counts.cells, n_topics).tolist()) - {UNDATED}
        return [], 0, 0, len(periods)
    cells, starts = np.unique(counts.cells, return_index=True)
    ends = np.r_[starts[1:], len(counts.cells)]
    per_cell = max(1, min(cap, budget // len(cells)))
    period_of = np.floor_divide(cells, n_topics)
    # newest first; the undated cells (the largest key) last
    order = sorted(set(period_of.tolist()), key=lambda p: (p == UNDATED, -p))
    kept: set[int] = set()
    used = 0
    for period in order:
        size = int((period_of == period).sum())
        if kept and used + size > budget:
            break
        kept.add(period)
        used += size
    picks = []
    for cell, start, end in zip(cells, starts, ends):
        period, topic = divmod(int(cell), n_topics)
        if period in kept:
            for row in counts.sample_rows[start : min(end, start + per_cell)]:
                picks.append(Pick(int(row), topic, period))
    return picks, per_cell, len(kept - {UNDATED}), len(set(order) - {UNDATED})


def read_evidence(tagger, texts: dict[int, dict], picks: list[Pick]) -> list[dict]:
    """For each pick whose text was read: the paragraph of the article that scored highest for
    the topic, its score and its evidence (``topictag.explain.evidence``)."""
    from topictag.explain import evidence
    from topictag.paragraphs import split_paragraphs

    by_row: dict[int, list[Pick]] = defaultdict(list)
    for pick in picks:
        if pick.row in texts:
            by_row[pick.row].append(pick)
    readings = []
    for row in sorted(by_row):
        paragraphs = split_paragraphs(texts[row]["text"])
        if not paragraphs:
            continue
        scores = np.asarray(tagger.scores([p.text for p in paragraphs]), np.float64)
        for pick in by_row[row]:
            best = int(np.argmax(scores[:, pick.topic]))
            paragraph = paragraphs[best]
            readings.append(
                {
                    "pick": pick,
                    "paragraph": paragraph.index,
                    "text": paragraph.text,
                    "score": round(float(scores[best, pick.topic]), 6),
                    "evidence": evidence(
                        tagger.model, paragraph.text, pick.topic, _TERMS_PER_READING
                    ),
                }
            )
    return readings


def period_terms(
    readings: list[dict], topics: Sequence[str], by: str, series: dict, axis: list[int], k: int
) -> dict[str, list[dict]]:
    """Per topic and period read: the ``k`` terms with the largest mean weight over the
    period's readings, with the number of readings each was among the evidence of."""
    grouped: dict[tuple[int, int], list[dict]] = defaultdict(list)
    for reading in readings:
        grouped[(reading["pick"].topic, reading["pick"].period)].append(reading)
    position = {key: i for i, key in enumerate(axis)}
    out: dict[str, list[dict]] = {t: [] for t in topics}
    for (j, period), group in sorted(grouped.items()):
        weight: dict[str, float] = defaultdict(float)
        seen: dict[str, int] = defaultdict(int)
        for reading in group:
            for item in reading["evidence"]:
                weight[item["term"]] += item["weight"]
                seen[item["term"]] += 1
        ranked = sorted(weight, key=lambda term: (-weight[term], term))[:k]
        dated = period != UNDATED
        out[topics[j]].append(
            {
                "period": period_label(period, by) if dated else "no date",
                "start": period_start(period, by).isoformat() if dated else None,
                "articles": series["counts"][topics[j]][position[period]] if dated else None,
                "read": len(group),
                "terms": [
                    {
                        "term": term,
                        "weight": round(weight[term] / len(group), 4),
                        "articles": seen[term],
                    }
                    for term in ranked
                ],
            }
        )
    # newest period first, the undated last
    for topic, items in out.items():
        dated = sorted((x for x in items if x["start"]), key=lambda x: x["start"], reverse=True)
        out[topic] = dated + [x for x in items if not x["start"]]
    return out


def examples(
    readings: list[dict], texts: dict[int, dict], topics: Sequence[str], where: str, n: int
) -> dict[str, list[dict]]:
    """Per topic, ``n`` read paragraphs with the highest scores (distinct texts), with their
    evidence."""
    out: dict[str, list[dict]] = {}
    for j, topic in enumerate(topics):
        mine = [r for r in readings if r["pick"].topic == j]
        mine.sort(key=lambda r: (-r["score"], r["pick"].row))
        chosen, seen = [], set()
        for reading in mine:
            if reading["text"] in seen:
                continue
            seen.add(reading["text"])
            row = reading["pick"].row
            chosen.append(
                {
                    "row": row,
                    "where": f"{where} {row}",
                    "date": _text_or_none(texts[row]["date"]),
                    "group": texts[row]["group"],
                    "paragraph": reading["paragraph"],
                    "score": reading["score"],
                    "text": reading["text"],
                    "evidence": reading["evidence"][:5],
                }
            )
            if len(chosen) == n:
                break
        out[topic] = chosen
    return out


def _text_or_none(value) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def model_summary(model_dir: Path, tagger, warn: Callable[[str], None] | None = None) -> dict:
    """The model's path, topics, thresholds in use and its figures on real text (leave one
    real article out) from ``metrics.json``; ``stale`` says why they are not this model's
    when it was trained without evaluation (else None). Figures not as training wrote them
    are left out (``figures_problem`` says why), with one line through ``warn``."""
    from topictag.artifact import METRICS, read_metrics
    from topictag.card import EVALUATION_TITLES, figures_problem, figures_warning, stale_note

    metrics = read_metrics(model_dir)
    problem = figures_problem(metrics)
    if problem:
        (warn or _stderr)(figures_warning(Path(model_dir) / METRICS, problem))
    evaluation = None if problem else metrics.get("evaluation", {}).get("leave_one_article_out")
    summary = None
    if evaluation:
        summary = {
            "name": EVALUATION_TITLES["leave_one_article_out"],
            "n": evaluation.get("n"),
            "macro_f1": evaluation.get("macro_f1"),
            "micro_f1": evaluation.get("micro_f1"),
            "per_topic": evaluation.get("per_topic", {}),
            "stale": stale_note(metrics),
        }
    return {
        "path": str(model_dir),
        "topics": list(tagger.topics),
        "thresholds": dict(zip(tagger.topics, tagger.thresholds)),
        "evaluation": summary,
        "figures_problem": problem,
    }


# The whole report -------------------------------------------------------------------------


def corpus_trends(
    path: str | os.PathLike,
    *,
    date_field: str = defaults.REPORT_DATE_FIELD,
    by: str = defaults.REPORT_BY,
    group_field: str | None = None,
    text_field: str = "text",
    top: int = defaults.REPORT_TOP_GROUPS,
    sample: int = defaults.REPORT_SAMPLE,
    model: str | os.PathLike | None = None,
    progress: bool = True,
    warn: Callable[[str], None] | None = None,
) -> dict:
    """The figures of a report on the corpus at ``path`` (``.jsonl`` or ``.parquet``, tagged by
    ``topictag tag --input``, or untagged and then tagged here).

    ``by`` is day, week or month; ``group_field`` the column to break down by (default
    ``source``, skipped if the corpus has none); ``top`` the groups shown, the rest summed;
    ``sample`` about how many articles are read for the terms in all, shared evenly among
    the topics and periods (an article read for two topics counts twice). Rows
    without a usable date are counted, named through ``warn`` (default stderr) and in the
    figures, and left out of the time series only.
    """
    from topictag.tagger import load_model

    started = time.perf_counter()
    if by not in BY:
        raise ValueError(f"by must be one of {BY}, not {by!r}")
    if top < 1 or sample < 0:
        raise ValueError("top must be at least 1 and sample at least 0")
    say = warn or _stderr
    from topictag.tagged import open_source, read_batches, read_rows

    model_dir = defaults.model_dir(model)
    tagger = load_model(model_dir)
    source = open_source(
        path,
        date_field,
        group_field or defaults.REPORT_GROUP_FIELD,
        text_field,
        group_field is not None,
        tagger.topics,
    )
    if not source.tagged:
        say(f"{source.path}: no 'topics' column: tagging the corpus first (one process)")
    cap = defaults.REPORT_SAMPLE_PER_PERIOD
    with _progress(source, progress) as bar:
        counts = Counts(len(tagger.topics))
        for batch, size in read_batches(source, tagger):
            merge(counts, count_batch(batch, by, tagger.thresholds, cap), cap)
            bar.update(size)
    axis = period_axis(counts, by, source.where)
    picks, per_cell, periods_read, periods_sampled = choose_sample(counts, sample, cap)
    texts = read_rows(source, {p.row for p in picks})
    readings = read_evidence(tagger, texts, picks)
    series = time_series(counts, tagger.topics, axis)
    figures = {
        "corpus": _corpus_summary(source, counts),
        "dates": _dates_summary(source, counts),
        "model": model_summary(model_dir, tagger, say),
        "by": by,
        "periods": [
            {
                "start": period_start(k, by).isoformat(),
                "label": period_label(k, by),
                "articles": total,
            }
            for k, total in zip(axis, series["totals"])
        ],
        "counts": series["counts"],
        "share": series["share"],
        "cooccurrence": counts.cooccurrence.tolist(),
        "groups": group_breakdown(counts, tagger.topics, source.group_field, top)
        if source.group_field
        else None,
        "sample": {
            "requested": sample,
            "per_topic_period": per_cell,
            "read": len(readings),
            "periods_read": periods_read,
            "periods_sampled": periods_sampled,
            "text_field": text_field if source.has_text else None,
        },
        "terms": period_terms(readings, tagger.topics, by, series, axis, defaults.REPORT_TERMS),
        "examples": examples(
            readings, texts, tagger.topics, source.where, defaults.REPORT_EXAMPLES
        ),
    }
    for message in problems(figures):
        say(f"{source.path}: {message}")
    figures["seconds"] = round(time.perf_counter() - started, 3)
    return figures


def _corpus_summary(source: Source, counts: Counts) -> dict:
    def day(item):
        return None if item is None else date.fromordinal(item[0] + _EPOCH).isoformat()

    return {
        "path": str(source.path),
        "format": source.fmt,
        "rows": counts.rows,
        "tagged_here": not source.tagged,
        "without_topic": counts.without_topic,
        "first_date": day(counts.first),
        "last_date": day(counts.last),
        "off_threshold": counts.off_threshold,
        "off_threshold_rows": counts.off_rows,
    }


def _dates_summary(source: Source, counts: Counts) -> dict:
    return {
        "field": source.date_field,
        "rows_are": source.where,
        "dated": counts.rows - counts.missing - counts.unparseable,
        "missing": counts.missing,
        "missing_rows": counts.missing_rows,
        "unparseable": counts.unparseable,
        "unparseable_rows": [{"row": r, "value": v} for r, v in counts.unparseable_rows],
    }


def _rows(n: int) -> str:
    return f"{n:,} row" + ("" if n == 1 else "s")


def _named(rows: list[int], total: int, where: str) -> str:
    shown = ", ".join(str(r) for r in rows)
    more = f" and {total - len(rows):,} more" if total > len(rows) else ""
    return f"{where}{'s' if total > 1 else ''} {shown}{more}"


def problems(figures: dict) -> list[str]:
    """What a reader of the figures must know: rows without a usable date, rows whose topics
    do not follow the model's thresholds, no text to read terms from. One line each."""
    dates, corpus, where = figures["dates"], figures["corpus"], figures["dates"]["rows_are"]
    out = []
    if dates["missing"]:
        out.append(
            f"{_rows(dates['missing'])} without a {dates['field']!r} "
            f"({_named(dates['missing_rows'], dates['missing'], where)}): counted, but not in "
            "the time series"
        )
    if dates["unparseable"]:
        shown = ", ".join(f"{x['row']} ({x['value']!r})" for x in dates["unparseable_rows"])
        more = dates["unparseable"] - len(dates["unparseable_rows"])
        out.append(
            f"{_rows(dates['unparseable'])} whose {dates['field']!r} is not an ISO date "
            f"({where}{'s' if dates['unparseable'] > 1 else ''} {shown}"
            f"{f' and {more:,} more' if more else ''}): counted, but not in the time series"
        )
    if corpus["off_threshold"]:
        named = _named(corpus["off_threshold_rows"], corpus["off_threshold"], where)
        out.append(
            f"{_rows(corpus['off_threshold'])} "
            f"{'has' if corpus['off_threshold'] == 1 else 'have'} topics that their scores and "
            f"the model's thresholds do not give ({named}): tagged with another model or "
            "--threshold? The report counts the topics as tagged"
        )
    if figures["sample"]["text_field"] is None and corpus["rows"]:
        out.append("no text column: no terms or example paragraphs (see --text-field)")
    return out


def _stderr(message: str) -> None:
    from topictag.errors import one_line

    print(f"warning: {one_line(message)}", file=sys.stderr)


def _progress(source: Source, enabled: bool):
    """A progress bar of the first pass on stderr, shown only when stderr is a terminal."""
    from topictag.batch import progress_bar, progress_total

    total, unit = progress_total(source.path, source.fmt) if enabled else (None, "rows")
    return progress_bar(f"reading {source.path.name}", total, unit, enabled)
