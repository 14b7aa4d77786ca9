"""The model directory: checksums are enforced and writes are atomic."""

import io
import json
import shutil
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import topictag.artifact as artifact
from topictag.artifact import load_pipeline, npz_bytes, read_metrics, read_npz
from topictag.errors import ModelError
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


def test_model_card_and_metrics_are_written(model_dir):
    metrics = read_metrics(model_dir)
    assert set(metrics["artifacts"]) == {"pipeline.joblib", "portable.json", "portable.npz"}
    assert "Limitations" in (model_dir / "MODEL_CARD.md").read_text()


def test_failed_write_leaves_the_previous_model_intact(monkeypatch, model_copy):
    before = {p.name: p.read_bytes() for p in model_copy.iterdir()}
    pipeline = load_pipeline(model_copy)
    metrics = read_metrics(model_copy)

    def boom(arrays):
        raise OSError("disk full")

    monkeypatch.setattr(artifact, "npz_bytes", boom)
    with pytest.raises(OSError, match="disk full"):
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
