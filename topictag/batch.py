"""Tag a whole corpus file: JSON Lines, CSV or Parquet in; JSON Lines or Parquet out.

Each row's text is tagged as an article (:meth:`topictag.Tagger.tag_batch`: the article's topics
are those of any of its paragraphs, its scores the highest over its paragraphs). The output
keeps every input column and adds ``topics`` (a list of topic names) and ``scores`` (topic ->
probability; a struct column in Parquet).

Memory stays bounded whatever the size of the corpus: rows are read, tagged and written in
chunks of at most ``CHUNK_ROWS`` rows (and ``CHUNK_CHARS`` characters of text), with at most
two chunks per worker process in flight. The largest single row still has to fit in memory,
and a Parquet input is read a batch at a time.

How each format is read:

- CSV is streamed through HuggingFace ``datasets`` (``load_dataset(..., streaming=True)``),
  its columns kept as text exactly as written (no type guessing, which could differ between
  chunks); only an empty field is null.
- Parquet is read a batch at a time by pyarrow: ``datasets``' Parquet stream held on to
  memory as it read (see :func:`_parquet_chunks`).
- JSON Lines is read line by line here, not through ``datasets``: its JSON reader parses
  blocks of lines with pyarrow, so a malformed line or a text that is a number cannot be
  traced to its line number, and it re-encodes fields of mixed types as JSON strings, which
  would change the texts. Reading one line at a time keeps every value as written and names
  the line of each problem.

A bad row (text null or not a string, a text of more paragraphs than one article may hold, a
malformed JSON line, a line that is not a JSON object)
is reported with its row number: ``line N`` of a JSON Lines file (blank lines count),
``row N`` of a CSV or Parquet file (data rows from 1, the CSV header not counted).
``on_error="fail"`` stops at the first one; ``"skip"`` reports it and leaves it out of the
output. A missing text column stops the run whatever ``on_error`` says, and so does a column
that a CSV header or Parquet schema names twice (a row can hold only one of them).

The output is written to a temporary file next to the final one and renamed into place only
when every row is done, so an interrupted or failed run leaves no half-written file and an
existing file of the same name untouched.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from topictag import defaults
from topictag.errors import (
    InputError,
    ModelError,
    OptionError,
    TopictagError,
    WriteError,
    counted,
    listed,
    one_line,
)
from topictag.files import (
    cannot_write,
    fsync_dir,
    keep_mode,
    not_replaceable,
    remove_stale,
    temp_name,
    why_not_a_file,
    write_path,
)
from topictag.inputs import refuse_repeated_columns, refuse_wide_json_lines
from topictag.paragraphs import paragraphs_over
from topictag.processes import usable_cpus
from topictag.strict_json import dumps, loads
from topictag.tagger import Tagger, load_model

#: Rows per chunk: the unit of tagging, of work sent to a worker and of a Parquet row group.
CHUNK_ROWS = defaults.CHUNK_ROWS
#: A chunk is also cut when its texts reach this many characters (long articles). Each chunk in
#: flight is held as rows and as a pickle in the parent and tagged in a worker: 1,000,000
#: rather than 2,000,000 took some 19 MB off a two-worker run of news-length articles (about
#: 570 of 1,750 characters a chunk), no slower.
CHUNK_CHARS = 1_000_000
#: Levels of nesting a JSON line may hold. Python's reader stops near 1,000, but a Parquet
#: output's type for a row nested 950 deep took 3.2 GB for a 6 KB file (400 deep: 420 MB);
#: 100 took as little as a flat row.
MAX_JSON_DEPTH = 100
#: Bad rows reported one by one on stderr (and listed in the summary); the rest are counted.
MAX_REPORTED = 100

INPUT_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}
OUTPUT_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
ADDED = ("topics", "scores")
ON_ERROR = ("fail", "skip")


@dataclass
class _Chunk:
    """Good rows of one stretch of the input, with their texts and how much input they used."""

    texts: list[str]
    read: int  # input rows read for this chunk, bad ones included
    rows: list[dict] | None = None  # JSON Lines: the row objects
    table: object = None  # CSV, Parquet: a pyarrow Table of the good rows
    nbytes: int = 0  # JSON Lines: bytes read for this chunk


def tag_corpus(
    input_path: str | os.PathLike,
    output_path: str | os.PathLike | None = None,
    *,
    text_field: str = "text",
    num_proc: int = 1,
    on_error: str = "fail",
    model: str | os.PathLike | None = None,
    threshold: float | None = None,
    progress: bool = True,
    chunk_rows: int = CHUNK_ROWS,
    warn: Callable[[str], None] | None = None,
) -> dict:
    """Tag every row of ``input_path`` (``.jsonl``, ``.csv`` or ``.parquet``) and write it with
    its ``topics`` and ``scores`` to ``output_path`` (``.jsonl`` or ``.parquet``; ``None`` or
    ``-`` writes JSON Lines to stdout).

    ``num_proc`` worker processes tag chunks in parallel; the output keeps the input order.
    ``on_error`` is ``"fail"`` (stop at the first bad row, write nothing) or ``"skip"`` (report
    the row through ``warn``, default stderr, and go on). ``progress`` shows a progress bar on
    stderr when stderr is a terminal.

    Returns a summary: ``{"input", "output", "rows", "tagged", "skipped", "errors", "seconds"}``
    where ``rows`` counts the input rows read and ``errors`` lists the first bad rows.
    Raises :class:`~topictag.InputError` for an unreadable corpus, a missing text column or
    (with ``on_error="fail"``) a bad row.
    """
    started = time.perf_counter()
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {ON_ERROR}, not {on_error!r}")
    for name, value in (("num_proc", num_proc), ("chunk_rows", chunk_rows)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")
    if not isinstance(text_field, str) or not text_field:
        raise ValueError(f"text_field must be a field's name, not {text_field!r}")
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise InputError(f"threshold must be a number from 0 to 1, not {threshold!r}")
    source, in_fmt, target, out_fmt = check_paths(input_path, output_path)
    say = warn or _stderr
    if num_proc > (cpus := usable_cpus()):  # more only add processes, each with its model
        say(f"{num_proc} worker processes asked for, {counted(cpus, 'CPU')} here: using {cpus}")
        num_proc = cpus
    # With workers, only they load the model: the parent needs its topics alone (some 150 MB
    # less in all); a model the workers cannot load fails the first chunk, with its error.
    tagger = load_model(model, threshold) if num_proc == 1 else None
    topics = tagger.topics if tagger is not None else model_topics(defaults.model_dir(model))

    summary = {"input": str(source), "output": None if target is None else str(target)}
    counts = {"rows": 0, "tagged": 0, "skipped": 0}
    errors: list[str] = []

    def bad(where: str, problem: str) -> None:
        message = f"{source}: {where}: {problem}"
        if on_error == "fail":
            raise InputError(message)
        counts["skipped"] += 1
        if counts["skipped"] <= MAX_REPORTED:
            errors.append(message)
            say(f"{message} (skipped)")
        elif counts["skipped"] == MAX_REPORTED + 1:
            say(f"{source}: more bad rows skipped; only the first {MAX_REPORTED} are shown")

    if in_fmt == "jsonl":
        chunks = _read_jsonl(source, text_field, bad, chunk_rows)
    else:
        chunks = _read_csv_or_parquet(source, in_fmt, text_field, bad, chunk_rows)
    with (
        _progress_bar(source, in_fmt, progress) as bar,
        _output(target, out_fmt, topics, str(source)) as writer,
        contextlib.closing(
            _tagged(chunks, tagger, num_proc, defaults.model_dir(model), threshold)
        ) as tagged,
    ):
        for chunk, results in tagged:
            writer.write(chunk, results)
            counts["rows"] += chunk.read
            counts["tagged"] += len(results)
            bar.update(chunk.nbytes if in_fmt == "jsonl" else chunk.read)
    summary.update(counts)
    summary["errors"] = errors
    summary["seconds"] = round(time.perf_counter() - started, 3)
    return summary


def check_paths(
    input_path: str | os.PathLike, output_path: str | os.PathLike | None
) -> tuple[Path, str, Path | None, str]:
    """The corpus and the output (None for stdout) with their formats, once checked: known
    formats, a corpus that is a file, an output directory that exists, not the corpus."""
    source = Path(input_path)
    in_fmt = _format(source, INPUT_FORMATS, "corpus")
    to_stdout = output_path is None or str(output_path) == "-"
    target = None if to_stdout else Path(output_path)
    out_fmt = "jsonl" if target is None else _format(target, OUTPUT_FORMATS, "output")
    if not source.is_file():
        raise InputError(f"{source}: {why_not_a_file(source)}")
    if target is not None and not target.parent.is_dir():
        raise InputError(f"{target}: no such directory: {target.parent}")
    if target is not None and (problem := not_replaceable(target)):
        raise InputError(f"{target}: {problem}; give a file, or no --output for stdout")
    if target is not None and output_is_input(source, target):
        raise InputError(f"{target}: is the input file; write the output to another file")
    return source, in_fmt, target, out_fmt


def output_is_input(source: str | os.PathLike, target: str | os.PathLike) -> bool:
    """Whether writing ``target`` would replace ``source``: the same file, also through a
    symbolic or hard link."""
    try:
        return os.path.samefile(source, target)
    except OSError:  # either does not exist (yet)
        return False


def _stderr(message: str) -> None:
    from tqdm import tqdm

    tqdm.write(f"warning: {one_line(message)}", file=sys.stderr)


def _format(path: Path, formats: dict[str, str], what: str) -> str:
    """The format of the corpus or output ``path``, by its suffix. A wrong output name is a
    wrong option (:class:`OptionError`, exit 2); a wrong corpus is bad input."""
    if path.is_dir():
        if what == "corpus":
            raise InputError(f"{path}: a directory; --input takes one corpus file")
        raise OptionError(f"--output {path}: a directory; name a file")
    try:
        return formats[path.suffix.lower()]
    except KeyError:
        allowed = ", ".join(sorted(formats))
        error = InputError if what == "corpus" else OptionError
        raise error(f"{path}: unsupported {what} format; use one of {allowed}") from None


def _text_problem(value, field: str) -> str | None:
    """Why ``value`` cannot be tagged as the text of a row, or None if it can: a row of more
    paragraphs than one article may hold is refused as an article is (each paragraph costs
    far more memory than its text: 12 MB of one-letter paragraphs took 2.9 GB)."""
    if isinstance(value, str):
        limit = defaults.MAX_ARTICLE_PARAGRAPHS
        if count := paragraphs_over(value, limit):
            return f"{field!r} has {count:,} paragraphs, over the {limit:,} of one article"
        return None
    if value is None:
        return f"{field!r} is null"
    return f"{field!r} is {type(value).__name__}, not a string"


#: A JSON escape of a UTF-16 surrogate: a lone one is valid JSON but not text, and could be
#: written to no output (UTF-8 and Parquet both refuse it), so its row is a bad row.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _lone_surrogate(row: dict) -> str | None:
    """The first lone surrogate in any value of ``row``, escaped (``\\ud83d``), or None."""
    try:
        json.dumps(row, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.object[exc.start].encode("unicode_escape").decode("ascii")
    return None


def _check_free(columns: Iterable[str], where: str) -> None:
    taken = [name for name in ADDED if name in columns]
    if taken:
        raise InputError(
            f"{where}: already has a column named {taken[0]!r}, which the output adds; "
            "rename or drop it first"
        )


# Reading -----------------------------------------------------------------------------------


def _read_jsonl(
    path: Path,
    field: str,
    bad: Callable[[str, str], None],
    chunk_rows: int,
    *,
    start: int = 0,
    end: int | None = None,
    first_line: int = 1,
    check_field: bool = True,
) -> Iterator[_Chunk]:
    """Chunks of good rows, one JSON object per line (see the module docstring for why not
    through ``datasets``).

    ``start`` and ``end`` read only the lines that begin in that byte range (a part of the
    corpus, :mod:`topictag.distributed`), the first of them numbered ``first_line``;
    ``check_field=False`` leaves out the check that the first object has the text field.
    """
    rows: list[dict] = []
    texts: list[str] = []
    read = nbytes = chars = 0
    checked = not check_field
    with open(path, "rb") as fh:
        for number, line in enumerate(lines_in_range(fh, start, end), first_line):
            nbytes += len(line)
            if number == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            elif number == 1:
                refuse_wide_json_lines(line, str(path))
            if not line.strip():
                continue
            read += 1
            where = f"line {number}"
            try:
                row = loads(line.decode("utf-8"))  # bytes would be read as UTF-16 too
            except UnicodeDecodeError:
                bad(where, "not UTF-8 text")
                continue
            except json.JSONDecodeError as exc:
                bad(where, f"not valid JSON ({exc.msg} at column {exc.colno})")
                continue
            except RecursionError:
                bad(where, "JSON nested too deeply to read")
                continue
            if not isinstance(row, dict):
                bad(where, f"not a JSON object but {type(row).__name__}")
                continue
            if (
                line.count(b"{") + line.count(b"[") > MAX_JSON_DEPTH
                and (depth := nesting(row)) > MAX_JSON_DEPTH
            ):
                bad(
                    where,
                    f"JSON nested {depth} levels deep, over the {MAX_JSON_DEPTH} a row may hold",
                )
                continue
            if _SURROGATE_ESCAPE.search(line) and (half := _lone_surrogate(row)):
                bad(where, f"holds a lone surrogate {half} (half of a UTF-16 pair), not text")
                continue
            if not checked:
                if field not in row:
                    raise InputError(
                        f"{path}: {where}: no field {field!r} (fields: {', '.join(row)}); "
                        "name the text field with --text-field"
                    )
                checked = True
            if "topics" in row or "scores" in row:
                _check_free(row, f"{path}: {where}")
            text = row.get(field)
            problem = f"no field {field!r}" if field not in row else _text_problem(text, field)
            if problem:
                bad(where, problem)
                continue
            rows.append(row)
            texts.append(text)
            chars += len(text)
            if len(rows) >= chunk_rows or chars >= CHUNK_CHARS:
                yield _Chunk(texts, read, rows=rows, nbytes=nbytes)
                rows, texts, read, nbytes, chars = [], [], 0, 0, 0
    if read or nbytes:
        yield _Chunk(texts, read, rows=rows, nbytes=nbytes)


def nesting(value) -> int:
    """How many levels of objects and arrays ``value`` holds (a flat row is 1), counted with a
    stack: a recursive count would fail on what it measures."""
    deepest = 0
    todo = [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, dict):
            item = item.values()
        elif not isinstance(item, list):
            continue
        deepest = max(deepest, depth)
        todo.extend((child, depth + 1) for child in item)
    return deepest


def lines_in_range(fh, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """The lines of the binary file ``fh`` that begin at byte ``start`` or after and before
    ``end``: consecutive ranges split a file into its lines, each line in exactly one range."""
    if start:
        fh.seek(start - 1)
        fh.readline()  # the rest of the line that holds byte start - 1, which it belongs to
    if end is None:
        yield from fh
        return
    position = fh.tell()
    for line in fh:
        if position >= end:
            return
        position += len(line)
        yield line


def _csv_columns(path: Path) -> list[str]:
    """The header of a CSV file, after checking that no row has more fields than it names.

    pandas (under ``datasets``) would take the extra field of every row as an index and shift
    each value one column left (the text into the id column) without a word, or stop at a
    later row naming only a line; one pass of the csv module (some 150 MB/s) names the row.
    """
    import csv

    limit = csv.field_size_limit()
    try:
        # The csv module's limit (131,072 characters) would refuse a long text pandas reads.
        csv.field_size_limit(max(limit, 2**31 - 1))
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header:
                _check_field_counts(path, reader, len(header))
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text; convert it to UTF-8") from None
    except csv.Error as exc:
        raise InputError(f"{path}: not valid CSV ({exc})") from None
    finally:
        csv.field_size_limit(limit)
    if not header:
        raise InputError(f"{path}: empty CSV file; the first line must name the columns")
    refuse_repeated_columns(str(path), header, "CSV header")
    return header


def _check_field_counts(path: Path, reader, width: int) -> None:
    """An error naming the first data row (from 1, blank lines not counted, as pandas counts)
    with more fields than the header's ``width``."""
    number, line = 0, reader.line_num + 1
    for row in reader:
        if row:
            number += 1
            if len(row) > width:
                raise InputError(
                    f"{path}: not valid CSV: row {number} (line {line}) has {len(row)} fields, "
                    f"the header names {width}; a text with a comma must be in double quotes"
                )
        line = reader.line_num + 1


