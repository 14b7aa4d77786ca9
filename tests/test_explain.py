"""Explanations: evidence words per paragraph and topic, and each topic's strongest features."""

import json
import re
import subprocess
import sys
import unicodedata

import numpy as np
import pytest
from conftest import SEEDS
from typer.testing import CliRunner

from topictag import load_model, tag_article
from topictag.cli import app
from topictag.explain import (
    _block_contributions,
    _word_of,
    evidence,
    top_terms,
    top_terms_table,
)
from topictag.normalize import normalize
from topictag.scorer import PortableModel

SANCTIONS = (
    "The EU's 19th sanctions package imposed a full transaction ban on Rosneft, and the US "
    "sanctioned Gazprombank."
)
SEED = sorted(SEEDS.glob("*.txt"))[2]
TOKENS = re.compile(r"\w\w+")


@pytest.fixture(scope="module")
def model(model_dir) -> PortableModel:
    return PortableModel.load(model_dir)


def test_contributions_add_up_to_the_score_the_tagger_uses(model, seed_rows):
    for row in seed_rows[:20]:
        for j in range(len(model.topics)):
            parts = [w for _, _, w in _block_contributions(model, row["text"], j)]
            total = sum(float(w.sum()) for w in parts) + model.intercept[j]
            assert total == pytest.approx(model.decision([row["text"]])[0][j], abs=1e-9)
            named = model.contributions(row["text"], j)
            assert sum(w for _, w in named) == pytest.approx(total - model.intercept[j])


def test_evidence_is_the_strongest_positive_terms_with_their_spans(model):
    items = evidence(model, SANCTIONS, "sanctions", k=4)
    assert 1 <= len(items) <= 4
    assert "sanctions" in [e["term"] for e in items]
    weights = [e["weight"] for e in items]
    assert weights == sorted(weights, reverse=True) and all(w > 0 for w in weights)
    for item in items:
        assert item["spans"], item
        for start, end in item["spans"]:
            assert SANCTIONS[start:end].lower() == item["term"]


def test_character_ngrams_come_back_as_whole_words(model, seed_rows):
    """A user sees words of the paragraph, never a fragment such as ' sanc'."""
    for row in seed_rows:
        text = row["text"]
        words = {w.lower() for w in text.split()}
        for topic in model.topics:
            for item in evidence(model, text, topic):
                term = item["term"]
                assert term == term.strip() and term
                flat = " ".join(text.split()).lower()
                assert term in flat
                for start, end in item["spans"]:
                    assert TOKENS.findall(text[start:end].lower()) == TOKENS.findall(term)
                if " " not in term:  # a single word is a whole word of the text (punctuation off)
                    assert any(term in w for w in words)


@pytest.mark.parametrize(
    ("token", "word"),
    [
        ("Russia's", ("Russia", 0, 6)),
        ("(Azerbaijan’s,", ("Azerbaijan", 1, 11)),
        ("gas.", ("gas", 0, 3)),
        ("it's", ("it", 0, 2)),
        ("'s", ("s", 1, 2)),
        ("bus", ("bus", 0, 3)),
    ],
)
def test_evidence_words_drop_edge_punctuation_and_possessives(token, word):
    assert _word_of(re.match(r"\S+", token)) == word


def test_lexicon_features_are_shown_as_the_matched_terms(model):
    if not any(b.kind == "lexicon" for b in model.blocks):
        pytest.skip("the test model has no lexicon features")
    items = evidence(model, "Tankers of the shadow fleet evade the price cap.", "sanctions", k=10)
    terms = [e["term"] for e in items]
    assert not any(t.startswith("lexicon:") for t in terms)
    assert "shadow fleet" in terms or "price cap" in terms


def test_tag_explain_gives_evidence_for_each_paragraph_topic(use_model):
    result = tag_article(SEED.read_text(encoding="utf-8"), explain=True)
    assert any(p.topics for p in result.paragraphs)
    for p in result.paragraphs:
        assert list(p.evidence) == p.topics
    plain = tag_article(SEED.read_text(encoding="utf-8"))
    assert all(p.evidence == {} for p in plain.paragraphs)
    assert "evidence" not in plain.to_dict()["paragraphs"][0]
    assert [p.scores for p in plain.paragraphs] == [p.scores for p in result.paragraphs]


