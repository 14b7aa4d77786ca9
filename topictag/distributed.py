"""Tag a corpus on a ``dask.distributed`` cluster: the workers read it, tag it and write it.

:func:`tag_corpus_distributed` writes the file that :func:`topictag.batch.tag_corpus` writes
(the same rows, values and columns; the same bad rows reported, with the same numbers), with
the work spread over the workers of a Dask scheduler. (Parts end their chunks at other rows than
one process does, and a chunk's size picks the scorer's path, plain Python or vectorised; the
paths agree to about 1e-14, so a score rounded to six decimals could in principle differ in
its last digit. Over the 2,906 labelled paragraphs none did.)

1. The client (this process) checks the paths and the model and reads the corpus up to its
   first good row (for a Parquet output, its first chunk, which fixes the output's columns)
   with the local reader: a missing text column, or with ``on_error="fail"`` a bad row before
   it, stops the run before any task is sent.
2. The corpus is cut into partitions of about ``blocksize`` bytes: a JSON Lines file into byte
   ranges (each line belongs to the range it begins in), a Parquet file into runs of whole row
   groups. CSV is refused: a quoted field may hold a line break, so a byte range cannot be
   told to begin at a row.
3. One task per partition: a worker reads its partition with the local readers, tags it chunk
   by chunk (:meth:`topictag.Tagger.tag_batch`) and writes it with the local writers as a part
   file, in a temporary directory beside the output. Row numbers are those of the whole file:
   a Parquet task knows its first row from the file's metadata, a JSON Lines task waits for
   small tasks that count the lines of the ranges before it.
4. The client takes the results in order (skipped rows are reported in order, and with
   ``on_error="fail"`` the earliest bad row is the error), then joins the parts into the
   output under a temporary name, renamed when complete. The parts are removed, also when the
   run fails or is interrupted; nothing is half-written.

So the input and the output must be at the same paths for the client and every worker (a
shared file system), and every worker needs topictag at the client's version (each task
checks it). The model reaches the workers in one of two ways:

- by path (the default): the client resolves the model directory (``model``, else
  ``$TOPICTAG_MODEL``, ...) and each worker loads it from that absolute path, once per worker
  process; a worker whose files there differ from the client's is refused;
- shipped (``ship_model=True``): the client reads the model's portable files (about as large
  as ``portable.npz``), broadcasts them to the workers, and each worker process builds the
  model from them once; the workers need no copy of the model.

Tagging is Python code that holds the GIL: start workers with one thread each
(``dask worker ADDRESS --nthreads 1 --nworkers N``).
"""

from __future__ import annotations

import contextlib
import functools
import json
import operator
import os
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError  # distributed's cancelled futures
from dataclasses import dataclass
from pathlib import Path

from topictag import defaults
from topictag.batch import (
    MAX_REPORTED,
    ON_ERROR,
    _Chunk,
    _output,
    _ParquetWriter,
    _progress_bar,
    _read_csv_or_parquet,
    _read_jsonl,
    _stderr,
    _writing,
    check_paths,
    table_chunks,
)
from topictag.errors import InputError, ModelError, TopictagError
from topictag.files import (
    discard_dir,
    fsync_dir,
    keep_mode,
    remove_stale,
    temp_name,
    write_path,
)
from topictag.tagger import Tagger, load_model


@dataclass(frozen=True)
class _Job:
    """What every task of a run shares."""

    source: str
    in_fmt: str
    out_fmt: str
    text_field: str
    on_error: str
    chunk_rows: int
    topics: tuple[str, ...]
    schema: object  # Parquet output: the columns fixed by the first chunk (pyarrow.Schema)
    threshold: float | None
    version: str  # the client's topictag version


@dataclass(frozen=True)
class _Part:
    """One partition of the corpus and the part file it becomes."""

    index: int
    path: str
    size: int  # for the progress bar: bytes (JSON Lines) or rows (Parquet)
    start: int = 0  # JSON Lines: the byte range
    end: int = 0
    groups: tuple[int, ...] = ()  # Parquet: the row groups
    first_row: int = 0  # Parquet: rows before the first of them


@dataclass(frozen=True)
class _ModelPath:
    """A model each worker loads from ``path``, whose files must have these checksums."""

    path: str
    checksums: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class _ShippedModel:
    """A model sent to the workers: its portable files' bytes."""

    settings: bytes
    arrays: bytes
    digest: str