def _read_csv_or_parquet(
    path: Path, fmt: str, field: str, bad: Callable[[str, str], None], chunk_rows: int
) -> Iterator[_Chunk]:
    """Chunks of good rows of a CSV file, streamed by ``datasets``, or of a Parquet file, read
    by pyarrow (:func:`_parquet_chunks`), after checking the text column."""
    import pyarrow as pa

    kwargs: dict = {}
    if fmt == "csv":
        import datasets

        columns = _csv_columns(path)
        kwargs = {
            "features": datasets.Features({c: datasets.Value("string") for c in columns}),
            "keep_default_na": False,  # "NA" or "null" in a text stays text
            "na_values": [""],
        }
    else:
        import pyarrow.parquet as pq

        try:
            with pq.ParquetFile(path) as parquet:
                schema, n_rows = parquet.schema_arrow, parquet.metadata.num_rows
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"{path}: not valid Parquet ({' '.join(str(exc).split())})") from None
        columns = schema.names
        refuse_repeated_columns(str(path), columns, "Parquet schema")
        kind = schema.field(field).type if field in columns else pa.string()
        if pa.types.is_dictionary(kind):  # a categorical column
            kind = kind.value_type
        if not (
            pa.types.is_string(kind)
            or pa.types.is_large_string(kind)
            or getattr(pa.types, "is_string_view", lambda _: False)(kind)
        ):
            raise InputError(f"{path}: column {field!r} holds {kind}, not text")
    if field not in columns:
        raise InputError(
            f"{path}: no column {field!r} (columns: {listed(columns)}); "
            "name the text column with --text-field"
        )
    _check_free(columns, str(path))
    if fmt == "parquet" and n_rows == 0:
        yield _Chunk([], 0, table=schema.empty_table())
        return

    number = 0
    if fmt == "parquet":
        yield from _parquet_chunks(path, field, bad, chunk_rows)
        return
    import tempfile

    import datasets

    try:
        # A cache of its own, removed after: the user's ~/.cache may be read-only, and each
        # run would leave a lock file there.
        with _quiet_datasets(), tempfile.TemporaryDirectory(prefix="topictag-datasets-") as cache:
            stream = datasets.load_dataset(
                fmt, data_files=str(path), split="train", streaming=True, cache_dir=cache, **kwargs
            )
            for table in stream.with_format("arrow").iter(batch_size=chunk_rows):
                yield from table_chunks(table, fmt, field, bad, number)
                number += table.num_rows
    except (ValueError, pa.ArrowException, OSError) as exc:  # pandas' ParserError is a ValueError
        kind = "CSV" if fmt == "csv" else "Parquet"
        raise InputError(f"{path}: not valid {kind} ({' '.join(str(exc).split())})") from None