def test_explaining_stays_light(model_dir):
    code = (
        "import sys, topictag\n"
        f"topictag.tag_article('Gas and oil sanctions.', model={str(model_dir)!r}, explain=True)\n"
        "heavy = ('typer', 'datasets', 'sklearn', 'scipy', 'pandas')\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""


def test_top_terms_are_the_extreme_coefficients(model):
    terms = top_terms(model, 4)
    assert list(terms) == model.topics
    for j, topic in enumerate(model.topics):
        pro, con = terms[topic]["for"], terms[topic]["against"]
        assert len(pro) == 4 and len(con) == 4
        assert [x["weight"] for x in pro] == sorted((x["weight"] for x in pro), reverse=True)
        assert [x["weight"] for x in con] == sorted(x["weight"] for x in con)
        assert pro[0]["weight"] == pytest.approx(model.coef[j].max(), abs=1e-6)
        assert con[0]["weight"] == pytest.approx(model.coef[j].min(), abs=1e-6)
        assert {x["kind"] for x in pro + con} <= {"word", "char", "lexicon"}


def test_top_terms_table_quotes_character_ngrams(model):
    terms = top_terms(model, 50)
    table = top_terms_table(terms)
    chars = [x["feature"] for t in terms.values() for x in t["for"] if x["kind"] == "char"]
    assert chars, "a model with char n-grams among its 50 strongest features"
    assert f'"{chars[0]}"' in table
    assert table.count("for:") == len(model.topics)


def test_cli_tag_explain_json_and_table(use_model):
    runner = CliRunner()
    result = runner.invoke(app, ["tag", str(SEED), "--explain", "--format", "json"])
    assert result.exit_code == 0, result.output
    article = json.loads(result.stdout)
    tagged = [p for p in article["paragraphs"] if p["topics"]]
    assert tagged
    for p in tagged:
        assert list(p["evidence"]) == p["topics"]
        for items in p["evidence"].values():
            assert all({"term", "weight", "spans"} <= set(e) for e in items)
    table = runner.invoke(app, ["tag", str(SEED), "--explain"])
    assert table.exit_code == 0
    first = tagged[0]
    assert f"{first['topics'][0]}: {first['evidence'][first['topics'][0]][0]['term']}" in (
        table.stdout
    )


def test_cli_info_top_terms(use_model):
    runner = CliRunner()
    result = runner.invoke(app, ["info", "--top-terms", "3", "--format", "json"])
    assert result.exit_code == 0, result.output
    terms = json.loads(result.stdout)["top_terms"]
    assert list(terms) == load_model().topics
    assert all(len(v["for"]) == 3 for v in terms.values())
    table = runner.invoke(app, ["info", "--top-terms", "3"])
    assert table.exit_code == 0 and "against:" in table.stdout


@pytest.mark.parametrize(
    "text",
    [
        "The EU's 19th sanc\u00adtions package imposed a full trans\u00adaction ban on "
        "Ros\u00adneft, and the US sanc\u00adtioned Gazprom\u00adbank.",
        "The EU's 19th ｓａｎｃｔｉｏｎｓ package imposed a full ｔｒａｎｓａｃｔｉｏｎ ban on "
        "Ｒｏｓｎｅｆｔ, and the US ｓａｎｃｔｉｏｎｅｄ Ｇａｚｐｒｏｍｂａｎｋ.",
        "The E.U.'s 19th sanctions package imposed a full transaction ban on Rosneft, and the "
        "U.S. sanctioned Gazprombank.",
    ],
    ids=["soft-hyphens", "full-width", "dotted-abbreviations"],
)
def test_evidence_spans_point_into_the_original_text(model, text):
    """The model reads the normalised text; the spans still slice the words out of the text
    the user gave, soft hyphens, full-width letters and dotted abbreviations included."""
    assert model.normalize
    items = evidence(model, text, "sanctions", k=10)
    assert [e["term"] for e in items] == [
        e["term"] for e in evidence(model, SANCTIONS, "sanctions", k=10)
    ]
    assert "sanctions" in [e["term"] for e in items]
    for item in items:
        assert item["spans"], item
        for start, end in item["spans"]:
            shown = text[start:end]
            assert " ".join(normalize(shown, model.normalize).split()).lower() == item["term"]
            assert unicodedata.category(shown[-1]) != "Cf" and not shown[0].isspace()


def test_evidence_weights_are_finite(model):
    items = evidence(model, "", "gas") + evidence(model, "   ", "gas")
    assert items == []
    assert np.isfinite([e["weight"] for e in evidence(model, SANCTIONS * 50, "sanctions")]).all()