def tag_corpus_distributed(
    input_path: str | os.PathLike,
    output_path: str | os.PathLike,
    scheduler,
    *,
    text_field: str = "text",
    on_error: str = "fail",
    model: str | os.PathLike | None = None,
    threshold: float | None = None,
    ship_model: bool = False,
    blocksize: int = defaults.PARTITION_BYTES,
    progress: bool = True,
    chunk_rows: int = defaults.CHUNK_ROWS,
    warn: Callable[[str], None] | None = None,
    timeout: float = defaults.SCHEDULER_TIMEOUT,
) -> dict:
    """Tag every row of ``input_path`` (``.jsonl`` or ``.parquet``) on the Dask cluster of
    ``scheduler`` (an address such as ``"tcp://10.0.0.5:8786"``, or a ``distributed.Client``)
    into ``output_path`` (``.jsonl`` or ``.parquet``), as :func:`topictag.batch.tag_corpus`
    does; returns the same summary. ``ship_model`` sends the model to the workers instead of
    having them read it from its directory; ``blocksize`` is the bytes of corpus per task.

    Raises :class:`~topictag.InputError` as ``tag_corpus`` does, and
    :class:`~topictag.TopictagError` when the scheduler cannot be reached, no worker joins it
    within ``timeout`` seconds, or a worker dies.
    """
    started = time.perf_counter()
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {ON_ERROR}, not {on_error!r}")
    if blocksize < 1 or chunk_rows < 1:
        raise ValueError("blocksize and chunk_rows must be at least 1")
    if output_path is None or str(output_path) == "-":
        raise InputError("distributed tagging writes a file: give an output path, not stdout")
    source, in_fmt, target, out_fmt = check_paths(input_path, output_path)
    assert target is not None
    where = Path(os.path.abspath(target))  # the workers' working directories are not ours
    if in_fmt == "csv":
        raise InputError(
            f"{source}: a CSV corpus cannot be split between workers (a quoted text may hold "
            "line breaks); convert it to JSON Lines or Parquet, or tag it without a scheduler"
        )
    tagger = load_model(model, threshold)
    # A Parquet output's columns are fixed by the first chunk; otherwise one good row will do.
    first = _first_chunk(
        source, in_fmt, text_field, on_error, chunk_rows if out_fmt == "parquet" else 1
    )
    schema = None
    if out_fmt == "parquet" and first is not None:
        schema = _ParquetWriter(target, tagger.topics, str(source), target).first_schema(first)
    job = _Job(
        os.path.abspath(source),
        in_fmt,
        out_fmt,
        text_field,
        on_error,
        chunk_rows,
        tuple(tagger.topics),
        schema,
        threshold,
        _version(),
    )
    shipped = _ship(defaults.model_dir(model)) if ship_model else None
    counts = {"rows": 0, "tagged": 0, "skipped": 0}
    errors: list[str] = []
    say = warn or _stderr

    def report(result: dict) -> None:
        for message in result["errors"]:
            if len(errors) < MAX_REPORTED:
                errors.append(message)
                say(f"{message} (skipped)")
        if counts["skipped"] <= MAX_REPORTED < counts["skipped"] + result["skipped"]:
            say(f"{source}: more bad rows skipped; only the first {MAX_REPORTED} are shown")
        for name in counts:
            counts[name] += result[name]

    remove_stale(where)
    parts_dir = temp_name(where)
    with _writing(target):
        parts_dir.mkdir()
    try:
        parts = _partitions(Path(job.source), in_fmt, out_fmt, blocksize, parts_dir)
        with _client(scheduler, timeout) as client, _progress_bar(source, in_fmt, progress) as bar:
            model_ref = (
                client.scatter(shipped, broadcast=True)
                if shipped is not None
                else _model_path(defaults.model_dir(model))
            )
            futures = _submit(client, job, parts, model_ref)
            try:
                _collect(client, futures, parts, bar, report)
            except BaseException:
                with contextlib.suppress(Exception):  # the scheduler may be gone
                    client.cancel(futures)
                raise
        _join([Path(part.path) for part in parts], target, out_fmt)
    finally:
        discard_dir(parts_dir, where)
    return {
        "input": str(source),
        "output": str(target),
        **counts,
        "errors": errors,
        "seconds": round(time.perf_counter() - started, 3),
    }


# The client ---------------------------------------------------------------------------------


def _first_chunk(
    source: Path, fmt: str, field: str, on_error: str, chunk_rows: int
) -> _Chunk | None:
    """The corpus's first chunk, read as local tagging reads it: the checks it makes before
    the first good row happen here, before any task is sent."""

    def bad(where: str, problem: str) -> None:
        if on_error == "fail":
            raise InputError(f"{source}: {where}: {problem}")

    if fmt == "jsonl":
        reader = _read_jsonl(source, field, bad, chunk_rows)
    else:
        reader = _read_csv_or_parquet(source, fmt, field, bad, chunk_rows)
    with contextlib.closing(reader):
        return next(reader, None)


