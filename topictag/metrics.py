"""Multi-label metrics and threshold choice, in plain numpy (no scikit-learn on this path)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def binarize(labels: Sequence[Sequence[str]], topics: Sequence[str]) -> np.ndarray:
    """An (n, k) 0/1 matrix: row i, column j is 1 when ``topics[j]`` is in ``labels[i]``."""
    y = np.zeros((len(labels), len(topics)), dtype=np.int8)
    column = {t: j for j, t in enumerate(topics)}
    for i, row in enumerate(labels):
        for name in row:
            y[i, column[name]] = 1
    return y


def _f1(tp: float, fp: float, fn: float) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def report(y_true: np.ndarray, y_pred: np.ndarray, topics: Sequence[str]) -> dict:
    """Per-topic precision, recall, F1 and support, with micro and macro F1.

    Macro F1 averages over topics that have support or predictions; a topic with neither
    says nothing about the model: its precision, recall and F1 are None (undefined, not 0)
    and it is left out of the average. When no topic has either
    (every row labelled and predicted with no topic), macro and micro F1 are undefined:
    None, not 0.
    """
    y_true = np.asarray(y_true, dtype=bool)
    y_pred = np.asarray(y_pred, dtype=bool)
    per_topic = {}
    counted = []
    for j, topic in enumerate(topics):
        tp = float(np.sum(y_true[:, j] & y_pred[:, j]))
        fp = float(np.sum(~y_true[:, j] & y_pred[:, j]))
        fn = float(np.sum(y_true[:, j] & ~y_pred[:, j]))
        p, r, f = _f1(tp, fp, fn)
        defined = bool(tp + fn + fp)  # else the topic was neither labelled nor predicted
        per_topic[topic] = {
            "precision": round(p, 4) if defined else None,
            "recall": round(r, 4) if defined else None,
            "f1": round(f, 4) if defined else None,
            "support": int(tp + fn),
            "predicted": int(tp + fp),
        }
        if defined:
            counted.append(f)
    tp = float(np.sum(y_true & y_pred))
    fp = float(np.sum(~y_true & y_pred))
    fn = float(np.sum(y_true & ~y_pred))
    micro = round(_f1(tp, fp, fn)[2], 4) if tp + fp + fn else None
    return {
        "n": int(y_true.shape[0]),
        "macro_f1": round(float(np.mean(counted)), 4) if counted else None,
        "micro_f1": micro,
        "per_topic": per_topic,
    }


def macro_f1_interval(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    level: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
    baseline: np.ndarray | None = None,
) -> list[float] | None:
    """A bootstrap interval for macro F1: the ``level`` percentile interval of the macro F1
    of ``resamples`` draws of the rows with replacement (topics averaged as in
    :func:`report`). It says how far a figure on few paragraphs can move by chance: on the
    66 seed paragraphs one paragraph moves a topic by 5 to 15 points. With ``baseline``
    (another model's predictions for the same rows), the interval of the difference
    ``y_pred`` minus ``baseline`` on the same draws: paired, so it is narrower than the two
    intervals suggest. None without rows or when no draw has a defined macro F1; the same
    ``seed`` gives the same interval."""
    y_true = np.asarray(y_true, dtype=bool)
    n = y_true.shape[0]
    if n == 0:
        return None
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(np.float64)
    macro = _drawn_macro_f1(weights, y_true, np.asarray(y_pred, dtype=bool))
    if baseline is not None:
        macro = macro - _drawn_macro_f1(weights, y_true, np.asarray(baseline, dtype=bool))
    macro = macro[~np.isnan(macro)]
    if not len(macro):
        return None
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(macro, [tail, 100 - tail])
    return [round(float(low), 4), round(float(high), 4)]


def _drawn_macro_f1(weights: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Macro F1 of each draw (a row of ``weights``: how often each row was drawn); NaN for
    a draw in which no topic is present or predicted."""
    tp = weights @ (y_true & y_pred)
    fp = weights @ (~y_true & y_pred)
    fn = weights @ (y_true & ~y_pred)
    counted = tp + fp + fn > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(counted, 2 * tp / (2 * tp + fp + fn), np.nan)
    out = np.full(len(weights), np.nan)
    defined = counted.any(axis=1)
    out[defined] = np.nanmean(f1[defined], axis=1)
    return out


def choose_thresholds(y_true: np.ndarray, scores: np.ndarray, grid: Sequence[float]) -> np.ndarray:
    """Per topic, the threshold in ``grid`` with the best F1 on (out-of-fold) scores.

    Ties go to the threshold closest to 0.5; a topic with no positives keeps 0.5.
    """
    y_true = np.asarray(y_true, dtype=bool)
    thresholds = np.full(y_true.shape[1], 0.5)
    ordered = sorted(grid, key=lambda t: abs(t - 0.5))
    for j in range(y_true.shape[1]):
        if not y_true[:, j].any():
            continue
        best, best_f1 = 0.5, -1.0
        for t in ordered:
            pred = scores[:, j] >= t
            tp = np.sum(pred & y_true[:, j])
            f1 = _f1(tp, np.sum(pred & ~y_true[:, j]), np.sum(~pred & y_true[:, j]))[2]
            if f1 > best_f1 + 1e-12:
                best, best_f1 = t, f1
        thresholds[j] = best
    return thresholds
