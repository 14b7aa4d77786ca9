"""The topic set: read from ``labels/topics.toml``, never written into code."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from topictag.errors import CONTROLS, LabelError

TOPICS_FILE = "topics.toml"
#: Characters a topic name may not hold: they would split or break the lists ("gas, oil"),
#: quoted values and Markdown tables that show topic names. Control characters neither.
NAME_FORBIDDEN = ',"\\|'


def bad_name_characters(name: str) -> list[str]:
    """The characters of ``name`` a topic name may not hold, sorted (none: an empty list)."""
    return sorted({c for c in name if c in NAME_FORBIDDEN or not c.isprintable()})


def name_problem(name: str, names: Sequence[str] = ()) -> str | None:
    """What is wrong with ``name`` as a topic name beside the topics ``names``, or None."""
    if not name.strip():
        return "is empty"
    if name != name.strip() or any(c in CONTROLS for c in name):
        return "has a control character or surrounding space"
    if bad := bad_name_characters(name):
        return f"cannot contain {' '.join(map(repr, bad))}"
    same = [n for n in names if n.casefold() == name.casefold()]
    if same:
        return "is defined twice" if same[0] == name else f"differs from {same[0]!r} in case only"
    return None


@dataclass(frozen=True)
class Topic:
    name: str
    definition: str


def read_toml(path: Path) -> dict:
    """A TOML file's tables, or one LabelError line. tomllib is imported here, not on the
    tagging path, which never reads TOML."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    from topictag.inputs import read_bytes

    try:
        return tomllib.loads(read_bytes(path).decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise LabelError(f"{path}: not valid TOML: {exc}") from None
    except ValueError as exc:  # a device
        raise LabelError(f"{path}: {exc}") from None
    except OSError as exc:
        raise LabelError(f"{path}: cannot read ({exc.strerror or exc})") from None


def load_topics(labels_dir: Path) -> list[Topic]:
    """The topics defined in ``labels_dir/topics.toml``, in file order."""
    path = Path(labels_dir) / TOPICS_FILE
    if not Path(labels_dir).is_dir():
        problem = "not a directory" if Path(labels_dir).exists() else "no such directory"
        raise LabelError(
            f"{labels_dir}: {problem}; give the labels directory with --labels (or "
            "$TOPICTAG_LABELS), or run where labels/ is"
        )
    if not path.exists():
        raise LabelError(f"{path}: no such topic file")
    data = read_toml(path)
    entries = data.get("topic")
    if not isinstance(entries, list) or not entries:
        raise LabelError(f"{path}: no [[topic]] tables")
    topics: list[Topic] = []
    for n, entry in enumerate(entries, 1):
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise LabelError(f"{path}: topic {n} has no name")
        if problem := name_problem(name, [t.name for t in topics]):
            raise LabelError(f"{path}: topic name {name!r} {problem}")
        topics.append(Topic(name=name, definition=str(entry.get("definition", ""))))
    return topics


def add_topic(labels_dir: Path, name: str, definition: str) -> None:
    """Add a topic to the topic file (used when a user labels with a new topic): the file is
    rewritten whole (:func:`topictag.files.write_atomic`), so a full disk leaves it as it was.
    The definition's line breaks and other whitespace become single spaces; a name that
    :func:`load_topics` would refuse is refused here, before the file is written."""
    from topictag.errors import WriteError
    from topictag.files import cannot_write, read_regular, write_atomic

    path = Path(labels_dir) / TOPICS_FILE
    names = [t.name for t in load_topics(labels_dir)]
    if name in names:
        return
    if problem := name_problem(name, names):
        raise LabelError(f"topic name {name!r} {problem}")
    definition = " ".join(definition.split())
    entry = f"\n[[topic]]\nname = {_toml_string(name)}\ndefinition = {_toml_string(definition)}\n"
    before = read_regular(path)
    gap = b"" if not before or before.endswith(b"\n") else b"\n"
    try:
        write_atomic(path, before + gap + entry.encode("utf-8"))
    except OSError as exc:
        raise WriteError(cannot_write(path, exc)) from None


def _toml_string(value: str) -> str:
    """``value`` as a TOML basic string: backslash, quote and every control character escaped
    (a carriage return pasted into a definition must not break the file)."""
    return '"' + "".join(_TOML_ESCAPES.get(c) or _toml_char(c) for c in value) + '"'


_TOML_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _toml_char(c: str) -> str:
    return f"\\u{ord(c):04X}" if ord(c) < 32 or ord(c) == 127 else c