def _model_path(model_dir: Path) -> _ModelPath:
    from topictag.artifact import PORTABLE_JSON, PORTABLE_NPZ, read_metrics

    artifacts = read_metrics(model_dir)["artifacts"]
    names = (PORTABLE_JSON, PORTABLE_NPZ)
    return _ModelPath(str(model_dir.resolve()), tuple((n, artifacts.get(n, "")) for n in names))


def _ship(model_dir: Path) -> _ShippedModel:
    """The model's portable files, checked against its checksums, to send to the workers."""
    from topictag.artifact import PORTABLE_JSON, PORTABLE_NPZ, read_metrics, verified_bytes

    metrics = read_metrics(model_dir)
    settings = verified_bytes(model_dir, PORTABLE_JSON, metrics)
    arrays = verified_bytes(model_dir, PORTABLE_NPZ, metrics)
    digest = "-".join(metrics["artifacts"][n] for n in (PORTABLE_JSON, PORTABLE_NPZ))
    return _ShippedModel(settings, arrays, digest)


def _partitions(
    source: Path, in_fmt: str, out_fmt: str, blocksize: int, parts_dir: Path
) -> list[_Part]:
    """The corpus cut into parts of about ``blocksize`` bytes (at least one part)."""

    def path(i: int) -> str:
        return str(parts_dir / f"part-{i:05d}.{out_fmt}")

    if in_fmt == "jsonl":
        size = source.stat().st_size
        starts = list(range(0, size, blocksize)) or [0]
        return [
            _Part(i, path(i), min(s + blocksize, size) - s, start=s, end=min(s + blocksize, size))
            for i, s in enumerate(starts)
        ]
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        with pq.ParquetFile(source) as parquet:
            meta = parquet.metadata
            groups = [meta.row_group(g) for g in range(meta.num_row_groups)]
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{source}: not valid Parquet ({' '.join(str(exc).split())})") from None
    runs: list[list[int]] = [[]]
    nbytes = 0
    for g, group in enumerate(groups):
        if runs[-1] and nbytes + group.total_byte_size > blocksize:
            runs.append([])
            nbytes = 0
        runs[-1].append(g)
        nbytes += group.total_byte_size
    parts, row = [], 0
    for i, run in enumerate(runs):
        rows = sum(groups[g].num_rows for g in run)
        parts.append(_Part(i, path(i), rows, groups=tuple(run), first_row=row))
        row += rows
    return parts


@contextlib.contextmanager
def _client(scheduler, timeout: float):
    """A client of ``scheduler`` (an address, or a ``distributed.Client`` used as it is) with
    at least one worker, as one error line if there is none."""
    if not isinstance(scheduler, str):
        yield scheduler
        return
    client = _connect(scheduler, timeout)
    try:
        try:
            client.wait_for_workers(1, timeout=timeout)
        except TimeoutError:
            raise TopictagError(
                f"{scheduler}: no worker joined the Dask scheduler within {timeout:g} s; "
                f"start some with: dask worker {scheduler}"
            ) from None
        except OSError as exc:  # the scheduler went away meanwhile
            raise TopictagError(
                f"{scheduler}: lost the Dask scheduler while waiting for a worker ({_brief(exc)})"
            ) from None
        yield client
    finally:
        client.close()


def _connect(scheduler: str, timeout: float):
    """A ``distributed.Client`` of ``scheduler``, or one error line. Made in a thread of its
    own and waited for ``timeout`` seconds and a few more: a server that takes the connection
    and never answers held the client's own constructor past its timeout (minutes). Any
    failure to build it (an address of a protocol it lacks: tls without certificates, ucx)
    is a line too, not a traceback."""
    import threading

    from distributed import Client

    made: dict = {}

    def connect() -> None:
        try:
            made["client"] = Client(scheduler, timeout=timeout, set_as_default=False)
        except Exception as exc:  # noqa: BLE001 - every way of failing is one line
            made["error"] = exc

    thread = threading.Thread(target=connect, name="topictag-dask-connect", daemon=True)
    thread.start()
    thread.join(timeout + 5.0)
    if thread.is_alive():
        raise TopictagError(
            f"{scheduler}: the Dask scheduler did not answer within {timeout:g} s "
            "(is it a Dask scheduler?)"
        )
    if "error" in made:
        _discard_half_built(made["error"], Client)
        raise TopictagError(
            f"{scheduler}: cannot reach the Dask scheduler ({_brief(made['error'])})"
        )
    return made["client"]


