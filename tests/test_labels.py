"""Loading and validating labelled paragraphs: every problem is one line naming the row."""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from conftest import LABELS, SEEDS, write_jsonl

from topictag.errors import LabelError
from topictag.labels import load_labels

TOPICS = ["gas", "oil", "transport corridor", "diplomacy", "sanctions"]


def row(i, text="Some text.", labels=(), article="user-article", **extra):
    return {"id": f"r{i}", "article": article, "text": text, "labels": list(labels), **extra}


def load(tmp_path, rows, warn=None):
    write_jsonl(tmp_path / "mine.jsonl", rows)
    return load_labels(tmp_path, TOPICS, SEEDS, warn=warn or (lambda m: None))


def test_seed_labels_load_with_every_paragraph(seed_rows):
    data = load_labels(LABELS.parent / "labels", TOPICS, SEEDS, warn=lambda m: None)
    assert set(data.ids) >= {r["id"] for r in seed_rows}
    assert all(set(labels) <= set(TOPICS) for labels in data.labels)


def test_rows_keep_their_fields_and_order(tmp_path):
    data = load(
        tmp_path, [row(1, "Gas flows.", ["gas"]), row(2, "Nothing.", [], source="authored")]
    )
    assert data.ids == ["r1", "r2"]
    assert data.labels == [["gas"], []]
    assert data.real == [True, False]


def test_a_row_without_a_source_is_a_real_article_with_one_warning(tmp_path):
    messages = []
    data = load(
        tmp_path, [row(1), row(2, "Other."), row(3, "Ours.", source="authored")], messages.append
    )
    assert data.real == [True, True, False]
    [message] = [m for m in messages if 'with no "source"' in m]
    assert "mine.jsonl:1 (id 'r1'): 2 rows with no \"source\"" in message
    assert "held out" in message


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x1c", "\x1d", "\x1e"])
def test_a_text_holding_a_separator_other_than_a_line_break_reads_back_as_written(
    tmp_path, separator
):
    """json.dumps(ensure_ascii=False), as label writes, leaves U+2028 and U+0085 raw; JSON
    allows them in a string, and str.splitlines would cut the row in two."""
    text = f"Gas flows{separator}resumed."
    rows = [row(1, text, ["gas"], source="authored"), row(2, "Oil.", ["oil"], source="authored")]
    path = tmp_path / "mine.jsonl"
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    if separator in "\x1c\x1d\x1e":  # control characters: JSON escapes them
        assert separator not in lines[0]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    data = load_labels(tmp_path, TOPICS, SEEDS, warn=lambda m: None)
    assert data.texts == [text, "Oil."] and data.labels == [["gas"], ["oil"]]


def test_a_file_edited_with_its_time_kept_is_read_as_it_is_now(tmp_path):
    """datasets keys its cache on path and modification time; cp -p or touch -r keep the time."""
    path = tmp_path / "mine.jsonl"
    write_jsonl(path, [row(1, "Gas flows.", ["oil"]), row(2, "Talks.")])
    stamp = path.stat()
    assert load_labels(tmp_path, TOPICS, SEEDS, warn=lambda m: None).labels[0] == ["oil"]
    write_jsonl(path, [row(1, "Gas flows.", ["gas"]), row(2, "Talks.")])
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert load_labels(tmp_path, TOPICS, SEEDS, warn=lambda m: None).labels[0] == ["gas"]


def test_malformed_json_names_file_and_line(tmp_path):
    write_jsonl(tmp_path / "bad.jsonl", [row(1), "{not json"])
    with pytest.raises(LabelError, match=r"bad\.jsonl:2: malformed JSON"):
        load_labels(tmp_path, TOPICS, SEEDS)


