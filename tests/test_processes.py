"""Worker processes never outlive their run: ``kill -9`` of batch tagging or of training takes
the workers (and the resource tracker) with it, SIGTERM cleans up as Ctrl-C does, and the next
run removes the temporary file a killed run left."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import LABELS, SEEDS, write_jsonl

from topictag.batch import tag_corpus

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc (Linux)"
)


def children(pid: int) -> set[int]:
    """Every living descendant of ``pid``."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z":  # a zombie has exited; it waits for its parent to reap it
                parents[int(entry.name)] = int(fields[1])
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        for child, ppid in parents.items():
            if ppid == parent and child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pids: set[int]) -> set[int]:
    out = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            out.add(pid)
    return out


def wait_for(condition, timeout: float, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    return condition()


@contextlib.contextmanager
def running(args: list[str]):
    """``topictag ARGS`` in a process of its own; killed at the end if still there."""
    process = subprocess.Popen(
        [sys.executable, "-m", "topictag", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # a signal for it never reaches pytest
    )
    try:
        yield process
    finally:
        process.kill()
        process.wait()
        process.stderr.close()


def workers_started(process: subprocess.Popen, n: int = 2) -> set[int]:
    """The descendants of ``process`` once its ``n`` workers (plus the resource tracker) run."""
    found = wait_for(lambda: len(children(process.pid)) >= n + 1 and children(process.pid), 120)
    assert found, "the workers never started"
    return found


@pytest.fixture(scope="module")
def big_corpus(tmp_path_factory, seed_rows) -> Path:
    """A corpus that takes two workers a while: seed paragraphs, 30,000 rows."""
    texts = [r["text"] for r in seed_rows]
    rows = [{"id": i, "text": texts[i % len(texts)]} for i in range(30_000)]
    return write_jsonl(tmp_path_factory.mktemp("corpus") / "big.jsonl", rows)


def temporaries(directory: Path) -> list[Path]:
    return [p for p in directory.iterdir() if p.name.endswith(".tmp")]


def test_kill_9_during_batch_tagging_takes_the_workers_with_it(tmp_path, big_corpus, model_dir):
    target = tmp_path / "out.parquet"
    args = ["tag", "--input", str(big_corpus), "--output", str(target), "--num-proc", "2"]
    with running([*args, "--model", str(model_dir)]) as process:
        workers = workers_started(process)
        wait_for(lambda: temporaries(tmp_path), 30)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(30)
        assert wait_for(lambda: not alive(workers), 20), "workers outlived their parent"
    # The killed run's temporary file: removed by the next run once it is old enough.
    [left] = temporaries(tmp_path)
    hour_ago = time.time() - 3600
    os.utime(left, (hour_ago, hour_ago))
    small = write_jsonl(tmp_path / "small.jsonl", [{"text": "Gas flows via TANAP."}])
    tag_corpus(small, target, model=model_dir)
    assert temporaries(tmp_path) == [] and target.exists()


def _sigterm(pid: int) -> None:
    os.kill(pid, signal.SIGTERM)


def _hang_up(pid: int) -> None:
    """What a terminal does when it closes: SIGHUP to every process of its group."""
    os.killpg(pid, signal.SIGHUP)


@pytest.mark.parametrize(
    "send, code, message, delay",
    [
        (_sigterm, 143, "terminated", 0.0),
        (_sigterm, 143, "terminated", 0.04),
        (_sigterm, 143, "terminated", 0.12),
        (_hang_up, 129, "hung up", 0.0),
        (_hang_up, 129, "hung up", 0.1),
    ],
    ids=["SIGTERM at once", "SIGTERM soon", "SIGTERM later", "SIGHUP at once", "SIGHUP later"],
)
def test_sigterm_or_a_closed_terminal_during_batch_tagging_cleans_up_like_ctrl_c(
    tmp_path, big_corpus, model_dir, send, code, message, delay
):
    """At any moment (a worker being started, chunks in flight) the run ends with one line
    and exit code 128 + the signal: no traceback from a half-started worker or from the
    pool's exit hook. SIGHUP killed the parent outright, leaving its temporary file, and
    the resource tracker with it (a leaked-semaphore warning)."""
    target = tmp_path / "out.jsonl"
    args = ["tag", "--input", str(big_corpus), "--output", str(target), "--num-proc", "2"]
    with running([*args, "--model", str(model_dir)]) as process:
        wait_for(lambda: temporaries(tmp_path), 30)
        time.sleep(delay)
        workers = children(process.pid)
        send(process.pid)
        assert process.wait(30) == code
        assert process.stderr.read().decode().strip() == f"error: {message}"
        assert wait_for(lambda: not alive(workers), 20), "workers outlived their parent"
    assert temporaries(tmp_path) == [] and not target.exists()


@pytest.mark.parametrize("delay", [0.0, 0.02, 0.05, 0.1], ids=["at once", "2 ms", "5 ms", "10 ms"])
def test_ctrl_c_to_the_process_group_while_workers_start_is_one_line(
    tmp_path, big_corpus, model_dir, delay
):
    """A terminal sends Ctrl-C to every process of the group, workers still importing too: they
    printed a KeyboardInterrupt traceback each. Workers start with SIGINT blocked."""
    target = tmp_path / "out.jsonl"
    args = ["tag", "--input", str(big_corpus), "--output", str(target), "--num-proc", "2"]
    with running([*args, "--model", str(model_dir)]) as process:
        wait_for(lambda: temporaries(tmp_path), 30, step=0.005)
        time.sleep(delay)
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(30) == 130
        assert process.stderr.read().decode().strip() == "error: interrupted"
    assert temporaries(tmp_path) == [] and not target.exists()


def test_kill_9_during_cross_validation_takes_the_workers_with_it(tmp_path):
    labels = tmp_path / "labels"
    labels.mkdir()
    for name in ("topics.toml", "lexicon.toml", "seeds.jsonl"):
        (labels / name).write_bytes((LABELS / name).read_bytes())
    model = tmp_path / "model"
    args = ["train", "--labels", str(labels), "--seeds", str(SEEDS), "--model", str(model)]
    with running(args) as process:
        workers = workers_started(process)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(30)
        assert wait_for(lambda: not alive(workers), 20), "workers outlived their parent"


def test_a_pool_worker_started_by_a_script_without_a_main_guard_works(tmp_path, model_dir):
    """Workers do not run the calling script again (spawn would, and start workers of their
    own): a script without ``if __name__ == "__main__":`` works, as it did with joblib."""
    corpus = write_jsonl(tmp_path / "c.jsonl", [{"text": "Gas flows via TANAP."}] * 3)
    script = tmp_path / "script.py"
    script.write_text(
        "from topictag.batch import tag_corpus\n"
        f"s = tag_corpus({str(corpus)!r}, {str(tmp_path / 'o.jsonl')!r}, num_proc=2, "
        f"model={str(model_dir)!r}, chunk_rows=1)\n"
        "print(s['tagged'])\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, timeout=120)
    assert done.stdout.decode().strip() == "3", done.stderr.decode()[-2000:]
    rows = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert len(rows) == 3


#: A script that stops a pool while its worker is halfway through sending a large result: it
#: waits until this process has read 20 MB of the 400 MB (``/proc/self/io``), then stops it.
HALF_SENT = """
import time
from topictag.processes import stop_workers, worker_pool

def read_so_far():
    with open("/proc/self/io") as io:
        return next(int(line.split()[1]) for line in io if line.startswith("rchar:"))

pool = worker_pool(1)
pool.submit(len, "start").result()
before = read_so_far()
pool.submit(bytes, 400_000_000)
deadline = time.monotonic() + 60
while read_so_far() < before + 20_000_000 and time.monotonic() < deadline:
    time.sleep(0.001)
stop_workers(pool)
print("stopped")
"""


def test_a_worker_stopped_halfway_through_sending_its_result_does_not_hang_the_exit(tmp_path):
    """The pool's manager thread waited for the rest of the message for ever, and the exit hook
    of concurrent.futures waited for it: an interrupted ``tag --input`` hung at exit now and
    then, after a leaked-semaphore warning."""
    script = tmp_path / "half_sent.py"
    script.write_text(HALF_SENT)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, timeout=60)
    assert done.stdout.decode().strip() == "stopped"
    assert done.returncode == 0 and done.stderr.decode() == ""


def test_cross_validation_in_worker_processes_equals_one_process(labels_dir):
    from conftest import TEST_GRID

    from topictag import training
    from topictag.labels import load_labels
    from topictag.lexicon import load_lexicon
    from topictag.topics import load_topics

    topics = [t.name for t in load_topics(labels_dir)]
    data = load_labels(labels_dir, topics, SEEDS, warn=lambda m: None)
    lexicon = load_lexicon(labels_dir, topics)
    one = training.evaluate(data, lexicon, TEST_GRID, inner_folds=2, n_jobs=1, baselines=False)
    two = training.evaluate(data, lexicon, TEST_GRID, inner_folds=2, n_jobs=2, baselines=False)
    assert two == one


def test_a_signal_waits_for_the_step_whichever_thread_receives_it():
    """Python runs signal handlers in the main thread even when another thread got the
    signal: the step is still finished first, and the signal handled right after."""
    import threading

    from topictag.processes import signals_deferred

    finished = []
    with pytest.raises(KeyboardInterrupt):
        with signals_deferred():
            sender = threading.Thread(target=os.kill, args=(os.getpid(), signal.SIGINT))
            sender.start()
            sender.join()
            time.sleep(0.05)  # an unheld handler would have run by now
            finished.append(True)
    assert finished == [True]
