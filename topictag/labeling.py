"""Label an article's paragraphs in the terminal: one key per answer, each answer on disk at once.

``topictag label ARTICLE.txt`` copies the article into the seeds directory, splits it into
paragraphs exactly as training does, and asks for each paragraph's topics, the model's
suggestion pre-selected, least certain paragraphs first. Every answer is appended to
``labels/seeds.jsonl`` in one write call followed by fsync, so quitting or a crash loses at most
the paragraph on screen; running the command again resumes with the paragraphs that have no row.

Label files are only ever appended to. A changed answer (``b`` back to a paragraph already
answered, or a fix in ``--review``) is appended as a correction: the same row again (same id,
article, paragraph and text) with the new labels and ``"supersedes": true``. The loader gives
the earlier row the labels of its latest correction (see ``topictag.labels.is_correction``).

The session (order, selection, back, the rows to write) is plain logic; the terminal part reads
single keys in cbreak mode when stdin is a terminal, and lines otherwise.
"""

from __future__ import annotations

import json
import math
import os
import stat
import sys
import textwrap
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from topictag import defaults
from topictag.defaults import MAX_ARTICLE_BYTES
from topictag.errors import (
    InputError,
    LabelError,
    OptionError,
    TopictagError,
    WriteError,
    counted,
    one_line,
)
from topictag.files import cannot_write, fsync_dir, kind, read_regular, write_all, write_atomic
from topictag.labels import AUTHORED, DEV_FILE, SUPERSEDES, latest_rows, scan_jsonl, text_key
from topictag.paragraphs import split_paragraphs
from topictag.processes import signals_deferred
from topictag.topics import add_topic, bad_name_characters, load_topics

#: Where ``label`` appends its rows, in the labels directory.
LABEL_FILE = "seeds.jsonl"
#: The key of each topic, in topic-file order (a, b, h, q, s are commands): 57 topics at most.
TOPIC_KEYS = "1234567890cdefgijklmnoprtuvwxyz" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ACCEPT_KEYS = ("\n", "\r", "a")
SKIP, BACK, QUIT = "s", "b", "q"
#: Evidence terms shown per suggested topic.
SHOWN_EVIDENCE = 3
#: Disagreements a review lists and walks through, worst first (``--limit``).
REVIEW_LIMIT = 20
#: Disagreements a review lists: |label - out-of-fold probability| above this (``--disagreement``).
REVIEW_CUTOFF = 0.8

Output = Callable[[str], None]


# -- rows on disk ---------------------------------------------------------------------------