def _parquet_chunks(
    path: Path, field: str, bad: Callable[[str, str], None], chunk_rows: int
) -> Iterator[_Chunk]:
    """Chunks of good rows of a Parquet file, read a batch at a time by pyarrow, without
    pre-buffering: a ``ParquetFile`` that pre-buffers (its default, and ``datasets``') keeps
    every column chunk it has read until it is closed, so memory grew with the corpus (330 MB
    of Arrow buffers after 150,000 articles of 3,700 characters; 32 MB without)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    number = 0
    try:
        with pq.ParquetFile(path, pre_buffer=False) as parquet:
            for batch in parquet.iter_batches(batch_size=chunk_rows):
                table = pa.Table.from_batches([batch])
                yield from table_chunks(table, "parquet", field, bad, number)
                number += table.num_rows
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: not valid Parquet ({' '.join(str(exc).split())})") from None


def table_chunks(
    table, fmt: str, field: str, bad: Callable[[str, str], None], number: int
) -> Iterator[_Chunk]:
    """The good rows of one batch of a CSV or Parquet file (a pyarrow Table whose first row is
    row ``number + 1``) as chunks; each bad row is reported to ``bad``."""
    import pyarrow as pa

    keep, texts = [], []
    for i, text in enumerate(table.column(field).to_pylist()):
        problem = _text_problem(text, field)
        if text is None and fmt == "csv":  # CSV has no null: the field was left empty
            problem = f"{field!r} is empty"
        if problem:
            bad(f"row {number + i + 1}", problem)
        else:
            keep.append(i)
            texts.append(text)
    read = table.num_rows
    if len(keep) < read:
        table = table.take(pa.array(keep, pa.int64()))
    yield from _cut(table, texts, read)


def _cut(table, texts: list[str], read: int) -> Iterator[_Chunk]:
    """The good rows of one batch as chunks of at most ``CHUNK_CHARS`` characters of text."""
    bounds, start, size = [], 0, 0
    for i, text in enumerate(texts):
        if size and size + len(text) > CHUNK_CHARS:
            bounds.append((start, i))
            start, size = i, 0
        size += len(text)
    bounds.append((start, len(texts)))
    for j, (a, b) in enumerate(bounds):
        last = j == len(bounds) - 1
        yield _Chunk(texts[a:b], read if last else 0, table=table.slice(a, b - a))


@contextlib.contextmanager
def _quiet_datasets():
    """Silence ``datasets``' own log lines (it logs a read error before raising it): the
    error reaches the user once, as an :class:`InputError`."""
    import logging

    logger = logging.getLogger("datasets")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def progress_total(source: Path, fmt: str) -> tuple[int | None, str]:
    """What a progress bar over a corpus counts, (total, unit): the bytes of a JSON Lines
    file, the rows of a Parquet file (None when it is not valid Parquet: its reader says so),
    the rows of a CSV file (an unknown number)."""
    if fmt == "jsonl":
        return source.stat().st_size, "B"
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            with pq.ParquetFile(source) as parquet:
                return parquet.metadata.num_rows, "rows"
        except (pa.ArrowException, OSError):
            return None, "rows"
    return None, "rows"


@contextlib.contextmanager
def progress_bar(description: str, total: int | None, unit: str, enabled: bool):
    """A progress bar on stderr, shown only when ``enabled`` and stderr is a terminal; its
    description (which names a file) one line, its control characters escaped."""
    from tqdm import tqdm

    bar = tqdm(
        desc=one_line(description),
        total=total,
        unit=unit,
        unit_scale=unit == "B",
        file=sys.stderr,
        disable=None if enabled else True,
        dynamic_ncols=True,
    )
    try:
        yield bar
    finally:
        bar.close()


def _progress_bar(source: Path, fmt: str, enabled: bool):
    """The bar of tagging a corpus: its bytes (JSON Lines) or rows (Parquet, CSV)."""
    total, unit = progress_total(source, fmt) if enabled else (None, "rows")
    return progress_bar(f"tagging {source.name}", total, unit, enabled)


# Tagging -----------------------------------------------------------------------------------

_WORKER: dict = {}

#: mallopt parameter: requests of this many bytes or more are served by mmap (malloc.h).
_M_MMAP_THRESHOLD = -3


def model_topics(model_dir: Path) -> list[str]:
    """A model's topics, read from its ``metrics.json`` without loading the model."""
    from topictag.artifact import read_metrics

    topics = read_metrics(model_dir).get("topics")
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise ModelError(f"{model_dir}: metrics.json has no list of topics; retrain")
    return topics


