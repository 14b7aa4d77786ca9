"""The model directory: checksums are enforced and writes are atomic."""

import errno
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import topictag.artifact as artifact
from topictag.artifact import load_pipeline, npz_bytes, read_metrics, read_npz
from topictag.errors import ModelError, WriteError
from topictag.scorer import PortableModel


@pytest.fixture
def model_copy(tmp_path, model_dir):
    out = tmp_path / "model"
    shutil.copytree(model_dir, out)
    return out


@pytest.mark.parametrize("name", ["portable.npz", "portable.json", "pipeline.joblib"])
def test_tampered_artifact_is_refused(model_copy, name):
    path = model_copy / name
    path.write_bytes(path.read_bytes() + b"x")
    loader = load_pipeline if name == "pipeline.joblib" else PortableModel.load
    with pytest.raises(ModelError, match=f"{name}: checksum mismatch.*python train.py"):
        loader(model_copy)


def test_truncated_metrics_is_a_clear_error(model_copy):
    path = model_copy / "metrics.json"
    path.write_text(path.read_text()[:100])
    with pytest.raises(ModelError, match="metrics.json: not valid JSON"):
        PortableModel.load(model_copy)


def test_missing_model_directory(tmp_path):
    with pytest.raises(ModelError, match="no model directory"):
        PortableModel.load(tmp_path / "nowhere")


def test_a_directory_without_metrics_is_not_a_model(tmp_path):
    with pytest.raises(ModelError, match="not a topictag model \\(no metrics.json\\).*--model"):
        PortableModel.load(tmp_path)


def test_missing_artifact(model_copy):
    (model_copy / "portable.npz").unlink()
    with pytest.raises(ModelError, match="portable.npz: missing"):
        PortableModel.load(model_copy)


def test_a_model_scored_before_it_is_written_pickles_no_memory_address(model_dir, tmp_path):
    """Training scores the development set with the final pipeline before writing it, and
    scoring makes scikit-learn remember the address of its stop word list again."""
    import joblib

    from topictag.pipeline import predict_proba

    pipeline = load_pipeline(model_dir)
    predict_proba(pipeline, ["Gas flows through the pipeline."])
    assert "_stop_words_id" in vars(pipeline.named_steps["features"].transformer_list[0][1])
    metrics = read_metrics(model_dir)
    thresholds = [metrics["thresholds"][t] for t in metrics["topics"]]
    out = tmp_path / "model"
    artifact.write_model(out, pipeline, metrics["topics"], thresholds, {}, metrics)
    written = joblib.load(out / "pipeline.joblib")
    steps = [written, *written.get_params(deep=True).values()]
    assert [s for s in steps if "_stop_words_id" in getattr(s, "__dict__", {})] == []


def test_model_card_and_metrics_are_written(model_dir):
    metrics = read_metrics(model_dir)
    assert set(metrics["artifacts"]) == {"pipeline.joblib", "portable.json", "portable.npz"}
    assert "Limitations" in (model_dir / "MODEL_CARD.md").read_text()


def test_failed_write_leaves_the_previous_model_intact(monkeypatch, model_copy):
    before = {p.name: p.read_bytes() for p in model_copy.iterdir()}
    pipeline = load_pipeline(model_copy)
    metrics = read_metrics(model_copy)

    def boom(arrays):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(artifact, "npz_bytes", boom)
    with pytest.raises(WriteError, match="cannot write .No space.*previous model is unchanged"):
        artifact.write_model(
            model_copy,
            pipeline,
            metrics["topics"],
            list(metrics["thresholds"].values()),
            {},
            {k: v for k, v in metrics.items() if k not in ("artifacts", "format")},
        )
    assert {p.name: p.read_bytes() for p in model_copy.iterdir()} == before
    assert not [p for p in model_copy.parent.iterdir() if p.name.startswith(".model")]
    PortableModel.load(model_copy)


