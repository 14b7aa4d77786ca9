"""What a change to the hyperparameter search is worth, measured as train.py must decide it:
by grouped (by article) cross-validation on the training rows, nested so that each outer
fold's settings and thresholds are chosen inside its own training rows only.

    python bench/selection.py                                   # the shipped grid
    python bench/selection.py --grid '{"C": [16, 32, 64, 128]}'  # a grid to compare

Prints the outer folds' macro F1 with one setting for every topic (as training chooses) and
with each topic's own best setting, then the development set's figures for the settings
chosen on all the training rows: reported beside, never used to choose (labels/AUTHORED.md).
Takes about 5 minutes on 2 cores for the 12 settings of the shipped grid.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupKFold

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from topictag import defaults  # noqa: E402
from topictag import training as T  # noqa: E402
from topictag.labels import load_dev, load_labels  # noqa: E402
from topictag.lexicon import load_lexicon  # noqa: E402
from topictag.metrics import binarize, report  # noqa: E402
from topictag.topics import load_topics  # noqa: E402

OUTER_FOLDS = 5


def load(labels: Path, seeds: Path):
    topics = [t.name for t in load_topics(labels)]
    data = load_labels(labels, topics, seeds)
    return topics, data, load_lexicon(labels, topics), load_dev(labels, topics, data)


def choose(texts, y, groups, topics, lexicon, configs, inner_folds):
    """Inner grouped CV of every setting: (the best setting for all topics and its
    thresholds, [(the best setting, its threshold) for each topic])."""
    oof = T.out_of_fold_scores(texts, y, groups, topics, lexicon, configs, inner_folds)
    results = T.threshold_results(y, oof, topics)
    best = T.best_setting(results)
    per_topic = []
    for k, topic in enumerate(topics):
        f1s = [result["per_topic"][topic]["f1"] or 0.0 for _, result in results]
        c = max(range(len(results)), key=lambda i: (f1s[i], -i))  # the first of a tie
        per_topic.append((c, results[c][0][k]))
    return (best, results[best][0]), per_topic


def predictions(texts, y, train, test_texts, topics, lexicon, configs, best, per_topic):
    """0/1 answers on ``test_texts`` of both choices, fitted on the ``train`` rows."""
    fitted = {}

    def scores(c):
        if c not in fitted:
            pipeline = T._fit(texts[train], y[train], configs[c], lexicon, topics)
            fitted[c] = T.Fitted(pipeline, configs[c], None, None).scores(test_texts)
        return fitted[c]

    one = scores(best[0]) >= best[1]
    each = np.column_stack([scores(c)[:, k] >= t for k, (c, t) in enumerate(per_topic)])
    return one, each


def _outer(job):
    texts, y, groups, topics, lexicon, configs, inner, train, test = job
    best, per_topic = choose(texts[train], y[train], groups[train], topics, lexicon, configs, inner)
    one, each = predictions(texts, y, train, texts[test], topics, lexicon, configs, best, per_topic)
    return test, one, each, configs[best[0]]


def _line(name: str, y, pred, topics) -> str:
    r = report(y, pred, topics)
    per = ", ".join(f"{t} {r['per_topic'][t]['f1']:.3f}" for t in topics)
    return f"{name}: macro F1 {r['macro_f1']:.4f} ({per})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--grid", default="{}", help="JSON: settings that replace the shipped grid's"
    )
    parser.add_argument("--labels", type=Path, default=ROOT / "labels")
    parser.add_argument("--seeds", type=Path, default=ROOT / "seeds")
    parser.add_argument("--jobs", type=int, default=defaults.N_JOBS)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    grid = {**defaults.DEFAULT_GRID, **json.loads(args.grid)}
    topics, data, lexicon, dev = load(args.labels, args.seeds)
    configs = T.expand_grid(grid, bool(lexicon))
    texts = np.asarray(data.texts, dtype=object)
    groups = np.asarray(data.articles, dtype=object)
    y = binarize(data.labels, topics)
    inner = defaults.INNER_FOLDS
    print(f"{len(texts)} training rows, {len(set(groups))} articles, {len(configs)} settings")
    splits = GroupKFold(OUTER_FOLDS).split(texts, groups=groups)
    jobs = [(texts, y, groups, topics, lexicon, configs, inner, a, b) for a, b in splits]
    one, each = np.zeros(y.shape, dtype=bool), np.zeros(y.shape, dtype=bool)
    with ProcessPoolExecutor(args.jobs) if args.jobs > 1 else nullcontext() as pool:
        for test, a, b, chosen in (pool.map if pool else map)(_outer, jobs):
            one[test], each[test] = a, b
            print(f"  outer fold chose {chosen}", flush=True)
    print(_line("nested grouped CV, one setting", y, one, topics))
    print(_line("nested grouped CV, a setting per topic", y, each, topics))
    if dev is not None:
        all_rows = np.arange(len(texts))
        best, per_topic = choose(texts, y, groups, topics, lexicon, configs, inner)
        dev_texts = np.asarray(dev.texts, dtype=object)
        a, b = predictions(texts, y, all_rows, dev_texts, topics, lexicon, configs, best, per_topic)
        y_dev = binarize(dev.labels, topics)
        print(f"chosen on all rows: {configs[best[0]]}")
        print(_line("development set (reported only), one setting", y_dev, a, topics))
        print(_line("development set (reported only), a setting per topic", y_dev, b, topics))
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