def _init_worker(model_dir: str, threshold: float | None) -> None:
    """Load the model once per worker process; Ctrl-C is left to the parent. The worker only
    tags chunks, so its model frees the Python vocabularies once the compiled kernels score
    (:meth:`~topictag.scorer.PortableModel.keep_compiled_only`: some 20 MB per worker)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _lean_worker()
    try:
        _WORKER["tagger"] = Tagger.load(model_dir, threshold)
        _WORKER["tagger"].model.keep_compiled_only()
    except Exception as exc:  # reported by the first task, not by a pool that respawns forever
        _WORKER["error"] = exc


def fixed_mmap_threshold() -> None:
    """Have this process give large freed blocks back to the system: glibc's malloc serves
    blocks of 128 KB and more from mmap, but raises that threshold (up to 32 MB) each time it
    frees a larger block, and then keeps freed memory of that size. Fixed at 128 KB, the
    parent of a corpus run held some 10 MB less (measured). Not in the workers: there it saved
    some 6 MB each but tagged 4 to 7% slower (their temporary arrays of a few MB per step are
    then mapped afresh every time). Linux only; elsewhere, or with another C library, nothing
    happens."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, 128 * 1024)
        except (OSError, AttributeError):  # no mallopt (another C library): nothing to tune
            pass


