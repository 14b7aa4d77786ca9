"""The model directory: checksums are enforced and writes are atomic."""

import json
import shutil

import numpy as np
import pytest

import topictag.artifact as artifact
from topictag.artifact import load_pipeline, npz_bytes, read_metrics
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
