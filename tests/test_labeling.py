"""Labelling in the terminal: the session logic, durable appends, resumption, review, and the
real command driven through a pseudo-terminal."""

import io
import json
import os
import shutil
import sys

import numpy as np
import pytest
from conftest import SEEDS, TEST_GRID
from typer.testing import CliRunner

from topictag import Tagger
from topictag.cli import app
from topictag.errors import InputError, LabelError
from topictag.labeling import (
    Item,
    Keys,
    Session,
    add_topics,
    append_row,
    copy_article,
    find_disagreements,
    label_article,
    render,
    review_labels,
)
from topictag.labels import load_labels
from topictag.paragraphs import split_paragraphs
from topictag.topics import load_topics

TOPICS = ["gas", "oil", "transport corridor", "diplomacy", "sanctions"]
ARTICLE = """Gazprom raises gas exports to Turkey

Gazprom said on Monday that natural gas supplies through the TurkStream pipeline rose by a \
fifth, and that LNG cargoes to Europe would follow.

The EU's new sanctions package bans transactions with Rosneft and targets the shadow fleet of \
oil tankers that evades the price cap.

Kazakh crude will flow through the Baku-Tbilisi-Ceyhan pipeline under a deal signed in Astana.

Presidents Aliyev and Tokayev held talks on the Middle Corridor and rail cargo across the \
Caspian.

Share this article
"""


@pytest.fixture
def dirs(tmp_path, labels_dir):
    """Copies of the labels and seeds, and a new article outside them."""
    labels, seeds = tmp_path / "labels", tmp_path / "seeds"
    shutil.copytree(labels_dir, labels)
    shutil.copytree(SEEDS, seeds)
    article = tmp_path / "incoming" / "mine.txt"
    article.parent.mkdir()
    article.write_text(ARTICLE, encoding="utf-8")
    return labels, seeds, article


def rows_of(path, article="mine"):
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [r for r in rows if r["article"] == article]


def keys(*lines: str) -> Keys:
    """Keys read from lines, as when stdin is not a terminal: each character is a key and an
    empty line is Enter."""
    return Keys(io.StringIO("".join(line + "\n" for line in lines)))


def item(i, suggested=(), stored=None):
    row = {"id": f"a-p{i:02d}", "article": "a", "paragraph": i, "text": f"Text {i}."}
    row |= {"labels": [], "source": "seed"}
    scores = {t: 0.9 if t in suggested else 0.1 for t in TOPICS}
    return Item(row=row, scores=scores, suggested=list(suggested), stored=stored)


# -- the session ------------------------------------------------------------------------------


def test_accepting_the_suggestion_is_one_key():
    session = Session([item(0, ["gas", "diplomacy"]), item(1)], TOPICS)
    row = session.handle("\n")
    assert row == {
        "id": "a-p00",
        "article": "a",
        "paragraph": 0,
        "text": "Text 0.",
        "labels": ["gas", "diplomacy"],
        "source": "seed",
    }
    assert session.pos == 1


def test_digits_toggle_topics_in_topic_file_order():
    session = Session([item(0, ["gas"])], TOPICS)
    for key in "514":  # sanctions on, gas off, diplomacy on
        assert session.handle(key) is None
    assert session.handle("a")["labels"] == ["diplomacy", "sanctions"]


def test_skip_writes_nothing_and_quit_stops():
    session = Session([item(0, ["gas"]), item(1)], TOPICS)
    assert session.handle("s") is None and session.pos == 1
    assert session.handle("q") is None and session.finished
    assert session.counts["skipped"] == 1


def test_back_to_an_answered_paragraph_appends_a_correction():
    session = Session([item(0, ["gas"]), item(1, ["oil"])], TOPICS)
    session.handle("\n")
    session.handle("b")
    assert session.pos == 0 and session.labels() == ["gas"]
    assert session.handle("\n") is None  # unchanged: nothing to write
    session.handle("b")
    session.handle("2")
    row = session.handle("\n")
    assert row["labels"] == ["gas", "oil"] and row["supersedes"] is True
    assert row["id"] == "a-p00"
    assert session.counts == {"added": 1, "corrected": 1, "skipped": 0, "kept": 1}


def test_back_to_a_skipped_paragraph_writes_a_plain_row():
    session = Session([item(0, ["gas"]), item(1)], TOPICS)
    session.handle("s")
    session.handle("b")
    row = session.handle("a")
    assert row["labels"] == ["gas"] and "supersedes" not in row


