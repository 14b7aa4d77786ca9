"""The pickle-free scorer reproduces the scikit-learn pipeline, in plain Python and in numpy."""

import json
import math
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import topictag.scorer as scorer
from topictag.artifact import load_pipeline
from topictag.scorer import PortableModel, char_wb_ngrams, word_ngrams

AUTHORED = Path(__file__).resolve().parent.parent / "labels" / "authored.jsonl"

#: Every equivalence test runs on both ways of scoring: numpy for any batch (a limit of 0
#: characters) and plain Python for any batch.
BOTH_PATHS = pytest.mark.parametrize("pure_chars", [0, 10**12], ids=["numpy", "plain-python"])


@contextmanager
def scoring_with(pure_chars: int):
    """Plain Python up to ``pure_chars`` characters, numpy above (never the compiled kernels,
    which tests/test_compiled.py checks against this module)."""
    saved = scorer.PURE_PYTHON_CHARS, scorer.COMPILED
    scorer.PURE_PYTHON_CHARS, scorer.COMPILED = pure_chars, False
    try:
        yield
    finally:
        scorer.PURE_PYTHON_CHARS, scorer.COMPILED = saved


@pytest.fixture(scope="module")
def both(model_dir):
    return load_pipeline(model_dir), PortableModel.load(model_dir)


@BOTH_PATHS
def test_same_probabilities_on_every_seed_paragraph(both, seed_rows, pure_chars):
    pipeline, portable = both
    texts = [r["text"] for r in seed_rows]
    with scoring_with(pure_chars):
        ours = portable.scores(texts)
    assert np.abs(ours - pipeline.predict_proba(texts)).max() <= 1e-9


def test_plain_python_and_numpy_agree_on_the_authored_corpus(both):
    """1,470 paragraphs the test model (trained on the seeds) has not seen: only the two ways
    of scoring are compared here, not accuracy."""
    with open(AUTHORED, encoding="utf-8") as fh:
        texts = [json.loads(line)["text"] for line in fh]
    _, portable = both
    with scoring_with(0):
        vectorised = np.asarray(portable.decision(texts))
    with scoring_with(10**12):
        plain = np.asarray(portable.decision(texts))
    assert np.abs(vectorised - plain).max() <= 1e-12


def test_small_batches_use_plain_python_and_large_ones_numpy(both, monkeypatch):
    _, portable = both
    calls = []
    monkeypatch.setattr(
        portable,
        "_decision_batch",
        lambda t: calls.append(t) or np.zeros((len(t), len(portable.topics))),
    )
    monkeypatch.setattr(scorer, "PURE_PYTHON_CHARS", 10)
    portable.decision(["gas", "oil"])
    assert calls == []
    portable.decision(["gas pipeline", "oil"])
    assert calls == [["gas pipeline", "oil"]]


ODD = st.sampled_from(
    ["", " ", "\t\n\r", "\u00a0", "\u2028", "Gas", "OPEC+", "İstanbul", "ß", "日本"]
    # what normalisation removes or changes: soft hyphen, zero-width space and joiners, word
    # joiner, BOM, bidi marks, full-width letters, a ligature, a combining accent
    + ["g\u00adas", "\u200b", "\u200c\u200d", "\u2060", "\ufeff", "\u200e\u202b"]
    + ["ｐｉｐｅｌｉｎｅ", "ＬＮＧ", "ﬁeld", "e\u0301", "\u200de\u0301"]
)


@BOTH_PATHS
@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=200), ODD), min_size=1, max_size=4).map("  ".join))
def test_same_probabilities_on_any_text(both, pure_chars, text):
    pipeline, portable = both
    with scoring_with(pure_chars):
        ours = portable.scores([text])
    assert np.abs(ours - pipeline.predict_proba([text])).max() <= 1e-9


@BOTH_PATHS
@settings(max_examples=60, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(
            [
                *"gas pipeline sanctions",
                "\u00ad",
                "\u200b",
                "\u200d",
                "\ufeff",
                "ｇ",
                "Ｓ",
                "\u3000",
            ]
        ),
        max_size=80,
    )
)
def test_same_probabilities_on_text_full_of_hidden_and_wide_characters(both, pure_chars, text):
    pipeline, portable = both
    with scoring_with(pure_chars):
        ours = portable.scores([text, "x" + text])
    assert np.abs(ours - pipeline.predict_proba([text, "x" + text])).max() <= 1e-9


@BOTH_PATHS
def test_same_probabilities_on_a_very_long_text(both, seed_rows, pure_chars):
    pipeline, portable = both
    text = " ".join(r["text"] for r in seed_rows) * 20
    with scoring_with(pure_chars):
        ours = portable.scores([text])
    assert np.abs(ours - pipeline.predict_proba([text])).max() <= 1e-9