def _lean_worker() -> None:
    """Trim what a worker process holds for good: numba imports scipy at its first compiled
    call (some 9 MB of the worker's own memory and as much of libraries, measured) only to find
    BLAS for linear algebra in compiled code, which the kernels do not use, so that import
    fails here instead (a worker imports nothing else of scipy). And score in one thread: the
    other workers use the other CPUs."""
    from topictag import compiled

    sys.modules.setdefault("scipy.linalg.cython_blas", None)
    compiled.SECOND_THREAD = False


def _tag_texts(texts: list[str]) -> list[dict]:
    if "error" in _WORKER:
        raise _WORKER["error"]
    return _WORKER["tagger"].tag_batch(texts)


def _tagged(
    chunks: Iterable[_Chunk],
    tagger: Tagger | None,
    num_proc: int,
    model_dir: Path,
    threshold: float | None,
) -> Iterator[tuple[_Chunk, list[dict]]]:
    """Each chunk with its results, in input order. With ``num_proc > 1`` the chunks are tagged
    by worker processes, at most two chunks per worker in flight, so reading never runs far
    ahead of tagging (``Pool.imap`` would read the whole input ahead)."""
    if num_proc == 1:
        for chunk in chunks:
            yield chunk, tagger.tag_batch(chunk.texts)
        return
    from concurrent.futures.process import BrokenProcessPool

    from topictag.processes import stop_workers, worker_pool

    # An executor rather than multiprocessing.Pool: a worker that dies (killed, out of memory)
    # breaks it with an error instead of hanging the run. Its workers die with this process.
    executor = worker_pool(num_proc, _init_worker, (str(Path(model_dir).resolve()), threshold))
    finished = False
    try:
        pending: deque = deque()
        for chunk in chunks:
            pending.append((chunk, executor.submit(_tag_texts, chunk.texts)))
            if len(pending) >= 2 * num_proc:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()
        finished = True
    except BrokenProcessPool:
        raise TopictagError(
            "a worker process stopped unexpectedly (killed, or out of memory?); "
            "run with --num-proc 1 to see the problem"
        ) from None
    finally:
        if finished:
            executor.shutdown()
        else:  # failed or interrupted: the other chunks' results would be thrown away
            stop_workers(executor)


