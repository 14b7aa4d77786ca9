"""Distributed tagging (topictag.distributed): a Dask scheduler and two workers on 127.0.0.1,
started as separate processes (`dask scheduler`, `dask worker`), write the file that local
tagging writes, report the same bad rows with the same numbers, and leave nothing behind."""

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ROOT, write_jsonl
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from topictag import ModelError, Tagger, TopictagError
from topictag.batch import lines_in_range, tag_corpus
from topictag.cli import app
from topictag.distributed import (
    _count_lines,
    _ModelPath,
    _ship,
    _tagger,
    tag_corpus_distributed,
)
from topictag.errors import InputError

pytest.importorskip("distributed")

#: Small parts and chunks, so that a corpus of a few dozen rows spans many of each.
SMALL = {"chunk_rows": 7}
JSONL_BLOCK = 3000


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-2000:] if path.exists() else ""


#: ``python -m dask ARGS...`` (``dask scheduler``, ``dask worker``) in a process that gets
#: SIGTERM when the test process dies, even by ``kill -9`` (Linux), so none is left running.
DASK = (
    "import runpy, sys\n"
    "from topictag.processes import die_with_parent\n"
    "die_with_parent(int(sys.argv.pop(1)))\n"
    "runpy.run_module('dask', run_name='__main__', alter_sys=True)\n"
)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, model_dir):
    """The address of a scheduler with two one-thread workers, each a separate process, on
    127.0.0.1; they are stopped when the module's tests are done."""
    from distributed import Client

    here = tmp_path_factory.mktemp("cluster")
    env = {**os.environ, "TOPICTAG_MODEL": str(model_dir)}
    processes = []

    def start(name: str, *args: str) -> None:
        log = open(here / f"{name}.log", "wb")  # noqa: SIM115 (closed at the end)
        command = [sys.executable, "-c", DASK, str(os.getpid()), *args]
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=here)
        processes.append((process, log))

    def logs() -> str:
        return "\n".join(_tail(here / f"{name}.log") for name in ("scheduler", "w1", "w2"))

    scheduler_file = here / "scheduler.json"
    local = ["--host", "127.0.0.1", "--no-dashboard"]
    try:
        start(
            "scheduler", "scheduler", *local, "--port", "0", "--scheduler-file", str(scheduler_file)
        )
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError, ValueError, KeyError):  # not (wholly) written yet
                address = json.loads(scheduler_file.read_text())["address"]
                break
            assert time.monotonic() < deadline, logs()
            time.sleep(0.1)
        assert address.startswith("tcp://127.0.0.1:"), address
        for name in ("w1", "w2"):
            start(name, "worker", address, "--name", name, *local, "--nthreads", "1",
                  "--no-nanny", "--local-directory", str(here / name))  # fmt: skip
        with Client(address, timeout=30, set_as_default=False) as client:
            try:
                client.wait_for_workers(2, timeout=30)
            except TimeoutError:
                pytest.fail(logs())
        yield address
    finally:  # the workers first: a worker that loses its scheduler lingers for 30 s
        for group in (processes[1:], processes[:1]):
            for process, _ in group:
                process.terminate()
            for process, log in group:
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                log.close()


@pytest.fixture(scope="module")
def rows(seed_rows) -> list[dict]:
    """Articles of one to three seed paragraphs, with a nested field, numbers, and a field
    null throughout the first chunk (text in a Parquet output)."""
    texts = [r["text"] for r in seed_rows]
    out = []
    for i in range(0, len(texts), 2):
        out.append({
            "id": f"a{i}", "text": "\n\n".join(texts[i : i + 1 + i % 3]), "n": i,
            "note": None if i < 20 else f"note {i}", "meta": {"source": seed_rows[i]["source"]},
        })  # fmt: skip
    out.append({"id": "blank", "text": " \n ", "n": -1, "note": None, "meta": {"source": "x"}})
    return out