def test_the_end_screen_allows_back_and_finish():
    session = Session([item(0)], TOPICS, title="t")
    session.handle("\n")
    assert session.done and not session.finished
    assert "all 1 paragraphs answered" in render(session)
    session.handle("b")
    assert session.pos == 0
    session.handle("\n")
    session.handle("\n")
    assert session.finished


def test_unknown_keys_and_back_at_the_start_only_say_so():
    session = Session([item(0)], TOPICS)
    session.handle("b")
    assert "first paragraph" in session.message
    session.handle("z")
    assert "no command" in session.message and session.pos == 0


def test_screen_shows_the_text_keys_scores_and_suggestion():
    it = item(0, ["sanctions"])
    it.evidence = {"sanctions": [{"term": "price cap", "weight": 2.0, "spans": []}]}
    screen = render(Session([it], [*TOPICS, "nuclear"], title="mine"))
    assert "a-p00" in screen and "Text 0." in screen
    assert "[x] 5  sanctions" in screen and "0.90*" in screen and "price cap" in screen
    assert "[ ] 1  gas" in screen
    assert "[ ] 6  nuclear              new" in screen  # a topic the model lacks
    assert "1-6 toggle" in screen


# -- files ------------------------------------------------------------------------------------


def test_append_row_adds_one_line_and_never_glues_to_a_broken_last_line(tmp_path):
    path = tmp_path / "x.jsonl"
    append_row(path, {"id": "a", "text": "café"})
    append_row(path, {"id": "b", "text": "x"})
    assert path.read_text(encoding="utf-8") == (
        '{"id": "a", "text": "café"}\n{"id": "b", "text": "x"}\n'
    )
    path.write_text('{"id": "a"}', encoding="utf-8")
    append_row(path, {"id": "b"})
    assert path.read_text(encoding="utf-8").splitlines() == ['{"id": "a"}', '{"id": "b"}']


def test_copy_article_refuses_a_different_file_of_the_same_name(tmp_path, dirs):
    _, seeds, article = dirs
    copy = copy_article(article, seeds)
    assert copy == seeds / "mine.txt" and copy.read_bytes() == article.read_bytes()
    assert copy_article(article, seeds) == copy  # the same file again is fine
    other = tmp_path / "other" / "mine.txt"
    other.parent.mkdir()
    other.write_text("Something else.", encoding="utf-8")
    with pytest.raises(InputError, match="exists and differs"):
        copy_article(other, seeds)
    (tmp_path / "bad.txt").write_bytes(b"caf\xe9")
    with pytest.raises(InputError, match="not UTF-8"):
        copy_article(tmp_path / "bad.txt", seeds)
    (tmp_path / "empty.txt").write_text(" \n\n", encoding="utf-8")
    with pytest.raises(InputError, match="no text"):
        copy_article(tmp_path / "empty.txt", seeds)
    assert not (seeds / "empty.txt").exists()
    (tmp_path / "page.html").write_text("<p>Gas.</p>", encoding="utf-8")
    with pytest.raises(InputError, match=r"plain-text \.txt"):
        copy_article(tmp_path / "page.html", seeds)


def test_add_topics_needs_name_and_definition(dirs):
    labels, _, _ = dirs
    assert add_topics(labels, ["nuclear=Nuclear power plants and fuel."]) == ["nuclear"]
    assert add_topics(labels, ["nuclear=Again."]) == []
    assert [t.name for t in load_topics(labels)][-1] == "nuclear"
    with pytest.raises(LabelError, match="expected name=definition"):
        add_topics(labels, ["nuclear"])


# -- labelling an article ---------------------------------------------------------------------


def suggestions(model_dir, texts):
    tagger = Tagger.load(model_dir)
    return tagger.decide(tagger.scores(texts))