def _discard_half_built(exc: BaseException, client_type) -> None:
    """Stop the client a failed constructor left behind (found in the frames of ``exc``):
    garbage-collected as it is, it waits 60 s at exit to close a connection that never was,
    then prints a traceback."""
    tb = exc.__traceback__
    while tb is not None:
        client = tb.tb_frame.f_locals.get("self")
        if isinstance(client, client_type):
            client.status = "closed"  # what close() checks: nothing left to close
            with contextlib.suppress(Exception):
                client._loop_runner.stop()
        tb = tb.tb_next
    exc.__traceback__ = None


def _submit(client, job: _Job, parts: list[_Part], model_ref) -> list:
    """One tagging task per part. A JSON Lines part's first line number is a chain of small
    tasks: the number of the part before it plus the lines that part holds."""
    futures = []
    first_line: object = 1
    for part in parts:
        futures.append(client.submit(_tag_part, job, part, model_ref, first_line, pure=False))
        if job.in_fmt == "jsonl" and part is not parts[-1]:
            lines = client.submit(_count_lines, job.source, part.start, part.end, pure=False)
            first_line = client.submit(operator.add, first_line, lines, pure=False)
    return futures


def _collect(client, futures: list, parts: list[_Part], bar, report) -> None:
    """Hand each part's result to ``report`` in part order, as they come. The error of the
    earliest part that failed is raised (once the parts before it are done), and the later
    parts are cancelled as soon as a part fails: their results would be thrown away."""
    from distributed import KilledWorker, as_completed

    index = {future.key: i for i, future in enumerate(futures)}
    failed = len(futures)
    taken = 0
    for future in as_completed(futures, loop=client.loop):
        i = index[future.key]
        if future.status == "error" and i < failed:
            failed = i
            client.cancel(futures[i + 1 :])
        elif future.status == "finished":
            bar.update(parts[i].size)
        while taken < len(futures) and futures[taken].done():
            try:
                result = futures[taken].result()
            except KilledWorker:
                raise TopictagError(
                    f"the workers tagging part {taken + 1} of {len(futures)} died (killed, or "
                    "out of memory?); see the workers' logs"
                ) from None
            except CancelledError:
                raise TopictagError(
                    "the tasks were cancelled: the connection to the Dask scheduler was lost"
                ) from None
            except ImportError as exc:  # a worker without topictag
                raise TopictagError(
                    f"a worker cannot run topictag ({_brief(exc)}); install topictag "
                    f"{_version()} on every worker"
                ) from None
            report(result)
            taken += 1
        if taken == len(futures):
            return


def _join(parts: list[Path], target: Path, fmt: str) -> None:
    """The parts concatenated into ``target``, written under a temporary name and renamed when
    complete (through a link, as :func:`topictag.files.write_path` says)."""
    with _writing(target):
        target = write_path(target)
    tmp = temp_name(target)
    try:
        with _writing(target):
            if fmt == "jsonl":
                with open(tmp, "xb") as out:
                    for part in parts:
                        with open(part, "rb") as fh:
                            shutil.copyfileobj(fh, out, 1 << 20)
                    out.flush()
                    os.fsync(out.fileno())
            else:
                _join_parquet(parts, tmp)
                with open(tmp, "rb") as fh:
                    os.fsync(fh.fileno())
            keep_mode(tmp, target)
            os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(target.parent)


def _join_parquet(parts: list[Path], tmp: Path) -> None:
    """The row groups of every part, in order, in one file (all parts share one schema)."""
    import pyarrow.parquet as pq

    writer = None
    try:
        for part in parts:
            with pq.ParquetFile(part) as parquet:
                if writer is None:
                    writer = pq.ParquetWriter(tmp, parquet.schema_arrow)
                for group in range(parquet.num_row_groups):
                    writer.write_table(parquet.read_row_group(group))
    finally:
        if writer is not None:
            writer.close()


