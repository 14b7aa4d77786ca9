"""Text normalisation: format characters out, NFKC, in training and tagging alike."""

import json
import unicodedata

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from topictag import predict, predict_scores
from topictag.artifact import export_portable, read_npz
from topictag.errors import ModelError
from topictag.normalize import NFKC_CF, aligned, normalize, normalize_all
from topictag.pipeline import TextNormalizer, build_pipeline
from topictag.scorer import PortableModel

#: Characters that hid words from the model before normalisation.
HIDDEN = ["\u00ad", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u200e", "\u202a"]
WIDE = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzGPS ", "ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚＧＰＳ　"
)
#: Text with the characters normalisation is about, among ordinary ones.
MIXED = st.text(
    alphabet=st.one_of(
        st.sampled_from([*HIDDEN, "ｇ", "Ａ", "ﬁ", "\u0301", "e", " ", "\n", "\u00a0", "ß"]),
        st.characters(),
    ),
    max_size=60,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("g\u00adas pipe\u00adline", "gas pipeline"),
        ("Gaz\u200bprom\u2060", "Gazprom"),
        ("\ufeffoil", "oil"),
        ("\u200eTehran\u200f and \u202aBaku\u202c", "Tehran and Baku"),
        ("ＬＮＧ ｔａｎｋｅｒｓ", "LNG tankers"),
        ("ﬁeld", "field"),
        ("e\u200d\u0301", "\u00e9"),  # the joiner no longer keeps the accent from its letter
        ("Caf\u00e9 \u00a0oil\tgas\n", "Caf\u00e9  oil\tgas\n"),
    ],
)
def test_normalize_removes_format_characters_and_applies_nfkc(text, expected):
    assert normalize(text) == expected


def test_ascii_text_is_returned_as_it_is():
    text = "Gas flows through the TurkStream pipeline."
    assert normalize(text) is text


@given(MIXED)
def test_normalize_is_idempotent_and_leaves_no_format_character(text):
    once = normalize(text)
    assert normalize(once) == once
    assert not any(unicodedata.category(c) == "Cf" for c in once)
    assert once == unicodedata.normalize("NFKC", once)


@settings(max_examples=200)
@given(MIXED)
def test_aligned_maps_every_normalised_character_back_into_the_text(text):
    normal, starts, ends = aligned(text)
    assert normal == normalize(text)
    assert len(starts) == len(ends) == len(normal)
    assert starts == sorted(starts) and ends == sorted(ends)
    assert all(0 <= a < b <= len(text) for a, b in zip(starts, ends))
    pieces = dict.fromkeys(zip(starts, ends))  # each source piece once, in order
    assert "".join(normalize(text[a:b]) for a, b in pieces) == normal


def test_normalize_all_without_a_form_leaves_texts_alone():
    assert normalize_all(["g\u00adas"], None) == ["g\u00adas"]
    assert normalize_all(["g\u00adas"]) == ["gas"]
    with pytest.raises(ValueError, match="unknown text normalisation"):
        normalize_all(["gas"], "nfc")


def test_the_pipeline_normalises_before_every_feature_block():
    pipeline = build_pipeline(lexicon={"gas": ["gas"]}, topics=["gas"])
    assert pipeline.steps[0][0] == "normalize"
    assert isinstance(pipeline.steps[0][1], TextNormalizer)
    assert TextNormalizer().fit_transform(["ｇａｓ", "g\u00adas"]) == ["gas", "gas"]
    assert "normalize" not in build_pipeline(normalize=None).named_steps


@pytest.mark.parametrize(
    "hidden",
    [
        "g\u00adas pipe\u00adline",
        "gas\u200d pipe\u2060line",
        "\ufeffgas pipeline",
        "gas pipeline".translate(WIDE),
    ],
)
def test_hidden_characters_no_longer_hide_words(use_model, hidden):
    assert predict(hidden) == predict("gas pipeline")
    assert "gas" in predict(hidden)
    assert predict_scores(hidden) == predict_scores("gas pipeline")


def test_a_model_trained_without_normalisation_scores_exactly_as_trained(seed_rows):
    """A model from before normalisation existed has no setting: its texts are not touched."""
    texts = [r["text"] for r in seed_rows]
    topics = sorted({t for r in seed_rows for t in r["labels"]})
    y = np.array([[t in r["labels"] for t in topics] for r in seed_rows], dtype=int)
    old = build_pipeline(normalize=None, char_min_df=1).fit(texts, y)
    settings_, arrays = export_portable(old, topics, [0.5] * len(topics))
    assert "normalize" not in settings_
    portable = PortableModel(settings_, arrays)
    assert portable.normalize is None
    odd = ["g\u00adas pipe\u00adline", "ＬＮＧ tankers", "Gaz\u200bprom sanctions"]
    assert np.abs(np.array(portable.scores(odd)) - old.predict_proba(odd)).max() <= 1e-9
    new = build_pipeline(char_min_df=1).fit(texts, y)
    settings_, arrays = export_portable(new, topics, [0.5] * len(topics))
    assert settings_["normalize"] == NFKC_CF
    portable = PortableModel(settings_, arrays)
    assert np.abs(np.array(portable.scores(odd)) - new.predict_proba(odd)).max() <= 1e-9
    assert portable.scores(["g\u00adas pipe\u00adline"]) == portable.scores(["gas pipeline"])


def test_the_trained_model_records_its_normalisation(model_dir):
    settings_ = json.loads((model_dir / "portable.json").read_text())
    assert settings_["normalize"] == NFKC_CF
    with pytest.raises(ModelError, match="unknown text normalisation 'nfd'"):
        PortableModel(
            {**settings_, "normalize": "nfd"}, read_npz((model_dir / "portable.npz").read_bytes())
        )
