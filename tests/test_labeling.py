"""Labelling in the terminal: the session logic, durable appends, resumption, review, and the
real command driven through a pseudo-terminal."""

import errno
import io
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import SEEDS, TEST_GRID
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from topictag import Tagger, files, labeling
from topictag.cli import app
from topictag.errors import InputError, LabelError, OptionError, WriteError
from topictag.labeling import (
    Item,
    Keys,
    Session,
    add_topics,
    append_row,
    copy_article,
    find_disagreements,
    label_article,
    labels_lock,
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
    [row] = session.handle("\n")
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
        assert session.handle(key) == []
    assert session.handle("a")[0]["labels"] == ["diplomacy", "sanctions"]


def test_skip_writes_nothing_and_quit_stops():
    session = Session([item(0, ["gas"]), item(1)], TOPICS)
    assert session.handle("s") == [] and session.pos == 1
    assert session.handle("q") == [] and session.finished
    assert session.counts["skipped"] == 1


def test_back_to_an_answered_paragraph_appends_a_correction():
    session = Session([item(0, ["gas"]), item(1, ["oil"])], TOPICS)
    session.handle("\n")
    session.handle("b")
    assert session.pos == 0 and session.labels() == ["gas"]
    assert session.handle("\n") == []  # unchanged: nothing to write
    session.handle("b")
    session.handle("2")
    [row] = session.handle("\n")
    assert row["labels"] == ["gas", "oil"] and row["supersedes"] is True
    assert row["id"] == "a-p00"
    assert session.counts == {"added": 1, "corrected": 1, "skipped": 0, "kept": 1}


def test_back_to_a_skipped_paragraph_writes_a_plain_row():
    session = Session([item(0, ["gas"]), item(1)], TOPICS)
    session.handle("s")
    session.handle("b")
    [row] = session.handle("a")
    assert row["labels"] == ["gas"] and "supersedes" not in row


def twin(i, text, suggested=(), stored=None):
    """item(i) with the text ``text``."""
    it = item(i, suggested, stored)
    it.row["text"] = text
    return it


def test_a_text_answered_earlier_in_the_session_opens_with_that_answer():
    session = Session([twin(0, "Read more:  x"), twin(1, "read more: X", ["gas"])], TOPICS)
    session.handle("2")
    session.handle("\n")
    assert session.labels() == ["oil"]  # not the suggestion, gas: the answer to the same text
    [row] = session.handle("\n")
    assert row["labels"] == ["oil"]


def test_changing_an_answer_changes_every_paragraph_of_the_same_text():
    session = Session([twin(0, "Same."), twin(1, "Other."), twin(2, "Same.")], TOPICS)
    for key in ("2", "\n", "\n", "\n"):  # oil, nothing, oil (opened with oil)
        session.handle(key)
    assert [it.stored for it in session.items] == [["oil"], [], ["oil"]]
    session.handle("b")
    session.handle("2")  # oil off: no topic
    rows = session.handle("\n")
    assert [(r["id"], r["labels"], r.get("supersedes")) for r in rows] == [
        ("a-p02", [], True),
        ("a-p00", [], True),
    ]
    assert "also changed 1 paragraph with the same text" in session.message
    assert session.counts == {"added": 3, "corrected": 2, "skipped": 0, "kept": 0}


def test_an_answer_against_a_row_on_file_with_the_same_text_is_refused():
    on_file = {"same.": ("other-p03", ["sanctions"])}
    session = Session([twin(0, "Same.", ["gas"]), twin(1, "Else.")], TOPICS, on_file=on_file)
    assert session.labels() == ["sanctions"]  # the answer on file, not the suggestion
    session.handle("1")  # gas as well
    assert session.handle("\n") == [] and session.pos == 0
    assert "other-p03" in session.message and "sanctions" in session.message
    session.handle("1")
    [row] = session.handle("\n")
    assert row["labels"] == ["sanctions"] and session.pos == 1


@given(
    texts=st.lists(st.sampled_from(["A.", "a.", "B.", " b. "]), min_size=1, max_size=6),
    keys_=st.lists(st.sampled_from(["1", "2", "\n", "b", "s"]), max_size=30),
)
def test_no_sequence_of_keys_gives_one_text_two_answers(texts, keys_):
    """What training refuses (one text, two answers) the session cannot write."""
    session = Session([twin(i, t) for i, t in enumerate(texts)], TOPICS)
    latest: dict[str, list[str]] = {}
    for key in keys_:
        for row in session.handle(key):
            latest[row["id"]] = sorted(row["labels"])
    answers: dict[str, set] = {}
    for it in session.items:
        if it.id in latest:
            answers.setdefault(" ".join(it.row["text"].split()).lower(), set()).add(
                tuple(latest[it.id])
            )
    assert all(len(a) == 1 for a in answers.values())


def test_the_end_screen_allows_back_and_finish():
    session = Session([item(0)], TOPICS, title="t")
    session.handle("\n")
    assert session.done and not session.finished
    assert "every paragraph answered (1 paragraph)" in render(session)
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
    # The same command again (to resume labelling) changes nothing.
    assert add_topics(labels, ["nuclear = Nuclear power plants  and fuel."]) == []
    assert [t.name for t in load_topics(labels)][-1] == "nuclear"
    with pytest.raises(LabelError, match="expected name=definition"):
        add_topics(labels, ["nuclear"])


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("nuclear=Again.", "topic 'nuclear' exists with another definition"),
        ("Nuclear=Nuclear power plants and fuel.", "the topic 'nuclear' exists already"),
        ("gas=Anything about gas.", "topic 'gas' exists with another definition"),
    ],
)
def test_add_topics_never_silently_ignores_an_existing_topic(dirs, spec, problem):
    labels, _, _ = dirs
    add_topics(labels, ["nuclear=Nuclear power plants and fuel."])
    before = (labels / "topics.toml").read_bytes()
    with pytest.raises(OptionError, match=problem):
        add_topics(labels, [spec])
    assert (labels / "topics.toml").read_bytes() == before


