"""Multi-label metrics and threshold choice."""

import numpy as np
import pytest

from topictag.metrics import binarize, choose_thresholds, report

TOPICS = ["a", "b"]


def test_binarize():
    assert binarize([["a"], [], ["b", "a"]], TOPICS).tolist() == [[1, 0], [0, 0], [1, 1]]


def test_report_per_topic_and_averages():
    y_true = np.array([[1, 0], [1, 1], [0, 1], [0, 0]])
    y_pred = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    r = report(y_true, y_pred, TOPICS)
    assert r["per_topic"]["a"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert r["per_topic"]["b"]["f1"] == 1.0
    assert r["macro_f1"] == 0.75
    assert r["micro_f1"] == pytest.approx(0.75, abs=1e-4)
    assert r["n"] == 4


def test_topic_with_no_support_and_no_prediction_is_left_out_of_macro():
    r = report(np.array([[1, 0]]), np.array([[1, 0]]), TOPICS)
    assert r["macro_f1"] == 1.0


def test_f1_over_rows_with_no_topic_at_all_is_undefined_not_zero():
    """Every row labelled [] and predicted []: nothing to measure, so no figure at all."""
    none = np.zeros((3, 2), dtype=bool)
    r = report(none, none, TOPICS)
    assert r["macro_f1"] is None and r["micro_f1"] is None
    assert r["n"] == 3
    wrong = report(none, np.array([[1, 0], [0, 0], [0, 0]]), TOPICS)
    assert wrong["macro_f1"] == 0.0 and wrong["micro_f1"] == 0.0


def test_thresholds_maximise_f1_per_topic():
    y = np.array([[1], [1], [0], [0]])
    scores = np.array([[0.9], [0.35], [0.3], [0.1]])
    assert choose_thresholds(y, scores, [0.2, 0.3, 0.35, 0.5])[0] == 0.35


def test_topic_without_positives_keeps_half():
    assert choose_thresholds(np.zeros((3, 1)), np.full((3, 1), 0.9), [0.1, 0.9])[0] == 0.5