def write_corpus(path: Path, rows: list) -> Path:
    """JSON Lines (with a BOM and a blank line, which count as local tagging counts them) or
    Parquet in row groups of five rows."""
    if path.suffix == ".parquet":
        pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=5)
        return path
    write_jsonl(path, rows[:3] + [""] + rows[3:])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    return path


def same_output(ours: Path, theirs: Path) -> None:
    if ours.suffix == ".jsonl":
        assert ours.read_bytes() == theirs.read_bytes()
    else:
        mine, local = pq.read_table(ours), pq.read_table(theirs)
        assert mine.schema == local.schema
        assert mine.to_pylist() == local.to_pylist()


def same_summary(ours: dict, theirs: dict) -> None:
    ignore = ("output", "seconds")
    assert {k: v for k, v in ours.items() if k not in ignore} == {
        k: v for k, v in theirs.items() if k not in ignore
    }


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize(
    ("source", "target", "ship_model"),
    [("jsonl", "jsonl", False), ("jsonl", "parquet", True), ("parquet", "parquet", False),
     ("parquet", "jsonl", True)],
)  # fmt: skip
def test_cluster_writes_the_file_local_tagging_writes(
    cluster, model_dir, rows, tmp_path, source, target, ship_model
):
    corpus = write_corpus(tmp_path / f"corpus.{source}", rows)
    local = tag_corpus(corpus, tmp_path / f"local.{target}", model=model_dir, **SMALL)
    out = tmp_path / f"out.{target}"
    blocksize = JSONL_BLOCK if source == "jsonl" else 1  # Parquet: one row group per part
    summary = tag_corpus_distributed(
        corpus, out, cluster, model=model_dir, ship_model=ship_model, blocksize=blocksize, **SMALL
    )
    same_output(out, tmp_path / f"local.{target}")
    same_summary(summary, local)
    assert summary["tagged"] == len(rows) and summary["output"] == str(out)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("target", ["jsonl", "parquet"])
def test_an_output_written_again_on_the_cluster_keeps_its_permissions(
    cluster, model_dir, rows, tmp_path, target
):
    corpus = write_corpus(tmp_path / "corpus.jsonl", rows)
    out = tmp_path / f"out.{target}"
    out.write_text("old")
    out.chmod(0o600)
    tag_corpus_distributed(corpus, out, cluster, model=model_dir, blocksize=JSONL_BLOCK, **SMALL)
    assert out.stat().st_mode & 0o7777 == 0o600


def corpus_with_bad_rows(path: Path, rows: list[dict]) -> Path:
    """Good rows with bad ones spread through the file, so through several parts."""
    lines = [json.dumps(r) for r in rows]
    lines.insert(30, json.dumps({"id": "null", "text": None}))
    lines.insert(21, "[1, 2]")
    lines.insert(12, '{"id": "cut", "text": "no end')
    lines.insert(5, json.dumps({"id": "number", "text": 7}))
    return write_jsonl(path, lines)


def test_skipped_rows_are_reported_in_order_with_their_line_numbers(
    cluster, model_dir, rows, tmp_path
):
    corpus = corpus_with_bad_rows(tmp_path / "corpus.jsonl", rows)
    local_warnings: list[str] = []
    local = tag_corpus(
        corpus, tmp_path / "local.parquet", model=model_dir, on_error="skip",
        warn=local_warnings.append, **SMALL,
    )  # fmt: skip
    warnings: list[str] = []
    summary = tag_corpus_distributed(
        corpus, tmp_path / "out.parquet", cluster, model=model_dir, on_error="skip",
        warn=warnings.append, blocksize=JSONL_BLOCK, **SMALL,
    )  # fmt: skip
    assert warnings == local_warnings and len(warnings) == 4
    assert "line 6: 'text' is int, not a string" in warnings[0]
    same_summary(summary, local)
    same_output(tmp_path / "out.parquet", tmp_path / "local.parquet")


