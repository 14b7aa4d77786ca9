"""Read and validate labelled paragraphs (JSON Lines, loaded through HuggingFace datasets).

Every problem stops with a one-line :class:`LabelError` naming the file, line and row; nothing
is silently dropped. Warnings (a topic nobody labelled, a seed paragraph with no row) go to the
``warn`` callback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from topictag.errors import LabelError, counted
from topictag.paragraphs import split_paragraphs
from topictag.strict_json import ConstantError, loads

LABEL_FIELDS = ("id", "article", "text", "labels")
#: Rows with this ``source`` were written by us for training; they are never test data.
AUTHORED = "authored"
#: The development set: paragraphs written by us apart from the training rows, labelled twice
#: blind. Training only reports figures on it and never reads it to fit or choose anything.
DEV_FILE = "dev.jsonl"
DEV_SOURCE = "authored-dev"
#: The sources topictag writes or ships; any other marks a user's real article, with a warning.
KNOWN_SOURCES = frozenset({AUTHORED, DEV_SOURCE, "seed", "labelled"})


@dataclass
class LabelledData:
    """Labelled paragraphs in file order, with what is needed to group and weigh them."""

    ids: list[str]
    articles: list[str]
    texts: list[str]
    labels: list[list[str]]
    sources: list[str]
    topics: list[str]
    files: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def real(self) -> list[bool]:
        """True for paragraphs of real articles (everything not authored by us)."""
        return [s != AUTHORED for s in self.sources]

    def subset(self, keep: Sequence[bool]) -> LabelledData:
        pick = [i for i, k in enumerate(keep) if k]
        return LabelledData(
            ids=[self.ids[i] for i in pick],
            articles=[self.articles[i] for i in pick],
            texts=[self.texts[i] for i in pick],
            labels=[self.labels[i] for i in pick],
            sources=[self.sources[i] for i in pick],
            topics=list(self.topics),
            files=list(self.files),
        )


def _warn_stderr(message: str) -> None:
    import sys

    print(f"warning: {message}", file=sys.stderr)


def json_lines(content: str) -> list[str]:
    """The lines of a JSON Lines text, split at \\n, \\r\\n and \\r only: the line breaks
    a JSON text cannot hold raw. Not ``str.splitlines``, which also splits at U+2028, U+0085
    and others that a JSON string may hold raw (a paragraph pasted from the web), and so cut
    valid rows in two."""
    lines = re.split(r"\r\n|\r|\n", content)
    return lines[:-1] if lines and lines[-1] == "" else lines


def scan_jsonl(path: Path, required: Iterable[str]) -> list[tuple[int, dict]]:
    """Parse a JSON Lines file line by line: (line number, row) for every non-blank line.

    This pass exists to point at the exact line of a problem; the data itself is then loaded
    through ``datasets``.
    """
    from topictag.inputs import read_bytes

    try:
        raw = read_bytes(Path(path))
    except ValueError as exc:
        raise LabelError(f"{path}: {exc}") from None
    except FileNotFoundError:
        raise LabelError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise LabelError(f"{path}: is a directory, expected a .jsonl file") from None
    except PermissionError:
        raise LabelError(f"{path}: permission denied") from None
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LabelError(f"{path}: not UTF-8 (byte {exc.start}); save it as UTF-8") from None
    rows: list[tuple[int, dict]] = []
    lines = json_lines(content)
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = loads(line)
        except json.JSONDecodeError as exc:
            if not isinstance(exc, ConstantError) and _torn_object(line, number == len(lines), raw):
                raise LabelError(_torn(path, number, raw)) from None
            raise LabelError(f"{path}:{number}: malformed JSON: {exc.msg}") from None
        except RecursionError:
            raise LabelError(f"{path}:{number}: malformed JSON: nested too deeply") from None
        if not isinstance(row, dict):
            raise LabelError(f"{path}:{number}: expected a JSON object")
        for name in required:
            if name not in row:
                raise LabelError(f"{path}:{number}: missing field {name!r}")
            if row[name] is None:
                raise LabelError(f"{path}:{number}: field {name!r} is null")
        if "text" in row and not isinstance(row["text"], str):
            raise LabelError(f"{path}:{number}: field 'text' must be a string")
        if "labels" in row and (
            not isinstance(row["labels"], list)
            or not all(isinstance(x, str) for x in row["labels"])
        ):
            raise LabelError(f"{path}:{number}: field 'labels' must be a list of topic names")
        if isinstance(row.get("text"), str) and not row["text"].strip():
            raise LabelError(f"{path}:{number}: field 'text' is empty; a row needs a paragraph")
        twice = [t for i, t in enumerate(row.get("labels") or []) if t in row["labels"][:i]]
        if twice:
            raise LabelError(f"{path}:{number}: field 'labels' names {twice[0]!r} twice")
        rows.append((number, row))
    if not rows:
        raise LabelError(f"{path}: no rows (the file is empty)")
    return rows


def _torn_object(line: str, last: bool, raw: bytes) -> bool:
    """Whether a malformed line is a row cut short: the last line, with no line break after
    it, that opens a JSON object. Any other text is not a label file, and its repair is not to
    cut it."""
    return last and not raw.endswith(b"\n") and line.lstrip().startswith("{")


def _torn(path: Path, number: int, raw: bytes) -> str:
    """The message for a last line cut short (a write interrupted by a full disk or a crash)."""
    keep = raw.rfind(b"\n") + 1
    return (
        f"{path}:{number}: the last line is incomplete (a write was cut short, e.g. by a full "
        f"disk): remove it, e.g. `truncate -s {keep} {path}`, and label that paragraph again"
    )


def read_with_datasets(path: Path, columns: Sequence[str]) -> dict[str, list]:
    """Load the named columns of a local JSON Lines file through HuggingFace ``datasets``.

    Read afresh every time, through a cache of its own that is removed after: ``datasets``
    keys its cache on the file's path and modification time, so a file edited with its time
    kept (``cp -p``, ``touch -r``, two edits within a coarse clock tick) would give the rows of
    its earlier version; and its cache in ``~/.cache`` grew by a copy at every edit (or failed
    on a read-only home)."""
    import tempfile

    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    try:
        with tempfile.TemporaryDirectory(prefix="topictag-datasets-") as cache:
            ds = datasets.load_dataset(
                "json",
                data_files=str(path),
                split="train",
                keep_in_memory=True,
                download_mode=datasets.DownloadMode.FORCE_REDOWNLOAD,
                cache_dir=cache,
            )
    except Exception as exc:  # datasets wraps pyarrow errors in several types
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise LabelError(f"{path}: datasets could not load it: {message}") from None
    return {name: ds[name] if name in ds.column_names else [None] * len(ds) for name in columns}


def text_key(text: str) -> str:
    """What makes two label rows the same text: equal but for case and whitespace. One text
    may have only one answer."""
    return " ".join(text.split()).lower()


def check_labels(path: Path, number: int, row: dict, allowed: Sequence[str]) -> None:
    """Raise if a row names a topic outside ``allowed``."""
    for name in row["labels"]:
        if name not in allowed:
            where = f"{path}:{number} (id {row['id']!r})" if "id" in row else f"{path}:{number}"
            raise LabelError(f"{where}: unknown topic {name!r}; allowed: {', '.join(allowed)}")


def _seed_paragraphs(seeds_dir: Path | None) -> dict[str, list[str]]:
    if seeds_dir is None or not Path(seeds_dir).is_dir():
        return {}
    out = {}
    from topictag.inputs import read_bytes

    for path in sorted(Path(seeds_dir).glob("*.txt")):
        if path.is_dir():
            continue
        try:
            text = read_bytes(path).decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
        except ValueError as exc:  # a FIFO, a device (or not UTF-8)
            raise LabelError(f"{path}: {exc}") from None
        except FileNotFoundError:  # a broken link, or a label session's copy just removed
            problem = "broken symbolic link" if path.is_symlink() else "removed while reading"
            raise LabelError(f"{path}: {problem}; fix or remove it, then run this again") from None
        except OSError as exc:
            raise LabelError(f"{path}: cannot read ({exc.strerror or exc})") from None
        out[path.stem] = [p.text for p in split_paragraphs(text)]
    return out


#: The field that marks a correction: a later row of the same file with the same id, article
#: and text, whose labels replace the earlier row's (label files are only ever appended to).
SUPERSEDES = "supersedes"
HINT = f' (to correct a row\'s labels, append it again with "{SUPERSEDES}": true)'


#: What a correction repeats as it is: it changes only the labels.
CORRECTED_ROW = ("article", "paragraph", "text")


def is_correction(row: dict, earlier: dict | None) -> bool:
    """Whether ``row`` corrects ``earlier`` (the first row with its id in the same file)."""
    return earlier is not None and row.get(SUPERSEDES) is True and not _changed(row, earlier)


def _changed(row: dict, earlier: dict) -> list[str]:
    return [k for k in CORRECTED_ROW if row.get(k) != earlier.get(k)]


def duplicate_problem(row: dict, first: str, earlier: dict | None) -> str:
    """Why ``row``, whose id the row at ``first`` has already, is not a correction of it, and
    what to do; ``earlier`` is that row when it is in the same file (None: in another)."""
    if row.get(SUPERSEDES) is not True:
        return f"duplicate id, first at {first}{HINT}"
    if earlier is None:
        return (
            f"duplicate id, first at {first} (a correction goes in the file of the row it "
            f"corrects, {first})"
        )
    changed = _changed(row, earlier)
    differ = "differ" if len(changed) > 1 else "differs"
    return (
        f"supersedes {first} but its {' and '.join(changed)} {differ}; a correction changes "
        "only the labels"
    )


def orphan_problem(row: dict) -> str:
    """The problem of a correction (``"supersedes": true``) with no earlier row of its id in
    its file: a typo in the id, most often."""
    if row.get("id") is None:
        return f'"{SUPERSEDES}": true but no id: it corrects no row'
    return (
        f"{SUPERSEDES} no earlier row with id {row['id']!r} (a correction follows the row it "
        "corrects, in the same file)"
    )


def latest_rows(rows: Iterable[tuple[int, dict]]) -> list[tuple[int, dict]]:
    """The rows of one file with its corrections applied: a corrected row keeps its place and
    line number and takes the labels of its latest correction; corrections are dropped."""
    out: dict[object, tuple[int, dict, dict]] = {}  # key -> (line, row now, row as first read)
    for number, row in rows:
        key = str(row["id"]) if row.get("id") is not None else (number,)
        if key in out and is_correction(row, out[key][2]):
            first_number, current, first = out[key]
            out[key] = (first_number, {**current, "labels": row["labels"]}, first)
        else:
            out[key if key not in out else (number,)] = (number, row, row)
    return [(number, row) for number, row, _ in out.values()]


def check_unique_ids(path: Path, rows: Iterable[tuple[int, dict]]) -> None:
    """Raise if two of ``rows`` (corrections applied, :func:`latest_rows`) share an id: each
    would be counted, or trained on, as a paragraph of its own; or if a correction is left,
    one that corrects no earlier row."""
    first: dict[str, tuple[int, dict]] = {}
    for number, row in rows:
        key = None if row.get("id") is None else str(row["id"])
        where = f"{path}:{number}" + ("" if key is None else f" (id {row['id']!r})")
        if key in first:
            earlier_number, earlier = first[key]
            problem = duplicate_problem(row, f"line {earlier_number}", earlier)
            raise LabelError(f"{where}: {problem}")
        if row.get(SUPERSEDES) is True:
            raise LabelError(f"{path}:{number}: {orphan_problem(row)}")
        if key is not None:
            first[key] = (number, row)


def label_files(labels_dir: Path) -> list[Path]:
    """Every ``*.jsonl`` file of training paragraphs in ``labels_dir``, sorted by name (the
    development set, ``dev.jsonl``, is not training data)."""
    files = sorted(p for p in Path(labels_dir).glob("*.jsonl") if p.name != DEV_FILE)
    if not files:
        raise LabelError(f"{labels_dir}: no .jsonl label files")
    return files


def load_labels(
    labels_dir: Path,
    topics: Sequence[str],
    seeds_dir: Path | None = None,
    warn: Callable[[str], None] = _warn_stderr,
) -> LabelledData:
    """Load and validate every label file in ``labels_dir`` against ``topics`` and the seeds."""
    # The rows first, then the articles: a label session copies its article before it writes
    # a row of it, so every row read has its article on disk (read the other way round, rows
    # appended meanwhile would name articles not yet listed).
    scanned_files = [(path, scan_jsonl(path, LABEL_FIELDS)) for path in label_files(labels_dir)]
    seeds = _seed_paragraphs(seeds_dir)
    data = LabelledData([], [], [], [], [], list(topics))
    seen_ids: dict[str, str] = {}
    texts: list[tuple[str, str]] = []  # (normalised text, id) of every row, in file order
    final: dict[str, tuple[str, list[str]]] = {}  # id -> (where, labels) of its latest row
    labelled_seed: set[tuple[str, int]] = set()
    unchecked: dict[str, str] = {}  # article -> first row naming a paragraph of it, no file
    others: dict[str, str] = {}  # a source value of the user's -> its first row
    unsourced: dict = {}  # rows with no source: the first and how many
    for path, scanned in scanned_files:
        in_file: dict[str, tuple[int, dict]] = {}  # id -> (position, row) of its first row
        latest: dict[str, int] = {}  # id -> position in this file of the row that counts
        for position, (number, row) in enumerate(scanned):
            where = f"{path}:{number} (id {row['id']!r})"
            check_labels(path, number, row, topics)
            row_id = str(row["id"])
            source = row.get("source")
            if source is None:
                unsourced.setdefault("first", where)
                unsourced["count"] = unsourced.get("count", 0) + 1
            if isinstance(source, str) and source not in KNOWN_SOURCES:
                if (meant := " ".join(source.split()).casefold()) in (AUTHORED, DEV_SOURCE):
                    raise LabelError(
                        f"{where}: source {source!r} is not {meant!r}; as written the row would "
                        "count as a real article and be tested on"
                    )
                others.setdefault(source, where)
            if source == DEV_SOURCE:
                raise LabelError(
                    f"{where}: a {DEV_SOURCE!r} row is development data; it belongs in "
                    f"{DEV_FILE}, never in a training file"
                )
            if row_id in seen_ids:
                earlier = in_file.get(row_id, (0, None))[1]
                if not is_correction(row, earlier):
                    problem = duplicate_problem(row, seen_ids[row_id], earlier)
                    raise LabelError(f"{where}: {problem}")
                latest[row_id] = position
                final[row_id] = (where, sorted(set(row["labels"])))
                continue
            if row.get(SUPERSEDES) is True:
                raise LabelError(f"{path}:{number}: {orphan_problem(row)}")
            seen_ids[row_id] = f"{path.name}:{number}"
            in_file[row_id] = (position, row)
            latest[row_id] = position
            article = str(row["article"])
            if article in seeds:
                index = row.get("paragraph")
                paragraphs = seeds[article]
                if not isinstance(index, int) or not 0 <= index < len(paragraphs):
                    raise LabelError(
                        f"{where}: article {article!r} is a seed with {len(paragraphs)} "
                        f"paragraphs; 'paragraph' must be an index from 0 to {len(paragraphs) - 1}"
                    )
                if paragraphs[index] != row["text"]:
                    raise LabelError(
                        f"{where}: text no longer matches paragraph {index} of "
                        f"{Path(seeds_dir or 'seeds') / article}.txt"
                    )
                labelled_seed.add((article, index))
            elif "paragraph" in row:
                unchecked.setdefault(article, where)
            texts.append((text_key(row["text"]), row_id))
            final[row_id] = (where, sorted(set(row["labels"])))
        columns = read_with_datasets(path, ["id", "article", "text", "labels", "source"])
        # Rows a label session appended since the scan come after the rows scanned: not read.
        columns = {name: values[: len(scanned)] for name, values in columns.items()}
        same_ids = columns["id"] in (
            [str(row["id"]) for _, row in scanned],
            [row["id"] for _, row in scanned],
        )
        same_rows = columns["text"] == [row["text"] for _, row in scanned] and [
            list(labels) for labels in columns["labels"]
        ] == [row["labels"] for _, row in scanned]
        if not (same_ids and same_rows):
            raise LabelError(
                f"{path}: datasets read other rows than the file has; was it changed while "
                "training read it?"
            )
        # A corrected row keeps its place and takes the labels of its latest correction.
        first = [position for position, _ in in_file.values()]
        kept = [latest[row_id] for row_id in in_file]
        data.ids += [str(columns["id"][i]) for i in first]
        data.articles += [str(columns["article"][i]) for i in first]
        data.texts += [columns["text"][i] for i in first]
        data.labels += [list(columns["labels"][i]) for i in kept]
        data.sources += [str(columns["source"][i] or "labelled") for i in first]
        data.files.append(path.name)

    seen_texts: dict[str, tuple[str, list[str]]] = {}
    for key, row_id in texts:
        where, labels = final[row_id]
        if key in seen_texts and seen_texts[key][1] != labels:
            other = seen_texts[key][0]
            raise LabelError(
                f"{where}: same text as id {other!r} but different labels "
                f"({labels} vs {seen_texts[key][1]})"
            )
        seen_texts.setdefault(key, (row_id, labels))

    if others:
        named = ", ".join(map(repr, others))
        warn(
            f"{next(iter(others.values()))}: source {named}: rows of real articles, held out in "
            f"the evaluation (only {AUTHORED!r} marks text written for training)"
        )
    if unsourced:
        warn(
            f'{unsourced["first"]}: {counted(unsourced["count"], "row")} with no "source": '
            f'rows of real articles, held out in the evaluation (give "source": "{AUTHORED}" '
            "to text written for training)"
        )
    if unchecked:
        article, where = next(iter(unchecked.items()))
        more = f" (and {len(unchecked) - 1} more articles)" if len(unchecked) > 1 else ""
        warn(
            f"{where}: article {article!r} has no file in {seeds_dir or 'no seeds directory'}"
            f"{more}, so the texts of its paragraphs are not checked; is the seeds directory "
            "right?"
        )
    for article, paragraphs in seeds.items():
        missing = [i for i in range(len(paragraphs)) if (article, i) not in labelled_seed]
        if missing:
            warn(
                f"{Path(seeds_dir or 'seeds') / article}.txt: {len(missing)} of "
                f"{len(paragraphs)} paragraphs have no "
                "label row and are not used"
            )
    for topic in topics:
        if not any(topic in labels for labels in data.labels):
            warn(f"topic {topic!r} has no positive example and cannot be learned")
    return data


def load_dev(
    labels_dir: Path, topics: Sequence[str], training: LabelledData
) -> LabelledData | None:
    """The development set (``labels_dir/dev.jsonl``), validated, or None when there is none.

    Every row must have ``"source": "authored-dev"``, a unique id and known topics; a text that
    is also a training text is an error, so the set stays apart from what the model sees.
    """
    path = Path(labels_dir) / DEV_FILE
    if not path.exists():
        return None
    rows = latest_rows(scan_jsonl(path, LABEL_FIELDS))
    train_texts = {" ".join(t.split()).lower(): i for t, i in zip(training.texts, training.ids)}
    data = LabelledData([], [], [], [], [], list(topics), [path.name])
    check_unique_ids(path, rows)
    for number, row in rows:
        where = f"{path}:{number} (id {row['id']!r})"
        check_labels(path, number, row, topics)
        if row.get("source") != DEV_SOURCE:
            raise LabelError(f'{where}: every row of {DEV_FILE} needs "source": "{DEV_SOURCE}"')
        key = " ".join(str(row["text"]).split()).lower()
        if key in train_texts:
            raise LabelError(f"{where}: same text as training row {train_texts[key]!r}")
        data.ids.append(str(row["id"]))
        data.articles.append(str(row["article"]))
        data.texts.append(str(row["text"]))
        data.labels.append(sorted(set(row["labels"]), key=list(topics).index))
        data.sources.append(DEV_SOURCE)
    return data
