"""Benchmark topictag in one run: CLI cold start, tagging throughput, and peak memory on a
generated corpus.

    python bench/run.py            # the figures quoted in the README (1 GB corpus: minutes)
    python bench/run.py --quick    # a 50 MB corpus and fewer repeats, for a fast check
    python bench/run.py --only report   # topictag report on a 1,000,000-row tagged corpus

The headline is text no model has seen: the labelled articles are cut into four folds, one
model per fold is trained on the other folds' rows (topictag's pipeline and, when the fasttext
module is installed, fastText on the same rows: pip install ".[bench]"), and each system tags
the held-out articles once, in fresh processes, the scorer's word memo starting empty.
Throughput with 1 and 2 processes, the cold start and the corpus run use the model in model/
(or $TOPICTAG_MODEL) and articles made of the seed paragraphs of labels/seeds.jsonl, whose
words repeat.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED_ARTICLE = sorted((ROOT / "seeds").glob("*.txt"))[0]
CLI = Path(sys.executable).parent / "topictag"

NUMPY_LABEL = "python -c 'import numpy'"
TARGETS = {
    "cold start (s)": 0.3,
    "unseen: vs scikit-learn": 10.0,
    "unseen: vs fastText": 1.0,
    "2 processes vs 1": 1.8,
    "corpus: seconds per GB": 120,
    "peak memory (MB)": 500,
}


def seed_paragraphs() -> list[str]:
    with open(ROOT / "labels" / "seeds.jsonl", encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line in fh]


def make_articles(paragraphs: list[str], n: int, seed: int = 0) -> list[str]:
    """``n`` articles of 3 to 12 seed paragraphs each, separated by blank lines."""
    rng = random.Random(seed)
    return ["\n\n".join(rng.choices(paragraphs, k=rng.randint(3, 12))) for _ in range(n)]


# Cold start ----------------------------------------------------------------------------------


def wall_times(command: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def cold_start(runs: int) -> dict:
    """Median wall times of the tag command, of ``python -c pass``, and for reference of
    ``import numpy`` and of the command's own function called without typer's parsing."""
    article = str(SEED_ARTICLE.relative_to(ROOT))
    commands = {
        "topictag": [str(CLI), "tag", article, "--format", "json"],
        "python_pass": [sys.executable, "-c", "pass"],
        "import_numpy": [sys.executable, "-c", "import numpy"],
        "tag_without_typer": [
            sys.executable,
            "-c",
            f"from topictag.cli import tag, Format; tag(paths=[{article!r}], fmt=Format.json)",
        ],
    }
    # pip compiles an installed package's bytecode; an editable install under
    # PYTHONDONTWRITEBYTECODE would otherwise recompile topictag on every run (some 40 ms).
    compileall.compile_dir(ROOT / "topictag", quiet=1)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for command in commands.values():  # compiled bytecode and the OS file cache, as after
        wall_times(command, 1)  # any first run
    for _ in range(runs):  # interleaved, so that other work on the machine hits all alike
        for name, command in commands.items():
            times[name] += wall_times(command, 1)
    out = {f"{name}_median_s": statistics.median(t) for name, t in times.items()}
    out["command"] = " ".join(["topictag", *commands["topictag"][1:]])
    out["runs"] = runs
    return out


# Throughput ----------------------------------------------------------------------------------

_TAGGER = None


def _load(kind: str) -> None:
    """Load a tagger in this process: the portable scorer with its compiled kernels
    ("portable") or numpy ("numpy") for every batch, or the scikit-learn pipeline behind the
    very same Tagger code (paragraph split, thresholds, article = any paragraph)."""
    global _TAGGER
    from topictag import compiled, defaults
    from topictag.tagger import Tagger

    _scoring(kind)
    compiled.SECOND_THREAD = False  # one thread per process, as the workers of tag --num-proc
    tagger = Tagger.load()
    if kind == "sklearn":
        from topictag.artifact import load_pipeline

        tagger = _sklearn_tagger(tagger.model, load_pipeline(defaults.model_dir()))
    _TAGGER = tagger


def _scoring(kind: str) -> None:
    """Batches over the plain-Python limit go to the compiled kernels (whatever their size:
    the benchmark's batches are smaller than a corpus chunk), or to numpy."""
    from topictag import scorer

    scorer.COMPILED_CHARS = 0
    scorer.COMPILED = kind != "numpy"
    if kind == "one thread":  # no second thread for the char_wb block
        from topictag import compiled

        compiled.SECOND_THREAD = False


def _sklearn_tagger(model, pipeline):
    from topictag.tagger import Tagger

    class SklearnTagger(Tagger):
        def scores(self, texts, furniture=None):
            return pipeline.predict_proba(list(texts))

    return SklearnTagger(model)


def _tag(texts: list[str]) -> int:
    return len(_TAGGER.tag_batch(texts))


def authored_articles() -> list[str]:
    """The authored paragraphs joined back into their 534 articles: text the seed-made corpus
    does not repeat."""
    articles: dict[str, list[str]] = {}
    with open(ROOT / "labels" / "authored.jsonl", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            articles.setdefault(row["article"], []).append(row["text"])
    return ["\n\n".join(paragraphs) for paragraphs in articles.values()]


def _spin(chunk: list[str]) -> int:
    """A pure-Python loop as long as tagging ``chunk`` takes, give or take: the yardstick for
    what two processes can gain on this machine."""
    total = 0
    for i in range(60_000 * len(chunk)):
        total += i * i % 7
    return len(chunk)


CONFIGS = [
    # label, what the workers load, processes, function timed
    ("topictag, 1 process", "portable", 1, _tag),
    ("topictag, 2 processes", "portable", 2, _tag),
    ("topictag with numpy, 1 process", "numpy", 1, _tag),
    ("scikit-learn, 1 process", "sklearn", 1, _tag),
    ("scikit-learn, 2 processes", "sklearn", 2, _tag),
    ("pure-Python loop, 1 process", "portable", 1, _spin),
    ("pure-Python loop, 2 processes", "portable", 2, _spin),
]


def throughputs(n_articles: int, repeats: int) -> dict:
    """Paragraphs and words per second of ``tag_batch`` in pools of 1 and 2 worker processes,
    each with its model already loaded (start-up is not timed). Every configuration runs
    ``repeats`` times, interleaved with the others, and keeps its best time: other work on the
    machine can only slow a run down, and interleaving spreads it over all configurations."""
    from topictag.paragraphs import split_paragraphs

    texts = make_articles(seed_paragraphs(), n_articles)
    chunks = [texts[i : i + 50] for i in range(0, len(texts), 50)]
    paragraphs = sum(len(split_paragraphs(t)) for t in texts)
    words = sum(len(t.split()) for t in texts)
    pools = {}
    best = {label: float("inf") for label, *_ in CONFIGS}
    try:
        for label, kind, processes, _ in CONFIGS:
            pools[label] = ProcessPoolExecutor(
                processes, mp_context=get_context("spawn"), initializer=_load, initargs=(kind,)
            )
            list(pools[label].map(_tag, [chunks[0]] * processes))  # warm every worker
        for _ in range(repeats):
            for label, *_, function in CONFIGS:
                start = time.perf_counter()
                done = sum(pools[label].map(function, chunks))
                best[label] = min(best[label], time.perf_counter() - start)
                assert done == len(texts)
    finally:
        for pool in pools.values():
            pool.shutdown()
    out: dict = {"articles": len(texts), "paragraphs": paragraphs, "words": words}
    loop = best["pure-Python loop, 1 process"] / best["pure-Python loop, 2 processes"]
    out["cpu_scaling_2_vs_1"] = loop
    for label, *_ in CONFIGS[:5]:
        out[label] = {
            "paragraphs_per_s": paragraphs / best[label],
            "words_per_s": words / best[label],
            "seconds": best[label],
        }
    return out


# Unseen text: the headline -------------------------------------------------------------------

#: The labelled articles are cut into this many folds; each fold's paragraphs are tagged by
#: models trained on the other folds' rows, so no system has seen the text it tags.
UNSEEN_FOLDS = 4
#: fastText, the peer: multi-label (one-vs-all), word bigrams, trained on the same rows.
FASTTEXT = {"loss": "ova", "wordNgrams": 2, "epoch": 25, "thread": 2, "verbose": 0}
UNSEEN_KINDS = {
    "topictag": "topictag (compiled)",
    "one thread": "topictag, one thread",
    "numpy": "topictag (numpy)",
    "sklearn": "scikit-learn pipeline",
    "fasttext": "fastText",
}


def _fasttext():
    try:
        import fasttext
    except ImportError:
        return None
    return fasttext


def unseen_setup(workdir: Path, folds: int = UNSEEN_FOLDS) -> dict:
    """Train one model per fold on the rows of the other folds' articles (labels/ and seeds/,
    as training reads them; the shipped model's C): topictag's pipeline, kept as its portable
    model and as the pipeline, and fastText on the same rows when it is installed. Returns the
    fold directories and each fold's held-out articles (paragraphs joined by blank lines)."""
    import joblib
    import numpy as np

    from topictag import defaults
    from topictag.artifact import export_portable, npz_bytes, read_metrics
    from topictag.labels import load_labels
    from topictag.lexicon import load_lexicon
    from topictag.pipeline import build_pipeline
    from topictag.topics import load_topics

    labels_dir = ROOT / "labels"
    topics = [t.name for t in load_topics(labels_dir)]
    data = load_labels(labels_dir, topics, ROOT / "seeds", warn=lambda message: None)
    lexicon = load_lexicon(labels_dir, topics)
    c = float(read_metrics(defaults.model_dir()).get("params", {}).get("C", 8.0))
    fold_of = {a: i % folds for i, a in enumerate(sorted(set(data.articles)))}
    fasttext = _fasttext()
    out: dict = {"folds": [], "rows": len(data), "fasttext": fasttext is not None}
    for fold in range(folds):
        train = [i for i, a in enumerate(data.articles) if fold_of[a] != fold]
        held: dict[str, list[str]] = {}
        for i, a in enumerate(data.articles):
            if fold_of[a] == fold:
                held.setdefault(a, []).append(data.texts[i])
        texts = [data.texts[i] for i in train]
        y = np.array([[t in data.labels[i] for t in topics] for i in train], dtype=int)
        pipeline = build_pipeline(C=c, lexicon=lexicon or None, topics=topics).fit(texts, y)
        where = workdir / f"fold{fold}"
        where.mkdir()
        settings, arrays = export_portable(pipeline, topics, [0.5] * len(topics), lexicon)
        (where / "portable.json").write_text(json.dumps(settings), encoding="utf-8")
        (where / "portable.npz").write_bytes(npz_bytes(arrays))
        joblib.dump(pipeline, where / "pipeline.joblib")
        if fasttext is not None:
            lines = []
            for i in train:
                names = [f"__label__{t.replace(' ', '_')}" for t in data.labels[i]]
                text = data.texts[i].replace("\n", " ")
                lines.append(" ".join(names or ["__label__none"]) + " " + text + "\n")
            (where / "fasttext.txt").write_text("".join(lines), encoding="utf-8")
            model = fasttext.train_supervised(input=str(where / "fasttext.txt"), **FASTTEXT)
            model.save_model(str(where / "fasttext.bin"))
        out["folds"].append(
            {"dir": str(where), "articles": ["\n\n".join(p) for p in held.values()]}
        )
    return out


def _fold_tagger(kind: str, where: Path):
    """The tagger of one fold: topictag (compiled or numpy), or scikit-learn or fastText
    behind the very same Tagger code."""
    from topictag.artifact import read_npz
    from topictag.scorer import PortableModel
    from topictag.tagger import Tagger

    settings = json.loads((where / "portable.json").read_text(encoding="utf-8"))
    model = PortableModel(settings, read_npz((where / "portable.npz").read_bytes()))
    if kind == "sklearn":
        import joblib

        return _sklearn_tagger(model, joblib.load(where / "pipeline.joblib"))
    if kind == "fasttext":
        fasttext = _fasttext()
        fasttext.FastText.eprint = lambda *args, **kwargs: None  # a notice on every load
        ft = fasttext.load_model(str(where / "fasttext.bin"))
        order = [f"__label__{t.replace(' ', '_')}" for t in model.topics]

        class FastTextTagger(Tagger):
            def scores(self, texts, furniture=None):
                labels, probabilities = ft.predict(
                    [t.replace("\n", " ") for t in texts], k=-1, threshold=0.0
                )
                return [
                    [dict(zip(names, p)).get(name, 0.0) for name in order]
                    for names, p in zip(labels, probabilities)
                ]

        return FastTextTagger(model)
    return Tagger(model)


def _unseen_run(kind: str, folds: list[dict]) -> dict:
    """In a fresh process: load every fold's model, warm it up on other text (the compiled
    kernels load from their cache here), empty what the warm-up left in the word memos, then
    tag each fold's held-out articles once with ``tag_batch``. Seconds of the tagging alone."""
    from topictag.paragraphs import split_paragraphs

    start = time.perf_counter()
    _scoring(kind)
    taggers = [_fold_tagger(kind, Path(fold["dir"])) for fold in folds]
    warm_up = ["Warm-up text, not from any article: grain freight rates. " * 400]
    for tagger in taggers:
        tagger.tag_batch(warm_up)
        for block in getattr(tagger.model, "blocks", []):
            block.memo.clear()
        for compiled in getattr(tagger.model, "_compiled", []):
            if compiled is not None:
                compiled.forget()
    ready = time.perf_counter() - start
    seconds = 0.0
    for tagger, fold in zip(taggers, folds):
        begin = time.perf_counter()
        tagger.tag_batch(fold["articles"])
        seconds += time.perf_counter() - begin
    paragraphs = sum(len(split_paragraphs(t)) for f in folds for t in f["articles"])
    return {"seconds": seconds, "paragraphs": paragraphs, "ready_s": ready}


def unseen(repeats: int, workdir: str | None) -> dict:
    """Paragraphs per second of ``tag_batch`` on text no model has seen (see
    :func:`unseen_setup`), each system in ``repeats`` fresh processes, interleaved: the
    median, and for the compiled kernels the median time from start to ready (loading the
    models and the kernels from the cache)."""
    tmp = Path(tempfile.mkdtemp(prefix="topictag-unseen-", dir=workdir))
    try:
        setup = unseen_setup(tmp)
        kinds = [k for k in UNSEEN_KINDS if k != "fasttext" or setup["fasttext"]]
        runs: dict[str, list[dict]] = {k: [] for k in kinds}
        for _ in range(repeats):
            for kind in kinds:
                with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
                    runs[kind].append(pool.submit(_unseen_run, kind, setup["folds"]).result())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    paragraphs = runs["topictag"][0]["paragraphs"]
    out: dict = {"folds": UNSEEN_FOLDS, "rows": setup["rows"], "paragraphs": paragraphs}
    out["articles"] = sum(len(f["articles"]) for f in setup["folds"])
    for kind, results in runs.items():
        rates = [paragraphs / r["seconds"] for r in results]
        out[kind] = {
            "paragraphs_per_s": statistics.median(rates),
            "all": rates,
            "ready_s": statistics.median(r["ready_s"] for r in results),
        }
    return out


# Peak memory ---------------------------------------------------------------------------------


def write_corpus(path: Path, size_bytes: int) -> int:
    """A JSON Lines corpus of about ``size_bytes`` bytes; returns its number of rows."""
    paragraphs = seed_paragraphs()
    rng = random.Random(1)
    rows = written = 0
    with open(path, "w", encoding="utf-8") as fh:
        while written < size_bytes:
            lines = []
            for _ in range(1000):
                text = "\n\n".join(rng.choices(paragraphs, k=rng.randint(3, 12)))
                lines.append(json.dumps({"id": rows, "source": "bench", "text": text}) + "\n")
                rows += 1
            block = "".join(lines)
            fh.write(block)
            written += len(block.encode("utf-8"))
    return rows


def _tree_memory(pid: int) -> tuple[int, int]:
    """Memory (bytes) of a process and all its descendants, from /proc (Linux): the sum of
    their proportional set sizes, so that library pages shared between the processes count
    once (their resident sizes when the kernel gives no PSS), and the largest resident size
    of one of them."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    total, largest, todo = 0, 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        found = {}
        for name, fields in (("smaps_rollup", ("Pss:",)), ("status", ("VmRSS:",))):
            try:
                with open(f"/proc/{current}/{name}", encoding="ascii", errors="replace") as fh:
                    for line in fh:
                        if line.startswith(fields):
                            found[line.split(":")[0]] = int(line.split()[1]) * 1024
            except OSError:
                continue
        total += found.get("Pss", found.get("VmRSS", 0))
        largest = max(largest, found.get("VmRSS", 0))
    return total, largest


def peak_memory(size_mb: int, num_proc: int, workdir: str | None) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="topictag-bench-", dir=workdir))
    try:
        corpus = tmp / "corpus.jsonl"
        rows = write_corpus(corpus, size_mb * 1_000_000)
        size = corpus.stat().st_size
        output = tmp / "tagged.parquet"
        command = [str(CLI), "tag", "--input", str(corpus), "--output", str(output)]
        command += ["--num-proc", str(num_proc)]
        with open(tmp / "summary.json", "wb") as out:
            measured = _measured(command, out)
        summary = json.loads((tmp / "summary.json").read_bytes())
        seconds = measured["seconds"]
        return {
            "command": " ".join(["topictag", *command[1:]]).replace(str(tmp), "$TMP"),
            "corpus_mb": size / 1e6,
            "rows": rows,
            "tagged": summary["tagged"],
            "seconds": seconds,
            "rows_per_s": rows / seconds,
            "peak_pss_all_processes_mb": measured["peak_pss_all_processes_mb"],
            "peak_rss_largest_process_mb": measured["peak_rss_largest_process_mb"],
            "output_mb": output.stat().st_size / 1e6,
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# topictag report on a tagged corpus -----------------------------------------------------------

REPORT_TARGETS = {"report seconds": 60, "report peak memory (MB)": 500}


def write_tagged_corpus(path: Path, rows: int, seed: int = 2) -> dict:
    """A tagged corpus of ``rows`` articles as ``topictag tag --input`` writes it (row groups
    of 1,000): the authored articles, really tagged once each with the model, drawn at random
    with dates over 2025 (one in a thousand missing, one in a thousand unparseable) and 300
    sources of very different sizes. Written 50,000 rows at a time."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from topictag.tagger import Tagger

    tagger = Tagger.load()
    texts = authored_articles()
    results = tagger.tag_batch(texts)
    base = pa.table(
        {
            "text": pa.array(texts, pa.string()),
            "topics": pa.array([r["topics"] for r in results], pa.list_(pa.string())),
            "scores": pa.array(
                [r["scores"] for r in results],
                pa.struct([(t, pa.float64()) for t in tagger.topics]),
            ),
        }
    )
    rng = np.random.default_rng(seed)
    sources = np.array([f"source {i:03d}" for i in range(300)], dtype=object)
    weights = 1 / np.arange(1, 301)
    days = np.arange(np.datetime64("2025-01-01"), np.datetime64("2026-01-01"))
    schema = None
    with pq.ParquetWriter(path, _tagged_schema(tagger.topics)) as writer:
        for start in range(0, rows, 50_000):
            n = min(50_000, rows - start)
            picked = base.take(pa.array(rng.integers(0, len(texts), n)))
            dates = days[rng.integers(0, len(days), n)].astype(str).astype(object)
            odd = rng.random(n)
            dates[odd < 0.001] = None
            dates[(odd >= 0.001) & (odd < 0.002)] = "sometime in 2025"
            table = pa.table(
                {
                    "id": pa.array(np.arange(start, start + n)),
                    "date": pa.array(dates, pa.string()),
                    "source": pa.array(
                        rng.choice(sources, n, p=weights / weights.sum()), pa.string()
                    ),
                    **{name: picked.column(name) for name in picked.column_names},
                }
            )
            schema = schema or table.schema
            writer.write_table(table.cast(schema), row_group_size=1000)
    return {"rows": rows, "articles": len(texts), "mb": path.stat().st_size / 1e6}


def _tagged_schema(topics: list[str]):
    import pyarrow as pa

    return pa.schema(
        [
            ("id", pa.int64()),
            ("date", pa.string()),
            ("source", pa.string()),
            ("text", pa.string()),
            ("topics", pa.list_(pa.string())),
            ("scores", pa.struct([(t, pa.float64()) for t in topics])),
        ]
    )


def _measured(command: list[str], stdout) -> dict:
    """Run ``command``; wall time, peak memory of it and its children (sum of PSS, sampled
    every 0.2 s) and the largest resident size of one of its processes."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=stdout)
    peak = [0, 0]
    sampling = Path("/proc/self/smaps_rollup").exists()

    def sample() -> None:
        while process.returncode is None:
            total, largest = _tree_memory(process.pid)
            peak[0], peak[1] = max(peak[0], total), max(peak[1], largest)
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    if sampling:
        sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if sampling:
        sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"bench: {' '.join(command[:2])} failed ({process.returncode})")
    return {
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "load_average_at_end": os.getloadavg()[0],
        "peak_pss_all_processes_mb": peak[0] / 1e6 if sampling else None,
        # sampled, not ru_maxrss: a child's ru_maxrss starts from this process's own size
        "peak_rss_largest_process_mb": (peak[1] if sampling else usage.ru_maxrss * 1024) / 1e6,
    }


def _to_jsonl(corpus: Path) -> Path:
    """The Parquet corpus as JSON Lines (the Parquet file removed)."""
    import pyarrow.parquet as pq

    jsonl = corpus.with_suffix(".jsonl")
    with open(jsonl, "w", encoding="utf-8") as fh, pq.ParquetFile(corpus) as parquet:
        for batch in parquet.iter_batches(batch_size=10_000):
            fh.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in batch.to_pylist())
    corpus.unlink()
    return jsonl


def report_speed(rows: int, workdir: str | None, fmt: str = "parquet") -> dict:
    """Time and peak memory of ``topictag report`` on a generated tagged corpus of ``rows``
    articles (Parquet, or JSON Lines converted from it), with the default options."""
    tmp = Path(tempfile.mkdtemp(prefix="topictag-report-bench-", dir=workdir))
    try:
        corpus = tmp / "tagged.parquet"
        # Written by another process: a child forked from a large process would report the
        # parent's memory as its own largest resident size.
        with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
            made = pool.submit(write_tagged_corpus, corpus, rows).result()
            if fmt == "jsonl":
                corpus = pool.submit(_to_jsonl, corpus).result()
        output = tmp / "report.html"
        command = [str(CLI), "report", str(corpus), "--output", str(output)]
        with open(tmp / "stdout", "wb") as out:
            measured = _measured(command, out)
        return {
            "command": " ".join(["topictag", *command[1:]]).replace(str(tmp), "$TMP"),
            "rows": rows,
            "distinct_articles": made["articles"],
            "corpus_mb": corpus.stat().st_size / 1e6,
            "page_mb": output.stat().st_size / 1e6,
            **measured,
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def report_lines(result: dict) -> list[str]:
    peak = result["peak_pss_all_processes_mb"] or result["peak_rss_largest_process_mb"]
    lines = [
        f"report on a tagged corpus of {result['rows']:,} articles "
        f"({result['corpus_mb']:,.0f} MB; {result['distinct_articles']} distinct texts):",
        f"  {result['command']}",
        f"  {result['seconds']:,.1f} s ({result['cpu_seconds']:,.1f} s of CPU; load average "
        f"{result['load_average_at_end']:.1f} at the end); peak memory {peak:,.0f} MB (sum of "
        "PSS; largest single "
        f"process {result['peak_rss_largest_process_mb']:,.0f} MB); "
        f"page {result['page_mb']:.1f} MB",
    ]
    for name, value in (("report seconds", result["seconds"]), ("report peak memory (MB)", peak)):
        target = REPORT_TARGETS[name]
        met = "met" if value <= target else "MISSED"
        lines.append(f"  {name:<28} {value:8.2f}  target <= {target:<6} {met}")
    return lines


# Report --------------------------------------------------------------------------------------


def _speed_lines(speed: dict) -> list[str]:
    return [
        f"  {label:<36} {figures['paragraphs_per_s']:>9,.0f} paragraphs/s "
        f"{figures['words_per_s']:>11,.0f} words/s"
        for label, figures in speed.items()
        if isinstance(figures, dict) and "paragraphs_per_s" in figures
    ]


def unseen_lines(unseen: dict) -> list[str]:
    """The headline: each system's median paragraphs/s on unseen text, and the ratios."""
    ours = unseen["topictag"]["paragraphs_per_s"]
    lines = [
        f"unseen text: {unseen['paragraphs']} paragraphs ({unseen['articles']} articles) of "
        f"{unseen['rows']} labelled rows, in {unseen['folds']} folds, each tagged by models "
        "trained on the other folds; tag_batch, each system in fresh processes (median):",
    ]
    for kind, label in UNSEEN_KINDS.items():
        if kind in unseen:
            rate = unseen[kind]["paragraphs_per_s"]
            ratio = "" if kind == "topictag" else f"   topictag is {ours / rate:5.2f}x this"
            lines.append(f"  {label:<24} {rate:>9,.0f} paragraphs/s{ratio}")
    lines.append(
        f"  compiled kernels ready (models loaded, kernels loaded from the cache) in "
        f"{unseen['topictag']['ready_s']:.2f} s"
    )
    if "fasttext" not in unseen:
        lines.append('  (fastText not installed: pip install ".[bench]")')
    return lines


def report(results: dict) -> str:
    cold, speed, memory = results["cold_start"], results["throughput"], results["memory"]
    unseen = results["unseen"]
    one = speed["topictag, 1 process"]["paragraphs_per_s"]
    two = speed["topictag, 2 processes"]["paragraphs_per_s"]
    ours = unseen["topictag"]["paragraphs_per_s"]
    peak = memory["peak_pss_all_processes_mb"] or memory["peak_rss_largest_process_mb"]
    checks = [
        ("cold start (s)", cold["topictag_median_s"], "<="),
        ("unseen: vs scikit-learn", ours / unseen["sklearn"]["paragraphs_per_s"], ">="),
    ]
    if "fasttext" in unseen:
        checks.append(("unseen: vs fastText", ours / unseen["fasttext"]["paragraphs_per_s"], ">="))
    checks += [
        ("2 processes vs 1", two / one, ">="),
        ("corpus: seconds per GB", memory["seconds"] * 1000 / memory["corpus_mb"], "<="),
        ("peak memory (MB)", peak, "<="),
    ]
    lines = [
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        f"; load average at start {results['load'][0]:.2f}, at end {os.getloadavg()[0]:.2f}",
        f"a pure-Python loop runs {speed['cpu_scaling_2_vs_1']:.2f}x faster on 2 processes "
        "than on 1 (the ceiling for the 2-process figures)",
        "",
        *unseen_lines(unseen),
        "",
        f"cold start, median of {cold['runs']} runs:",
        f"  {cold['command']:<60} {cold['topictag_median_s']:.3f} s",
        f"  {'python -c pass':<60} {cold['python_pass_median_s']:.3f} s",
        f"  {NUMPY_LABEL:<60} {cold['import_numpy_median_s']:.3f} s",
        f"  {'the same tag command without typer parsing its options':<60} "
        f"{cold['tag_without_typer_median_s']:.3f} s",
        "",
        f"tag_batch on {speed['articles']} articles of seed paragraphs ({speed['paragraphs']} "
        f"paragraphs, {speed['words']} words), models loaded, best of the repeats:",
    ]
    lines += _speed_lines(speed)
    lines += [
        "",
        f"corpus of {memory['corpus_mb']:,.0f} MB ({memory['rows']:,} articles):",
        f"  {memory['command']}",
        f"  {memory['seconds']:,.1f} s, {memory['rows_per_s']:,.0f} articles/s; peak memory "
        f"{peak:,.0f} MB for all processes (sum of PSS) "
        f"(largest single process {memory['peak_rss_largest_process_mb']:,.0f} MB)",
        "",
        "targets:",
    ]
    for name, value, sign in checks:
        target = TARGETS[name]
        met = value <= target if sign == "<=" else value >= target
        lines.append(
            f"  {name:<28} {value:8.2f}  target {sign} {target:<6} {'met' if met else 'MISSED'}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="50 MB corpus, fewer repeats")
    parser.add_argument("--corpus-mb", type=int, help="corpus size (default 1000, quick 50)")
    parser.add_argument("--num-proc", type=int, default=2, help="processes for the corpus run")
    parser.add_argument("--workdir", help="where to write the corpus (default: system temp)")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.add_argument(
        "--only",
        choices=["report", "corpus"],
        help="report: only `topictag report` on a tagged corpus; corpus: only the corpus run",
    )
    parser.add_argument(
        "--report-rows", type=int, help="rows of the report's corpus (default 1,000,000)"
    )
    parser.add_argument(
        "--report-format",
        choices=["parquet", "jsonl"],
        default="parquet",
        help="the report's corpus as Parquet (default) or JSON Lines",
    )
    args = parser.parse_args()
    size_mb = args.corpus_mb or (50 if args.quick else 1000)
    report_rows = args.report_rows or (100_000 if args.quick else 1_000_000)
    if args.only == "corpus":
        memory = peak_memory(size_mb, args.num_proc, args.workdir)
        print(json.dumps(memory, indent=2))
        return
    if args.only == "report":
        results = {"report": report_speed(report_rows, args.workdir, args.report_format)}
        print("\n".join(report_lines(results["report"])))
        if args.json:
            print(json.dumps(results, indent=2))
        return
    results = {
        "load": os.getloadavg(),
        "unseen": unseen(3 if args.quick else 5, args.workdir),
        "cold_start": cold_start(7 if args.quick else 21),
        "throughput": throughputs(*((500, 3) if args.quick else (2000, 5))),
        "memory": peak_memory(size_mb, args.num_proc, args.workdir),
        "report": report_speed(report_rows, args.workdir, args.report_format),
    }
    print(report(results))
    print("\n" + "\n".join(report_lines(results["report"])))
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
