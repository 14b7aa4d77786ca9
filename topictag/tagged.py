"""Read a tagged corpus for a report, batch by batch: topics, scores, dates and groups.

The input is what ``topictag tag --input`` writes (JSON Lines or Parquet: every input column
plus ``topics`` and ``scores``), or an untagged corpus of the same formats, which is tagged
here as it is read (one process; for a large corpus ``tag --input --num-proc`` first is faster).

Only the columns a report counts are read in the first pass (:func:`read_batches`); the texts
are read in a second pass, for the few rows sampled for evidence only (:func:`read_rows`), so
memory does not grow with the corpus.

- Parquet is read with pyarrow, only the columns needed, one batch at a time. Rows are
  numbered from 1 (``row N``).
- JSON Lines is read line by line, as ``topictag.batch`` reads it and for the same reasons: a
  value is kept as written (a date that is a number is an unparseable date, not a failed
  file) and every problem is named by its line (``line N``, blank lines counted).

Dates: a text ``YYYY-MM-DD``, optionally followed by a time (after ``T`` or a space) and a
zone (``Z``, ``+02:00``); the calendar date is taken as written, without converting zones.
Parquet ``date`` columns, and ``timestamp`` columns (their local date when they carry a time
zone), are read as they are, from the integers stored, so a value of any year is an unusable
date rather than a traceback. A row without a usable date is still counted everywhere but in
the time series; :class:`Batch` names it. An empty text is a missing date.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from topictag.batch import TICKS_PER_SECOND, table_rows
from topictag.errors import InputError, listed
from topictag.files import why_not_a_file
from topictag.inputs import refuse_repeated_columns, refuse_wide_json_lines
from topictag.tagger import Tagger

#: Rows per batch of the first pass (JSON Lines: lines).
BATCH_ROWS = 20_000
#: Rows tagged at a time when the corpus is not tagged yet.
TAG_ROWS = 1_000
#: The columns of a JSON Lines corpus are the fields of its first rows.
FIRST_ROWS = 1_000

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
#: Day numbers (days since 1970-01-01) of rows without a usable date.
NO_DATE = np.iinfo(np.int64).min
BAD_DATE = NO_DATE + 1
_EPOCH = date(1970, 1, 1).toordinal()
#: The usable dates, as day numbers: years 2 to 9998. 0001-01-01 and 9999-12-31 are the
#: placeholders of "no date" in many systems, and a chart's axis cannot reach past them.
FIRST_DAY = date(2, 1, 1).toordinal() - _EPOCH
LAST_DAY = date(9998, 12, 31).toordinal() - _EPOCH
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?(?:Z|z|[+-]\d{2}(?::?\d{2})?)?)?"
)


@dataclass
class Batch:
    """What a report counts of some rows of the corpus.

    ``topics[i, j]`` says whether row ``i`` has the model's ``j``-th topic; ``scores`` holds
    the stored probabilities (NaN where a row has none; None when the corpus has no scores);
    ``days`` the row's date as days since 1970-01-01, or :data:`NO_DATE` (missing) or
    :data:`BAD_DATE` (unparseable: ``bad_values`` gives the value as written); ``groups`` the
    group column as text (None where missing; the list is None without a group column).
    """

    rows: np.ndarray
    topics: np.ndarray
    days: np.ndarray
    scores: np.ndarray | None = None
    groups: list | None = None
    bad_values: dict[int, str] = field(default_factory=dict)


@dataclass
class Source:
    """A corpus to report on, checked: its format, and which of the columns a report reads it
    has."""

    path: Path
    fmt: str
    date_field: str
    group_field: str | None
    text_field: str
    tagged: bool
    has_text: bool
    has_scores: bool
    where: str  # "line" (JSON Lines) or "row" (Parquet): how rows are named

    def name(self, row: int) -> str:
        return f"{self.where} {row}"


def day_of(value: str) -> int | None:
    """Days since 1970-01-01 of an ISO date or date-time text, or None if it is not one (or
    not a usable one: see ``FIRST_DAY``)."""
    match = _ISO.fullmatch(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second = match.groups()
    if hour is not None and (int(hour) > 23 or int(minute) > 59 or int(second or 0) > 60):
        return None
    try:
        number = date(int(year), int(month), int(day)).toordinal() - _EPOCH
    except ValueError:
        return None
    return number if FIRST_DAY <= number <= LAST_DAY else None


def shown_value(value) -> str:
    """A date value as written, for a message (at most 40 characters)."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 40 else text[:39] + "…"