def test_a_torn_last_line_is_named_as_such_with_its_repair(tmp_path):
    """What a write cut short by a full disk used to leave: half a line, no line break."""
    path = write_jsonl(tmp_path / "seeds.jsonl", [row(1), row(2)])
    whole = path.stat().st_size
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('{"id": "r3", "article": "user-art')
    with pytest.raises(LabelError) as caught:
        load_labels(tmp_path, TOPICS, SEEDS)
    assert str(caught.value) == (
        f"{path}:3: the last line is incomplete (a write was cut short, e.g. by a full disk): "
        f"remove it, e.g. `truncate -s {whole} {path}`, and label that paragraph again"
    )
    os.truncate(path, whole)
    assert load_labels(tmp_path, TOPICS, SEEDS).ids == ["r1", "r2"]


@pytest.mark.parametrize("content", ["hello world", "x\0y\0z", "[1, 2"])
def test_a_file_that_is_not_json_lines_is_not_offered_a_truncation(tmp_path, content):
    """A text file given by mistake has no line break at its end either; the repair for a
    torn row (cut the file back) would erase it."""
    path = tmp_path / "article.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(LabelError) as caught:
        load_labels(tmp_path, TOPICS, SEEDS)
    assert str(caught.value).startswith(f"{path}:1: malformed JSON")
    assert "truncate" not in str(caught.value)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_or_infinity_is_malformed_json_not_a_torn_line(tmp_path, constant):
    """json.loads reads them, but they are not JSON; on a last line with no line break the
    repair offered was to cut the row off."""
    path = tmp_path / "mine.jsonl"
    path.write_text(json.dumps(row(1)) + "\n" + json.dumps(row(2))[:-1] + f', "n": {constant}}}')
    with pytest.raises(LabelError) as caught:
        load_labels(tmp_path, TOPICS, SEEDS)
    assert str(caught.value) == f"{path}:2: malformed JSON: {constant} is not a JSON value"


def test_a_line_nested_too_deeply_is_one_error(tmp_path):
    write_jsonl(tmp_path / "deep.jsonl", [row(1), "[" * 100_000 + "]" * 100_000])
    with pytest.raises(LabelError, match=r"deep\.jsonl:2: malformed JSON: nested too deeply"):
        load_labels(tmp_path, TOPICS, SEEDS)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_among_the_label_files_is_refused_not_waited_for(tmp_path):
    write_jsonl(tmp_path / "mine.jsonl", [row(1)])
    os.mkfifo(tmp_path / "other.jsonl")
    code = (
        "import sys\n"
        "from topictag.errors import LabelError\n"
        "from topictag.labels import load_labels\n"
        f"try:\n    load_labels({str(tmp_path)!r}, {TOPICS!r})\n"
        "except LabelError as exc:\n    sys.exit(str(exc))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert done.stderr.decode() == (
        f"{tmp_path / 'other.jsonl'}: a FIFO (named pipe), not a regular file\n"
    )


@pytest.mark.parametrize("field", ["id", "article", "text", "labels"])
def test_missing_field(tmp_path, field):
    bad = row(1)
    del bad[field]
    with pytest.raises(LabelError, match=rf"mine\.jsonl:1: missing field '{field}'"):
        load(tmp_path, [bad])


@pytest.mark.parametrize("field", ["id", "text", "labels"])
def test_a_null_field_is_named_as_null_not_missing(tmp_path, field):
    with pytest.raises(LabelError, match=rf"mine\.jsonl:1: field '{field}' is null"):
        load(tmp_path, [row(1) | {field: None}])


def test_unknown_topic_is_named_with_the_allowed_ones(tmp_path):
    with pytest.raises(LabelError, match=r"id 'r2'.*unknown topic 'weather'; allowed: gas, oil"):
        load(tmp_path, [row(1), row(2, "x", ["weather"])])


def test_duplicate_id(tmp_path):
    with pytest.raises(LabelError, match=r"mine\.jsonl:2 \(id 'r1'\): duplicate id"):
        load(tmp_path, [row(1, "a"), row(1, "b")])


def test_a_correction_replaces_the_labels_of_its_row_in_place(tmp_path):
    data = load(
        tmp_path,
        [
            row(1, "Gas flows.", ["oil"]),
            row(2, "Talks."),
            row(1, "Gas flows.", ["gas", "oil"], supersedes=True),
            row(1, "Gas flows.", ["gas"], supersedes=True),
        ],
    )
    assert data.ids == ["r1", "r2"]
    assert data.labels == [["gas"], []]