def test_label_article_appends_rows_in_the_seed_format_and_resumes(dirs, model_dir):
    labels, seeds, article = dirs
    texts = [p.text for p in split_paragraphs(ARTICLE)]
    screens = []
    summary = label_article(
        article,
        labels,
        seeds,
        model_dir,
        "document",
        keys=keys("", "1", "", "s", "q"),
        out=screens.append,
    )
    rows = rows_of(labels / "seeds.jsonl")
    expected = suggestions(model_dir, texts[:2])
    second = sorted(set(expected[1]) ^ {"gas"}, key=TOPICS.index)
    assert rows == [
        {"id": "mine-p00", "article": "mine", "paragraph": 0, "text": texts[0],
         "labels": expected[0], "source": "seed"},
        {"id": "mine-p01", "article": "mine", "paragraph": 1, "text": texts[1],
         "labels": second, "source": "seed"},
    ]  # fmt: skip
    assert summary.counts["added"] == 2 and summary.left == len(texts) - 2
    assert (seeds / "mine.txt").read_bytes() == article.read_bytes()
    # Resuming shows the skipped paragraph first, then the rest.
    screens.clear()
    label_article(
        article, labels, seeds, model_dir, "document", keys=keys("", "q"), out=screens.append
    )
    assert "resuming: 2 of 6" in screens[0] and "mine-p02" in screens[0]
    assert [r["id"] for r in rows_of(labels / "seeds.jsonl")] == [
        "mine-p00",
        "mine-p01",
        "mine-p02",
    ]
    data = load_labels(labels, TOPICS, seeds, warn=lambda m: None)
    assert data.labels[data.ids.index("mine-p01")] == second


def test_uncertain_order_puts_paragraphs_nearest_a_threshold_first(dirs, model_dir):
    labels, seeds, article = dirs
    screens = []
    label_article(
        article, labels, seeds, model_dir, "uncertain", keys=keys("q"), out=screens.append
    )
    tagger = Tagger.load(model_dir)
    texts = [p.text for p in split_paragraphs(ARTICLE)]
    margins = abs(np.asarray(tagger.scores(texts)) - tagger.thresholds).min(axis=1)
    first = min(range(len(texts)), key=lambda i: (margins[i], i))
    assert f"mine-p{first:02d}" in screens[0]


def test_back_after_accepting_appends_a_correction_the_loader_applies(dirs, model_dir):
    labels, seeds, article = dirs
    label_article(article, labels, seeds, model_dir, "document", keys=keys("", "b", "5", "", "q"))
    rows = rows_of(labels / "seeds.jsonl")
    assert [r["id"] for r in rows] == ["mine-p00", "mine-p00"]
    assert rows[1]["supersedes"] is True and rows[1]["text"] == rows[0]["text"]
    data = load_labels(labels, TOPICS, seeds, warn=lambda m: None)
    assert data.ids.count("mine-p00") == 1
    assert data.labels[data.ids.index("mine-p00")] == rows[1]["labels"]


def test_a_new_topic_can_be_labelled_though_the_model_cannot_suggest_it(dirs, model_dir):
    labels, seeds, article = dirs
    screens = []
    label_article(
        article, labels, seeds, model_dir, "document", ["nuclear=Nuclear power."],
        keys=keys("6a", "q"), out=screens.append,
    )  # fmt: skip
    assert "6  nuclear" in screens[0]
    assert rows_of(labels / "seeds.jsonl")[0]["labels"][-1] == "nuclear"
    data = load_labels(labels, [*TOPICS, "nuclear"], seeds, warn=lambda m: None)
    assert "nuclear" in data.labels[data.ids.index("mine-p00")]


def test_without_a_model_labelling_still_works(dirs, tmp_path):
    labels, seeds, article = dirs
    screens = []
    label_article(
        article, labels, seeds, tmp_path / "no-model", "uncertain", keys=keys("4a", "q"),
        out=screens.append,
    )  # fmt: skip
    assert "mine-p00" in screens[0] and "no suggestions:" in screens[0]
    assert rows_of(labels / "seeds.jsonl")[0]["labels"] == ["diplomacy"]


def test_cli_label_reads_lines_when_stdin_is_not_a_terminal(dirs, use_model):
    labels, seeds, article = dirs
    args = ["label", str(article), "--labels", str(labels), "--seeds", str(seeds)]
    result = CliRunner().invoke(app, [*args, "--order", "document"], input="\n\nq\n")
    assert result.exit_code == 0, result.output
    assert "2 rows added" in result.stdout
    assert len(rows_of(labels / "seeds.jsonl")) == 2
    assert CliRunner().invoke(app, ["label", "--labels", str(labels)]).exit_code == 2
    assert CliRunner().invoke(app, ["label", "--help"]).exit_code == 0