def test_sigmoid_is_exact_and_never_overflows():
    assert scorer._sigmoid(0.0) == 0.5
    assert scorer._sigmoid(-1000.0) == 0.0 and scorer._sigmoid(1000.0) == 1.0
    for z in (-30.0, -2.5, 0.1, 7.0):
        assert scorer._sigmoid(z) == pytest.approx(1 / (1 + math.exp(-z)), abs=1e-15)


def test_char_wb_ngrams_pad_words_with_spaces():
    assert char_wb_ngrams("ab", (2, 3)) == [" a", "ab", "b ", " ab", "ab "]
    assert char_wb_ngrams("a", (3, 5)) == [" a "]


def test_word_ngrams_join_consecutive_tokens():
    import re

    assert word_ngrams("oil and gas", re.compile(r"(?u)\b\w\w+\b"), (1, 2)) == [
        "oil",
        "and",
        "gas",
        "oil and",
        "and gas",
    ]


@BOTH_PATHS
@pytest.mark.parametrize("scale", [0.25, 0.3])
def test_a_scaled_lexicon_is_folded_into_the_weights(seed_rows, topics, pure_chars, scale):
    from topictag.artifact import export_portable
    from topictag.pipeline import build_pipeline

    lexicon = {"gas": ["gas", "LNG", "!tear gas"], "sanctions": ["sanctions", "OFAC"]}
    texts = [r["text"] for r in seed_rows]
    y = np.array([[t in r["labels"] for t in topics] for r in seed_rows], dtype=int)
    pipeline = build_pipeline(C=8.0, lexicon=lexicon, topics=topics, char_min_df=1)
    pipeline.set_params(features__lexicon__scale=scale).fit(texts, y)
    settings_, arrays = export_portable(pipeline, topics, [0.5] * len(topics), lexicon)
    portable = PortableModel(json.loads(json.dumps(settings_)), arrays)
    # the portable model counts terms unscaled and carries the factor in its weights
    lexicon_weights = arrays["coef"][:, -len(topics) :]
    fitted = np.vstack([e.coef_.ravel()[-len(topics) :] for e in pipeline[-1].estimators_])
    assert np.allclose(lexicon_weights, fitted * scale, rtol=0, atol=1e-15)
    with scoring_with(pure_chars):
        ours = portable.scores(texts + ["tear gas, LNG and OFAC sanctions"])
    assert (
        np.abs(ours - pipeline.predict_proba(texts + ["tear gas, LNG and OFAC sanctions"])).max()
        <= 1e-9
    )


def test_the_logistic_of_an_array_is_that_of_each_value_without_overflow():
    import warnings

    z = np.array([[-1000.0, -30.5, -1e-3, 0.0], [1e-3, 2.25, 30.5, 1000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow in exp would warn
        ours = scorer._sigmoid_array(z)
    expected = [[scorer._sigmoid(v) for v in row] for row in z.tolist()]
    assert np.abs(ours - np.array(expected)).max() <= 1e-15
    assert ours[0, 0] == 0.0 and ours[1, 3] == 1.0 and ours[0, 3] == 0.5


def test_an_import_on_the_batch_path_is_not_cut_short_by_ctrl_c(monkeypatch):
    """Ctrl-C during the first large batch's import of numpy or numba left it half-made: every
    later batch of the process failed, or went without the kernels for good."""
    import importlib
    import signal
    import types

    from topictag.scorer import imported

    done = []

    def slow_import(name):
        signal.raise_signal(signal.SIGINT)  # Ctrl-C in the middle of the import
        done.append(name)
        return types.ModuleType(name)

    monkeypatch.setattr(importlib, "import_module", slow_import)
    with pytest.raises(KeyboardInterrupt):
        imported("topictag_not_imported_yet")
    assert done == ["topictag_not_imported_yet"]  # finished, then interrupted


def test_threads_starting_cold_build_one_compiled_scorer(model_dir, monkeypatch):
    """Each thread sending a large batch while the first built the compiled scorer built its
    own (some 33 MB each), never used."""
    import threading
    import time

    from topictag import compiled

    built = []

    def slow_build(model):
        built.append(model)
        time.sleep(0.3)
        return None  # as where numba is missing: the numpy path scores

    monkeypatch.setattr(compiled, "compiled_scorer", slow_build)
    monkeypatch.setattr(scorer, "COMPILED", True)
    monkeypatch.setattr(scorer, "COMPILED_CHARS", 0)
    model = PortableModel.load(model_dir)
    texts = ["Gas flows through the pipeline to Europe. " * 600]
    threads = [threading.Thread(target=model.decision, args=(texts,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1
