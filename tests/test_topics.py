"""The topic set is data: read from topics.toml, extended by add_topic."""

from pathlib import Path

import pytest
from conftest import LABELS

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
    add_topic(tmp_path, 'nuclear "power"', "Nuclear power plants.")
    add_topic(tmp_path, 'nuclear "power"', "Again.")
    assert [t.name for t in load_topics(tmp_path)] == ["gas", 'nuclear "power"']


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "no \\[\\[topic\\]\\] tables"),
        ("[[topic]\n", "not valid TOML"),
        ('[[topic]]\ndefinition = "x"\n', "topic 1 has no name"),
        ('[[topic]]\nname = "a"\n[[topic]]\nname = "a"\n', "defined twice"),
    ],
)
def test_bad_topic_files(tmp_path, content, message):
    (tmp_path / "topics.toml").write_text(content)
    with pytest.raises(LabelError, match=message):
        load_topics(tmp_path)


def test_missing_topic_file(tmp_path):
    with pytest.raises(LabelError, match="topic file not found"):
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