def open_source(
    path: str | Path,
    date_field: str,
    group_field: str | None,
    text_field: str,
    group_given: bool,
    topics: Sequence[str],
) -> Source:
    """Check the corpus and find its columns. A missing date column is an error; a missing
    group column only when ``group_given`` (otherwise the report has no breakdown)."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        hint = (
            "; tag it first: topictag tag --input CORPUS.csv --output tagged.parquet"
            if path.suffix.lower() == ".csv"
            else ""
        )
        raise InputError(
            f"{path}: unsupported corpus format; use .jsonl or .parquet (what tag --input "
            f"writes){hint}"
        )
    if not path.is_file():
        raise InputError(f"{path}: {why_not_a_file(path)}")
    try:
        open(path, "rb").close()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if fmt == "parquet":
        columns, types = _parquet_columns(path)
        where = "column"
    else:
        columns, types = _jsonl_fields(path), {}
        where = "field"
    if not columns and fmt == "jsonl":  # an empty file: an empty report
        return Source(path, fmt, date_field, None, text_field, True, False, False, "line")
    if fmt == "jsonl":  # a field the first rows leave out may come later
        later = [f for f in (date_field, group_field) if f and f not in columns]
        columns += [f for f in later if _field_later(path, f)]
    if date_field not in columns:
        raise InputError(
            f"{path}: no {where} {date_field!r} ({where}s: {listed(columns)}); "
            "name the date with --date-field"
        )
    if group_field is not None and group_field not in columns:
        if group_given:
            raise InputError(
                f"{path}: no {where} {group_field!r} ({where}s: {listed(columns)}); "
                "name the group with --group-field"
            )
        group_field = None
    tagged = "topics" in columns
    has_text = text_field in columns
    if not tagged and not has_text:
        raise InputError(
            f"{path}: neither tagged (no {where} 'topics') nor a corpus to tag (no {where} "
            f"{text_field!r}); name the text with --text-field"
        )
    if fmt == "parquet":
        read = [date_field, group_field, "topics", "scores", text_field]
        refuse_repeated_columns(str(path), columns, "Parquet schema", [c for c in read if c])
        _check_parquet_types(path, types, tagged, topics, date_field)
    return Source(
        path,
        fmt,
        date_field,
        group_field,
        text_field,
        tagged,
        has_text,
        tagged and "scores" in columns,
        "line" if fmt == "jsonl" else "row",
    )


def read_batches(
    source: Source, tagger: Tagger, batch_rows: int = BATCH_ROWS
) -> Iterator[tuple[Batch, int]]:
    """The corpus as :class:`Batch` es, each with the number of input bytes (JSON Lines) or
    rows (Parquet) it used, for a progress bar. An untagged corpus is tagged on the way."""
    if source.fmt == "parquet":
        yield from _parquet_batches(source, tagger, batch_rows)
    else:
        yield from _jsonl_batches(source, tagger, batch_rows)


def read_rows(source: Source, rows: set[int]) -> dict[int, dict]:
    """The text, date and group of each of ``rows`` (a second pass over the file):
    row -> ``{"text", "date", "group"}``; a row whose text is not a string is left out."""
    if not rows or not source.has_text:
        return {}
    if source.fmt == "parquet":
        return _parquet_rows(source, rows)
    out = {}
    wanted = sorted(rows)
    last = wanted[-1]
    with open(source.path, "rb") as fh:
        for number, line in enumerate(fh, 1):
            if number > last:
                break
            if number not in rows:
                continue
            row = json.loads(line.removeprefix(b"\xef\xbb\xbf"))
            text = row.get(source.text_field)
            if isinstance(text, str):
                out[number] = {
                    "text": text,
                    "date": row.get(source.date_field),
                    "group": _group(row.get(source.group_field)) if source.group_field else None,
                }
    return out


# JSON Lines -------------------------------------------------------------------------------


def _jsonl_fields(path: Path, rows: int = FIRST_ROWS) -> list[str]:
    """The fields of the first ``rows`` rows of a JSON Lines file, in order of appearance (a
    row may lack its date); an error names a line that is not a JSON object."""
    fields: dict[str, None] = {}
    seen = 0
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, 1):
            if number == 1:
                refuse_wide_json_lines(line, str(path))
                line = line.removeprefix(b"\xef\xbb\xbf")
            if line.strip():
                fields.update(dict.fromkeys(_parse_line(line, path, number)))
                seen += 1
                if seen == rows:
                    break
    return list(fields)


def _field_later(path: Path, name: str) -> bool:
    """Whether a row of the JSON Lines file past its first ``FIRST_ROWS`` has the field
    ``name`` (an optional field left out of the early rows rather than null). One pass that
    parses only the lines where the name appears: about a second a gigabyte."""
    needle = json.dumps(name).encode()
    with open(path, "rb") as fh:
        for line in fh:
            if needle in line:
                try:
                    row = json.loads(line.decode("utf-8", "replace"))
                except (json.JSONDecodeError, RecursionError):
                    continue
                if isinstance(row, dict) and name in row:
                    return True
    return False


def _parse_line(line: bytes, path: Path, number: int) -> dict:
    try:
        row = json.loads(line.decode("utf-8"))  # bytes would be read as UTF-16 too
    except UnicodeDecodeError:
        raise InputError(f"{path}: line {number}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}: line {number}: not valid JSON ({exc.msg} at column {exc.colno})"
        ) from None
    except RecursionError:
        raise InputError(f"{path}: line {number}: JSON nested too deeply to read") from None
    if not isinstance(row, dict):
        raise InputError(f"{path}: line {number}: not a JSON object but {type(row).__name__}")
    return row


def _group(value) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


class _Dates:
    """Dates as written to day numbers, each distinct text parsed once."""

    def __init__(self) -> None:
        self.cache: dict[str, int | None] = {}

    def day(self, value) -> int:
        if value is None:
            return NO_DATE
        if not isinstance(value, str):
            return BAD_DATE
        if not value.strip():
            return NO_DATE
        day = self.cache.get(value, BAD_DATE)
        if day == BAD_DATE:
            if value not in self.cache:
                if len(self.cache) > 100_000:
                    self.cache.clear()
                self.cache[value] = day_of(value)
            day = self.cache[value]
        return BAD_DATE if day is None else day


def _jsonl_batches(source: Source, tagger: Tagger, batch_rows: int) -> Iterator[tuple[Batch, int]]:
    path, topics = source.path, tagger.topics
    index = {t: j for j, t in enumerate(topics)}
    dates = _Dates()
    rows: list[int] = []
    hits: list[list[int]] = []
    scores: list[list[float]] = []
    days: list[int] = []
    groups: list = []
    texts: list[str] = []
    bad: dict[int, str] = {}
    nbytes = 0
    missing = [None] * len(topics)

    def batch() -> Batch:
        nonlocal texts
        if not source.tagged:
            results = [
                r
                for i in range(0, len(texts), TAG_ROWS)
                for r in _tag(tagger, texts[i : i + TAG_ROWS])
            ]
            for result in results:
                hits.append([index[t] for t in result["topics"]])
                scores.append([result["scores"][t] for t in topics])
            texts = []
        matrix = np.zeros((len(rows), len(topics)), dtype=bool)
        for i, row_hits in enumerate(hits):
            matrix[i, row_hits] = True
        return Batch(
            rows=np.array(rows, dtype=np.int64),
            topics=matrix,
            days=np.array(days, dtype=np.int64),
            scores=_floats(scores, len(topics)) if source.has_scores or not source.tagged else None,
            groups=groups if source.group_field else None,
            bad_values=bad,
        )

    with open(path, "rb") as fh:
        for number, line in enumerate(fh, 1):
            nbytes += len(line)
            if number == 1:
                refuse_wide_json_lines(line, str(path))
                line = line.removeprefix(b"\xef\xbb\xbf")
            if not line.strip():
                continue
            row = _parse_line(line, path, number)
            if source.tagged:
                hits.append(_row_topics(row, index, path, number))
                if source.has_scores:
                    value = row.get("scores")
                    if isinstance(value, dict):
                        scores.append([value.get(t) for t in topics])
                    elif value is None:
                        scores.append(missing)
                    else:
                        kind = type(value).__name__
                        raise InputError(
                            f"{path}: line {number}: 'scores' is {kind}, not an object"
                        )
            else:
                where = f"{path}: line {number}"
                if "topics" in row:
                    raise InputError(f"{where}: has 'topics', but the first rows have none")
                text = row.get(source.text_field)
                if not isinstance(text, str):
                    kind = (
                        "missing"
                        if source.text_field not in row
                        else ("null" if text is None else f"{type(text).__name__}, not a string")
                    )
                    raise InputError(
                        f"{where}: {source.text_field!r} is {kind}, so the row cannot be "
                        "tagged; tag the corpus first with topictag tag --input --on-error skip"
                    )
                texts.append(text)
            value = row.get(source.date_field)
            day = dates.day(value)
            if day == BAD_DATE:
                bad[number] = shown_value(value)
            rows.append(number)
            days.append(day)
            if source.group_field:
                groups.append(_group(row.get(source.group_field)))
            if len(rows) >= batch_rows:
                yield batch(), nbytes
                rows, hits, scores, days, groups, bad, nbytes = [], [], [], [], [], {}, 0
    if rows or nbytes:
        yield batch(), nbytes


def _row_topics(row: dict, index: dict[str, int], path: Path, number: int) -> list[int]:
    value = row.get("topics")
    if isinstance(value, list):
        try:
            return [index[t] for t in value]
        except (KeyError, TypeError):
            unknown = next(t for t in value if not isinstance(t, str) or t not in index)
            raise InputError(
                f"{path}: line {number}: topic {unknown!r} is not one of the model's topics "
                f"({', '.join(index)}); give the model that tagged the corpus with --model"
            ) from None
    kind = (
        "missing"
        if "topics" not in row
        else ("null" if value is None else f"{type(value).__name__}, not a list")
    )
    raise InputError(f"{path}: line {number}: 'topics' is {kind}")


def _floats(rows: list[list], width: int) -> np.ndarray:
    """Scores as a float matrix, null as NaN; a batch holding something that is not a number
    (a word, a list) is read value by value, anything but a number as NaN."""
    try:
        return np.array(rows, dtype=np.float64).reshape(len(rows), width)
    except (TypeError, ValueError):
        pass
    return np.array(
        [
            [
                float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else np.nan
                for v in row
            ]
            for row in rows
        ],
        dtype=np.float64,
    ).reshape(len(rows), width)


def _tag(tagger: Tagger, texts: list[str]) -> list[dict]:
    return tagger.tag_batch(texts) if texts else []


# Parquet ----------------------------------------------------------------------------------


def _parquet_file(path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path, pre_buffer=False)  # see batch._parquet_chunks
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: not valid Parquet ({' '.join(str(exc).split())})") from None


def _parquet_columns(path: Path) -> tuple[list[str], dict]:
    with _parquet_file(path) as parquet:
        schema = parquet.schema_arrow
    return schema.names, {f.name: f.type for f in schema}


def _check_parquet_types(path: Path, types: dict, tagged: bool, topics, date_field) -> None:
    import pyarrow as pa

    kind = types[date_field]
    if not (
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_date(kind)
        or pa.types.is_timestamp(kind)
        or pa.types.is_null(kind)
        or (pa.types.is_dictionary(kind) and pa.types.is_string(kind.value_type))
    ):
        raise InputError(
            f"{path}: column {date_field!r} holds {kind}, not dates; use ISO dates as text "
            "(2024-03-05), or a date or timestamp column"
        )
    if not tagged:
        return
    kind = types["topics"]
    if not (pa.types.is_list(kind) or pa.types.is_large_list(kind)):
        raise InputError(f"{path}: column 'topics' holds {kind}, not a list of topics")
    scores = types.get("scores")
    if scores is not None:
        names = (
            [scores.field(i).name for i in range(scores.num_fields)]
            if pa.types.is_struct(scores)
            else None
        )
        if names is None or set(names) != set(topics):
            raise InputError(
                f"{path}: the 'scores' column has the topics {', '.join(names or [str(scores)])}, "
                f"the model {', '.join(topics)}; give the model that tagged the corpus with --model"
            )


def _parquet_batches(
    source: Source, tagger: Tagger, batch_rows: int
) -> Iterator[tuple[Batch, int]]:
    import pyarrow as pa

    columns = [source.date_field]
    if source.group_field and source.group_field not in columns:
        columns.append(source.group_field)
    if source.tagged:
        columns += ["topics"] + (["scores"] if source.has_scores else [])
    else:
        columns.append(source.text_field)
    size = batch_rows if source.tagged else TAG_ROWS
    first = 1
    with _parquet_file(source.path) as parquet:
        if parquet.metadata.num_rows == 0:
            return
        try:
            for record in parquet.iter_batches(batch_size=size, columns=columns):
                yield _parquet_batch(source, tagger, record, first), record.num_rows
                first += record.num_rows
        except (pa.ArrowException, OSError) as exc:
            raise InputError(
                f"{source.path}: not valid Parquet ({' '.join(str(exc).split())})"
            ) from None


def _parquet_batch(source: Source, tagger: Tagger, record, first: int) -> Batch:
    import pyarrow as pa
    import pyarrow.compute as pc

    n, topics = record.num_rows, tagger.topics
    rows = np.arange(first, first + n, dtype=np.int64)
    if source.tagged:
        matrix = _topic_matrix(source, record.column("topics"), topics, first)
        scores = None
        if source.has_scores:
            struct = record.column("scores")
            scores = (
                np.column_stack(
                    [
                        pc.struct_field(struct, [struct.type.get_field_index(t)])
                        .cast(pa.float64())
                        .to_numpy(zero_copy_only=False)
                        for t in topics
                    ]
                )
                if n
                else np.zeros((0, len(topics)))
            )
    else:
        texts = record.column(source.text_field).to_pylist()
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise InputError(
                    f"{source.path}: row {first + i}: {source.text_field!r} is null, so the row "
                    "cannot be tagged; tag the corpus first with topictag tag --input "
                    "--on-error skip"
                )
        results = _tag(tagger, texts)
        matrix = np.zeros((n, len(topics)), dtype=bool)
        for i, result in enumerate(results):
            matrix[i, [topics.index(t) for t in result["topics"]]] = True
        scores = np.array(
            [[r["scores"][t] for t in topics] for r in results], dtype=np.float64
        ).reshape(n, len(topics))
    days, bad = _parquet_days(record.column(source.date_field), rows)
    groups = None
    if source.group_field:
        column = record.column(source.group_field)
        if pa.types.is_floating(column.type):  # written as JSON writes it: 1.0, not Arrow's 1
            column = pa.array([_group(v) for v in column.to_pylist()], pa.string())
        elif not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            try:
                column = column.cast(pa.string())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                column = pa.array([_group(v) for v in column.to_pylist()], pa.string())
        groups = column.to_pylist()
    return Batch(rows, matrix, days, scores, groups, bad)


def _topic_matrix(source: Source, column, topics: list[str], first: int) -> np.ndarray:
    """A boolean matrix (rows x model topics) from a list<string> column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(column)
    if column.null_count:
        i = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
        raise InputError(f"{source.path}: row {first + i}: 'topics' is null")
    values = pc.list_flatten(column)
    parents = pc.list_parent_indices(column).to_numpy(zero_copy_only=False)
    found = pc.index_in(values.cast(pa.string()), value_set=pa.array(topics, pa.string()))
    if found.null_count:
        k = int(np.flatnonzero(found.is_null().to_numpy(zero_copy_only=False))[0])
        raise InputError(
            f"{source.path}: row {first + int(parents[k])}: topic {values[k].as_py()!r} is not "
            f"one of the model's topics ({', '.join(topics)}); give the model that tagged the "
            "corpus with --model"
        )
    matrix = np.zeros((n, len(topics)), dtype=bool)
    matrix[parents, found.to_numpy(zero_copy_only=False)] = True
    return matrix