def test_two_models_swapped_in_at_once_both_land_whole_one_after_the_other(monkeypatch, tmp_path):
    """Two trainings that finish together: the second swap starts while the first has moved
    the old model aside (where names cannot be exchanged at once). Without a lock the first
    then finds the second's model in its place, fails with a wrong message and leaves the old
    directory behind."""
    import threading

    from topictag import files

    target = tmp_path / "model"
    for name in ("model", "a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "who").write_text(name)
    real_replace = os.replace
    moved_aside, second_done = threading.Event(), threading.Event()
    errors = []

    def replace(src, dst):
        real_replace(src, dst)
        if threading.current_thread().name == "first" and not moved_aside.is_set():
            moved_aside.set()
            second_done.wait(timeout=1.0)  # the second swap waits for this one instead

    def swap(source):
        try:
            artifact._swap_in(source, target)
        except Exception as exc:
            errors.append(exc)

    monkeypatch.setattr(artifact.os, "replace", replace)
    monkeypatch.setattr(files, "exchange", lambda a, b: False)  # the two-rename swap
    first = threading.Thread(target=swap, args=(tmp_path / "a",), name="first")
    first.start()
    assert moved_aside.wait(timeout=10)
    second = threading.Thread(target=swap, args=(tmp_path / "b",), name="second")
    second.start()
    second.join(timeout=1.5)
    second_done.set()
    first.join(timeout=10)
    second.join(timeout=10)
    assert errors == []
    assert (target / "who").read_text() == "b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def rewrite(model_dir, target=None):
    """Write the model of ``model_dir`` again, to ``target`` (default: in place)."""
    metrics = read_metrics(model_dir)
    return artifact.write_model(
        model_dir if target is None else target,
        load_pipeline(model_dir),
        metrics["topics"],
        list(metrics["thresholds"].values()),
        {},
        {k: v for k, v in metrics.items() if k not in ("artifacts", "format")},
    )


def test_a_model_directory_given_as_a_symbolic_link_is_written_where_it_points(model_copy):
    link = model_copy.parent / "current"
    link.symlink_to(model_copy.name)
    rewrite(model_copy, link)
    assert link.is_symlink() and os.readlink(link) == model_copy.name
    PortableModel.load(link)
    assert sorted(p.name for p in model_copy.parent.iterdir()) == ["current", "model"]


def test_a_link_to_a_file_or_a_file_as_the_model_directory_is_refused(model_copy, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "link").symlink_to("notes.txt")
    for target in (tmp_path / "link", tmp_path / "notes.txt"):
        with pytest.raises(ModelError, match="not a directory"):
            rewrite(model_copy, target)
    assert (tmp_path / "notes.txt").read_text() == "mine" and (tmp_path / "link").is_symlink()


def test_a_directory_that_holds_anything_but_a_model_is_never_written_over(model_copy, tmp_path):
    """The swap deletes what the directory held: labels, seeds or a project given as --model
    by mistake are refused, untouched. A model directory, an empty or a new one are fine."""
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "seeds.jsonl").write_text("{}\n")
    (labels / "topics.toml").write_text("")
    with pytest.raises(ModelError) as caught:
        rewrite(model_copy, labels)
    assert str(caught.value) == (
        f"{labels}: holds files that are not a model's (seeds.jsonl, topics.toml), which "
        "writing a model there would delete; give a new or empty directory with --model"
    )
    assert sorted(p.name for p in labels.iterdir()) == ["seeds.jsonl", "topics.toml"]
    (model_copy / ".git").mkdir()
    with pytest.raises(ModelError, match=r"\(\.git\)"):
        rewrite(model_copy)
    (model_copy / ".git").rmdir()
    for target in (model_copy, tmp_path / "empty", tmp_path / "new"):
        if target.name == "empty":
            target.mkdir()
        assert artifact.write_target(target) == target
        rewrite(model_copy, target)
        PortableModel.load(target)


def test_full_disk_when_creating_the_model_directory_is_one_error(monkeypatch, model_copy):
    def read_only(self, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(artifact.Path, "mkdir", read_only)
    with pytest.raises(WriteError, match="cannot write .Read-only file system"):
        rewrite(model_copy)


def test_a_killed_trainings_temporary_directory_is_removed_by_the_next(model_copy):
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], **PIPE)
    stale = model_copy.parent / f".model.{int(child.stdout)}-00ff00ff.tmp"
    stale.mkdir()
    os.utime(stale, (0, 0))
    rewrite(model_copy)
    assert not stale.exists()


PIPE = {"capture_output": True, "text": True, "timeout": 120}


def load_in_a_subprocess(model_dir) -> subprocess.CompletedProcess:
    """Load the model in a process of its own, with a time and memory limit: what a FIFO
    (waits forever) or /dev/zero (never ends) would do to the test run."""
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))\n"
        "from topictag.scorer import PortableModel\n"
        "from topictag.errors import ModelError\n"
        "try:\n"
        f"    PortableModel.load({str(model_dir)!r})\n"
        "except ModelError as exc:\n"
        "    sys.exit(f'error: {exc}')\n"
    )
    return subprocess.run([sys.executable, "-c", code], **PIPE)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="POSIX special files")
@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("portable.npz", "directory", "portable.npz: a directory, not a file"),
        ("portable.npz", "/dev/zero", "portable.npz: a device, not a file"),
        ("metrics.json", "fifo", "metrics.json: a FIFO (named pipe), not a regular file"),
        ("portable.json", "fifo", "portable.json: a FIFO (named pipe), not a regular file"),
    ],
)
def test_a_model_file_that_is_not_a_regular_file_is_one_error(model_copy, name, make, message):
    path = model_copy / name
    path.unlink()
    if make == "directory":
        path.mkdir()
    elif make == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(make)
    done = load_in_a_subprocess(model_copy)
    assert done.stderr.startswith("error: ") and len(done.stderr.splitlines()) == 1, done.stderr
    assert message in done.stderr and "retrain" in done.stderr