def test_labelled_article_joins_training_and_its_evaluation(dirs, model_dir, tmp_path, seed_rows):
    from topictag.training import train

    labels, seeds, article = dirs
    n = len(split_paragraphs(ARTICLE))
    label_article(article, labels, seeds, model_dir, "document", keys=keys(*[""] * n))
    metrics = train(labels, seeds, tmp_path / "model", grid=TEST_GRID, inner_folds=2)
    evaluation = metrics["evaluation"]["leave_one_article_out"]
    assert evaluation["n"] == len(seed_rows) + n
    assert metrics["data"]["real_articles"] == len({r["article"] for r in seed_rows}) + 1


# -- review -----------------------------------------------------------------------------------


def test_review_finds_a_wrong_label_and_fixes_it_in_place(dirs, model_dir):
    labels, seeds, _ = dirs
    path = labels / "seeds.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    wrong = next(r for r in rows if r["labels"] == ["sanctions"])
    with open(path, "a", encoding="utf-8") as fh:  # a labelling mistake, as a correction
        fh.write(json.dumps({**wrong, "labels": [], "supersedes": True}) + "\n")
    found = find_disagreements(labels, seeds, model_dir, cutoff=0.5)
    assert wrong["id"] in [d.row["id"] for d in found]
    first = [d.row["id"] for d in found].index(wrong["id"])
    before = path.read_bytes()
    lines = ["s"] * first + ["5", ""]
    listed, session = review_labels(labels, seeds, model_dir, 0.5, keys=keys(*lines, "q"))
    assert path.read_bytes().startswith(before)  # appended, never rewritten
    assert session.counts["corrected"] == 1
    data = load_labels(labels, TOPICS, seeds, warn=lambda m: None)
    assert data.labels[data.ids.index(wrong["id"])] == ["sanctions"]
    assert len(data) == len(rows)


def test_review_with_nothing_to_fix(dirs, model_dir):
    labels, seeds, _ = dirs
    listed, session = review_labels(labels, seeds, model_dir, cutoff=1.0, keys=keys())
    assert listed == [] and session.counts["corrected"] == 0


# -- the real command in a pseudo-terminal ----------------------------------------------------


def test_terminal_session_keys_resume_and_interrupt(dirs, model_dir):
    pexpect = pytest.importorskip("pexpect")
    labels, seeds, article = dirs
    env = {**os.environ, "TOPICTAG_MODEL": str(model_dir), "PYTHONIOENCODING": "utf-8"}
    cmd = [
        "-m", "topictag", "label", str(article), "--labels", str(labels), "--seeds", str(seeds),
        "--order", "document",
    ]  # fmt: skip
    texts = [p.text for p in split_paragraphs(ARTICLE)]
    expected = suggestions(model_dir, texts)
    path = labels / "seeds.jsonl"

    child = pexpect.spawn(sys.executable, cmd, env=env, encoding="utf-8", timeout=60)
    child.expect("mine-p00")
    child.expect("q quit")
    child.send("\r")  # accept the suggestion: one key
    child.expect("mine-p01")
    child.expect("q quit")
    child.send("1")  # toggle gas ...
    child.expect(r"\[[x ]\] 1  gas")
    child.send("a")  # ... and accept
    child.expect("mine-p02")
    child.expect("q quit")
    child.send("s")
    child.expect("mine-p03")
    child.expect("q quit")
    child.send("q")
    child.expect("2 rows added, 0 corrected, 1 skipped")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    labelled = {r["id"]: r["labels"] for r in rows_of(path)}
    assert labelled == {
        "mine-p00": expected[0],
        "mine-p01": sorted(set(expected[1]) ^ {"gas"}, key=TOPICS.index),
    }

    # Again: resumes with the skipped paragraph; Ctrl-C after one more answer.
    child = pexpect.spawn(sys.executable, cmd, env=env, encoding="utf-8", timeout=60)
    child.expect("mine-p02")
    child.expect("q quit")
    child.expect("resuming: 2 of 6")
    child.send("\r")
    child.expect("mine-p03")
    child.expect("q quit")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130  # "error: interrupted", the file intact
    content = path.read_text(encoding="utf-8")
    assert content.endswith("\n")
    assert all(json.loads(line) for line in content.splitlines())
    assert [r["id"] for r in rows_of(path)] == ["mine-p00", "mine-p01", "mine-p02"]
    data = load_labels(labels, TOPICS, seeds, warn=lambda m: None)
    assert {"mine-p00", "mine-p01", "mine-p02"} <= set(data.ids)
