"""Train the model and measure it honestly: grouped by article, tuned inside training folds only.

Evaluations (all on real paragraphs; authored paragraphs are training data only):

- ``leave_one_article_out``: each real article is held out in turn; the model is trained on
  everything else (authored corpus and the other real articles).
- ``seeds_only``: the same folds, trained on the other real articles only, so the figures show
  what the authored corpus adds.
- ``authored_only``: trained on the authored corpus, tested on every real paragraph.
- ``baselines``: the lexicon as a keyword list, and predicting every topic everywhere.

In every fold the hyperparameters and the per-topic thresholds are chosen by grouped
cross-validation inside that fold's training data.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import platform
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupKFold

from topictag import defaults
from topictag.labels import LabelledData, load_labels
from topictag.lexicon import compile_lexicon, count_terms, load_lexicon
from topictag.metrics import binarize, choose_thresholds, report
from topictag.pipeline import build_pipeline, predict_proba
from topictag.topics import load_topics

Progress = Callable[[str], None]


def _quiet(message: str) -> None:
    pass


@dataclass
class Fitted:
    """A pipeline fitted on all of its training data, with what was chosen for it."""

    pipeline: object
    params: dict
    thresholds: np.ndarray
    inner_macro_f1: float | None


def expand_grid(grid: dict[str, list], has_lexicon: bool) -> list[dict]:
    """Every combination of the grid's values; lexicon settings collapse when there is none."""
    grid = dict(grid)
    if not has_lexicon:
        grid["lexicon"] = [False]
    keys = sorted(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]


def _fit(texts, y, params, lexicon, topics):
    pipeline = build_pipeline(
        C=params["C"],
        lexicon=lexicon if params.get("lexicon") else None,
        topics=topics,
        char_min_df=2 if len(texts) >= 50 else 1,
    )
    with warnings.catch_warnings():
        # A fold may hold no positive example of a rare topic; OneVsRestClassifier then
        # predicts a constant for it and says so. That is expected inside small folds.
        warnings.filterwarnings("ignore", message="Label .* is present in all training examples")
        pipeline.fit(list(texts), y)
    return pipeline


def fit_selected(
    texts: Sequence[str],
    y: np.ndarray,
    groups: Sequence[str],
    topics: Sequence[str],
    lexicon: dict,
    grid: dict[str, list],
    inner_folds: int = defaults.INNER_FOLDS,
) -> Fitted:
    """Choose hyperparameters and thresholds by grouped CV on this data, then fit on all of it."""
    configs = expand_grid(grid, bool(lexicon))
    n_groups = len(set(groups))
    if n_groups < 2:
        params = configs[0]
        return Fitted(
            _fit(texts, y, params, lexicon, topics), params, np.full(len(topics), 0.5), None
        )
    splitter = GroupKFold(n_splits=min(inner_folds, n_groups))
    splits = list(splitter.split(np.zeros(len(texts)), groups=groups))
    texts = np.asarray(texts, dtype=object)
    best = None
    for params in configs:
        oof = np.zeros(y.shape, dtype=np.float64)
        for train_idx, val_idx in splits:
            model = _fit(texts[train_idx], y[train_idx], params, lexicon, topics)
            oof[val_idx] = predict_proba(model, texts[val_idx])
        thresholds = choose_thresholds(y, oof, defaults.THRESHOLD_GRID)
        score = report(y, oof >= thresholds, topics)["macro_f1"]
        if best is None or score > best[0] + 1e-12:
            best = (score, params, thresholds)
    score, params, thresholds = best
    return Fitted(_fit(texts, y, params, lexicon, topics), params, thresholds, score)


