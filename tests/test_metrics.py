"""Multi-label metrics and threshold choice."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from topictag.metrics import binarize, choose_thresholds, macro_f1_interval, report

TOPICS = ["a", "b"]


def test_binarize():
    assert binarize([["a"], [], ["b", "a"]], TOPICS).tolist() == [[1, 0], [0, 0], [1, 1]]


def test_report_per_topic_and_averages():
    y_true = np.array([[1, 0], [1, 1], [0, 1], [0, 0]])
    y_pred = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    r = report(y_true, y_pred, TOPICS)
    assert r["per_topic"]["a"] == {
        "precision": 0.5,
        "recall": 0.5,
        "f1": 0.5,
        "support": 2,
        "predicted": 2,
    }
    assert r["per_topic"]["b"]["f1"] == 1.0
    assert r["macro_f1"] == 0.75
    assert r["micro_f1"] == pytest.approx(0.75, abs=1e-4)
    assert r["n"] == 4


def test_topic_with_no_support_and_no_prediction_is_left_out_of_macro():
    r = report(np.array([[1, 0]]), np.array([[1, 0]]), TOPICS)
    assert r["macro_f1"] == 1.0
    undefined = r["per_topic"][TOPICS[1]]
    assert undefined == {
        "precision": None,
        "recall": None,
        "f1": None,
        "support": 0,
        "predicted": 0,
    }  # in JSON null, in tables "undefined": never a 0.00 the macro F1 does not average


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


def test_the_interval_of_perfect_predictions_is_a_point():
    y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    assert macro_f1_interval(y, y) == [1.0, 1.0]


def test_the_interval_narrows_as_rows_grow_and_the_seed_fixes_it():
    """The same error rate on 10 times the rows: a narrower interval around the same figure."""
    y = np.array([[1, 0], [0, 1], [1, 1], [0, 0], [1, 0]] * 4)
    pred = y.copy()
    pred[::5, 1] = 1  # one false alarm in five rows
    small = macro_f1_interval(y, pred, seed=1)
    large = macro_f1_interval(np.tile(y, (10, 1)), np.tile(pred, (10, 1)), seed=1)
    figure = report(y, pred, TOPICS)["macro_f1"]
    assert small[0] < figure < small[1]
    assert small[0] < large[0] <= figure <= large[1] < small[1]
    assert macro_f1_interval(y, pred, seed=1) == small


def test_no_rows_or_nothing_to_measure_gives_no_interval():
    assert macro_f1_interval(np.zeros((0, 2)), np.zeros((0, 2))) is None
    assert macro_f1_interval(np.zeros((3, 2)), np.zeros((3, 2))) is None


@settings(max_examples=50, deadline=None)
@given(
    hnp.arrays(np.bool_, st.tuples(st.integers(1, 30), st.just(3))),
    hnp.arrays(np.bool_, st.tuples(st.integers(1, 30), st.just(3))),
)
def test_the_interval_is_ordered_and_within_zero_and_one(y, pred):
    n = min(len(y), len(pred))
    interval = macro_f1_interval(y[:n], pred[:n], resamples=200)
    if report(y[:n], pred[:n], ["a", "b", "c"])["macro_f1"] is None:
        assert interval is None
    else:
        assert 0.0 <= interval[0] <= interval[1] <= 1.0


def test_the_paired_interval_of_a_difference():
    """The same answers differ by nothing; answers right where the baseline was wrong in many
    rows are better on every draw."""
    y = np.array([[1, 0], [0, 1], [1, 1], [0, 0], [1, 0]] * 4)
    assert macro_f1_interval(y, y, baseline=y) == [0.0, 0.0]
    worse = y.copy()
    worse[::2, 0] = 0
    low, high = macro_f1_interval(y, y, baseline=worse)
    assert 0.0 < low <= high
    assert macro_f1_interval(y, worse, baseline=y) == [-high, -low]