@pytest.mark.parametrize("spec", ["gas=Anything else.", "GAS=Natural gas."])
def test_a_topic_option_that_clashes_with_a_topic_is_a_usage_error(dirs, spec):
    """Exit 2, as the README says, and the article's copy is taken away again."""
    labels, seeds, article = dirs
    args = ["label", str(article), "--labels", str(labels), "--seeds", str(seeds)]
    result = CliRunner().invoke(app, [*args, "--topics", spec], input="q\n")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: --topics {spec!r}: ")
    assert not (seeds / article.name).exists()


@pytest.mark.parametrize("name", ["oil, gas", 'say "gas"', "a|b", "back\\slash", "tab\there"])
def test_a_topic_name_that_would_break_lists_or_tables_is_refused(dirs, name):
    labels, _, _ = dirs
    before = (labels / "topics.toml").read_bytes()
    with pytest.raises(LabelError, match="a topic name cannot contain"):
        add_topics(labels, [f"{name}=Some definition."])
    assert (labels / "topics.toml").read_bytes() == before


def test_every_topic_gets_a_key_up_to_57_and_more_is_an_error():
    many = [f"topic {i}" for i in range(57)]
    session = Session([item(0)], many)
    assert list(session.keys.values()) == many
    assert len(set(session.keys)) == 57 and not set(session.keys) & set("abhqs\n\r")
    session.handle(list(session.keys)[-1])
    assert session.labels() == ["topic 56"]
    with pytest.raises(LabelError, match="58 topics, but label has keys for 57"):
        Session([item(0)], [*many, "one more"])


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


@pytest.mark.parametrize(
    ("file", "name"), [("authored.jsonl", "authored-oil-a01"), ("dev.jsonl", "dev-a001")]
)
def test_an_article_named_as_an_article_of_a_label_file_is_refused(dirs, use_model, file, name):
    """Training would take that article's rows for paragraphs of the new seed and fail."""
    labels, seeds, _ = dirs
    row = {"id": f"{name}-0001", "article": name, "text": "Oil.", "labels": ["oil"]}
    (labels / file).write_text(json.dumps(row) + "\n", encoding="utf-8")
    article = labels.parent / "incoming" / f"{name}.txt"
    article.write_text("Gas flows rose.\n\nTalks in Baku.\n", encoding="utf-8")
    before = {p: p.read_bytes() for d in (labels, seeds) for p in d.iterdir()}
    args = ["label", str(article), "--labels", str(labels), "--seeds", str(seeds)]
    result = CliRunner().invoke(app, [*args, "--order", "document"], input="\nq\n")
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {article}: {name!r} is already an article of {labels / file}:1 (id "
        f"'{name}-0001'); rename your article to label it\n"
    )
    assert {p: p.read_bytes() for d in (labels, seeds) for p in d.iterdir()} == before