@pytest.mark.parametrize(
    ("second", "problem"),
    [
        (row(1, "Gas flows.", ["gas"]), "duplicate id, first at mine.jsonl:1 (to correct a row's "
         'labels, append it again with "supersedes": true)'),
        (row(1, "Other text.", ["gas"], supersedes=True), "supersedes mine.jsonl:1 but its text "
         "differs; a correction changes only the labels"),
        (row(1, "Gas.", ["gas"], article="elsewhere", supersedes=True), "supersedes "
         "mine.jsonl:1 but its article and text differ; a correction changes only the labels"),
    ],
)  # fmt: skip
def test_a_duplicate_id_that_is_not_a_correction_is_still_an_error(tmp_path, second, problem):
    """A row with "supersedes" is told what differs, not to add the flag it has."""
    with pytest.raises(LabelError) as raised:
        load(tmp_path, [row(1, "Gas flows.", ["oil"]), second])
    assert str(raised.value) == f"{tmp_path / 'mine.jsonl'}:2 (id 'r1'): {problem}"


def test_a_correction_of_no_earlier_row_is_an_error_naming_its_line(tmp_path):
    """Most often a typo in the id: the row would otherwise be trained on as a new paragraph."""
    with pytest.raises(LabelError) as raised:
        load(
            tmp_path,
            [row(1, "Gas flows.", ["oil"]), row(2, "Gas flows.", ["gas"], supersedes=True)],
        )
    assert str(raised.value) == (
        f"{tmp_path / 'mine.jsonl'}:2: supersedes no earlier row with id 'r2' (a correction "
        "follows the row it corrects, in the same file)"
    )


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        ([row(1, "a"), row(1, "b", supersedes=True)], "2 (id 'r1'): supersedes line 1 but its "
         "text differs; a correction changes only the labels"),
        ([row(1, "a"), row(1, "b")], "2 (id 'r1'): duplicate id, first at line 1 (to correct"),
        ([row(1, "a"), row(2, "a", supersedes=True)], "2: supersedes no earlier row with id 'r2'"),
        ([{"text": "a", "labels": [], "supersedes": True}], '1: "supersedes": true but no id'),
    ],
)  # fmt: skip
def test_a_file_read_on_its_own_says_the_same_of_its_corrections(tmp_path, rows, problem):
    """``evaluate`` and the development set check a file alone (:func:`check_unique_ids`)."""
    from topictag.labels import check_unique_ids, latest_rows, scan_jsonl

    path = write_jsonl(tmp_path / "rows.jsonl", rows)
    with pytest.raises(LabelError) as raised:
        check_unique_ids(path, latest_rows(scan_jsonl(path, ("text", "labels"))))
    assert str(raised.value).startswith(f"{path}:{problem}")


def test_a_correction_must_follow_its_row_in_the_same_file(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [row(1, "Gas flows.", ["oil"])])
    write_jsonl(tmp_path / "b.jsonl", [row(1, "Gas flows.", ["gas"], supersedes=True)])
    with pytest.raises(
        LabelError,
        match=r"b\.jsonl:1 \(id 'r1'\): duplicate id, first at a\.jsonl:1 \(a correction "
        r"goes in the file of the row it corrects, a\.jsonl:1\)",
    ):
        load_labels(tmp_path, TOPICS, SEEDS, warn=lambda m: None)


def test_same_text_check_uses_the_corrected_labels(tmp_path):
    rows = [row(1, "Gas flows.", ["gas"]), row(2, "gas  flows.", ["gas"])]
    agreed = rows + [
        row(1, "Gas flows.", ["oil"], supersedes=True),
        row(2, "gas  flows.", ["oil"], supersedes=True),
    ]
    assert load(tmp_path, agreed).labels == [["oil"], ["oil"]]
    with pytest.raises(LabelError, match=r"same text as id 'r1'"):
        load(tmp_path, rows + [row(2, "gas  flows.", ["oil"], supersedes=True)])


