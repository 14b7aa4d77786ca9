"""Topic trends of a tagged corpus: figures equal to an independent pandas computation, the
same whatever the batches, and awkward corpora (bad dates, no rows, one period, ten thousand
sources) that still give a report."""

from __future__ import annotations

import json
import os
import random
import shutil
import stat
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import write_jsonl
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from topictag import load_model
from topictag.cli import app
from topictag.tagged import Batch, day_of, open_source, read_batches
from topictag.trends import (
    choose_sample,
    corpus_trends,
    count_batch,
    count_corpus,
    merge,
    model_summary,
    period_keys,
    period_label,
    period_start,
)

START = date(2025, 1, 1)
#: Ways of writing a date that all mean the calendar day as written.
FORMATS = [
    lambda d: d.isoformat(),
    lambda d: f"{d.isoformat()}T23:59:59Z",
    lambda d: f"{d.isoformat()} 08:30:00+05:00",
    lambda d: f"{d.isoformat()}T00:00:00.123-07:00",
    lambda d: f" {d.isoformat()}T12:00 ",
]
BAD = ["yesterday", "2025-13-01", "2025-02-30", "05/03/2025", "2025-03-05T25:00", "2025-3-5"]


def make_rows(n: int, topics: list[str], thresholds: list[float], texts: list[str], seed=0):
    """``n`` tagged rows with dates (some missing or bad), sources and texts, and the truth:
    each row's date or None."""
    rng = random.Random(seed)
    sources = [f"source {i:02d}" for i in range(30)]
    weights = [1 / (i + 1) for i in range(30)]
    rows, truth = [], []
    for i in range(n):
        kind = rng.choices(["good", "missing", "null", "blank", "bad"], [85, 3, 3, 2, 7])[0]
        row: dict = {"id": i}
        day = None
        if kind == "good":
            day = START + timedelta(days=rng.randrange(100))
            row["date"] = rng.choice(FORMATS)(day)
        elif kind == "null":
            row["date"] = None
        elif kind == "blank":
            row["date"] = rng.choice(["", "  "])
        elif kind == "bad":
            row["date"] = rng.choice(BAD)
        scores = {t: round(rng.random() ** 2, 6) for t in topics}
        row["source"] = None if rng.random() < 0.03 else rng.choices(sources, weights)[0]
        row["text"] = "\n\n".join(rng.sample(texts, rng.randint(1, 3)))
        row["topics"] = [t for t, cut in zip(topics, thresholds) if scores[t] >= cut]
        row["scores"] = scores
        rows.append(row)
        truth.append(day)
    return rows, truth


def write_parquet(path: Path, rows: list[dict], topics: list[str]) -> Path:
    table = pa.table(
        {
            "id": pa.array([r["id"] for r in rows], pa.int64()),
            "date": pa.array([r.get("date") for r in rows], pa.string()),
            "source": pa.array([r["source"] for r in rows], pa.string()),
            "text": pa.array([r["text"] for r in rows], pa.string()),
            "topics": pa.array([r["topics"] for r in rows], pa.list_(pa.string())),
            "scores": pa.array(
                [r["scores"] for r in rows], pa.struct([(t, pa.float64()) for t in topics])
            ),
        }
    )
    pq.write_table(table, path, row_group_size=97)
    return path


@pytest.fixture(scope="module")
def tagger(model_dir):
    return load_model(model_dir)


@pytest.fixture(scope="module")
def generated(tagger, seed_rows):
    texts = [r["text"] for r in seed_rows]
    return make_rows(1500, tagger.topics, tagger.thresholds, texts)


@pytest.fixture(scope="module")
def corpora(tmp_path_factory, generated, tagger) -> dict[str, Path]:
    rows, _ = generated
    out = tmp_path_factory.mktemp("corpora")
    return {
        "jsonl": write_jsonl(out / "tagged.jsonl", rows),
        "parquet": write_parquet(out / "tagged.parquet", rows, tagger.topics),
    }