def test_a_seed_article_can_still_be_labelled_further(dirs, model_dir):
    labels, seeds, _ = dirs
    seed = sorted(seeds.glob("*.txt"))[0]
    article = labels.parent / "incoming" / seed.name  # the same text, from elsewhere
    shutil.copy(seed, article)
    for path in (seed, article):
        screens = []
        label_article(path, labels, seeds, model_dir, keys=keys("q"), out=screens.append)
        assert screens[0].startswith("all ") and "have labels" in screens[0]


def test_a_labelled_article_whose_seed_copy_is_gone_is_labelled_further(dirs, model_dir):
    """Its paragraphs are the texts of its rows: the same article, not a clash of names."""
    labels, seeds, _ = dirs
    seed = sorted(seeds.glob("*.txt"))[0]
    article = labels.parent / "incoming" / seed.name
    shutil.move(seed, article)
    screens = []
    label_article(article, labels, seeds, model_dir, keys=keys("q"), out=screens.append)
    assert screens[0].startswith("all ") and "have labels" in screens[0]
    edited = article.read_text(encoding="utf-8").replace("the", "a", 1)
    article.write_text(edited, encoding="utf-8")
    (seeds / seed.name).unlink(missing_ok=True)
    with pytest.raises(InputError, match="rename your article"):
        label_article(article, labels, seeds, model_dir, keys=keys("q"), out=screens.append)


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


class Interrupting(Keys):
    """Keys that give ``lines`` and then Ctrl-C, as a user pressing it at the prompt."""

    def __init__(self, *lines):
        super().__init__(io.StringIO("".join(line + "\n" for line in lines)))
        self.left = len(lines)

    def read(self):
        if not self.left:
            raise KeyboardInterrupt
        self.left -= 1
        return super().read()


@pytest.mark.parametrize("answers", [("q",), ("s", "q"), ()], ids=["quit", "skip-quit", "eof"])
def test_a_session_that_labels_nothing_leaves_no_copy_in_the_seeds(dirs, model_dir, answers):
    labels, seeds, article = dirs
    before = sorted(p.name for p in seeds.iterdir())
    summary = label_article(
        article, labels, seeds, model_dir, "document", keys=keys(*answers), out=lambda s: None
    )
    assert summary.counts["added"] == 0
    assert sorted(p.name for p in seeds.iterdir()) == before
    assert not (labels / "seeds.jsonl").exists() or not rows_of(labels / "seeds.jsonl")


def test_a_copy_with_labels_or_there_before_stays(dirs, model_dir):
    labels, seeds, article = dirs
    label_article(article, labels, seeds, model_dir, "document", keys=keys("", "q"), out=print)
    assert (seeds / "mine.txt").read_bytes() == article.read_bytes()  # one row: kept
    (labels / "seeds.jsonl").unlink()
    label_article(article, labels, seeds, model_dir, "document", keys=keys("q"), out=print)
    assert (seeds / "mine.txt").exists()  # it was there before this session: not ours to remove


def test_an_interrupted_session_with_no_row_removes_its_copy(dirs, model_dir):
    labels, seeds, article = dirs
    label_article(
        article, labels, seeds, model_dir, "document", keys=Interrupting(), out=lambda s: None
    )
    assert not (seeds / "mine.txt").exists()


def test_ctrl_c_quits_like_q_with_the_same_summary(dirs, model_dir):
    labels, seeds, article = dirs
    args = (article, labels, seeds, model_dir, "document")
    interrupted = label_article(*args, keys=Interrupting("", "s"), out=lambda s: None)
    assert str(interrupted).endswith(
        "1 row added, 0 corrected, 1 skipped; 5 paragraphs left to label"
    )
    assert [r["id"] for r in rows_of(labels / "seeds.jsonl")] == ["mine-p00"]
    quit_ = label_article(*args, keys=keys("", "q"), out=lambda s: None)
    assert str(quit_).endswith("1 row added, 0 corrected, 0 skipped; 4 paragraphs left to label")