def test_a_seed_row_can_be_corrected(tmp_path, seed_rows):
    fixed = dict(seed_rows[5], labels=["sanctions"], supersedes=True)
    data = load(tmp_path, [*seed_rows, fixed])
    assert len(data) == len(seed_rows)
    assert data.labels[5] == ["sanctions"]


def test_seed_row_whose_text_changed(tmp_path, seed_rows):
    changed = dict(seed_rows[5], text=seed_rows[5]["text"] + " (edited)")
    where = re.escape(str(SEEDS / seed_rows[5]["article"]))
    with pytest.raises(LabelError, match=f"no longer matches paragraph 5 of {where}.txt"):
        load(tmp_path, [changed])


def test_seed_row_with_bad_paragraph_index(tmp_path, seed_rows):
    bad = dict(seed_rows[0], paragraph=999)
    with pytest.raises(LabelError, match="'paragraph' must be an index"):
        load(tmp_path, [bad])


def test_labels_must_be_a_list(tmp_path):
    with pytest.raises(LabelError, match="'labels' must be a list"):
        load(tmp_path, [dict(row(1), labels="gas")])


def test_empty_file(tmp_path):
    (tmp_path / "mine.jsonl").write_text("")
    with pytest.raises(LabelError, match="mine.jsonl: no rows"):
        load_labels(tmp_path, TOPICS, SEEDS)


def test_file_not_utf8(tmp_path):
    (tmp_path / "mine.jsonl").write_bytes(
        json.dumps(row(1, "caf\u00e9"), ensure_ascii=False).encode("cp1252")
    )
    with pytest.raises(LabelError, match="mine.jsonl: not UTF-8"):
        load_labels(tmp_path, TOPICS, SEEDS)


def test_same_text_with_different_labels_reports_both_ids(tmp_path):
    with pytest.raises(LabelError, match=r"id 'r2'.*same text as id 'r1'"):
        load(tmp_path, [row(1, "Gas  flows.", ["gas"]), row(2, "gas flows.", [])])


def test_topic_without_positive_example_warns(tmp_path):
    warnings = []
    load(tmp_path, [row(1, "Gas.", ["gas"])], warn=warnings.append)
    assert any("'sanctions' has no positive example" in w for w in warnings)


def test_partly_labelled_seed_article_warns(tmp_path, seed_rows):
    warnings = []
    load(tmp_path, seed_rows[:3], warn=warnings.append)
    assert any("paragraphs have no label row" in w for w in warnings)


def test_no_label_files(tmp_path):
    shutil.copy(LABELS / "topics.toml", tmp_path)
    with pytest.raises(LabelError, match="no .jsonl label files"):
        load_labels(tmp_path, TOPICS, SEEDS)


def test_latest_rows_applies_corrections_for_other_readers():
    from topictag.labels import latest_rows

    rows = [(1, row(1, "a", ["gas"])), (2, row(2, "b")), (3, row(1, "a", [], supersedes=True))]
    assert latest_rows(rows) == [(1, row(1, "a", [])), (2, row(2, "b"))]


def test_rows_naming_paragraphs_of_an_article_with_no_file_warn_once(tmp_path, seed_rows):
    """A wrong seeds directory would otherwise turn the check of seed texts off in silence."""
    warnings = []
    write_jsonl(tmp_path / "mine.jsonl", seed_rows[:2] + [row(9, "Gas.", ["gas"])])
    empty = tmp_path / "no-seeds"
    empty.mkdir()
    load_labels(tmp_path, TOPICS, empty, warn=warnings.append)
    named = [w for w in warnings if "has no file in" in w]
    assert named == [
        f"{tmp_path / 'mine.jsonl'}:1 (id {seed_rows[0]['id']!r}): article "
        f"{seed_rows[0]['article']!r} has no file in {empty}, so the texts of its paragraphs "
        "are not checked; is the seeds directory right?"
    ]
    warnings.clear()
    load_labels(tmp_path, TOPICS, SEEDS, warn=warnings.append)
    assert not [w for w in warnings if "has no file in" in w]