# Writing -----------------------------------------------------------------------------------


@contextlib.contextmanager
def _output(target: Path | None, fmt: str, topics: list[str], source: str, schema=None):
    """A writer for the output; the file appears under its name only if the body succeeds.
    ``schema`` fixes the columns of a Parquet output in advance (see :class:`_ParquetWriter`).

    A failed write (full disk, read-only file system) is one :class:`WriteError` naming the
    output; the temporary file is removed, and so are those that killed runs left beside it.
    """
    if target is None:
        yield _JsonlWriter(sys.stdout, "<stdout>", source)
        with _writing("<stdout>"):
            sys.stdout.flush()
        return
    with _writing(target):
        target = write_path(target)
    remove_stale(target)
    tmp = temp_name(target)
    try:
        if fmt == "jsonl":
            with _writing(target):
                fh = open(tmp, "x", encoding="utf-8", newline="\n")
            try:
                yield _JsonlWriter(fh, target, source)
                with _writing(target):
                    fh.flush()
                    os.fsync(fh.fileno())
            finally:
                with contextlib.suppress(OSError):  # nothing left to flush when it succeeded
                    fh.close()
        else:
            writer = _ParquetWriter(tmp, topics, source, target, schema)
            try:
                yield writer
            except BaseException:
                with contextlib.suppress(Exception):
                    writer.close()  # so that the file can be removed
                raise
            writer.close()
            with _writing(target), open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        with _writing(target):
            keep_mode(tmp, target)
            os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(target.parent)  # make the rename itself durable


