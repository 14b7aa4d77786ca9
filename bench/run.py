"""Benchmark topictag in one run: CLI cold start, tagging throughput, and peak memory on a
generated corpus.

    python bench/run.py            # the figures quoted in the README (1 GB corpus: minutes)
    python bench/run.py --quick    # a 50 MB corpus and fewer repeats, for a fast check

It uses the model in model/ (or $TOPICTAG_MODEL) and the seed paragraphs in labels/seeds.jsonl.
Throughput is measured on articles made of seed paragraphs, so every word is one the scorer has
seen before; the "no word memo" line shows the same scorer when every word is new, and the
"unseen articles" lines tag the 534 authored articles once each, the scorer's word memo starting
empty, as on a real corpus of new text.
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
    "1 process vs scikit-learn": 1.5,
    "2 processes vs 1": 1.8,
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


def _load(kind: str, memo: bool = True) -> None:
    """Load a tagger in this process: the portable scorer, or the scikit-learn pipeline behind
    the very same Tagger code (paragraph split, thresholds, article = any paragraph)."""
    global _TAGGER
    from topictag import defaults, scorer
    from topictag.tagger import Tagger

    if not memo:
        scorer.WORD_MEMO_SIZE = 0
    tagger = Tagger.load()
    if kind == "sklearn":
        from topictag.artifact import load_pipeline

        pipeline = load_pipeline(defaults.model_dir())

        class SklearnTagger(Tagger):
            def scores(self, texts):
                return pipeline.predict_proba(list(texts))

        tagger = SklearnTagger(tagger.model)
    _TAGGER = tagger


def _tag(texts: list[str]) -> int:
    return len(_TAGGER.tag_batch(texts))


def _tag_unseen(texts: list[str]) -> float:
    """Seconds to tag ``texts`` with the scorer's word memo emptied first (no-op for
    scikit-learn), as a fresh process meets a corpus of new articles."""
    for block in getattr(_TAGGER.model, "blocks", []):
        block.memo.clear()
    start = time.perf_counter()
    _tag(texts)
    return time.perf_counter() - start


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
    # label, what the workers load, processes, word memo, function timed
    ("topictag, 1 process", "portable", 1, True, _tag),
    ("topictag, 2 processes", "portable", 2, True, _tag),
    ("topictag, 1 process, no word memo", "portable", 1, False, _tag),
    ("scikit-learn, 1 process", "sklearn", 1, True, _tag),
    ("scikit-learn, 2 processes", "sklearn", 2, True, _tag),
    ("pure-Python loop, 1 process", "portable", 1, True, _spin),
    ("pure-Python loop, 2 processes", "portable", 2, True, _spin),
]


def throughputs(n_articles: int, repeats: int) -> dict:
    """Paragraphs and words per second of ``tag_batch`` in pools of 1 and 2 worker processes,
    each with its model already loaded (start-up is not timed). Every configuration runs
    ``repeats`` times, interleaved with the others, and keeps its best time: other work on the
    machine can only slow a run down, and interleaving spreads it over all configurations."""
    from topictag.paragraphs import split_paragraphs

    texts = make_articles(seed_paragraphs(), n_articles)
    chunks = [texts[i : i + 25] for i in range(0, len(texts), 25)]
    paragraphs = sum(len(split_paragraphs(t)) for t in texts)
    words = sum(len(t.split()) for t in texts)
    pools = {}
    best = {label: float("inf") for label, *_ in CONFIGS}
    try:
        for label, kind, processes, memo, _ in CONFIGS:
            pools[label] = ProcessPoolExecutor(
                processes, mp_context=get_context("spawn"), initializer=_load, initargs=(kind, memo)
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
    out["unseen"] = unseen_throughputs(repeats)
    loop = best["pure-Python loop, 1 process"] / best["pure-Python loop, 2 processes"]
    out["cpu_scaling_2_vs_1"] = loop
    for label, *_ in CONFIGS[:5]:
        out[label] = {
            "paragraphs_per_s": paragraphs / best[label],
            "words_per_s": words / best[label],
            "seconds": best[label],
        }
    return out


def unseen_throughputs(repeats: int) -> dict:
    """Paragraphs per second on articles the scorer has not seen, in one worker process:
    the portable scorer (memo emptied before each run) and scikit-learn, best of
    ``repeats`` interleaved runs."""
    from topictag.paragraphs import split_paragraphs

    texts = authored_articles()
    paragraphs = sum(len(split_paragraphs(t)) for t in texts)
    words = sum(len(t.split()) for t in texts)
    pools = {
        kind: ProcessPoolExecutor(
            1, mp_context=get_context("spawn"), initializer=_load, initargs=(kind,)
        )
        for kind in ("portable", "sklearn")
    }
    best = dict.fromkeys(pools, float("inf"))
    try:
        for _ in range(repeats):
            for kind, pool in pools.items():
                best[kind] = min(best[kind], pool.submit(_tag_unseen, texts).result())
    finally:
        for pool in pools.values():
            pool.shutdown()
    out: dict = {"articles": len(texts), "paragraphs": paragraphs, "words": words}
    for kind, label in (("portable", "topictag"), ("sklearn", "scikit-learn")):
        out[f"{label}, 1 process"] = {
            "paragraphs_per_s": paragraphs / best[kind],
            "words_per_s": words / best[kind],
            "seconds": best[kind],
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


def _tree_memory(pid: int) -> int:
    """Memory (bytes) of a process and all its descendants, from /proc (Linux): the sum of
    their proportional set sizes, so that library pages shared between the processes count
    once (their resident sizes when the kernel gives no PSS)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        for name, field in (("smaps_rollup", "Pss:"), ("status", "VmRSS:")):
            try:
                with open(f"/proc/{current}/{name}", encoding="ascii", errors="replace") as fh:
                    found = [line for line in fh if line.startswith(field)]
            except OSError:
                continue
            if found:
                total += int(found[0].split()[1]) * 1024
                break
    return total