def test_review_lists_the_worst_first_and_only_as_many_as_asked(dirs, model_dir, monkeypatch):
    import topictag.labeling as labeling

    labels, seeds, _ = dirs
    found = find_disagreements(labels, seeds, model_dir, cutoff=0.3)
    assert len(found) > 3
    key = [(d.authored, -d.loss) for d in found]
    assert key == sorted(key)
    monkeypatch.setattr(labeling, "find_disagreements", lambda *args: found)
    shown = []
    every, session = review_labels(
        labels, seeds, model_dir, 0.3, keys=keys("q"), out=shown.append, limit=2
    )
    assert every == found and len(session.items) == 2
    assert shown[0].startswith(f"{len(found)} labelled paragraphs") and "the 2 worst" in shown[0]
    assert [d.row["id"] in "".join(shown[1:3]) for d in found[:2]] == [True, True]
    assert not any(found[2].row["id"] in line for line in shown)


def test_a_disagreement_ranks_real_articles_first_then_by_log_loss():
    from topictag.labeling import Disagreement

    def made(source, labels, p, row_id):
        row = {"id": row_id, "labels": labels, "source": source, "text": "x"}
        return Disagreement(None, row, dict(zip(TOPICS, p)), ["gas"])

    boilerplate = made("authored", [], [1.0, 0, 0, 0, 0], "b")
    real = made("seed", [], [0.9, 0, 0, 0, 0], "r")
    two_wrong = made("seed", [], [0.9, 0.9, 0, 0, 0], "t")
    assert boilerplate.authored and not real.authored
    assert two_wrong.loss > real.loss > 0 and boilerplate.loss > two_wrong.loss
    ranked = sorted([boilerplate, real, two_wrong], key=lambda d: (d.authored, -d.loss))
    assert [d.row["id"] for d in ranked] == ["t", "r", "b"]


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
    child.sendintr()  # Ctrl-C quits as q does, with the same summary
    child.expect("1 row added, 0 corrected, 0 skipped; 3 paragraphs left to label")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    content = path.read_text(encoding="utf-8")
    assert content.endswith("\n")
    assert all(json.loads(line) for line in content.splitlines())
    assert [r["id"] for r in rows_of(path)] == ["mine-p00", "mine-p01", "mine-p02"]
    data = load_labels(labels, TOPICS, seeds, warn=lambda m: None)
    assert {"mine-p00", "mine-p01", "mine-p02"} <= set(data.ids)


# -- a full disk, two runs at once ------------------------------------------------------------


def full_disk_after(n_bytes: int):
    """A ``write_all`` that writes ``n_bytes`` and then finds the disk full."""

    def write(fd, data):
        os.write(fd, bytes(data[:n_bytes]))
        raise OSError(errno.ENOSPC, "No space left on device")

    return write


def test_an_append_on_a_full_disk_is_whole_or_absent(tmp_path, monkeypatch):
    path = tmp_path / "seeds.jsonl"
    append_row(path, {"id": "a"})
    before = path.read_bytes()
    monkeypatch.setattr(labeling, "write_all", full_disk_after(5))
    with pytest.raises(WriteError, match="cannot write .No space.*the file is as it was"):
        append_row(path, {"id": "b", "text": "a longer row"})
    assert path.read_bytes() == before
    monkeypatch.undo()
    append_row(path, {"id": "b"})
    assert path.read_text().splitlines() == ['{"id": "a"}', '{"id": "b"}']


def test_cli_label_on_a_full_disk_is_one_line_and_training_still_loads(
    dirs, use_model, monkeypatch
):
    labels, seeds, article = dirs
    before = (labels / "seeds.jsonl").read_bytes()
    monkeypatch.setattr(labeling, "write_all", full_disk_after(10))
    args = ["label", str(article), "--labels", str(labels), "--seeds", str(seeds)]
    result = CliRunner().invoke(app, args, input="\n\nq\n")
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {labels / 'seeds.jsonl'}: cannot write (No space left on device); the row "
        "was not added, the file is as it was\n"
    )
    assert (labels / "seeds.jsonl").read_bytes() == before
    load_labels(labels, TOPICS, seeds, warn=lambda m: None)


