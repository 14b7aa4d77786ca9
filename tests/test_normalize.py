"""Text normalisation: format characters out, NFKC, in training and tagging alike."""

import json
import re
import unicodedata

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from topictag import predict, predict_scores
from topictag.artifact import export_portable, read_npz
from topictag.errors import ModelError
from topictag.normalize import (
    ABBREVIATIONS,
    MAX_MARKS,
    NFKC_CF,
    NFKC_CF_ABBREV,
    aligned,
    normalize,
    normalize_all,
)
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


@pytest.mark.parametrize("astral", [False, True])
def test_a_run_of_combining_marks_keeps_its_first_thirty(astral):
    """NFKC sorts a run of marks in time that grows with the square of its length: 20,000
    marks of alternating classes took 0.3 s a paragraph. No language stacks thirty."""
    marks = "\U0001d165\U0001d16d" if astral else "\u0301\u0316"  # classes 216/226, 230/220
    text = "gas x" + marks * 5000 + " oil"
    capped = "gas x" + (marks * 15)[:MAX_MARKS] + " oil"
    assert normalize(text) == unicodedata.normalize("NFKC", capped)
    normal, starts, ends = aligned(text)
    assert normal == normalize(text) and len(starts) == len(normal)
    few = "gas e" + "\u0301\u0316" * 3
    assert normalize(few) == unicodedata.normalize("NFKC", few)  # short runs as NFKC has them


@given(MIXED)
def test_text_already_in_nfkc_is_left_as_nfkc_leaves_it(text):
    """NFKC is skipped for text already in it (most news): the same result, sooner. (Runs
    of more than thirty marks aside, which sixty characters of this mix all but never hold.)"""
    dropped = "".join(c for c in text if unicodedata.category(c) != "Cf")
    assert normalize(text) == unicodedata.normalize("NFKC", dropped)


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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("U.S. and US sanctions", "USA and USA sanctions"),
        ("the U.S.-led coalition", "the USA-led coalition"),
        ("U.S.A. and USA", "USA and USA"),
        (
            "(U.N.) talks, U.K. gas and E.U. rules in the U.A.E.",
            "(UN) talks, UK gas and EU rules in the UAE",
        ),
        ("US$5bn", "USA$5bn"),
        ("ＵＳ sanctions", "USA sanctions"),  # full-width letters first become US
        # the pronoun, and words that only contain the letters, stay as they are
        ("Contact us. Let Us know.", "Contact us. Let Us know."),
        ("BUS, USB, USAID, AUS and U.S", "BUS, USB, USAID, AUS and U.S"),
        ("A.U.S. and U.S.S.R.", "A.U.S. and U.S.S.R."),
    ],
)
def test_the_abbrev_form_writes_abbreviations_alike_and_leaves_the_pronoun(text, expected):
    assert normalize(text, NFKC_CF_ABBREV) == expected
    assert normalize(text) == normalize(text, NFKC_CF)  # the older form does not touch them
    assert normalize_all([text], NFKC_CF_ABBREV) == [expected]


#: Text with abbreviations, their look-alikes and the characters normalisation is about.
ABBREVIATED = st.lists(
    st.one_of(
        st.sampled_from(["U.S.", "US", "U.S.A.", "U.N.", "E.U.", "us", "USB", ".", "-", " "]),
        MIXED,
    ),
    max_size=8,
).map("".join)


@settings(max_examples=200)
@given(ABBREVIATED)
def test_the_abbrev_form_is_idempotent_and_aligned(text):
    once = normalize(text, NFKC_CF_ABBREV)
    assert normalize(once, NFKC_CF_ABBREV) == once
    normal, starts, ends = aligned(text, NFKC_CF_ABBREV)
    assert normal == once
    assert len(starts) == len(ends) == len(normal)
    assert all(0 <= a < b <= len(text) for a, b in zip(starts, ends))
    pieces = dict.fromkeys(zip(starts, ends))
    assert "".join(normalize(text[a:b], NFKC_CF_ABBREV) for a, b in pieces) == normal


@settings(max_examples=500)
@given(st.text(alphabet="USAENK._ xé1", max_size=14))
def test_an_abbreviation_is_rewritten_exactly_where_it_is_a_whole_word(text):
    """The rule stated as one regular expression with a lookbehind (slower, so not the one
    the tagger runs): neither a word character nor a dot before, no word character after."""
    alternatives = "|".join(re.escape(a) for a in sorted(ABBREVIATIONS, key=len, reverse=True))
    rule = re.compile(rf"(?<![\w.])(?:{alternatives})(?!\w)")
    expected = rule.sub(lambda m: ABBREVIATIONS[m.group()], text)
    assert normalize(text, NFKC_CF_ABBREV) == expected


def test_the_model_reads_dotted_and_plain_abbreviations_alike(use_model):
    plain = "The US and the EU widened sanctions on tankers, the UN said."
    dotted = "The U.S. and the E.U. widened sanctions on tankers, the U.N. said."
    assert predict_scores(dotted) == predict_scores(plain)
    assert predict_scores("Contact us") != predict_scores("Contact US")


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
    for form in (NFKC_CF, NFKC_CF_ABBREV):
        new = build_pipeline(char_min_df=1, normalize=form).fit(texts, y)
        settings_, arrays = export_portable(new, topics, [0.5] * len(topics))
        assert settings_["normalize"] == form
        portable = PortableModel(settings_, arrays)
        both = [*odd, "U.S. sanctions and the U.N.", "Contact us"]
        assert np.abs(np.array(portable.scores(both)) - new.predict_proba(both)).max() <= 1e-9
        assert portable.scores(["g\u00adas pipe\u00adline"]) == portable.scores(["gas pipeline"])
        alike = portable.scores(["U.S. sanctions"]) == portable.scores(["US sanctions"])
        assert alike == (
            form == NFKC_CF_ABBREV
        )  # a model of the older form reads as it was trained


def test_the_trained_model_records_its_normalisation(model_dir):
    settings_ = json.loads((model_dir / "portable.json").read_text())
    assert settings_["normalize"] == NFKC_CF_ABBREV
    with pytest.raises(ModelError, match="unknown text normalisation 'nfd'"):
        PortableModel(
            {**settings_, "normalize": "nfd"}, read_npz((model_dir / "portable.npz").read_bytes())
        )