def test_the_first_bad_row_stops_the_run_and_nothing_is_written(cluster, model_dir, rows, tmp_path):
    lines = [json.dumps(r) for r in rows]
    lines[40:40] = ['{"broken', json.dumps({"id": "x", "text": None})]
    lines.insert(25, json.dumps({"id": "late", "text": ["a list"]}))  # a part of its own
    corpus = write_jsonl(tmp_path / "corpus.jsonl", lines)
    with pytest.raises(InputError) as local:
        tag_corpus(corpus, tmp_path / "local.jsonl", model=model_dir, **SMALL)
    with pytest.raises(InputError) as ours:
        tag_corpus_distributed(
            corpus, tmp_path / "out.jsonl", cluster, model=model_dir, blocksize=JSONL_BLOCK
        )
    assert str(ours.value) == str(local.value)
    assert str(ours.value).endswith("line 26: 'text' is list, not a string")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.jsonl"]


def test_cli_tags_on_the_cluster(cluster, model_dir, rows, tmp_path):
    corpus = write_corpus(tmp_path / "corpus.jsonl", rows)
    tag_corpus(corpus, tmp_path / "local.parquet", model=model_dir)
    out = tmp_path / "out.parquet"
    args = ["tag", "--input", str(corpus), "--output", str(out), "--scheduler", cluster]
    result = CliRunner().invoke(app, [*args, "--model", str(model_dir)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tagged"] == len(rows)
    same_output(out, tmp_path / "local.parquet")


def test_readme_example_runs_on_the_cluster(cluster, use_model, rows, tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    (example,) = [b for b in blocks if "tag_corpus_distributed" in b]
    (address,) = set(re.findall(r'"(tcp://[^"]+)"', example))
    monkeypatch.chdir(tmp_path)
    write_corpus(tmp_path / "corpus.jsonl", rows)
    namespace: dict = {}
    exec(compile(example.replace(address, cluster), "README.md", "exec"), namespace)
    assert namespace["summary"]["tagged"] == len(rows)
    tag_corpus("corpus.jsonl", "local.parquet")
    same_output(tmp_path / "tagged.parquet", tmp_path / "local.parquet")


# Without a cluster ---------------------------------------------------------------------------


@given(
    data=st.lists(st.sampled_from([b"a", b"\n", b"xyz", b"\n\n", b"\xc3\xa9"]), max_size=30),
    blocksize=st.integers(1, 12),
)
def test_byte_ranges_split_a_file_into_its_lines(data, blocksize):
    """Consecutive ranges hold every line exactly once, and the count of each range's lines
    (which numbers the lines of the ranges after it) is the number of lines it holds."""
    content = b"".join(data)
    whole = list(io.BytesIO(content))
    ranges = [(s, min(s + blocksize, len(content))) for s in range(0, len(content), blocksize)]
    parts = [list(lines_in_range(io.BytesIO(content), s, e)) for s, e in ranges]
    assert [line for part in parts for line in part] == whole
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "corpus.jsonl"
        path.write_bytes(content)
        assert [_count_lines(str(path), s, e) for s, e in ranges] == [len(p) for p in parts]


def test_shipped_model_needs_no_model_directory(model_dir, tmp_path, seed_rows):
    import shutil

    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    shipped = _ship(copy)
    shutil.rmtree(copy)
    texts = [r["text"] for r in seed_rows[:10]]
    assert _tagger(shipped, 0.4).tag_batch(texts) == Tagger.load(model_dir, 0.4).tag_batch(texts)


def test_worker_refuses_a_model_that_is_not_the_clients(model_dir, tmp_path):
    other = _ModelPath(str(model_dir), (("portable.npz", "0" * 64),))
    with pytest.raises(ModelError, match="not the client's"):
        _tagger(other, None)
    with pytest.raises(ModelError, match="no model directory on worker"):
        _tagger(_ModelPath(str(tmp_path / "absent"), ()), None)


def test_csv_is_refused_before_any_connection(model_dir, tmp_path):
    corpus = tmp_path / "corpus.csv"
    corpus.write_text("id,text\n1,hello\n")
    with pytest.raises(InputError, match="CSV corpus cannot be split"):
        tag_corpus_distributed(corpus, tmp_path / "out.jsonl", "tcp://127.0.0.1:9", model=model_dir)


def test_unreachable_scheduler_is_one_error_and_leaves_nothing(model_dir, tmp_path):
    import socket

    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{sock.getsockname()[1]}"
    corpus = write_jsonl(tmp_path / "corpus.jsonl", [{"text": "Gas flows to Europe."}])
    with pytest.raises(TopictagError, match="cannot reach the Dask scheduler") as error:
        tag_corpus_distributed(corpus, tmp_path / "out.jsonl", address, model=model_dir, timeout=1)
    assert "\n" not in str(error.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.jsonl"]


def test_a_server_that_never_answers_is_one_error_after_the_timeout(model_dir, tmp_path):
    """It takes the connection and says nothing: the client's own constructor waited minutes
    past its timeout."""
    import socket
    import time

    corpus = write_jsonl(tmp_path / "corpus.jsonl", [{"text": "Gas flows to Europe."}])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        address = f"tcp://127.0.0.1:{sock.getsockname()[1]}"
        start = time.monotonic()
        with pytest.raises(TopictagError, match="did not answer within 1 s"):
            tag_corpus_distributed(
                corpus, tmp_path / "o.jsonl", address, model=model_dir, timeout=1
            )
    assert time.monotonic() - start < 30
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.jsonl"]


@pytest.mark.parametrize("address", ["tls://127.0.0.1:9", "nonsense"])
def test_an_address_the_client_cannot_use_is_one_error_at_once(model_dir, tmp_path, address):
    """A protocol it cannot use (tls without certificates) raised a TypeError, and the half-made
    client then held the exit for 60 s."""
    import time

    corpus = write_jsonl(tmp_path / "corpus.jsonl", [{"text": "Gas flows to Europe."}])
    start = time.monotonic()
    with pytest.raises(TopictagError, match=f"{address}: cannot reach the Dask scheduler"):
        tag_corpus_distributed(corpus, tmp_path / "o.jsonl", address, model=model_dir, timeout=1)
    assert time.monotonic() - start < 20


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--input", "c.jsonl", "--scheduler", "tcp://127.0.0.1:9"], "--output"),
        (["--input", "c.jsonl", "--output", "o.jsonl", "--scheduler", "tcp://127.0.0.1:9",
          "--num-proc", "2"], "--num-proc"),
        (["--input", "c.jsonl", "--output", "o.jsonl", "--ship-model"], "--ship-model"),
        (["x.txt", "--scheduler", "tcp://127.0.0.1:9"], "--scheduler"),
    ],
)  # fmt: skip
def test_cli_usage_errors(use_model, tmp_path, monkeypatch, args, named):
    monkeypatch.chdir(tmp_path)
    write_jsonl(tmp_path / "c.jsonl", [{"text": "Gas flows to Europe."}])
    result = CliRunner().invoke(app, ["tag", *args])
    assert result.exit_code == 2, result.output
    assert named in result.stderr and result.stderr.startswith("error: ")


def test_a_scheduler_lost_while_waiting_for_a_worker_is_one_error(monkeypatch):
    import topictag.distributed as distributed_module

    class Lost:
        closed = False

        def wait_for_workers(self, n, timeout):
            raise OSError("Timed out trying to connect to tcp://127.0.0.1:9 after 30 s")

        def close(self):
            self.closed = True

    lost = Lost()
    monkeypatch.setattr(distributed_module, "_connect", lambda scheduler, timeout: lost)
    with pytest.raises(TopictagError, match="lost the Dask scheduler while waiting for a worker"):
        with distributed_module._client("tcp://127.0.0.1:9", 1.0):
            pass
    assert lost.closed
