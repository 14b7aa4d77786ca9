"""Lexicon term matching: whole words, case rules, one count per occurrence."""

import pytest
from conftest import LABELS

from topictag.errors import LabelError
from topictag.lexicon import compile_lexicon, count_terms, load_lexicon

TOPICS = ["gas", "oil"]


def counts(lexicon, text):
    return count_terms(compile_lexicon(lexicon, TOPICS), text)


def test_lowercase_terms_ignore_case_and_capitalised_terms_do_not():
    lexicon = {"gas": ["natural gas", "TAP"], "oil": ["crude"]}
    assert counts(lexicon, "Natural gas via TAP; CRUDE too") == [2, 1]
    assert counts(lexicon, "turn on the tap") == [0, 0]


def test_terms_match_whole_words_only():
    assert counts({"gas": ["gas"], "oil": ["oil"]}, "Gasoline, soil, gas, oil.") == [1, 1]
    assert counts({"gas": [], "oil": ["oil"]}, "the non-oil sector of oil-rich states") == [0, 0]
    assert counts(
        {"gas": ["Shah Deniz"], "oil": ["Baku-Tbilisi-Ceyhan"]},
        "Shah Deniz and Baku-Tbilisi-Ceyhan.",
    ) == [1, 1]


def test_terms_with_punctuation_match():
    assert counts({"gas": [], "oil": ["OPEC+"]}, "OPEC+ agreed; OPEC+, again") == [0, 2]


def test_topic_without_terms_counts_zero():
    assert counts({}, "gas and oil") == [0, 0]


def test_shipped_lexicon_covers_every_topic(topics):
    lexicon = load_lexicon(LABELS, topics)
    assert set(lexicon) == set(topics)


def test_lexicon_for_unknown_topic_is_an_error(tmp_path):
    (tmp_path / "lexicon.toml").write_text('[weather]\nterms = ["rain"]\n')
    with pytest.raises(LabelError, match="unknown topic 'weather'"):
        load_lexicon(tmp_path, TOPICS)


def test_no_lexicon_file_means_no_lexicon(tmp_path):
    assert load_lexicon(tmp_path, TOPICS) == {}


def test_exclusion_phrases_hide_the_terms_inside_them():
    lexicon = {"gas": ["gas", "!tear gas", "!greenhouse gas"], "oil": ["oil", "!olive oil"]}
    text = "Police used tear gas; Greenhouse gas rules; gas exports; olive oil and crude oil."
    assert counts(lexicon, text) == [1, 1]


def test_term_matches_keep_offsets_of_the_text():
    from topictag.lexicon import term_matches

    patterns = compile_lexicon({"gas": ["gas", "!tear gas"], "oil": []}, TOPICS)
    text = "tear gas and gas"
    (match,) = term_matches(patterns[0], text)
    assert text[match.start() : match.end()] == "gas" and match.start() == 13


def test_lexicon_file_not_lists_become_exclusions(tmp_path):
    (tmp_path / "lexicon.toml").write_text(
        '[gas]\nterms = ["gas"]\nnot = ["tear gas"]\n', encoding="utf-8"
    )
    assert load_lexicon(tmp_path, TOPICS) == {"gas": ["gas", "!tear gas"]}


@pytest.mark.parametrize("body", ['terms = ["gas"]\nnot = "tear gas"', 'terms = ["!gas"]'])
def test_malformed_exclusions_are_errors(tmp_path, body):
    (tmp_path / "lexicon.toml").write_text(f"[gas]\n{body}\n", encoding="utf-8")
    with pytest.raises(LabelError):
        load_lexicon(tmp_path, TOPICS)