def peak_memory(size_mb: int, num_proc: int, workdir: str | None) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="topictag-bench-", dir=workdir))
    try:
        corpus = tmp / "corpus.jsonl"
        rows = write_corpus(corpus, size_mb * 1_000_000)
        size = corpus.stat().st_size
        output = tmp / "tagged.parquet"
        command = [str(CLI), "tag", "--input", str(corpus), "--output", str(output)]
        command += ["--num-proc", str(num_proc)]
        start = time.perf_counter()
        with open(tmp / "summary.json", "wb") as out:
            process = subprocess.Popen(command, cwd=ROOT, stdout=out)
            peak = [0]
            sampling = Path("/proc/self/smaps_rollup").exists()

            def sample() -> None:
                while process.returncode is None:
                    peak[0] = max(peak[0], _tree_memory(process.pid))
                    time.sleep(0.2)

            sampler = threading.Thread(target=sample, daemon=True)
            if sampling:
                sampler.start()
            # wait4: the largest resident size of this run's processes alone
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
        if sampling:
            sampler.join()
        if process.returncode != 0:
            raise SystemExit(f"bench: the corpus run failed ({process.returncode})")
        stdout = (tmp / "summary.json").read_bytes()
        largest = usage.ru_maxrss * 1024  # KiB on Linux
        summary = json.loads(stdout)
        return {
            "command": " ".join(["topictag", *command[1:]]).replace(str(tmp), "$TMP"),
            "corpus_mb": size / 1e6,
            "rows": rows,
            "tagged": summary["tagged"],
            "seconds": seconds,
            "rows_per_s": rows / seconds,
            "peak_pss_all_processes_mb": peak[0] / 1e6 if sampling else None,
            "peak_rss_largest_process_mb": largest / 1e6,
            "output_mb": output.stat().st_size / 1e6,
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# Report --------------------------------------------------------------------------------------


def _speed_lines(speed: dict) -> list[str]:
    return [
        f"  {label:<36} {figures['paragraphs_per_s']:>9,.0f} paragraphs/s "
        f"{figures['words_per_s']:>11,.0f} words/s"
        for label, figures in speed.items()
        if isinstance(figures, dict) and "paragraphs_per_s" in figures
    ]


def report(results: dict) -> str:
    cold, speed, memory = results["cold_start"], results["throughput"], results["memory"]
    one = speed["topictag, 1 process"]["paragraphs_per_s"]
    two = speed["topictag, 2 processes"]["paragraphs_per_s"]
    sk = speed["scikit-learn, 1 process"]["paragraphs_per_s"]
    peak = memory["peak_pss_all_processes_mb"] or memory["peak_rss_largest_process_mb"]
    checks = [
        ("cold start (s)", cold["topictag_median_s"], "<="),
        ("1 process vs scikit-learn", one / sk, ">="),
        ("2 processes vs 1", two / one, ">="),
        ("peak memory (MB)", peak, "<="),
    ]
    lines = [
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        f"; load average at start {results['load'][0]:.2f}, at end {os.getloadavg()[0]:.2f}",
        f"a pure-Python loop runs {speed['cpu_scaling_2_vs_1']:.2f}x faster on 2 processes "
        "than on 1 (the ceiling for the 2-process figures)",
        "",
        f"cold start, median of {cold['runs']} runs:",
        f"  {cold['command']:<60} {cold['topictag_median_s']:.3f} s",
        f"  {'python -c pass':<60} {cold['python_pass_median_s']:.3f} s",
        f"  {NUMPY_LABEL:<60} {cold['import_numpy_median_s']:.3f} s",
        f"  {'the same tag command without typer parsing its options':<60} "
        f"{cold['tag_without_typer_median_s']:.3f} s",
        "",
        f"tag_batch on {speed['articles']} articles ({speed['paragraphs']} paragraphs, "
        f"{speed['words']} words):",
    ]
    lines += _speed_lines(speed)
    unseen = speed["unseen"]
    ratio = (
        unseen["topictag, 1 process"]["paragraphs_per_s"]
        / unseen["scikit-learn, 1 process"]["paragraphs_per_s"]
    )
    lines += [
        "",
        f"unseen articles, memo starting empty: {unseen['articles']} authored articles "
        f"({unseen['paragraphs']} paragraphs, {unseen['words']} words), each tagged once:",
        *_speed_lines(unseen),
        f"  topictag / scikit-learn: {ratio:.2f}x",
    ]
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
    args = parser.parse_args()
    size_mb = args.corpus_mb or (50 if args.quick else 1000)
    results = {
        "load": os.getloadavg(),
        "cold_start": cold_start(7 if args.quick else 21),
        "throughput": throughputs(*((500, 3) if args.quick else (2000, 5))),
        "memory": peak_memory(size_mb, args.num_proc, args.workdir),
    }
    print(report(results))
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