def append_row(path: Path, row: dict) -> None:
    """Append one JSON line to ``path`` durably and whole: one write call, then fsync (and the
    directory's fsync when the file is new). Ctrl-C and SIGTERM are held back until the row is
    on disk. A failed write (full disk) is cut back off the file, so the row is whole or
    absent, and raises one :class:`WriteError` line."""
    path = Path(path)
    data = (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
    created = not path.exists()
    with signals_deferred():
        try:
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise WriteError(cannot_write(path, exc)) from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise LabelError(f"{path}: {kind(info.st_mode)}, not a regular file")
            size = info.st_size
            if size:
                os.lseek(fd, size - 1, os.SEEK_SET)
                if os.read(fd, 1) != b"\n":
                    data = b"\n" + data  # never glue a row to an unterminated last line
            try:
                write_all(fd, data)
                os.fsync(fd)
            except OSError as exc:
                raise WriteError(_cut_back(fd, size, path, exc)) from None
        finally:
            os.close(fd)
        if created:
            fsync_dir(path.parent)


def _cut_back(fd: int, size: int, path: Path, exc: OSError) -> str:
    """Truncate the file back to ``size`` bytes after a failed append; the message to show."""
    try:
        os.ftruncate(fd, size)
        os.fsync(fd)
    except OSError:
        return (
            f"{cannot_write(path, exc)}, and its last line may be incomplete: cut the file "
            f"back to {size} bytes (truncate -s {size} {path})"
        )
    return f"{cannot_write(path, exc)}; the row was not added, the file is as it was"


@contextmanager
def labels_lock(labels_dir: Path):
    """Hold an exclusive lock on the labels directory while the body runs, so that two
    ``label`` runs (or a ``label --review``) cannot append the same rows: the second one
    refuses at once with one :class:`LabelError` line. The lock goes with the process."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory locks
        yield
        return
    try:
        fd = os.open(labels_dir, os.O_RDONLY)
    except OSError:  # no such directory: the next step says so
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LabelError(
                f"{labels_dir}: another topictag label is writing these labels; finish or "
                "quit it (q), then run this again"
            ) from None
        yield
    finally:
        os.close(fd)


def current_rows(labels_dir: Path) -> dict[str, tuple[Path, dict]]:
    """Every training row of ``labels_dir`` by id, corrections applied: id -> (file, row).
    The development set is left out: a review never sees it."""
    out: dict[str, tuple[Path, dict]] = {}
    for path, _, row in _rows_on_file(labels_dir, with_dev=False):
        out.setdefault(str(row["id"]), (path, row))
    return out


def _rows_on_file(labels_dir: Path, with_dev: bool) -> Iterator[tuple[Path, int, dict]]:
    """(file, line, row) of every row of the label files in ``labels_dir`` (the development
    set too if ``with_dev``), corrections applied; empty files are skipped."""
    for path in sorted(Path(labels_dir).glob("*.jsonl")):
        if path.name == DEV_FILE and not with_dev:
            continue
        try:
            if not read_regular(path).strip():
                continue
        except ValueError as exc:  # a FIFO, a device
            raise LabelError(f"{path}: {exc}") from None
        for number, row in latest_rows(scan_jsonl(path, ("id", "article", "text", "labels"))):
            yield path, number, row


def check_new_article(article: Path, labels_dir: Path) -> None:
    """Refuse a new seed article whose name (its file's stem) is already an ``article`` of a
    label file, the development set included, unless it is that article: training would take
    those rows for paragraphs of this file and fail. An article whose paragraphs are the
    texts of its rows (its copy in the seeds lost, or another --seeds) is labelled further."""
    name = Path(article).stem
    paragraphs: list[str] | None = None
    for path, number, row in _rows_on_file(labels_dir, with_dev=True):
        if str(row["article"]) != name:
            continue
        if paragraphs is None:
            paragraphs = _paragraph_texts(Path(article))
        index = row.get("paragraph")
        same = (
            isinstance(index, int)
            and 0 <= index < len(paragraphs)
            and paragraphs[index] == str(row["text"])
        )
        if not same:
            raise InputError(
                f"{article}: {name!r} is already an article of {path}:{number} (id "
                f"{row['id']!r}); rename your article to label it"
            )


def _paragraph_texts(article: Path) -> list[str]:
    """The paragraphs of ``article``, or none when it cannot be read as UTF-8 text (copying it
    then says why)."""
    try:
        return [p.text for p in split_paragraphs(article.read_bytes().decode("utf-8"))]
    except (OSError, ValueError):
        return []


def answers_on_file(
    rows: dict[str, tuple[Path, dict]], items: Sequence[Item]
) -> dict[str, tuple[str, list[str]]]:
    """text_key -> (id, labels) of the rows on file that are not ``items``: the answers a
    session must agree with."""
    ours = {item.id for item in items}
    out: dict[str, tuple[str, list[str]]] = {}
    for row_id, (_, row) in rows.items():
        if row_id not in ours:
            out.setdefault(text_key(str(row["text"])), (row_id, list(row["labels"])))
    return out


# -- the session ------------------------------------------------------------------------------


@dataclass
class Item:
    """One paragraph to answer.

    ``row`` is the row to write, its ``labels`` replaced by the answer; ``stored`` the labels
    on file (None: no row yet); ``scores`` and ``suggested`` come from the model (or from
    cross-validation in a review), for the topics it knows.
    """

    row: dict
    scores: dict[str, float] = field(default_factory=dict)
    suggested: list[str] = field(default_factory=list)
    evidence: dict[str, list[dict]] = field(default_factory=dict)
    stored: list[str] | None = None
    note: str = ""

    @property
    def id(self) -> str:
        return str(self.row["id"])


class Session:
    """Where the user is, what is selected, and the row each answer adds; no I/O."""

    def __init__(
        self,
        items: Sequence[Item],
        topics: Sequence[str],
        title: str = "",
        on_file: dict[str, tuple[str, list[str]]] | None = None,
    ):
        self.items = list(items)
        self.topics = list(topics)
        self.title = title
        #: text_key -> (id, labels) of rows on file that are not items of this session.
        self.on_file = dict(on_file or {})
        if len(self.topics) > len(TOPIC_KEYS):
            raise LabelError(
                f"{len(self.topics)} topics, but label has keys for {len(TOPIC_KEYS)}; label "
                "with fewer topics in topics.toml"
            )
        self.keys = dict(zip(TOPIC_KEYS, self.topics))
        self.pos = 0
        self.finished = False
        self.message = ""
        self.counts = {"added": 0, "corrected": 0, "skipped": 0, "kept": 0}
        self.selection = self._initial()

    @property
    def current(self) -> Item | None:
        return self.items[self.pos] if self.pos < len(self.items) else None

    @property
    def done(self) -> bool:
        return self.pos >= len(self.items)

    def _initial(self) -> set[str]:
        """The selection a paragraph opens with: its answer on file, else the answer already
        given to the same text, else the model's suggestion."""
        item = self.current
        if item is None:
            return set()
        start = item.stored
        if start is None:
            same = self._same_text(item)
            start = same[0][1] if same else item.suggested
        return {t for t in start if t in self.topics}

    def _same_text(self, item: Item) -> list[tuple[str, list[str]]]:
        """(id, labels) of the answers given to ``item``'s text elsewhere: on file first,
        then in this session."""
        key = text_key(item.row["text"])
        out = [self.on_file[key]] if key in self.on_file else []
        return out + [(other.id, other.stored) for other in self._twins(item)]

    def _twins(self, item: Item) -> list[Item]:
        """The other answered paragraphs of the session with ``item``'s text."""
        key = text_key(item.row["text"])
        return [
            other
            for other in self.items
            if other is not item and other.stored is not None and text_key(other.row["text"]) == key
        ]

    def _move(self, pos: int) -> None:
        self.pos = pos
        self.selection = self._initial()

    def labels(self) -> list[str]:
        """The selected topics, in topic-file order."""
        return [t for t in self.topics if t in self.selection]

    def handle(self, key: str) -> list[dict]:
        """Apply one key; return the rows to append (none for most keys)."""
        self.message = ""
        if key == QUIT:
            self.finished = True
        elif key == BACK:
            if self.pos == 0:
                self.message = "this is the first paragraph"
            else:
                self._move(self.pos - 1)
        elif self.done:
            if key in ACCEPT_KEYS:
                self.finished = True
            else:
                self.message = "every paragraph is answered: b to go back, q or Enter to finish"
        elif key in ACCEPT_KEYS:
            return self.accept()
        elif key == SKIP:
            self.counts["skipped"] += 1
            self._move(self.pos + 1)
        elif key in self.keys:
            self.selection ^= {self.keys[key]}
        elif key.strip():
            self.message = f"no command on key {key!r}"
        return []

    def accept(self) -> list[dict]:
        """Take the selection as the current paragraph's labels and go on. The rows to append:
        a new row, or a correction when the paragraph had other labels on file; and a
        correction of every other paragraph of the session with the same text, which takes
        the same answer (training refuses one text with two answers).

        An answer that differs from a row on file with the same text, outside the session, is
        refused: that row is fixed where it is, not here."""
        item = self.current
        assert item is not None
        labels = self.labels()
        key = text_key(item.row["text"])
        if key in self.on_file and set(self.on_file[key][1]) != set(labels):
            row_id, theirs = self.on_file[key]
            self.message = (
                f"the same text is {row_id} on file, labelled {', '.join(theirs) or '(no topic)'}:"
                " answer it the same, or fix that row first (--review, or in its file)"
            )
            return []
        rows = [row for row in [self._answer(item, labels)] if row is not None]
        twins = [other for other in self._twins(item) if set(other.stored) != set(labels)]
        rows += [self._answer(other, labels) for other in twins]
        self._move(self.pos + 1)
        if twins:
            self.message = f"also changed {counted(len(twins), 'paragraph')} with the same text"
        return rows

    def _answer(self, item: Item, labels: list[str]) -> dict | None:
        """Record ``labels`` as ``item``'s answer; the row that writes it, if one is needed."""
        row = None
        if item.stored is None:
            row = {**item.row, "labels": labels}
            self.counts["added"] += 1
        elif set(labels) != set(item.stored):
            row = {**item.row, "labels": labels, SUPERSEDES: True}
            self.counts["corrected"] += 1
        else:
            self.counts["kept"] += 1
        item.stored = labels
        return row


def render(session: Session, width: int = 88) -> str:
    """The screen for the session's current state."""
    item = session.current
    keys = list(session.keys)
    help_keys = f"{keys[0]}-{keys[-1]} toggle | Enter/a accept | s skip | b back | q quit"
    if item is None:
        lines = [
            f"{session.title}: every paragraph answered "
            f"({counted(len(session.items), 'paragraph')}).",
            "  b back | q or Enter finish",
        ]
        return "\n".join(lines + ([f"  {session.message}"] if session.message else []))
    lines = [f"{item.id}   {session.pos + 1} of {len(session.items)}   {session.title}", ""]
    for line in item.row["text"].split("\n"):  # escape sequences in the text shown, not obeyed
        line = one_line(line.expandtabs())
        lines += textwrap.wrap(line, width, initial_indent="  ", subsequent_indent="  ") or [""]
    lines.append("")
    name_width = max(len(t) for t in session.topics)
    for key, topic in session.keys.items():
        mark = "x" if topic in session.selection else " "
        if topic in item.scores:
            star = "*" if topic in item.suggested else " "
            score = f"{item.scores[topic]:.2f}{star}"
        else:
            score = " new "  # a topic the model does not know (added after training)
        terms = ", ".join(e["term"] for e in item.evidence.get(topic, [])[:SHOWN_EVIDENCE])
        lines.append(f"  [{mark}] {key}  {topic:<{name_width}}  {score}  {terms}".rstrip())
    if item.stored is not None:
        lines.append(f"  on file: {', '.join(item.stored) or '(no topic)'}")
    if item.note:
        lines.append(f"  {item.note}")
    lines += ["", "  * suggested   " + help_keys]
    if session.message:
        lines.append(f"  {session.message}")
    return "\n".join(lines)


# -- the terminal -----------------------------------------------------------------------------


class Keys:
    """What the user types: single keys (cbreak mode) on a terminal; else one line at a time,
    each character a key and an empty line Enter. End of input quits."""

    def __init__(self, stream=None):
        self.stream = stream if stream is not None else sys.stdin
        try:
            self.fd = self.stream.fileno()
            self.tty = os.isatty(self.fd)
        except (AttributeError, OSError, ValueError):
            self.fd, self.tty = -1, False
        self._saved = None

    def __enter__(self) -> Keys:
        if self.tty:
            import termios
            import tty

            self._saved = termios.tcgetattr(self.fd)
            tty.setcbreak(self.fd)
        return self

    def __exit__(self, *exc) -> None:
        if self._saved is not None:
            import termios

            termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
            self._saved = None

    def read(self) -> list[str]:
        if self.tty:
            data = os.read(self.fd, 64)
            if not data:
                return [QUIT]
            if data.startswith(b"\x1b"):  # arrows and other escape sequences: ignored
                return []
            text = data.decode("utf-8", "replace").replace("\r", "\n").replace("\x04", QUIT)
            return list(text)
        line = self.stream.readline()
        if not line:
            return [QUIT]
        line = line.rstrip("\r\n")
        return list(line.strip()) if line.strip() else ["\n"]


def run(
    session: Session, append: Callable[[dict], None], keys: Keys, out: Output, clear: bool = False
) -> Session:
    """Show the screen, read keys, append the rows they produce, until the user quits (q, end
    of input, or Ctrl-C, which quits as q does: every answer given is on disk)."""
    with keys:
        try:
            while not session.finished:
                out(("\x1b[H\x1b[2J" if clear else "\n") + render(session))
                for key in keys.read():
                    with signals_deferred():  # an answer is counted only once it is written
                        for row in session.handle(key):
                            append(row)
                    if session.finished:
                        break
        except KeyboardInterrupt as exc:
            if type(exc) is not KeyboardInterrupt:  # SIGTERM (see topictag.cli): not a quit
                raise
            session.finished = True
            out("")
    return session


# -- labelling an article ----------------------------------------------------------------------


def parse_topic(spec: str) -> tuple[str, str]:
    """``"name=definition"`` -> (name, definition); a name with a character of
    ``topics.NAME_FORBIDDEN`` or a control character is refused."""
    name, sep, definition = spec.partition("=")
    if not sep or not name.strip() or not definition.strip():
        raise LabelError(f"--topics {spec!r}: expected name=definition")
    name = name.strip()
    if bad := bad_name_characters(name):
        raise LabelError(
            f"--topics {spec!r}: a topic name cannot contain {' '.join(map(repr, bad))}"
        )
    return name, definition.strip()


def add_topics(labels_dir: Path, specs: Iterable[str]) -> list[str]:
    """Add each ``name=definition`` to the topic file. A topic already there with the same
    definition is left as it is (running the same command again resumes); with another
    definition, or a name that differs from a topic's only in case, it is an error."""
    added = []
    for spec in specs:
        name, definition = parse_topic(spec)
        known = {t.name.casefold(): t for t in load_topics(labels_dir)}
        topic = known.get(name.casefold())
        if topic is None:
            add_topic(labels_dir, name, definition)
            added.append(name)
        elif topic.name != name:
            raise OptionError(f"--topics {spec!r}: the topic {topic.name!r} exists already")
        elif " ".join(topic.definition.split()) != " ".join(definition.split()):
            raise OptionError(
                f"--topics {spec!r}: topic {name!r} exists with another definition "
                f"({topic.definition!r}); change it in topics.toml, or leave --topics out"
            )
    return added


def copy_article(article: Path, seeds_dir: Path) -> Path:
    """Copy ``article`` into ``seeds_dir`` as ``NAME.txt`` (:func:`seed_path`), byte for
    byte; refuse to replace a different file of that name. Returns the copy."""
    article = Path(article)
    if article.suffix.lower() != ".txt":
        raise InputError(f"{article}: label takes a plain-text .txt article; convert it first")
    from topictag.inputs import read_bytes

    try:
        data = read_bytes(article, MAX_ARTICLE_BYTES)
    except ValueError as exc:
        raise InputError(f"{article}: {exc}") from None
    except OSError as exc:
        raise InputError(f"{article}: cannot read ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{article}: not UTF-8 (byte {exc.start}); convert it first") from None
    if not split_paragraphs(text):
        raise InputError(f"{article}: no text to label")
    target = seed_path(article, seeds_dir)
    existing = _seed_bytes(target)
    if existing:  # an empty file (left by an interrupted copy) is replaced
        if existing != data:
            raise InputError(
                f"{target} exists and differs from {article}; rename your article to label it"
            )
        return target
    try:  # whole or not at all: a full disk leaves no empty NAME.txt to block the article
        Path(seeds_dir).mkdir(parents=True, exist_ok=True)
        write_atomic(target, data)
    except OSError as exc:
        raise WriteError(cannot_write(target, exc)) from None
    return target


def seed_path(article: Path, seeds_dir: Path) -> Path:
    """Where :func:`copy_article` puts ``article``: its labels' ids start with the stem."""
    return Path(seeds_dir) / f"{Path(article).stem}.txt"


def _seed_bytes(path: Path) -> bytes:
    """The bytes of a seed article already there (empty if there is none)."""
    if not (path.exists() or path.is_symlink()):
        return b""
    try:
        return read_regular(path, MAX_ARTICLE_BYTES)
    except (ValueError, OSError) as exc:
        reason = exc if isinstance(exc, ValueError) else f"cannot read ({exc.strerror or exc})"
        raise InputError(f"{path}: {reason}") from None


def article_items(seed: Path, tagger=None, order: str = "uncertain") -> list[Item]:
    """One item per paragraph of a seed article, with the model's suggestion when there is a
    model; ``order="uncertain"`` puts the paragraphs closest to a threshold first."""
    article = seed.stem
    texts = [p.text for p in split_paragraphs(seed.read_text(encoding="utf-8"))]
    items = [
        Item(
            row={
                "id": f"{article}-p{i:02d}",
                "article": article,
                "paragraph": i,
                "text": text,
                "labels": [],
                "source": "seed",
            }
        )
        for i, text in enumerate(texts)
    ]
    if tagger is None or not items:
        return items
    from topictag.explain import explain

    scores = tagger.scores(texts)
    margins = [min(abs(s - cut) for s, cut in zip(row, tagger.thresholds)) for row in scores]
    for item, row, suggested in zip(
        items, scores, tagger.decide(scores, tagger.is_furniture(texts))
    ):
        item.scores = {t: float(s) for t, s in zip(tagger.topics, row)}
        item.suggested = suggested
        item.evidence = explain(tagger.model, item.row["text"], suggested, SHOWN_EVIDENCE)
    if order == "uncertain":
        ranked = sorted(range(len(items)), key=lambda i: (margins[i], i))
        items = [items[i] for i in ranked]
    return items


@dataclass
class Summary:
    path: Path
    counts: dict[str, int]
    left: int

    def __str__(self) -> str:
        c = self.counts
        return (
            f"{self.path}: {counted(c['added'], 'row')} added, {c['corrected']} corrected, "
            f"{c['skipped']} skipped; {counted(self.left, 'paragraph')} left to label"
        )


def _load_tagger(model, notes: list[str]):
    from topictag.tagger import load_model

    try:
        return load_model(model)
    except TopictagError as exc:
        notes.append(f"no suggestions: {exc}")
        return None


def _holding_labels_lock(function):
    """Run ``function`` holding :func:`labels_lock` on its ``labels_dir``."""
    import functools
    import inspect

    signature = inspect.signature(function)

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        labels_dir = signature.bind(*args, **kwargs).arguments.get("labels_dir")
        with labels_lock(defaults.labels_dir(labels_dir)):
            return function(*args, **kwargs)

    return wrapper


@_holding_labels_lock
def label_article(
    article: str | os.PathLike,
    labels_dir: str | os.PathLike | None = None,
    seeds_dir: str | os.PathLike | None = None,
    model: str | os.PathLike | None = None,
    order: str = "uncertain",
    new_topics: Sequence[str] = (),
    keys: Keys | None = None,
    out: Output = print,
) -> Summary:
    """Label the paragraphs of ``article`` that have no row yet, appending each answer to
    ``labels_dir/seeds.jsonl``. The article is copied into ``seeds_dir`` first; a copy this
    call made is removed again when the session ends with no row of the article (quit at
    once, Ctrl-C, an error), so trying the command leaves the seeds as they were. A new article
    named as an article of a label file is refused (:func:`check_new_article`)."""
    labels_path, seeds_path = defaults.labels_dir(labels_dir), defaults.seeds_dir(seeds_dir)
    load_topics(labels_path)  # no labels there: say so before anything is copied or made
    new_copy = not _seed_bytes(seed_path(Path(article), seeds_path))
    if new_copy:
        check_new_article(Path(article), labels_path)
    seed = copy_article(Path(article), seeds_path)
    try:
        return _label_session(seed, labels_path, model, order, new_topics, keys, out)
    finally:
        if new_copy and not _has_rows(labels_path, seed.stem):
            seed.unlink(missing_ok=True)


def _has_rows(labels_path: Path, article: str) -> bool:
    """Whether any training row is a paragraph of the seed ``article`` (True when the labels
    cannot be read: then the copy stays)."""
    try:
        rows = current_rows(labels_path)
    except TopictagError:
        return True
    return any(str(row.get("article")) == article for _, row in rows.values())


def _label_session(
    seed: Path,
    labels_path: Path,
    model: str | os.PathLike | None,
    order: str,
    new_topics: Sequence[str],
    keys: Keys | None,
    out: Output,
) -> Summary:
    """The terminal session of :func:`label_article` on the copied article ``seed``."""
    add_topics(labels_path, new_topics)
    topics = [t.name for t in load_topics(labels_path)]
    notes: list[str] = []
    tagger = _load_tagger(model, notes)
    items = article_items(seed, tagger, order)
    rows = current_rows(labels_path)
    todo = [item for item in items if item.id not in rows]
    if len(todo) < len(items):
        notes.append(f"resuming: {len(items) - len(todo)} of {len(items)} paragraphs labelled")
    path = labels_path / LABEL_FILE
    session = Session(todo, topics, f"{seed.stem}, {order} order", answers_on_file(rows, todo))
    session.message = "\n  ".join(notes)  # shown on the first screen
    if not todo:
        out(f"all {len(items)} paragraphs of {seed.stem} have labels (fix them with --review)")
    else:
        keys = keys or Keys()
        run(session, lambda row: append_row(path, row), keys, out, clear=_is_tty(sys.stdout))
    left = sum(1 for item in items if item.id not in current_rows(labels_path))
    return Summary(path, session.counts, left)


def _is_tty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


# -- reviewing labels against cross-validation ------------------------------------------------


@dataclass
class Disagreement:
    """A labelled row whose label the cross-validated model strongly contradicts."""

    path: Path
    row: dict
    probabilities: dict[str, float]
    topics: list[str]  # the topics in disagreement

    @property
    def strength(self) -> float:
        labels = set(self.row["labels"])
        return max(abs((t in labels) - self.probabilities[t]) for t in self.topics)

    @property
    def loss(self) -> float:
        """How badly the out-of-fold probabilities contradict the row's labels: the log loss
        summed over every topic (0.999 is worse than 0.99; two wrong topics worse than one)."""
        labels = set(self.row["labels"])
        return -sum(
            math.log(max(p if t in labels else 1.0 - p, 1e-6))
            for t, p in self.probabilities.items()
        )

    @property
    def authored(self) -> bool:
        """A row we wrote with its labels (a hard negative, page furniture): the model
        disagreeing with it is more often the point of the row than a labelling mistake."""
        return self.row.get("source") == AUTHORED

    def describe(self) -> str:
        labels = set(self.row["labels"])
        return ", ".join(
            f"{t} label {'yes' if t in labels else 'no'} p={self.probabilities[t]:.2f}"
            for t in self.topics
        )


def cross_validated(data, lexicon: dict, params: dict, folds: int = 5):
    """Out-of-fold probabilities (n, k) for every row, grouped by article."""
    import numpy as np
    from sklearn.model_selection import GroupKFold

    from topictag.metrics import binarize
    from topictag.pipeline import predict_proba
    from topictag.training import _fit

    groups = np.asarray(data.articles, dtype=object)
    if len(set(groups)) < 2:
        raise LabelError("a review needs labelled paragraphs from at least two articles")
    texts = np.asarray(data.texts, dtype=object)
    y = binarize(data.labels, data.topics)
    out = np.zeros(y.shape)
    splitter = GroupKFold(n_splits=min(folds, len(set(groups))))
    for train, test in splitter.split(texts, groups=groups):
        pipeline = _fit(texts[train], y[train], params, lexicon, data.topics)
        out[test] = predict_proba(pipeline, texts[test])
    return out


def find_disagreements(
    labels_dir: str | os.PathLike | None = None,
    seeds_dir: str | os.PathLike | None = None,
    model: str | os.PathLike | None = None,
    cutoff: float = REVIEW_CUTOFF,
    folds: int = 5,
) -> list[Disagreement]:
    """Rows where |label - cross-validated probability| > ``cutoff`` for some topic, worst
    first: rows of real articles before authored ones, then by :attr:`Disagreement.loss`. The
    model's parameters (C, lexicon) are reused when there is a model."""
    from topictag.artifact import read_metrics
    from topictag.labels import load_labels
    from topictag.lexicon import load_lexicon

    labels_path, seeds_path = defaults.labels_dir(labels_dir), defaults.seeds_dir(seeds_dir)
    topics = [t.name for t in load_topics(labels_path)]
    lexicon = load_lexicon(labels_path, topics)
    data = load_labels(labels_path, topics, seeds_path, warn=lambda m: None)
    try:
        params = read_metrics(defaults.model_dir(model))["params"]
    except (TopictagError, KeyError):
        params = {"C": 8.0, "lexicon": True}
    probabilities = cross_validated(data, lexicon, params, folds)
    rows = current_rows(labels_path)
    found = []
    for row_id, labels, p in zip(data.ids, data.labels, probabilities):
        wrong = [t for t, q in zip(topics, p) if abs((t in labels) - q) > cutoff]
        if wrong:
            path, row = rows[row_id]
            found.append(Disagreement(path, row, dict(zip(topics, map(float, p))), wrong))
    return sorted(found, key=lambda d: (d.authored, -d.loss, d.row["id"]))


@_holding_labels_lock
def review_labels(
    labels_dir: str | os.PathLike | None = None,
    seeds_dir: str | os.PathLike | None = None,
    model: str | os.PathLike | None = None,
    cutoff: float = REVIEW_CUTOFF,
    new_topics: Sequence[str] = (),
    keys: Keys | None = None,
    out: Output = print,
    limit: int | None = REVIEW_LIMIT,
) -> tuple[list[Disagreement], Session]:
    """List the ``limit`` worst rows cross-validation disagrees with (None: all), then walk
    through them to fix them: a changed answer is appended to the row's own file as a
    correction. Returns every disagreement found and the session."""
    labels_path = defaults.labels_dir(labels_dir)
    add_topics(labels_path, new_topics)
    topics = [t.name for t in load_topics(labels_path)]
    every = find_disagreements(labels_path, seeds_dir, model, cutoff)
    found = every[:limit] if limit else every
    out(
        f"{len(every)} labelled paragraphs where cross-validation disagrees by more than {cutoff}"
        + (
            f"; the {len(found)} worst (real articles first, then the strongest), --limit for more:"
            if len(found) < len(every)
            else ", worst first (real articles first, then the strongest):"
        )
    )
    for d in found:
        preview = " ".join(d.row["text"].split())
        preview = preview if len(preview) <= 60 else preview[:59] + "…"
        out(f"  {d.row['id']}  {d.describe()}\n      {preview}")
    items = [
        Item(
            row=d.row,
            scores=d.probabilities,
            suggested=[t for t, p in d.probabilities.items() if p >= 0.5],
            stored=list(d.row["labels"]),
            note=f"cross-validation disagrees: {d.describe()} (scores are out-of-fold)",
        )
        for d in found
    ]
    files = {d.row["id"]: d.path for d in found}
    on_file = answers_on_file(current_rows(labels_path), items)
    session = Session(items, topics, "review", on_file)
    if items:
        keys = keys or Keys()
        run(session, lambda row: append_row(files[row["id"]], row), keys, out, _is_tty(sys.stdout))
    return every, session