def pandas_figures(rows, truth, topics, by: str, top: int) -> dict:
    """The report's figures computed with pandas from the generated rows and their true dates,
    independently of topictag's reading and counting."""
    frame = pd.DataFrame({t: [t in r["topics"] for r in rows] for t in topics})
    frame["day"] = pd.to_datetime(pd.Series(truth, dtype="object"))
    frame["source"] = [r["source"] for r in rows]
    dated = frame.dropna(subset=["day"])
    freq = {"day": "D", "week": "W-SUN", "month": "M"}[by]
    period = dated["day"].dt.to_period(freq)
    full = pd.period_range(period.min(), period.max(), freq=freq)
    counts = dated.groupby(period)[topics].sum().reindex(full, fill_value=0)
    totals = dated.groupby(period).size().reindex(full, fill_value=0)
    ints = frame[topics].astype(int)
    groups = (
        frame.assign(articles=1)
        .groupby("source", dropna=False)[["articles", *topics]]
        .sum()
        .reset_index()
    )
    groups["missing"] = groups["source"].isna()
    groups = groups.sort_values(["articles", "missing", "source"], ascending=[False, True, True])
    return {
        "starts": [p.start_time.date().isoformat() for p in full],
        "totals": totals.tolist(),
        "counts": {t: counts[t].astype(int).tolist() for t in topics},
        "share": {
            t: [None if n == 0 else c / n for c, n in zip(counts[t], totals)] for t in topics
        },
        "cooccurrence": ints.T.dot(ints).values.tolist(),
        "groups": [
            (None if pd.isna(g["source"]) else g["source"], int(g["articles"]))
            for _, g in groups.head(top).iterrows()
        ],
        "other": int(groups["articles"].iloc[top:].sum()),
        "missing": sum(1 for r in rows if not (r.get("date") or "").strip()),
        "unparseable": sum(
            1 for r, d in zip(rows, truth) if d is None and (r.get("date") or "").strip()
        ),
        "without_topic": int((ints.sum(axis=1) == 0).sum()),
    }


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
@pytest.mark.parametrize("by", ["day", "week", "month"])
def test_figures_equal_an_independent_pandas_computation(corpora, generated, tagger, fmt, by):
    rows, truth = generated
    figures = corpus_trends(corpora[fmt], by=by, top=5, sample=30, warn=lambda m: None)
    expected = pandas_figures(rows, truth, tagger.topics, by, top=5)
    assert [p["start"] for p in figures["periods"]] == expected["starts"]
    assert [p["articles"] for p in figures["periods"]] == expected["totals"]
    assert figures["counts"] == expected["counts"]
    for topic in tagger.topics:
        assert figures["share"][topic] == pytest.approx(expected["share"][topic], abs=1e-6)
    assert figures["cooccurrence"] == expected["cooccurrence"]
    shown = [(g["group"], g["articles"]) for g in figures["groups"]["top"]]
    assert shown == expected["groups"]
    assert figures["groups"]["other"]["articles"] == expected["other"]
    assert figures["groups"]["groups"] == 31  # 30 sources and the rows without one
    assert figures["corpus"]["rows"] == len(rows)
    assert figures["corpus"]["without_topic"] == expected["without_topic"]
    assert figures["corpus"]["off_threshold"] == 0
    dates = figures["dates"]
    assert dates["missing"] == expected["missing"]
    assert dates["unparseable"] == expected["unparseable"]
    assert dates["dated"] == sum(d is not None for d in truth)


@pytest.fixture(autouse=True)
def _model(use_model):
    """Every test here uses the test model ($TOPICTAG_MODEL)."""


def test_rows_without_a_usable_date_are_named(corpora, generated):
    rows, truth = generated
    messages: list[str] = []
    figures = corpus_trends(corpora["jsonl"], sample=0, warn=messages.append)
    blank = [not (r.get("date") or "").strip() for r in rows]
    missing = [i + 1 for i, b in enumerate(blank) if b][:5]
    bad = [(i + 1, r.get("date")) for i, (r, d) in enumerate(zip(rows, truth)) if d is None]
    bad = [(n, v) for n, v in bad if not blank[n - 1]][:5]
    assert figures["dates"]["missing_rows"] == missing
    assert [(x["row"], x["value"]) for x in figures["dates"]["unparseable_rows"]] == bad
    text = "\n".join(messages)
    assert f"lines {', '.join(map(str, missing))} and" in text
    assert f"{bad[0][0]} ({bad[0][1]!r})" in text


def test_figures_do_not_depend_on_the_batches(corpora, tagger):
    source = open_source(corpora["parquet"], "date", "source", "text", False, tagger.topics)
    results = []
    for size in (1, 37, 5000):
        counts = count_corpus(
            (b for b, _ in read_batches(source, tagger, size)),
            len(tagger.topics),
            "week",
            tagger.thresholds,
            cap=7,
        )
        results.append(counts)
    first = results[0]
    for other in results[1:]:
        assert other.periods.keys() == first.periods.keys()
        for key in first.periods:
            assert (other.periods[key] == first.periods[key]).all()
        assert (other.cooccurrence == first.cooccurrence).all()
        assert {k: v.tolist() for k, v in other.groups.items()} == {
            k: v.tolist() for k, v in first.groups.items()
        }
        assert other.sample_rows.tolist() == first.sample_rows.tolist()
        assert (other.missing, other.unparseable) == (first.missing, first.unparseable)