def _brief(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


# The workers ---------------------------------------------------------------------------------


def _tag_part(job: _Job, part: _Part, model, first_line: int) -> dict:
    """Tag one part of the corpus into its part file, with the readers, tagger and writers of
    local tagging; returns its counts and its first bad rows."""
    from topictag import compiled

    _check_version(job.version)
    compiled.SECOND_THREAD = False  # the cluster's other workers use the other CPUs
    tagger = _tagger(model, job.threshold)
    if tuple(tagger.topics) != job.topics:
        raise ModelError(
            f"the model on worker {_worker()} has the topics {', '.join(tagger.topics)}, "
            f"the client's {', '.join(job.topics)}"
        )
    source = Path(job.source)
    counts = {"rows": 0, "tagged": 0, "skipped": 0}
    errors: list[str] = []

    def bad(where: str, problem: str) -> None:
        message = f"{source}: {where}: {problem}"
        if job.on_error == "fail":
            raise InputError(message)
        counts["skipped"] += 1
        if len(errors) < MAX_REPORTED:
            errors.append(message)

    if job.in_fmt == "jsonl":
        chunks = _read_jsonl(
            source,
            job.text_field,
            bad,
            job.chunk_rows,
            start=part.start,
            end=part.end,
            first_line=first_line,
            check_field=False,  # the client checked the first object
        )
    else:
        chunks = _read_row_groups(
            source, job.text_field, bad, job.chunk_rows, part.groups, part.first_row
        )
    with (
        contextlib.closing(chunks),
        _output(Path(part.path), job.out_fmt, tagger.topics, str(source), job.schema) as writer,
    ):
        for chunk in chunks:
            results = tagger.tag_batch(chunk.texts)
            writer.write(chunk, results)
            counts["rows"] += chunk.read
            counts["tagged"] += len(results)
    return {**counts, "errors": errors}


def _count_lines(path: str, start: int, end: int) -> int:
    """How many lines begin in bytes ``[start, end)`` of the file (as
    :func:`topictag.batch.lines_in_range` splits it): one at byte 0 of a non-empty file, and
    one after each line break."""
    count = 0
    with open(path, "rb") as fh:
        if start == 0 and end > 0 and fh.read(1):
            count = 1
        low = max(start - 1, 0)
        fh.seek(low)
        remaining = end - 1 - low
        while remaining > 0:
            block = fh.read(min(remaining, 1 << 20))
            if not block:
                break
            count += block.count(b"\n")
            remaining -= len(block)
    return count


def _read_row_groups(
    path: Path,
    field: str,
    bad: Callable[[str, str], None],
    chunk_rows: int,
    groups: tuple[int, ...],
    first_row: int,
) -> Iterator[_Chunk]:
    """Chunks of the good rows of some row groups of a Parquet file (``first_row`` rows come
    before them), with the columns cast as ``datasets`` casts them for local tagging."""
    if not groups:
        return
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq
    from datasets.table import table_cast

    number = first_row
    try:
        with pq.ParquetFile(path, pre_buffer=False) as parquet:  # see batch._parquet_chunks
            schema = datasets.Features.from_arrow_schema(parquet.schema_arrow).arrow_schema
            for batch in parquet.iter_batches(batch_size=chunk_rows, row_groups=list(groups)):
                table = table_cast(pa.Table.from_batches([batch]), schema)
                yield from table_chunks(table, "parquet", field, bad, number)
                number += table.num_rows
    except (ValueError, pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: not valid Parquet ({' '.join(str(exc).split())})") from None


#: The shipped model of this worker process, by digest (one at a time).
_SHIPPED: dict = {}


def _tagger(model, threshold: float | None) -> Tagger:
    """This worker's tagger: the model loaded once per process (by its directory and the time
    its metrics changed, or by the shipped files' checksums)."""
    if isinstance(model, _ShippedModel):
        portable = _SHIPPED.get(model.digest)
        if portable is None:
            from topictag.artifact import read_npz
            from topictag.scorer import PortableModel

            try:
                settings = json.loads(model.settings.decode("utf-8"))
                portable = PortableModel(settings, read_npz(model.arrays))
            except (KeyError, ValueError, TypeError, OSError) as exc:
                raise ModelError(f"the shipped model is unreadable ({exc})") from None
            _SHIPPED.clear()
            _SHIPPED[model.digest] = portable
        return Tagger(portable, threshold)
    from topictag.artifact import read_metrics

    path = Path(model.path)
    if not path.is_dir():
        raise ModelError(
            f"{path}: no model directory on worker {_worker()}; make it readable at this path "
            "on every worker, or ship the model to them (--ship-model)"
        )
    artifacts = read_metrics(path)["artifacts"]
    if any(artifacts.get(name) != checksum for name, checksum in model.checksums):
        raise ModelError(
            f"{path}: the model on worker {_worker()} is not the client's (other checksums); "
            "give every worker the same model, or ship it to them (--ship-model)"
        )
    return Tagger.load(path, threshold)


@functools.lru_cache(maxsize=1)
def _version() -> str:
    import topictag

    return topictag.__version__


def _check_version(expected: str) -> None:
    if _version() != expected:
        raise TopictagError(
            f"worker {_worker()} runs topictag {_version()}, the client {expected}; install the "
            "same version on every worker"
        )


def _worker() -> str:
    """This worker's address, for messages."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):  # not in a worker (called directly)
        return "here"
