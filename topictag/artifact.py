"""Write and read the model directory.

``model/`` holds the fitted scikit-learn pipeline (``pipeline.joblib``), the same model in a
pickle-free form (``portable.json`` + ``portable.npz``, used by the tagger), ``metrics.json``
(figures, settings, and the sha256 of every artifact) and ``MODEL_CARD.md``.

Loading a joblib (pickle) file runs code from it, so nothing is loaded whose checksum differs
from the one recorded in ``metrics.json``. The directory is written to a temporary sibling and
swapped in, so an interrupted training leaves the previous model intact.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from topictag.errors import ModelError

PIPELINE = "pipeline.joblib"
PORTABLE_JSON = "portable.json"
PORTABLE_NPZ = "portable.npz"
METRICS = "metrics.json"
CARD = "MODEL_CARD.md"
FORMAT = 1
RETRAIN = "retrain with `python train.py`"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_write(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An ``.npz`` archive with fixed timestamps, so the same arrays give the same bytes."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(
                    member, np.ascontiguousarray(arrays[name]), allow_pickle=False
                )
    return buffer.getvalue()


def export_portable(
    pipeline, topics: Sequence[str], thresholds: Sequence[float], lexicon: dict | None = None
) -> tuple[dict, dict]:
    """The fitted pipeline as plain data: (JSON-able settings and vocabularies, numpy arrays).

    ``lexicon`` travels along even when the model does not use it, for the keyword baseline.
    """
    features = pipeline.named_steps["features"]
    classifier = pipeline.named_steps["classifier"]
    blocks, arrays = [], {}
    for name, transformer in features.transformer_list:
        if transformer == "drop":
            continue
        if hasattr(transformer, "vocabulary_"):
            vocab = [""] * len(transformer.vocabulary_)
            for term, index in transformer.vocabulary_.items():
                vocab[index] = term
            blocks.append(
                {
                    "name": name,
                    "kind": "tfidf",
                    "analyzer": transformer.analyzer,
                    "ngram_range": list(transformer.ngram_range),
                    "lowercase": bool(transformer.lowercase),
                    "token_pattern": transformer.token_pattern,
                    "sublinear_tf": bool(transformer.sublinear_tf),
                    "norm": transformer.norm,
                    "vocabulary": vocab,
                }
            )
            arrays[f"{name}.idf"] = np.asarray(transformer.idf_, dtype=np.float64)
        else:
            blocks.append(
                {
                    "name": name,
                    "kind": "lexicon",
                    "lexicon": transformer.lexicon or {},
                    "topics": list(transformer.topics_),
                }
            )
    coefs, intercepts = [], []
    n_features = sum(
        len(b["vocabulary"]) if b["kind"] == "tfidf" else len(b["topics"]) for b in blocks
    )
    for estimator in classifier.estimators_:
        if hasattr(estimator, "coef_"):
            coefs.append(np.asarray(estimator.coef_, dtype=np.float64).ravel())
            intercepts.append(float(np.ravel(estimator.intercept_)[0]))
        else:  # a topic with one class only in the training data: a constant predictor
            coefs.append(np.zeros(n_features))
            intercepts.append(30.0 if float(np.ravel(estimator.y_)[0]) > 0.5 else -30.0)
    arrays["coef"] = np.vstack(coefs)
    arrays["intercept"] = np.asarray(intercepts, dtype=np.float64)
    arrays["thresholds"] = np.asarray(thresholds, dtype=np.float64)
    settings = {
        "format": FORMAT,
        "topics": list(topics),
        "lexicon": lexicon or {},
        "blocks": blocks,
    }
    return settings, arrays


def write_model(
    model_dir: Path,
    pipeline,
    topics: Sequence[str],
    thresholds: Sequence[float],
    lexicon: dict,
    metrics: dict,
) -> dict:
    """Write every artifact to a temporary directory, then swap it in for ``model_dir``."""
    import io

    import joblib

    from topictag.card import model_card

    model_dir = Path(model_dir)
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{model_dir.name}.tmp-", dir=model_dir.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; a model directory is meant to be shared
    try:
        buffer = io.BytesIO()
        joblib.dump(pipeline, buffer)
        _fsync_write(tmp / PIPELINE, buffer.getvalue())
        settings, arrays = export_portable(pipeline, topics, thresholds, lexicon)
        _fsync_write(tmp / PORTABLE_JSON, json.dumps(settings, ensure_ascii=False).encode())
        _fsync_write(tmp / PORTABLE_NPZ, npz_bytes(arrays))
        metrics = dict(metrics)
        metrics["format"] = FORMAT
        metrics["artifacts"] = {
            name: sha256(tmp / name) for name in (PIPELINE, PORTABLE_JSON, PORTABLE_NPZ)
        }
        text = json.dumps(metrics, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
        _fsync_write(tmp / METRICS, text.encode())
        _fsync_write(tmp / CARD, model_card(metrics).encode())
        _swap_in(tmp, model_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return metrics


def _swap_in(tmp: Path, target: Path) -> None:
    """Replace ``target`` by ``tmp``; the old directory is kept until the new one is in place."""
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        os.replace(target, old)
    os.replace(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def read_metrics(model_dir: Path) -> dict:
    """``metrics.json`` of a model directory, with a one-line error if it is missing or broken."""
    model_dir = Path(model_dir)
    path = model_dir / METRICS
    if not model_dir.is_dir():
        raise ModelError(f"{model_dir}: no model directory; {RETRAIN}")
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: missing; {RETRAIN}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ModelError(f"{path}: not valid JSON (truncated?); {RETRAIN}") from None
    if not isinstance(metrics, dict) or not isinstance(metrics.get("artifacts"), dict):
        raise ModelError(f"{path}: no artifact checksums; {RETRAIN}")
    if metrics.get("format") != FORMAT:
        raise ModelError(
            f"{path}: model format {metrics.get('format')}, expected {FORMAT}; {RETRAIN}"
        )
    return metrics


def verified_path(model_dir: Path, name: str, metrics: dict) -> Path:
    """The path of an artifact whose sha256 matches the one in ``metrics.json``."""
    path = Path(model_dir) / name
    expected = metrics["artifacts"].get(name)
    if expected is None:
        raise ModelError(f"{path}: no checksum recorded in metrics.json; {RETRAIN}")
    try:
        actual = sha256(path)
    except FileNotFoundError:
        raise ModelError(f"{path}: missing; {RETRAIN}") from None
    if actual != expected:
        raise ModelError(
            f"{path}: checksum mismatch (file changed or truncated); refusing to load it; {RETRAIN}"
        )
    return path


def load_pipeline(model_dir: Path):
    """The scikit-learn pipeline, after checking its checksum (joblib runs code when loading)."""
    import joblib

    metrics = read_metrics(model_dir)
    path = verified_path(model_dir, PIPELINE, metrics)
    return joblib.load(path)