@given(st.lists(st.integers(0, 10), min_size=1, max_size=60), st.integers(1, 5))
def test_the_sample_is_the_smallest_keys_of_each_cell_however_merged(days, cap):
    """Merging the counts of any split of the rows gives the same sample as counting them at
    once: the ``cap`` rows with the smallest keys in each (period, topic) cell."""
    n = len(days)
    batch = Batch(
        rows=np.arange(1, n + 1),
        topics=np.ones((n, 1), dtype=bool),
        days=np.array(days, dtype=np.int64),
    )
    whole = count_batch(batch, "day", cap=cap)
    total = count_batch(_slice(batch, 0, n // 2), "day", cap=cap)
    merge(total, count_batch(_slice(batch, n // 2, n), "day", cap=cap), cap)
    assert total.sample_rows.tolist() == whole.sample_rows.tolist()
    for day in set(days):
        in_cell = whole.sample_rows[whole.cells == day]
        assert len(in_cell) == min(cap, days.count(day))


def _slice(batch: Batch, a: int, b: int) -> Batch:
    return Batch(batch.rows[a:b], batch.topics[a:b], batch.days[a:b])


def test_the_sample_is_spread_over_topics_and_periods_latest_first():
    n = 100
    batch = Batch(
        rows=np.arange(1, n + 1),
        topics=np.ones((n, 2), dtype=bool),
        days=np.repeat(np.arange(10, dtype=np.int64), 10),
    )
    counts = count_batch(batch, "day", cap=200)
    picks, per_cell, read, sampled = choose_sample(counts, budget=40, cap=200)
    assert (per_cell, read, sampled, len(picks)) == (2, 10, 10, 40)
    picks, per_cell, read, sampled = choose_sample(counts, budget=6, cap=200)
    assert (per_cell, read, sampled) == (1, 3, 10)
    assert sorted({p.period for p in picks}) == [7, 8, 9]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-05", date(2024, 3, 5)),
        ("2024-03-05T23:30:00Z", date(2024, 3, 5)),
        ("2024-03-05 01:00+09:00", date(2024, 3, 5)),
        ("2024-03-05T10:00:00.5-0700", date(2024, 3, 5)),
        ("2024-02-29", date(2024, 2, 29)),
        ("2023-02-29", None),
        ("2024-03-05T24:00", None),
        ("2024-3-5", None),
        ("5 March 2024", None),
        ("2024-03-05garbage", None),
        ("0000-01-01", None),
    ],
)
def test_dates_are_iso_dates_taken_as_written(text, expected):
    day = day_of(text)
    assert (None if day is None else date(1970, 1, 1) + timedelta(days=day)) == expected


def test_periods_start_on_mondays_and_first_days():
    day = (date(2025, 1, 1) - date(1970, 1, 1)).days  # a Wednesday
    (week,) = period_keys(np.array([day]), "week")
    assert period_start(week, "week") == date(2024, 12, 30)
    assert period_label(week, "week") == "2025-W01"
    (month,) = period_keys(np.array([day + 40]), "month")
    assert (period_start(month, "month"), period_label(month, "month")) == (
        date(2025, 2, 1),
        "2025-02",
    )
    before = (date(1969, 12, 29) - date(1970, 1, 1)).days
    assert period_start(period_keys(np.array([before]), "week")[0], "week") == date(1969, 12, 29)


@pytest.mark.parametrize("by", ["day", "week", "month"])
def test_a_period_label_of_an_early_year_keeps_four_digits(by):
    """Years 2 to 999 are dates the report accepts; their weeks and months were "2-W01"."""
    day = (date(2, 1, 3) - date(1970, 1, 1)).days
    (key,) = period_keys(np.array([day]), by)
    assert (
        period_label(key, by) == {"day": "0002-01-03", "week": "0002-W01", "month": "0002-01"}[by]
    )


def test_terms_and_examples_come_from_articles_of_the_topic_and_period(corpora, generated, tagger):
    rows, truth = generated
    figures = corpus_trends(corpora["parquet"], by="month", sample=60, warn=lambda m: None)
    sample = figures["sample"]
    assert 0 < sample["read"] <= 60 + len(tagger.topics)
    assert 1 <= sample["per_topic_period"] <= 60
    for items in figures["terms"].values():
        for item in items:
            assert item["read"] <= sample["per_topic_period"]
            assert len(item["terms"]) <= 5
            assert all(
                t["weight"] > 0 and 1 <= t["articles"] <= item["read"] for t in item["terms"]
            )
        starts = [item["start"] for item in items if item["start"]]
        assert starts == sorted(starts, reverse=True)  # newest first
    for topic, examples in figures["examples"].items():
        assert len(examples) <= 3
        for example in examples:
            row = rows[example["row"] - 1]
            assert topic in row["topics"]
            assert example["text"] in row["text"].replace("\r\n", "\n")
            for item in example["evidence"]:
                for start, end in item["spans"]:
                    assert 0 <= start < end <= len(example["text"])


def test_an_untagged_corpus_is_tagged_first_with_the_same_figures(tmp_path, corpora, tagger):
    from topictag import tag_corpus

    plain = tmp_path / "plain.jsonl"
    with open(corpora["jsonl"], encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    write_jsonl(
        plain, [{k: v for k, v in r.items() if k not in ("topics", "scores")} for r in rows[:300]]
    )
    tagged = tmp_path / "tagged.parquet"
    tag_corpus(plain, tagged, progress=False)
    messages: list[str] = []
    direct = corpus_trends(plain, sample=20, warn=messages.append)
    assert any("tagging the corpus first" in m for m in messages)
    assert direct["corpus"]["tagged_here"] is True
    later = corpus_trends(tagged, sample=20, warn=lambda m: None)
    for key in ("periods", "counts", "share", "cooccurrence", "groups"):
        assert direct[key] == later[key], key
    assert direct["dates"] == {**later["dates"], "rows_are": "line"}  # Parquet: "row"
    assert direct["corpus"]["off_threshold"] == 0


def test_rows_tagged_with_other_thresholds_are_counted_and_named(tmp_path, generated, tagger):
    rows, _ = generated
    changed = [dict(r) for r in rows[:200]]
    for r in changed[10:13]:
        r["topics"] = [t for t in tagger.topics if t not in r["topics"]]
    messages: list[str] = []
    figures = corpus_trends(
        write_jsonl(tmp_path / "c.jsonl", changed), sample=0, warn=messages.append
    )
    assert figures["corpus"]["off_threshold"] == 3
    assert figures["corpus"]["off_threshold_rows"] == [11, 12, 13]
    assert any("lines 11, 12, 13" in m and "another model" in m for m in messages)


# Awkward corpora, through the command line --------------------------------------------------


def run(*args: str):
    return CliRunner().invoke(app, ["report", *args])


def report_json(path: Path, *args: str) -> dict:
    result = run(str(path), "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_an_empty_corpus_gives_a_page(tmp_path, tagger):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    figures = report_json(empty)
    assert figures["corpus"]["rows"] == 0 and figures["periods"] == []
    out = tmp_path / "report.html"
    result = run(str(empty), "--output", str(out))
    assert result.exit_code == 0, result.output
    assert "no dated articles" in out.read_text() or "<svg" in out.read_text()
    table = pa.table(
        {
            "date": pa.array([], pa.string()),
            "text": pa.array([], pa.string()),
            "topics": pa.array([], pa.list_(pa.string())),
        }
    )
    pq.write_table(table, tmp_path / "empty.parquet")
    assert report_json(tmp_path / "empty.parquet")["corpus"]["rows"] == 0


@pytest.mark.parametrize(
    "name, args, hint",
    [
        ("r.pdf", [], "name it .html"),
        ("r.json", [], "or --format json"),
        ("r.html", ["-f", "json"], "name it .json"),
    ],
)
def test_an_output_named_for_another_format_is_refused_before_reading(tmp_path, name, args, hint):
    """report.pdf would hold an HTML page; the corpus is not even read (it does not exist)."""
    result = run(str(tmp_path / "absent.jsonl"), "--output", str(tmp_path / name), *args)
    assert result.exit_code == 2
    assert hint in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / name).exists()


def test_an_output_without_an_ending_or_in_capitals_is_written(tmp_path, tagger):
    path = write_jsonl(tmp_path / "c.jsonl", [{"date": "2025-05-05", "text": "Gas.", "topics": []}])
    for name in ("report", "REPORT.HTM"):
        assert run(str(path), "--output", str(tmp_path / name)).exit_code == 0
        assert (tmp_path / name).read_text().startswith("<!")


@pytest.mark.parametrize("kind", ["jsonl", "parquet"])
def test_placeholder_dates_at_the_ends_of_the_calendar_are_named_not_drawn(tmp_path, tagger, kind):
    """0001-01-01 and 9999-12-31 mean "no date" in many systems; the chart axis cannot reach
    them (a traceback from matplotlib before)."""
    import datetime as dt

    dates = ["0001-01-01", "9999-12-31", "2025-05-05"]
    rows = [{"date": d, "text": "Gas.", "topics": [tagger.topics[0]]} for d in dates]
    if kind == "jsonl":
        path = write_jsonl(tmp_path / "c.jsonl", rows)
    else:
        path = tmp_path / "c.parquet"
        days = [dt.date.fromisoformat(d) for d in dates]
        pq.write_table(
            pa.table(
                {
                    "date": pa.array(days, pa.date32()),
                    "text": [r["text"] for r in rows],
                    "topics": [r["topics"] for r in rows],
                }
            ),
            path,
        )
    for by in ("day", "week", "month"):
        result = run(str(path), "--by", by, "--output", str(tmp_path / f"{by}.html"))
        assert result.exit_code == 0, result.output
        assert "2 rows whose 'date' is not an ISO date" in result.stderr
        assert "'0001-01-01'" in result.stderr and "'9999-12-31'" in result.stderr


def test_one_topic_and_one_period_give_a_page(tmp_path, tagger):
    topic = tagger.topics[2]
    rows = [
        {"date": "2025-05-05", "text": "Gas flows.", "source": "a", "topics": [topic]}
        for _ in range(4)
    ]
    path = write_jsonl(tmp_path / "one.jsonl", rows)
    figures = report_json(path, "--by", "month")
    assert [p["label"] for p in figures["periods"]] == ["2025-05"]
    assert figures["counts"][topic] == [4]
    assert all(figures["counts"][t] == [0] for t in tagger.topics if t != topic)
    assert figures["share"][topic] == [1.0]
    out = tmp_path / "one.html"
    assert run(str(path), "--output", str(out)).exit_code == 0
    assert out.read_text().count("<svg") == 4


def test_ten_thousand_sources_draw_the_top_n_and_sum_the_rest(tmp_path, tagger):
    topic = tagger.topics[0]
    rows = [
        {"date": "2025-01-02", "text": "x", "source": f"s{i:05d}", "topics": [topic] * (i % 2)}
        for i in range(10_000)
    ]
    rows += [{"date": "2025-01-02", "text": "x", "source": "big", "topics": []}] * 3
    path = write_jsonl(tmp_path / "many.jsonl", rows)
    groups = corpus_trends(path, top=4, sample=0)["groups"]
    assert groups["groups"] == 10_001
    assert [g["group"] for g in groups["top"]] == ["big", "s00000", "s00001", "s00002"]
    assert groups["other"]["groups"] == 9_997
    assert groups["other"]["articles"] == 9_997
    assert groups["other"]["topics"][topic] == 5_000 - 1
    out = tmp_path / "many.html"
    assert run(str(path), "--top", "4", "--sample", "10", "--output", str(out)).exit_code == 0
    assert "9,997 groups" in out.read_text()


def test_a_number_as_a_group_is_named_alike_in_json_lines_and_parquet(tmp_path, tagger):
    """A JSON Lines 1.0 was group "1.0" and a Parquet double 1.0 group "1"; NaN "NaN" and
    "nan"; and the Parquet examples, read another way, said "1.0"."""
    topic = tagger.topics[0]
    values = [1.0, 2.5, float("nan"), None, 1.0]
    rows = [{"date": "2025-01-02", "text": "Gas.", "source": v, "topics": [topic]} for v in values]
    jsonl = tmp_path / "c.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows))  # NaN as JSON's NaN
    parquet = tmp_path / "c.parquet"
    pq.write_table(
        pa.table(
            {
                "date": ["2025-01-02"] * len(values),
                "text": ["Gas."] * len(values),
                "source": pa.array(values, pa.float64()),
                "topics": pa.array([[topic]] * len(values), pa.list_(pa.string())),
            }
        ),
        parquet,
    )
    named = {}
    for path in (jsonl, parquet):
        figures = corpus_trends(path, group_field="source", sample=10)
        named[path.suffix] = (
            sorted((g["group"] or "", g["articles"]) for g in figures["groups"]["top"]),
            sorted(e["group"] or "" for e in figures["examples"][topic]),
        )
    assert named[".jsonl"] == named[".parquet"]
    assert named[".jsonl"][0] == [("", 1), ("1.0", 2), ("2.5", 1), ("NaN", 1)]


def test_bad_and_missing_dates_are_named_on_stderr_and_in_the_page(tmp_path):
    rows = [
        {"date": "2025-01-02", "text": "Oil.", "topics": []},
        {"text": "no date", "topics": []},
        {"date": "tomorrow", "text": "bad", "topics": []},
        {"date": 20250102, "text": "a number", "topics": []},
    ]
    path = tmp_path / "dates.jsonl"
    path.write_text(
        "\n".join(json.dumps(r) for r in rows[:2])
        + "\n\n"
        + "\n".join(json.dumps(r) for r in rows[2:])
        + "\n"
    )
    out = tmp_path / "dates.html"
    result = run(str(path), "--output", str(out))
    assert result.exit_code == 0, result.output
    assert "1 row without a 'date' (line 2)" in result.stderr
    assert "2 rows whose 'date' is not an ISO date (lines 4 ('tomorrow'), 5 ('20250102'))" in (
        result.stderr
    )
    page = out.read_text()
    assert "line 2" in page and "&#x27;tomorrow&#x27;" in page


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ('{"text": "x", "topics": []}\n', [], "no field 'date'"),
        (
            '{"when": "2025-01-01", "text": "x", "topics": []}\n',
            ["--group-field", "outlet"],
            "no field 'outlet'",
        ),
        ('{"date": "2025-01-01", "topics": ["nuclear"]}\n', [], "topic 'nuclear' is not one of"),
        ('{"date": "2025-01-01", "body": "x"}\n', [], "neither tagged"),
        (
            '{"date": "2025-01-01", "topics": []}\n{"date": "2025-01-01", "topics": null}\n',
            [],
            "line 2: 'topics' is null",
        ),
        ("not json\n", [], "line 1: not valid JSON"),
    ],
)
def test_unusable_corpora_are_one_error_line(tmp_path, content, args, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    result = run(str(path), "--date-field", "when" if "when" in content else "date", *args)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1


def test_a_missing_directory_or_unreadable_corpus_is_one_error_line(tmp_path):
    assert "no such file" in run(str(tmp_path / "none.jsonl")).stderr
    folder = tmp_path / "folder.parquet"
    folder.mkdir()
    result = run(str(folder))
    assert result.exit_code == 1 and result.stderr == f"error: {folder}: is a directory\n"
    locked = write_jsonl(tmp_path / "locked.jsonl", [{"date": "2025-01-01", "topics": []}])
    locked.chmod(0)
    try:
        result = run(str(locked))
    finally:
        locked.chmod(0o644)
    if os.geteuid() != 0:  # root reads anything
        assert result.exit_code == 1 and "cannot read (Permission denied)" in result.stderr


def test_a_csv_corpus_is_refused_with_the_command_to_tag_it(tmp_path):
    path = tmp_path / "corpus.csv"
    path.write_text("date,text\n2025-01-01,x\n")
    result = run(str(path))
    assert result.exit_code == 1 and "topictag tag --input" in result.stderr


def test_parquet_date_and_timestamp_columns(tmp_path, tagger):
    days = [date(2025, 1, 6), None, date(2025, 1, 20)]
    stamps = pa.array(
        [1736121600_000, None, 1737331199_000], pa.timestamp("ms", tz="Asia/Tokyo")
    )  # 2025-01-06 09:00 and 2025-01-20 08:59:59 in Tokyo
    for name, column in (("date32", pa.array(days, pa.date32())), ("timestamp", stamps)):
        table = pa.table(
            {
                "date": column,
                "text": pa.array(["a", "b", "c"]),
                "topics": pa.array([[tagger.topics[0]], [], []], pa.list_(pa.string())),
            }
        )
        pq.write_table(table, tmp_path / f"{name}.parquet")
        figures = report_json(tmp_path / f"{name}.parquet")
        assert [p["start"] for p in figures["periods"]] == [
            "2025-01-06",
            "2025-01-13",
            "2025-01-20",
        ]
        assert [p["articles"] for p in figures["periods"]] == [1, 0, 1]
        assert figures["dates"]["missing_rows"] == [2]


@pytest.mark.parametrize("repeated", ["date", "source", "topics", "scores", "text", "id"])
def test_a_parquet_column_the_report_reads_named_twice_is_refused(tmp_path, tagger, repeated):
    """pyarrow's KeyError ("Field "date" exists 2 times in schema") was a traceback; a
    column the report does not read may be there twice."""
    columns = {
        "text": pa.array(["Gas."]),
        "date": pa.array(["2025-01-06"]),
        "source": pa.array(["a"]),
        "topics": pa.array([[tagger.topics[0]]], pa.list_(pa.string())),
        "scores": pa.array([dict.fromkeys(tagger.topics, 0.5)]),
        "id": pa.array([1]),
    }
    names = [*columns, repeated]
    path = tmp_path / "twice.parquet"
    pq.write_table(pa.Table.from_arrays([columns[n] for n in names], names=names), path)
    result = run(str(path), "--format", "json")
    if repeated == "id":
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {path}: the Parquet schema names a column twice: {repeated!r} "
        f"(columns: {', '.join(names)}); rename or drop one\n"
    )


BIG = 2**62
DAY_20000 = 20_000 * 86_400  # 2024-10-04, in seconds


@pytest.mark.parametrize(
    ("column", "shown"),
    [
        (pa.array([-(2**31) + 1, 20_000], pa.int32()).cast(pa.date32()), "-5877641-06-24"),
        (pa.array([2**31 - 1, 20_000], pa.int32()).cast(pa.date32()), "5881580-07-11"),
        (pa.array([BIG, DAY_20000 * 1_000]).cast(pa.date64()), "5029829-08-29"),
        (pa.array([BIG, DAY_20000 * 1_000]).cast(pa.timestamp("ms")), "146140482-04-24"),
        (pa.array([BIG, DAY_20000 * 1_000]).cast(pa.timestamp("ms", tz="UTC")), "146140482-04-24"),
        # a day past 32 bits, which pyarrow's cast to date32 wrapped round to 2024-10-04
        (
            pa.array([(2**32 + 20_000) * 86_400, DAY_20000]).cast(pa.timestamp("s")),
            "11761245-10-24",
        ),
    ],
    ids=["date32-min", "date32-max", "date64", "timestamp", "timestamp-tz", "wrapped"],
)
def test_a_parquet_date_python_cannot_hold_is_an_unusable_date_named_by_row(
    tmp_path, tagger, column, shown
):
    """As 9999-12-31 written as text is: counted, but not in the time series, and named.
    Naming it was a traceback (date.fromordinal: "ordinal must be >= 1", OverflowError), and
    so was reading the row's text for the sample (Table.to_pylist)."""
    path = tmp_path / "far.parquet"
    topics = pa.array([[tagger.topics[0]], [tagger.topics[0]]], pa.list_(pa.string()))
    pq.write_table(pa.table({"date": column, "text": ["Gas.", "Oil."], "topics": topics}), path)
    figures = report_json(path, "--by", "day")
    assert [p["start"] for p in figures["periods"]] == ["2024-10-04"]
    assert figures["dates"]["unparseable_rows"] == [{"row": 1, "value": shown}]
    assert figures["corpus"]["rows"] == 2


def test_a_timestamp_at_the_ends_of_64_bits_is_read_on_its_local_date(tmp_path, tagger):
    """pyarrow's local_timestamp wraps a nanosecond past 2262-04-11T23:47:16Z round to 1677;
    in Tokyo that instant is already 2262-04-12."""
    stamps = pa.array([2**63 - 1, 2**63 - 10**9 * 86_400]).cast(pa.timestamp("ns", tz="Asia/Tokyo"))
    path = tmp_path / "edge.parquet"
    topics = pa.array([[], []], pa.list_(pa.string()))
    pq.write_table(pa.table({"date": stamps, "topics": topics}), path)
    figures = report_json(path, "--by", "day")
    assert [p["start"] for p in figures["periods"]] == ["2262-04-11", "2262-04-12"]


def test_a_date_column_of_numbers_is_refused(tmp_path):
    pq.write_table(
        pa.table({"date": [1, 2], "topics": pa.array([[], []], pa.list_(pa.string()))}),
        tmp_path / "n.parquet",
    )
    result = run(str(tmp_path / "n.parquet"))
    assert result.exit_code == 1 and "column 'date' holds int64, not dates" in result.stderr


def test_dates_spanning_too_many_periods_name_the_rows(tmp_path):
    rows = [{"date": "0900-01-01", "topics": []}, {"date": "2025-01-01", "topics": []}]
    path = write_jsonl(tmp_path / "span.jsonl", rows)
    result = run(str(path), "--by", "day")
    assert result.exit_code == 1
    assert "0900-01-01 (line 1) to 2025-01-01 (line 2)" in result.stderr
    assert result.stderr.rstrip().endswith("fix those dates, or use a longer --by")
    months = run(str(path), "--by", "month", "-f", "json")  # 13,501 months
    assert months.exit_code == 1 and months.stderr.rstrip().endswith("fix those dates")
    ok = write_jsonl(tmp_path / "ok.jsonl", [{"date": "1990-01-01", "topics": []}, rows[1]])
    assert run(str(ok), "--by", "month", "-f", "json").exit_code == 0


def test_output_is_written_whole_and_never_over_the_input(corpora, tmp_path):
    result = run(str(corpora["jsonl"]), "--output", str(corpora["jsonl"]))
    assert result.exit_code == 2 and "is the input file" in result.stderr
    missing = tmp_path / "no" / "such" / "report.html"
    result = run(str(corpora["jsonl"]), "--sample", "0", "--output", str(missing))
    assert result.exit_code == 1 and "no such directory" in result.stderr
    assert not missing.parent.exists()


def test_a_failed_write_leaves_the_previous_report_and_no_temporary_file(
    corpora, tmp_path, monkeypatch
):
    import errno

    from topictag import files

    out = tmp_path / "report.html"
    out.write_text("previous")

    def full_disk(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "write_all", full_disk)
    result = run(str(corpora["jsonl"]), "--sample", "0", "--output", str(out))
    assert result.exit_code == 1
    assert result.stderr.endswith(f"\nerror: {out}: cannot write (No space left on device)\n")
    assert out.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_json_and_png_outputs(corpora, tmp_path):
    out, charts = tmp_path / "report.json", tmp_path / "charts"
    result = run(
        str(corpora["parquet"]),
        "-f",
        "json",
        "-o",
        str(out),
        "--png",
        str(charts),
        "--sample",
        "10",
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text())
    assert {"corpus", "model", "periods", "counts", "share", "cooccurrence", "groups"} <= set(
        figures
    )
    names = sorted(p.name for p in charts.iterdir())
    assert names == ["cooccurrence.png", "counts.png", "groups.png", "share.png"]
    for path in charts.iterdir():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "1,500 articles" in result.stderr


def test_a_png_directory_that_cannot_be_made_fails_before_the_corpus_is_read(
    corpora, tmp_path, monkeypatch
):
    from topictag import trends

    def never(*args, **kwargs):
        raise AssertionError("the corpus was read")

    monkeypatch.setattr(trends, "corpus_trends", never)
    afile = tmp_path / "a-file"
    afile.write_text("x")
    for target, problem in [
        (afile, "exists and is not a directory"),
        (afile / "charts", f"{afile} is not a directory"),
    ]:
        out = tmp_path / "report.json"
        result = run(str(corpora["jsonl"]), "-f", "json", "-o", str(out), "--png", str(target))
        assert result.exit_code == 1
        assert result.stderr == f"error: --png {target}: {problem}\n"
        assert not out.exists()


def test_an_empty_png_path_is_refused_not_taken_for_the_working_directory(
    corpora, tmp_path, monkeypatch
):
    """``--png "$UNSET"`` wrote counts.png and the others over the user's own files here."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "counts.png").write_bytes(b"the user's own")
    result = run(str(corpora["jsonl"]), "-f", "json", "-o", "r.json", "--png", "")
    assert result.exit_code == 2
    assert result.stderr == "error: an empty argument for --png (an unset shell variable?)\n"
    assert len(result.stderr.splitlines()) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["counts.png"]
    assert (tmp_path / "counts.png").read_bytes() == b"the user's own"


def test_a_read_only_file_system_is_named_as_a_failed_output_names_it(
    corpora, tmp_path, monkeypatch
):
    import errno

    from topictag import files

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    out, charts = tmp_path / "r.json", tmp_path / "charts"
    with monkeypatch.context() as patch:
        patch.setattr(os, "mkdir", read_only)
        result = run(str(corpora["jsonl"]), "-f", "json", "-o", str(out), "--png", str(charts))
    assert result.exit_code == 1
    assert result.stderr == f"error: --png {charts}: cannot write (Read-only file system)\n"
    monkeypatch.setattr(files, "write_all", read_only)
    result = run(str(corpora["jsonl"]), "--sample", "0", "-f", "json", "-o", str(out))
    assert result.stderr.endswith(f"error: {out}: cannot write (Read-only file system)\n")
    assert os.listdir(tmp_path) == []


def test_no_text_column_still_gives_counts(tmp_path, generated, tagger):
    rows, _ = generated
    path = write_jsonl(
        tmp_path / "notext.jsonl", [{k: v for k, v in r.items() if k != "text"} for r in rows[:50]]
    )
    result = CliRunner().invoke(app, ["report", str(path), "-f", "json"])
    assert result.exit_code == 0
    figures = json.loads(result.stdout)
    assert figures["corpus"]["rows"] == 50 and figures["sample"]["read"] == 0
    assert "no text column" in result.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_an_output_that_is_a_fifo_or_device_is_refused_not_replaced(corpora, tmp_path):
    """Renaming a file over it would put a plain file in its place (as root, over /dev/null)."""
    os.mkfifo(tmp_path / "pipe.html")
    result = run(str(corpora["jsonl"]), "--sample", "0", "-o", str(tmp_path / "pipe.html"))
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {tmp_path / 'pipe.html'}: a FIFO (named pipe), not a regular file; give a "
        "file, or no --output for stdout\n"
    )
    assert stat.S_ISFIFO(os.stat(tmp_path / "pipe.html").st_mode)


def test_the_report_is_never_written_into_the_model_it_reads(corpora, tmp_path, model_dir):
    """``-o model/portable.json`` broke the model; any other file there makes training refuse
    the directory."""
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    before = {p.name: p.read_bytes() for p in model.iterdir()}
    for args in (["-o", str(model / "portable.json")], ["--png", str(model)]):
        result = run(str(corpora["jsonl"]), "--model", str(model), "--sample", "0", *args)
        assert result.exit_code == 2
        assert f"is in the model directory {model}; write elsewhere" in result.stderr
    assert {p.name: p.read_bytes() for p in model.iterdir()} == before


def test_figures_of_a_model_trained_without_evaluation_are_marked_stale(tmp_path, model_dir):
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    metrics = json.loads((model / "metrics.json").read_text())
    metrics["evaluation"] = {
        "leave_one_article_out": {"n": 9, "macro_f1": 0.5, "micro_f1": 0.5, "per_topic": {}}
    }
    metrics["evaluation_stale"] = {"data_sha256": "0" * 64, "params": {"C": 1.0}}
    (model / "metrics.json").write_text(json.dumps(metrics))
    summary = model_summary(model, load_model(model))
    assert summary["evaluation"]["stale"].startswith("Stale figures: measured by an earlier")
    del metrics["evaluation_stale"]
    (model / "metrics.json").write_text(json.dumps(metrics))
    assert model_summary(model, load_model(model))["evaluation"]["stale"] is None


@pytest.mark.parametrize(
    ("codec", "says"),
    [
        ("utf-16", "UTF-16 text (it opens with a byte order mark)"),
        ("utf-16-le", "UTF-16-LE text (no byte order mark)"),
    ],
)
def test_a_tagged_corpus_in_utf16_is_one_error(tmp_path, codec, says):
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"date": "2025-01-01", "topics": []}) + "\n", encoding=codec)
    result = run(str(path), "-f", "json")
    assert result.exit_code == 1
    assert says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_chart_this_report_does_not_draw_is_left_with_a_warning(tmp_path, tagger):
    """A corpus without a breakdown draws no groups chart: the last report's one stays, named."""
    charts = tmp_path / "charts"
    rows = [{"date": "2025-01-01", "text": "Gas.", "source": "a", "topics": []}]
    with_source = write_jsonl(tmp_path / "a.jsonl", rows)
    without = write_jsonl(
        tmp_path / "b.jsonl", [{k: v for k, v in rows[0].items() if k != "source"}]
    )
    assert (
        run(str(with_source), "--png", str(charts), "-o", str(tmp_path / "a.html")).exit_code == 0
    )
    assert (charts / "groups.png").exists()
    result = run(str(without), "--png", str(charts), "-o", str(tmp_path / "b.html"))
    assert result.exit_code == 0
    assert f"warning: {charts / 'groups.png'}: from an earlier report" in result.stderr


@pytest.mark.parametrize("field", ["date", "source"])
def test_a_field_that_first_appears_after_a_thousand_rows_is_found(tmp_path, tagger, field):
    """An optional field left out of the early rows (not null) still dates or groups."""
    rows = [
        {"date": "2025-01-01", "text": "Gas.", "source": "a", "topics": []} for _ in range(1001)
    ]
    for row in rows[:1000]:
        del row[field]
    path = write_jsonl(tmp_path / "late.jsonl", rows)
    figures = report_json(path)
    if field == "date":
        assert figures["corpus"]["rows"] == 1001 and len(figures["periods"]) == 1
        assert figures["dates"]["missing"] == 1000
    else:
        assert figures["groups"] is not None


def test_the_summary_line_shows_an_output_name_s_escape_sequences_as_text(corpora, tmp_path):
    out = tmp_path / "r\x1b[2J.html"
    result = run(str(corpora["jsonl"]), "--sample", "0", "-o", str(out))
    assert result.exit_code == 0 and out.exists()
    assert "\x1b" not in result.stderr and "r\\x1b[2J.html: " in result.stderr


def test_undated_articles_are_read_last_and_are_not_counted_as_a_period():
    """The page said "the latest 27 of 28 periods" of a corpus of 27 weeks: the 28th was the
    undated articles."""
    from topictag.trends import BAD_DATE

    n = 40
    days = np.r_[np.repeat(np.arange(3, dtype=np.int64), 10), np.full(10, BAD_DATE)]
    batch = Batch(rows=np.arange(1, n + 1), topics=np.ones((n, 1), dtype=bool), days=days)
    counts = count_batch(batch, "day", cap=200)
    picks, per_cell, read, sampled = choose_sample(counts, budget=2, cap=200)
    assert (read, sampled) == (2, 3)
    assert sorted({p.period for p in picks}) == [1, 2]
    picks, per_cell, read, sampled = choose_sample(counts, budget=400, cap=200)
    assert (read, sampled) == (3, 3) and len(picks) == 40  # the undated read too, last