@contextlib.contextmanager
def _writing(name):
    """An ``OSError`` of writing the output as one :class:`WriteError` line naming it; a
    closed pipe on stdout stays a ``BrokenPipeError``, for a quiet exit."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise WriteError(cannot_write(name, exc)) from None


def _jsonable(value):
    """JSON for the values a CSV or Parquet cell may hold beyond JSON's own types."""
    if hasattr(value, "isoformat"):  # date, time, datetime
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return str(value)  # Decimal, timedelta, ...


#: Ticks of a second in each unit of a Parquet timestamp.
TICKS_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def table_rows(table, source: str) -> list[dict]:
    """The rows of a pyarrow Table as dicts, as ``Table.to_pylist`` gives them, but a value
    Python cannot hold (a date or timestamp outside the years 1 to 9999, a duration past
    999,999,999 days) as text (:func:`beyond_python`): ``to_pylist`` raised an
    ``OverflowError`` for the whole table. Only a table that holds one is read value by
    value."""
    try:
        return table.to_pylist()
    except (OverflowError, ValueError):
        pass
    columns = []
    for name, column in zip(table.column_names, table.columns):
        try:
            columns.append(column.to_pylist())
        except (OverflowError, ValueError):
            columns.append([_as_py(value, name, source) for value in column])
    return [dict(zip(table.column_names, values)) for values in zip(*columns)]


def _as_py(scalar, column: str, source: str):
    """One value as Python, or as text where Python cannot hold it, at any depth of lists,
    maps and structs; a value of another type that Python cannot hold is an error."""
    import pyarrow as pa

    try:
        return scalar.as_py()
    except (OverflowError, ValueError) as exc:
        problem = exc
    kind = scalar.type
    if pa.types.is_dictionary(kind):
        return _as_py(scalar.value, column, source)
    if pa.types.is_struct(kind):
        return {kind.field(i).name: _as_py(scalar[i], column, source) for i in range(len(kind))}
    if pa.types.is_map(kind):
        return [(_as_py(e[0], column, source), _as_py(e[1], column, source)) for e in scalar.values]
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        return [_as_py(item, column, source) for item in scalar.values]
    text = beyond_python(scalar)
    if text is None:
        raise InputError(
            f"{source}: column {column!r} holds a value that Python cannot hold ({problem})"
        )
    return text


def beyond_python(scalar) -> str | None:
    """A date, timestamp or duration scalar as text, for one that Python cannot hold: ISO
    form with as many year digits as it needs (``-5877641-06-24``,
    ``146140482-04-24T15:36:27.904``; in UTC, ending ``Z``, for a timestamp with a time zone),
    a duration as its number and unit (``4611686018427387904 seconds``). None for another type.
    """
    import numpy as np
    import pyarrow as pa

    kind = scalar.type
    if pa.types.is_duration(kind):
        return str(np.timedelta64(scalar.value, kind.unit))
    if pa.types.is_date32(kind):
        unit = shown = "D"
    elif pa.types.is_date64(kind):
        unit, shown = "ms", "D"
    elif pa.types.is_timestamp(kind):
        unit = kind.unit
        shown = "s" if scalar.value % TICKS_PER_SECOND[unit] == 0 else unit
    else:
        return None
    if scalar.value == np.iinfo(np.int64).min:  # numpy's NaT: the number as stored
        return f"{scalar.value} {unit}"
    zone = "UTC" if pa.types.is_timestamp(kind) and kind.tz is not None else "naive"
    return str(np.datetime_as_string(np.datetime64(scalar.value, unit), shown, zone))