@pytest.mark.parametrize("source", ["Authored", "authored ", "AUTHORED-DEV"])
def test_a_misspelt_authored_source_stops_training(tmp_path, source):
    """Spelt otherwise, text we wrote would count as a real article and be tested on."""
    with pytest.raises(LabelError, match=f"source {source!r} is not 'authored"):
        load(tmp_path, [row(1, "Gas.", ["gas"], source=source)])


def test_a_source_of_the_users_own_is_real_text_with_one_warning(tmp_path):
    warnings = []
    data = load(
        tmp_path,
        [row(1, "Gas.", ["gas"], source="reuters"), row(2, "Oil.", ["oil"], source="reuters")],
        warn=warnings.append,
    )
    assert data.real == [True, True]
    assert [w for w in warnings if "source" in w] == [
        f"{tmp_path / 'mine.jsonl'}:1 (id 'r1'): source 'reuters': rows of real articles, held "
        "out in the evaluation (only 'authored' marks text written for training)"
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"text": "  \n"}, "field 'text' is empty; a row needs a paragraph"),
        ({"labels": ["gas", "oil", "gas"]}, "field 'labels' names 'gas' twice"),
    ],
)
def test_a_row_without_a_paragraph_or_with_a_topic_twice_is_refused(tmp_path, extra, message):
    with pytest.raises(LabelError, match=f"mine.jsonl:2: {message}"):
        load(tmp_path, [row(1, "Gas.", ["gas"]), {**row(2), **extra}])


def test_a_broken_link_or_a_folder_among_the_seeds_is_one_line_or_ignored(tmp_path, seed_rows):
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    (seeds / "folder.txt").mkdir()
    write_jsonl(tmp_path / "mine.jsonl", seed_rows[:2])
    assert len(load_labels(tmp_path, TOPICS, seeds, warn=lambda m: None).ids) == 2
    (seeds / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    with pytest.raises(LabelError, match="gone.txt: broken symbolic link; fix or remove it"):
        load_labels(tmp_path, TOPICS, seeds, warn=lambda m: None)


def test_rows_appended_while_the_labels_load_are_left_for_the_next_training(tmp_path, monkeypatch):
    """A label session may append to a file between its line-by-line check and its load
    through datasets; the rows checked are the rows trained on, with no error."""
    import topictag.labels as labels_module

    write_jsonl(tmp_path / "mine.jsonl", [row(1, "Gas.", ["gas"]), row(2, "Oil.", ["oil"])])
    real_read = labels_module.read_with_datasets

    def appended_meanwhile(path, columns):
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row(3, "Sanctions.", ["sanctions"])) + "\n")
        return real_read(path, columns)

    monkeypatch.setattr(labels_module, "read_with_datasets", appended_meanwhile)
    data = load_labels(tmp_path, TOPICS, SEEDS, warn=lambda m: None)
    assert data.ids == ["r1", "r2"]
    assert data.labels == [["gas"], ["oil"]]


def test_labels_are_read_without_writing_to_the_home_directory(tmp_path):
    """datasets' cache in ~/.cache grew by a copy of a label file at every edit, and a
    read-only home made every label file unreadable."""
    from conftest import env_with_home, homes

    code = (
        "import sys; from pathlib import Path; from topictag.labels import read_with_datasets; "
        "print(len(read_with_datasets(Path(sys.argv[1]), ['id'])['id']))"
    )
    made = homes(tmp_path)
    for name, home in made.items():
        done = subprocess.run(
            [sys.executable, "-c", code, str(LABELS / "seeds.jsonl")],
            env=env_with_home(home),
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, (name, done.stderr)
        assert int(done.stdout) == len((LABELS / "seeds.jsonl").read_bytes().splitlines())
    assert list(made["empty"].iterdir()) == []