def test_copying_an_article_on_a_full_disk_leaves_no_empty_seed(dirs, monkeypatch):
    _, seeds, article = dirs
    monkeypatch.setattr(files, "write_all", full_disk_after(0))
    with pytest.raises(WriteError, match="mine.txt: cannot write .No space"):
        copy_article(article, seeds)
    assert not [p for p in seeds.iterdir() if "mine" in p.name]
    monkeypatch.undo()
    (seeds / "mine.txt").write_bytes(b"")  # left by an earlier version: replaced, not a block
    assert copy_article(article, seeds).read_bytes() == article.read_bytes()


def test_a_second_label_run_on_the_same_labels_refuses_at_once(dirs, use_model):
    labels, seeds, article = dirs
    before = (labels / "seeds.jsonl").read_bytes()
    args = ["label", str(article), "--labels", str(labels), "--seeds", str(seeds)]
    with labels_lock(labels):  # as a first `topictag label` holds it
        result = CliRunner().invoke(app, args, input="\n\nq\n")
        review = CliRunner().invoke(app, ["label", "--review", "--labels", str(labels)])
    assert result.exit_code == 1 and review.exit_code == 1
    message = (
        f"error: {labels}: another topictag label is writing these labels; finish or quit "
        "it (q), then run this again\n"
    )
    assert result.stderr == review.stderr == message
    assert (labels / "seeds.jsonl").read_bytes() == before
    assert CliRunner().invoke(app, args, input="\n\nq\n").exit_code == 0  # released


def test_two_label_processes_never_write_the_same_ids(dirs, model_dir):
    """The first run waits for keys while holding the lock; the second, started meanwhile,
    refuses; every id is written once."""
    labels, seeds, article = dirs
    cmd = [sys.executable, "-m", "topictag", "label", str(article), "--labels", str(labels)]
    cmd += ["--seeds", str(seeds), "--model", str(model_dir), "--order", "document"]
    first = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert "mine-p00" in first.stdout.readline().decode() + first.stdout.readline().decode()
        second = subprocess.run(cmd, input=b"\n\n\n\nq\n", capture_output=True, timeout=120)
        out, _ = first.communicate(b"\n\n\n\nq\n", timeout=120)
    finally:
        first.kill()
        first.wait()
    assert first.returncode == 0 and b"4 rows added" in out
    assert second.returncode == 1 and b"another topictag label is writing" in second.stderr
    ids = [r["id"] for r in rows_of(labels / "seeds.jsonl")]
    assert ids == ["mine-p00", "mine-p01", "mine-p02", "mine-p03"]


def test_a_malformed_topic_option_is_a_usage_error(tmp_path):
    from typer.testing import CliRunner

    from topictag.cli import app

    result = CliRunner().invoke(app, ["label", str(tmp_path / "a.txt"), "--topics", "noequals"])
    assert result.exit_code == 2
    assert result.stderr == "error: --topics 'noequals': expected name=definition\n"


@pytest.mark.parametrize(
    "args, says",
    [
        (
            ["--review", "mine.txt"],
            "--review goes through the labels on file: give it or mine.txt, not both",
        ),
        (["--review", "--order", "document"], "--order is for labelling an article, not --review"),
        (["mine.txt", "--limit", "3"], "--disagreement and --limit are for --review"),
        (["mine.txt", "--disagreement", "0.1"], "--disagreement and --limit are for --review"),
    ],
)
def test_options_of_the_other_mode_are_usage_errors_not_ignored(tmp_path, args, says):
    result = CliRunner().invoke(app, ["label", *args, "--labels", str(tmp_path)], input="q\n")
    assert result.exit_code == 2
    assert result.stderr == f"error: {says}\n"


def test_the_screen_shows_escape_sequences_in_the_text_as_text():
    it = item(0)
    it.row["text"] = "Gas \x1b]0;title\x07 flows.\n\x1b[2J\tend \u202eevil"
    screen = render(Session([it], TOPICS))
    assert "\x1b" not in screen and "\x07" not in screen and "\u202e" not in screen
    assert "Gas \\x1b]0;title\\x07 flows." in screen and "\\x1b[2J" in screen