class _JsonlWriter:
    """One JSON object per row: the input fields, then ``topics`` and ``scores``."""

    def __init__(self, fh, name, source: str):
        self.fh = fh
        self.name = name
        self.source = source

    def write(self, chunk: _Chunk, results: list[dict]) -> None:
        try:
            rows = chunk.rows if chunk.rows is not None else table_rows(chunk.table, self.source)
        except InputError as exc:
            raise InputError(f"{exc}; write .parquet instead") from None
        lines = []
        for row, result in zip(rows, results):
            row["topics"] = result["topics"]
            row["scores"] = result["scores"]
            lines.append(dumps(row, default=_jsonable) + "\n")
        with _writing(self.name):
            self.fh.write("".join(lines))


class _ParquetWriter:
    """Parquet in row groups of one chunk: the input columns, ``topics`` (list of strings)
    and ``scores`` (a struct with one float64 field per topic).

    The columns and their types come from the input's schema, or for JSON Lines from the first
    chunk of rows (a column null throughout it becomes text); later rows must fit them.
    A ``schema`` given (:meth:`first_schema` of the corpus's first chunk) fixes them in advance,
    so that parts of one corpus written apart (:mod:`topictag.distributed`) share them.
    """

    def __init__(self, path: Path, topics: list[str], source: str, name: Path, schema=None):
        self.path = path
        self.name = name  # the output's final name, for messages
        self.source = source
        self.topics = list(topics)
        self.writer = None
        self.schema = schema

    def _table(self, chunk: _Chunk):
        import pyarrow as pa

        if chunk.table is not None:
            return chunk.table.replace_schema_metadata(None)
        rows = chunk.rows
        names = list(dict.fromkeys(name for row in rows for name in row))
        if self.schema is not None:
            known = set(self.schema.names)
            extra = [n for n in names if n not in known]
            if extra:
                raise InputError(
                    f"{self.source}: field {extra[0]!r} first appears after the columns of the "
                    "Parquet output were fixed by the first rows; write .jsonl instead"
                )
            names = [n for n in self.schema.names if n not in ADDED]
        try:
            columns = {name: pa.array([row.get(name) for row in rows]) for name in names}
        except OverflowError as exc:  # a whole number past 64 bits, which JSON allows
            raise InputError(
                f"{self.source}: a field holds a whole number too large for Parquet ({exc}); "
                "write .jsonl instead"
            ) from None
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InputError(
                f"{self.source}: a field mixes types, which Parquet cannot hold ({exc}); "
                "write .jsonl instead"
            ) from None
        return pa.table(columns)

    def _tagged_table(self, chunk: _Chunk, results: list[dict]):
        import pyarrow as pa

        topics = pa.array([r["topics"] for r in results], pa.list_(pa.string()))
        scores = pa.StructArray.from_arrays(
            [pa.array([r["scores"][t] for r in results], pa.float64()) for t in self.topics],
            names=self.topics,
        )
        table = self._table(chunk)
        return table.append_column("topics", topics).append_column("scores", scores)

    def first_schema(self, chunk: _Chunk):
        """The columns that writing ``chunk`` first fixes (a column null throughout it becomes
        text); the results do not matter, only their types."""
        import pyarrow as pa

        untagged = [{"topics": [], "scores": dict.fromkeys(self.topics, 0.0)}] * len(chunk.texts)
        schema = self._tagged_table(chunk, untagged).schema
        return pa.schema(
            [f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in schema]
        )

    def write(self, chunk: _Chunk, results: list[dict]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.writer is None:
            if self.schema is None:
                self.schema = self.first_schema(chunk)
            with _writing(self.name):
                self.writer = pq.ParquetWriter(self.path, self.schema)
        try:
            table = self._tagged_table(chunk, results).select(self.schema.names).cast(self.schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, KeyError) as exc:
            raise InputError(
                f"{self.source}: rows do not fit the Parquet columns set by the first rows "
                f"({exc}); write .jsonl instead"
            ) from None
        with _writing(self.name):
            self.writer.write_table(table)

    def close(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.writer is None and self.schema is not None:  # no rows, columns fixed
            with _writing(self.name):
                self.writer = pq.ParquetWriter(self.path, self.schema)
        if self.writer is None:  # no rows: an empty file with the added columns
            empty = pa.schema(
                [
                    ("topics", pa.list_(pa.string())),
                    ("scores", pa.struct([(t, pa.float64()) for t in self.topics])),
                ]
            )
            with _writing(self.name):
                self.writer = pq.ParquetWriter(self.path, empty)
        with _writing(self.name):
            self.writer.close()