def _parquet_days(column, rows: np.ndarray) -> tuple[np.ndarray, dict[int, str]]:
    """Day numbers of a date column (text, date or timestamp), and the unparseable values."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_dictionary(kind):
        column, kind = column.cast(kind.value_type), kind.value_type
    if pa.types.is_null(kind):
        return np.full(len(column), NO_DATE, dtype=np.int64), {}
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        valid = column.is_valid().to_numpy(zero_copy_only=False)
        values = _day_numbers(column)
        outside = valid & ((values < FIRST_DAY) | (values > LAST_DAY))
        # numpy writes any year (-5877641-06-24), where date.fromordinal raised past 1 to 9999
        bad = {
            int(rows[i]): str(np.datetime_as_string(np.datetime64(int(values[i]), "D")))
            for i in np.flatnonzero(outside)
        }
        values = np.where(outside, np.int64(BAD_DATE), values)
        return np.where(valid, values, np.int64(NO_DATE)), bad
    encoded = pc.dictionary_encode(column)
    parsed = np.array(
        [_parsed(v) for v in encoded.dictionary.to_pylist()] + [NO_DATE],
        dtype=np.int64,
    )
    codes = encoded.indices.fill_null(len(parsed) - 1).to_numpy(zero_copy_only=False)
    days = parsed[codes]
    bad = {
        int(rows[i]): shown_value(encoded.dictionary[codes[i]].as_py())
        for i in np.flatnonzero(days == BAD_DATE)
    }
    return days, bad


def _day_numbers(column) -> np.ndarray:
    """Days since 1970-01-01 of a date or timestamp column (0 where null; a timestamp with a
    time zone on its local date), from the integers stored: pyarrow's cast to date32 wraps a
    day past 32 bits round (year 146 million read as 1977, or as a usable date), and its
    ``local_timestamp`` wraps within a day of the ends of 64 bits."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_date32(kind):
        return column.cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    per_day = 86_400 * TICKS_PER_SECOND["ms" if pa.types.is_date64(kind) else kind.unit]
    ticks = column.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
    days, rest = np.divmod(ticks, per_day)
    if pa.types.is_timestamp(kind) and kind.tz is not None:
        local = pc.local_timestamp(column).cast(pa.int64()).fill_null(0)
        # the offset is exact even where local wrapped: both differences wrap alike
        offset = local.to_numpy(zero_copy_only=False) - ticks
        days += (rest + offset) // per_day
    return days


def _parsed(value: str) -> int:
    if not value.strip():
        return NO_DATE
    day = day_of(value)
    return BAD_DATE if day is None else day


def _parquet_rows(source: Source, rows: set[int]) -> dict[int, dict]:
    columns = list(dict.fromkeys([source.text_field, source.date_field, source.group_field]))
    columns = [c for c in columns if c]
    out: dict[int, dict] = {}
    with _parquet_file(source.path) as parquet:
        start = 1
        for group in range(parquet.metadata.num_row_groups):
            count = parquet.metadata.row_group(group).num_rows
            wanted = [r for r in rows if start <= r < start + count]
            if wanted:
                table = parquet.read_row_group(group, columns=columns)
                records = table_rows(table.take([r - start for r in wanted]), str(source.path))
                for r, record in zip(wanted, records):
                    text = record.get(source.text_field)
                    if isinstance(text, str):
                        value = record.get(source.date_field)
                        out[r] = {
                            "text": text,
                            "date": value.isoformat() if hasattr(value, "isoformat") else value,
                            "group": _group(record.get(source.group_field))
                            if source.group_field
                            else None,
                        }
            start += count
    return out
