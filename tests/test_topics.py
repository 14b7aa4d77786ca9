"""The topic set is data: read from topics.toml, extended by add_topic."""

from pathlib import Path

import pytest
from conftest import LABELS
from hypothesis import given
from hypothesis import strategies as st

from topictag.errors import LabelError
from topictag.topics import add_topic, load_topics


def test_shipped_topics_have_names_and_definitions():
    topics = load_topics(LABELS)
    assert [t.name for t in topics] == [
        "gas",
        "oil",
        "transport corridor",
        "diplomacy",
        "sanctions",
    ]
    assert all(t.definition for t in topics)


def test_add_topic_appends_once(tmp_path):
    (tmp_path / "topics.toml").write_text('[[topic]]\nname = "gas"\ndefinition = "Gas."\n')
    add_topic(tmp_path, "nuclear power", "Nuclear power plants.")
    add_topic(tmp_path, "nuclear power", "Again.")
    assert [t.name for t in load_topics(tmp_path)] == ["gas", "nuclear power"]


@pytest.mark.parametrize(
    "name, message",
    [
        ('nuclear "power"', "cannot contain '\"'"),
        ("gas, oil", "cannot contain ','"),
        ("a|b", "cannot contain '|'"),
        ("GAS", "differs from 'gas' in case only"),
        (" x", "surrounding space"),
    ],
)
def test_add_topic_refuses_a_name_the_file_could_not_hold(tmp_path, name, message):
    path = tmp_path / "topics.toml"
    path.write_text('[[topic]]\nname = "gas"\ndefinition = "Gas."\n')
    with pytest.raises(LabelError, match=message):
        add_topic(tmp_path, name, "Anything.")
    assert path.read_text() == '[[topic]]\nname = "gas"\ndefinition = "Gas."\n'


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "no \\[\\[topic\\]\\] tables"),
        ("[[topic]\n", "not valid TOML"),
        ('[[topic]]\ndefinition = "x"\n', "topic 1 has no name"),
        ('[[topic]]\nname = "a"\n[[topic]]\nname = "a"\n', "defined twice"),
        ('[[topic]]\nname = "Gas"\n[[topic]]\nname = "gas"\n', "differs from 'Gas' in case only"),
        ('[[topic]]\nname = "gas "\n', "control character or surrounding space"),
        ('[[topic]]\nname = "g\\tas"\n', "control character or surrounding space"),
        ('[[topic]]\nname = "gas, oil"\n', "cannot contain ','"),
        ('[[topic]]\nname = "a\\"b"\n', "cannot contain '\"'"),
    ],
)
def test_bad_topic_files(tmp_path, content, message):
    (tmp_path / "topics.toml").write_text(content)
    with pytest.raises(LabelError, match=message):
        load_topics(tmp_path)


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_a_labels_directory_that_is_not_one_is_named(tmp_path, kind):
    where = tmp_path / "labels"
    if kind == "file":
        where.write_text("x")
    problem = "not a directory" if kind == "file" else "no such directory"
    with pytest.raises(LabelError, match=f"labels: {problem}; give the labels directory"):
        load_topics(where)


def test_missing_topic_file(tmp_path):
    with pytest.raises(LabelError, match="no such topic file"):
        load_topics(tmp_path)


@pytest.mark.parametrize("kind", ["directory", "device"])
def test_a_topic_file_that_is_not_a_file_is_one_line(tmp_path, kind):
    path = tmp_path / "topics.toml"
    if kind == "directory":
        path.mkdir()
    elif Path("/dev/zero").exists():
        path.symlink_to("/dev/zero")
    else:
        pytest.skip("no /dev/zero here")
    with pytest.raises(LabelError, match="topics.toml: (cannot read|a device)"):
        load_topics(tmp_path)


@given(
    definition=st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=40),
    name=st.text(st.characters(blacklist_categories=["Cs", "Cc", "Zs", "Zl", "Zp"]), min_size=1),
)
def test_any_definition_and_printable_name_round_trip_through_the_file(name, definition):
    """A carriage return or DEL pasted into a definition is escaped, not written raw (which
    made topics.toml unreadable for every later command); whitespace runs become one space.
    A name the file could not hold is refused and the file left alone."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "topics.toml").write_text('[[topic]]\nname = "gas"\ndefinition = "Gas."')
        try:
            add_topic(folder, name, definition)
        except LabelError:
            unprintable = not name.isprintable()
            assert set(name) & set(',"\\|') or unprintable or name.casefold() == "gas"
            assert [t.name for t in load_topics(folder)] == ["gas"]
            return
        topics = load_topics(folder)
    if name == "gas":
        return
    assert topics[-1].name == name
    assert topics[-1].definition == " ".join(definition.split())


def test_add_topic_on_a_full_disk_leaves_the_file_as_it_was(tmp_path, monkeypatch):
    import errno

    from topictag import files
    from topictag.errors import WriteError

    path = tmp_path / "topics.toml"
    path.write_text('[[topic]]\nname = "gas"\n')

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files, "write_all", full)
    with pytest.raises(WriteError, match="topics.toml: cannot write \\(No space left on device\\)"):
        add_topic(tmp_path, "nuclear", "Nuclear power.")
    assert path.read_text() == '[[topic]]\nname = "gas"\n'
    assert [p.name for p in tmp_path.iterdir()] == ["topics.toml"]