def test_thresholds_note_names_what_differs(model_copy):
    metrics = read_metrics(model_copy)
    used = dict(metrics["thresholds"])
    assert artifact.thresholds_note(metrics, used) is None
    edited = {**metrics, "thresholds": {**used, "gas": 0.1}}
    assert "differ from the model's" in artifact.thresholds_note(edited, used)
    text = {**metrics, "thresholds": {**used, "gas": "high"}}
    assert "not all numbers ('gas': 'high')" in artifact.thresholds_note(text, used)
    assert "missing" in artifact.thresholds_note({}, used)


def test_npz_bytes_are_reproducible_and_pickle_free(tmp_path):
    arrays = {"a": np.arange(3.0), "b": np.eye(2)}
    assert npz_bytes(arrays) == npz_bytes(arrays)
    path = tmp_path / "x.npz"
    path.write_bytes(npz_bytes(arrays))
    with np.load(path, allow_pickle=False) as npz:
        assert np.array_equal(npz["b"], np.eye(2))


def test_metrics_without_checksums_is_refused(model_copy):
    path = model_copy / "metrics.json"
    metrics = json.loads(path.read_text())
    del metrics["artifacts"]
    path.write_text(json.dumps(metrics))
    with pytest.raises(ModelError, match="no artifact checksums"):
        PortableModel.load(model_copy)


# Reading .npz without numpy ------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=2, min_side=0, max_side=6),
        elements=st.floats(allow_nan=False, width=64),
    )
)
def test_read_npz_gives_what_numpy_wrote(values):
    floats = read_npz(npz_bytes({"x": values}))["x"]
    assert floats.shape == values.shape
    assert floats.values.tolist() == values.ravel().tolist()
    assert np.array_equal(floats.numpy(), values)


def test_read_npz_reads_deflated_big_endian_and_version_2_members():
    """What other writers (np.savez_compressed, an older topictag) may produce."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("x.npy", "w") as member,
    ):
        np.lib.format.write_array(member, np.arange(4.0, dtype=">f8").reshape(2, 2), (2, 0))
    floats = read_npz(buffer.getvalue())["x"]
    assert floats.rows()[1].tolist() == [2.0, 3.0]


@pytest.mark.parametrize(
    "array",
    [np.arange(3), np.array(["gas"]), np.asfortranarray(np.eye(3)), np.array([{"a": 1}], object)],
    ids=["int", "str", "fortran", "object"],
)
def test_read_npz_refuses_anything_but_float64_in_c_order(array):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, archive.open("x.npy", "w") as member:
        np.lib.format.write_array(member, array, allow_pickle=True)
    with pytest.raises(ValueError, match="float64|header"):
        read_npz(buffer.getvalue())


@pytest.mark.parametrize("data", [b"", b"not a zip", npz_bytes({"x": np.ones(4)})[:-9]])
def test_read_npz_refuses_broken_archives(data):
    with pytest.raises(ValueError):
        read_npz(data)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux's")
def test_the_swap_exchanges_the_names_in_one_step(model_copy, model_dir, monkeypatch):
    """Two renames leave a moment with no model, which a kill -9 or a power cut can hit; on
    Linux the names are exchanged at once, so the model is never renamed away."""

    def no_rename(*args):
        raise AssertionError("the swap renamed instead of exchanging")

    monkeypatch.setattr(os, "replace", no_rename)
    rewrite(model_dir, model_copy)
    written = read_metrics(model_copy)["artifacts"]["pipeline.joblib"]
    assert written == read_metrics(model_dir)["artifacts"]["pipeline.joblib"]
    PortableModel.load(model_copy)
    assert [p.name for p in model_copy.parent.iterdir()] == ["model"]


def test_where_names_cannot_be_exchanged_two_renames_swap_the_model(model_copy, monkeypatch):
    from topictag import files

    monkeypatch.setattr(files, "exchange", lambda a, b: False)
    rewrite(model_copy)
    PortableModel.load(model_copy)
    assert [p.name for p in model_copy.parent.iterdir()] == ["model"]


def test_a_model_without_its_pickle_tags_as_the_whole_model_does(model_copy, model_dir, seed_rows):
    """The installed copy of the shipped model leaves out pipeline.joblib: tagging, batches
    (compiled kernels past 500,000 characters), info and evaluate never read it."""
    from typer.testing import CliRunner

    from topictag.cli import app
    from topictag.tagger import Tagger

    (model_copy / "pipeline.joblib").unlink()
    texts = [r["text"] for r in seed_rows] * 40
    assert sum(map(len, texts)) > 500_000
    assert Tagger.load(model_copy).tag_batch(texts) == Tagger.load(model_dir).tag_batch(texts)
    runner = CliRunner()
    assert (
        runner.invoke(app, ["info", "--model", str(model_copy), "--top-terms", "3"]).exit_code == 0
    )
    labelled = model_copy.parent / "rows.jsonl"
    labelled.write_text(json.dumps({"text": "Brent crude rose.", "labels": ["oil"]}) + "\n")
    assert (
        runner.invoke(app, ["evaluate", str(labelled), "--model", str(model_copy)]).exit_code == 0
    )