def _grouped_predictions(
    data: LabelledData,
    y: np.ndarray,
    lexicon: dict,
    grid: dict[str, list],
    inner_folds: int,
    train_rows: Callable[[np.ndarray], np.ndarray],
    progress: Progress,
    name: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Hold out each real article in turn; return (test row indices, their 0/1 predictions)."""
    articles = np.asarray(data.articles, dtype=object)
    real = np.asarray(data.real)
    held_out = sorted(set(articles[real]))
    rows, preds = [], []
    for k, article in enumerate(held_out, 1):
        test = np.flatnonzero(real & (articles == article))
        train = train_rows(articles != article)
        progress(
            f"{name}: fold {k}/{len(held_out)} (held out {article}, {len(train)} training rows)"
        )
        if len(set(articles[train])) == 0:
            continue
        texts = np.asarray(data.texts, dtype=object)
        fitted = fit_selected(
            texts[train], y[train], articles[train], data.topics, lexicon, grid, inner_folds
        )
        scores = predict_proba(fitted.pipeline, texts[test])
        rows.append(test)
        preds.append(scores >= fitted.thresholds)
    if not rows:
        return np.zeros(0, dtype=int), np.zeros((0, y.shape[1]), dtype=bool)
    return np.concatenate(rows), np.concatenate(preds)


def keyword_predictions(texts: Sequence[str], lexicon: dict, topics: Sequence[str]) -> np.ndarray:
    """The keyword baseline: a topic whenever one of its lexicon terms occurs."""
    patterns = compile_lexicon(lexicon, topics)
    return np.array([[n > 0 for n in count_terms(patterns, t)] for t in texts], dtype=bool)


def evaluate(
    data: LabelledData,
    lexicon: dict,
    grid: dict[str, list],
    inner_folds: int = defaults.INNER_FOLDS,
    progress: Progress = _quiet,
) -> dict:
    """Every honest figure for this data: see the module docstring."""
    topics = data.topics
    y = binarize(data.labels, topics)
    real = np.asarray(data.real)
    authored = ~real
    out: dict = {}
    if real.sum() and len(set(np.asarray(data.articles)[real])) >= 2:
        rows, pred = _grouped_predictions(
            data,
            y,
            lexicon,
            grid,
            inner_folds,
            np.flatnonzero,
            progress,
            "leave one article out",
        )
        out["leave_one_article_out"] = report(y[rows], pred, topics)
        if authored.any():
            rows, pred = _grouped_predictions(
                data,
                y,
                lexicon,
                grid,
                inner_folds,
                lambda keep: np.flatnonzero(keep & real),
                progress,
                "seeds only",
            )
            out["seeds_only"] = report(y[rows], pred, topics)
    if authored.any() and real.any():
        progress("authored only -> real articles")
        texts = np.asarray(data.texts, dtype=object)
        articles = np.asarray(data.articles, dtype=object)
        fitted = fit_selected(
            texts[authored], y[authored], articles[authored], topics, lexicon, grid, inner_folds
        )
        scores = predict_proba(fitted.pipeline, texts[real])
        out["authored_only"] = report(y[real], scores >= fitted.thresholds, topics)
    if real.any():
        real_texts = [t for t, r in zip(data.texts, real) if r]
        baselines = {
            "all_topics": report(y[real], np.ones_like(y[real], dtype=bool), topics),
        }
        if lexicon:
            baselines["keywords"] = report(
                y[real], keyword_predictions(real_texts, lexicon, topics), topics
            )
        out["baselines"] = baselines
    return out


def data_summary(data: LabelledData, lexicon: dict) -> dict:
    """Counts and a content hash of the training data (no timestamps: same data, same file)."""
    digest = hashlib.sha256()
    for row in zip(data.ids, data.articles, data.texts, data.labels, data.sources):
        digest.update(json.dumps(row, ensure_ascii=False, sort_keys=True).encode())
    digest.update(json.dumps([data.topics, lexicon], sort_keys=True).encode())

    def counts(keep):
        c = Counter(t for labels, k in zip(data.labels, keep) if k for t in labels)
        return {t: c.get(t, 0) for t in data.topics}

    real = data.real
    return {
        "files": data.files,
        "rows": len(data),
        "real_rows": sum(real),
        "authored_rows": len(data) - sum(real),
        "real_articles": len({a for a, r in zip(data.articles, real) if r}),
        "label_counts": {
            "real": counts(real),
            "authored": counts([not r for r in real]),
        },
        "rows_without_topic": sum(1 for labels in data.labels if not labels),
        "sha256": digest.hexdigest(),
    }


def versions() -> dict:
    import joblib
    import sklearn

    from topictag import __version__

    return {
        "topictag": __version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "joblib": joblib.__version__,
        "python": platform.python_version(),
    }


def train(
    labels_dir: str | Path | None = None,
    seeds_dir: str | Path | None = None,
    model_dir: str | Path | None = None,
    grid: dict[str, list] | None = None,
    inner_folds: int = defaults.INNER_FOLDS,
    run_evaluation: bool = True,
    progress: Progress = _quiet,
) -> dict:
    """Train on every labelled paragraph, evaluate, and write the model to ``model_dir``.

    Returns the metrics written to ``model_dir/metrics.json``.
    """
    from topictag.artifact import write_model

    labels_path = defaults.labels_dir(labels_dir)
    seeds_path = defaults.seeds_dir(seeds_dir)
    model_path = defaults.model_dir(model_dir)
    grid = grid if grid is not None else defaults.DEFAULT_GRID

    topics = [t.name for t in load_topics(labels_path)]
    lexicon = load_lexicon(labels_path, topics)
    progress(f"loading labels from {labels_path}")
    data = load_labels(labels_path, topics, seeds_path, warn=lambda m: progress(f"warning: {m}"))

    evaluation = evaluate(data, lexicon, grid, inner_folds, progress) if run_evaluation else {}
    progress("fitting the final model on all labelled paragraphs")
    y = binarize(data.labels, topics)
    fitted = fit_selected(data.texts, y, data.articles, topics, lexicon, grid, inner_folds)
    metrics = {
        "topics": topics,
        "thresholds": {t: float(v) for t, v in zip(topics, fitted.thresholds)},
        "params": {k: fitted.params[k] for k in sorted(fitted.params)},
        "selection": {
            "grid": grid,
            "inner_folds": inner_folds,
            "inner_macro_f1": fitted.inner_macro_f1,
            "note": "chosen by grouped (by article) cross-validation on the training data",
        },
        "evaluation": evaluation,
        "data": data_summary(data, lexicon),
        "versions": versions(),
    }
    progress(f"writing {model_path}")
    return write_model(model_path, fitted.pipeline, topics, fitted.thresholds, lexicon, metrics)
