"""The judged false alarms on real web pages (``bench/offtopic.py``): well-formed, and each
judgment still names a paragraph the tagger makes of its page."""

import importlib.util
import json

import pytest
from conftest import ROOT
from test_htmltext import HTMLEVAL

from topictag.inputs import read_file
from topictag.paragraphs import split_paragraphs
from topictag.topics import load_topics

SPEC = importlib.util.spec_from_file_location("offtopic", ROOT / "bench" / "offtopic.py")
offtopic = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(offtopic)

ROWS = json.loads(offtopic.JUDGED.read_text(encoding="utf-8"))
TOPICS = [t.name for t in load_topics(ROOT / "labels")]


def test_every_judgment_has_a_page_a_hash_and_ordered_topic_names():
    assert ROWS
    for row in ROWS:
        assert set(row) == {"page", "sha256", "labels"}
        assert len(row["sha256"]) == 16 and int(row["sha256"], 16) >= 0
        assert row["labels"] == [t for t in TOPICS if t in row["labels"]]


def test_a_paragraph_is_judged_once():
    keys = [(row["page"], row["sha256"]) for row in ROWS]
    assert len(keys) == len(set(keys)) == len(offtopic.load_judged(offtopic.JUDGED))


def test_the_key_is_the_page_and_a_hash_of_the_exact_text():
    a = offtopic.paragraph_key("p.html", "Gas flows.")
    assert a == offtopic.paragraph_key("p.html", "Gas flows.")
    assert a != offtopic.paragraph_key("p.html", "Gas flows")
    assert a != offtopic.paragraph_key("q.html", "Gas flows.")


@pytest.mark.skipif(not HTMLEVAL.is_dir(), reason="../shared/htmleval is not beside the repo")
def test_each_judgment_names_a_paragraph_of_its_page_as_the_tagger_splits_it():
    """If HTML conversion or paragraph splitting changes, stale judgments fail here rather
    than silently counting as 'not yet judged'."""
    by_page: dict[str, set[str]] = {}
    for row in ROWS:
        by_page.setdefault(row["page"], set()).add(row["sha256"])
    for page, hashes in by_page.items():
        text = read_file(HTMLEVAL / "pages" / page).text
        found = {offtopic.paragraph_key(page, p.text)[1] for p in split_paragraphs(text)}
        assert hashes <= found, page
