"""The pickle-free scorer reproduces the scikit-learn pipeline."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from topictag.artifact import load_pipeline
from topictag.scorer import PortableModel, char_wb_ngrams, word_ngrams


@pytest.fixture(scope="module")
def both(model_dir):
    return load_pipeline(model_dir), PortableModel.load(model_dir)


def test_same_probabilities_on_every_seed_paragraph(both, seed_rows):
    pipeline, portable = both
    texts = [r["text"] for r in seed_rows]
    assert np.abs(portable.scores(texts) - pipeline.predict_proba(texts)).max() <= 1e-9


ODD = st.sampled_from(
    ["", " ", "\t\n\r", "\u00a0", "\u2028", "Gas", "OPEC+", "İstanbul", "ß", "日本"]
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=200), ODD), min_size=1, max_size=4).map("  ".join))
def test_same_probabilities_on_any_text(both, text):
    pipeline, portable = both
    assert np.abs(portable.scores([text]) - pipeline.predict_proba([text])).max() <= 1e-9


def test_same_probabilities_on_a_very_long_text(both, seed_rows):
    pipeline, portable = both
    text = " ".join(r["text"] for r in seed_rows) * 20
    assert np.abs(portable.scores([text]) - pipeline.predict_proba([text])).max() <= 1e-9


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
