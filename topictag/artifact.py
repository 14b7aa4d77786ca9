"""Write and read the model directory.

``model/`` holds the fitted scikit-learn pipeline (``pipeline.joblib``), the same model in a
pickle-free form (``portable.json`` + ``portable.npz``, used by the tagger), ``metrics.json``
(figures, settings, and the sha256 of every artifact) and ``MODEL_CARD.md``.

Loading a joblib (pickle) file runs code from it, so nothing is loaded whose checksum differs
from the one recorded in ``metrics.json``. The directory is written to a temporary sibling and
swapped in, so an interrupted training leaves the previous model intact.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import math
import os
import sys
import zipfile
import zlib
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from topictag.errors import ModelError, WriteError
from topictag.files import cannot_write, read_regular, remove_stale, temp_name, try_making

PIPELINE = "pipeline.joblib"
PORTABLE_JSON = "portable.json"
PORTABLE_NPZ = "portable.npz"
METRICS = "metrics.json"
CARD = "MODEL_CARD.md"
#: Everything a model directory holds: a training replaces a directory only if it holds
#: nothing else.
MODEL_FILES = frozenset({PIPELINE, PORTABLE_JSON, PORTABLE_NPZ, METRICS, CARD})
FORMAT = 1
RETRAIN = "retrain with `topictag train` (`python train.py` in a checkout)"


def _fsync_write(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def npz_bytes(arrays: dict) -> bytes:
    """An ``.npz`` archive with fixed timestamps, so the same arrays give the same bytes.

    Stored, not deflated: twice the size on disk, but some 20 ms less on every cold start.
    """
    import numpy as np

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(
                    member, np.ascontiguousarray(arrays[name]), allow_pickle=False
                )
    return buffer.getvalue()


def _width(block: dict) -> int:
    """How many feature columns a portable block has."""
    return len(block["vocabulary"]) if block["kind"] == "tfidf" else len(block["topics"])


def export_portable(
    pipeline,
    topics: Sequence[str],
    thresholds: Sequence[float],
    lexicon: dict | None = None,
    furniture: dict | None = None,
) -> tuple[dict, dict]:
    """The fitted pipeline as plain data: (JSON-able settings and vocabularies, numpy arrays).

    ``lexicon`` travels along even when the model does not use it, for the keyword baseline;
    ``furniture`` (``topictag.furniture.furniture_settings``) when the tagger is to give page
    furniture no topic, as training measured it.
    """
    import numpy as np

    features = pipeline.named_steps["features"]
    classifier = pipeline.named_steps["classifier"]
    blocks, arrays = [], {}
    scales = []  # (first column, width, factor) of each lexicon block scaled in the pipeline
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
            scale = float(getattr(transformer, "scale", 1.0))
            if scale != 1.0:
                start = sum(_width(b) for b in blocks)
                scales.append((start, len(transformer.topics_), scale))
            blocks.append(
                {
                    "name": name,
                    "kind": "lexicon",
                    "lexicon": transformer.lexicon or {},
                    "topics": list(transformer.topics_),
                }
            )
    coefs, intercepts = [], []
    n_features = sum(_width(b) for b in blocks)
    for estimator in classifier.estimators_:
        if hasattr(estimator, "coef_"):
            coefs.append(np.asarray(estimator.coef_, dtype=np.float64).ravel())
            intercepts.append(float(np.ravel(estimator.intercept_)[0]))
        else:  # a topic with one class only in the training data: a constant predictor
            coefs.append(np.zeros(n_features))
            intercepts.append(30.0 if float(np.ravel(estimator.y_)[0]) > 0.5 else -30.0)
    arrays["coef"] = np.vstack(coefs)
    for start, width, scale in scales:  # the portable lexicon block counts unscaled
        arrays["coef"][:, start : start + width] *= scale
    arrays["intercept"] = np.asarray(intercepts, dtype=np.float64)
    arrays["thresholds"] = np.asarray(thresholds, dtype=np.float64)
    settings = {
        "format": FORMAT,
        "topics": list(topics),
        "lexicon": lexicon or {},
        "blocks": blocks,
    }
    if "normalize" in pipeline.named_steps:  # the texts are normalised before any feature
        settings["normalize"] = pipeline.named_steps["normalize"].form
    if furniture:
        settings["furniture"] = furniture
    return settings, arrays


def write_model(
    model_dir: Path,
    pipeline,
    topics: Sequence[str],
    thresholds: Sequence[float],
    lexicon: dict,
    metrics: dict,
    furniture: dict | None = None,
) -> dict:
    """Write every artifact to a temporary directory, then swap it in for ``model_dir``;
    ``furniture`` as for :func:`export_portable`.

    A symbolic link as ``model_dir`` stays a link: the model is written where it points. A
    failed write (full disk, read-only file system) is one :class:`WriteError` and leaves the
    previous model as it was; temporary directories of killed runs are removed.
    """
    import shutil

    import joblib

    from topictag.card import model_card
    from topictag.pipeline import forget_memos

    model_dir = write_target(model_dir)
    remove_stale(model_dir)
    tmp = temp_name(model_dir)
    try:
        model_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir(0o755)
    except OSError as exc:
        raise WriteError(
            f"{cannot_write(model_dir, exc)}; the previous model is unchanged"
        ) from None
    try:
        buffer = io.BytesIO()
        joblib.dump(forget_memos(pipeline), buffer)  # scored since fitting: memos came back
        settings, arrays = export_portable(pipeline, topics, thresholds, lexicon, furniture)
        artifacts = {
            PIPELINE: buffer.getvalue(),
            PORTABLE_JSON: json.dumps(settings, ensure_ascii=False).encode(),
            PORTABLE_NPZ: npz_bytes(arrays),
        }
        for name, data in artifacts.items():
            _fsync_write(tmp / name, data)
        metrics = dict(metrics)
        metrics["format"] = FORMAT
        metrics["artifacts"] = {
            name: hashlib.sha256(data).hexdigest() for name, data in artifacts.items()
        }
        text = json.dumps(metrics, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
        _fsync_write(tmp / METRICS, text.encode())
        _fsync_write(tmp / CARD, model_card(metrics).encode())
        _swap_in(tmp, model_dir)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise WriteError(
            f"{cannot_write(model_dir, exc)}; the previous model is unchanged"
        ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return metrics


def write_target(model_dir: str | os.PathLike) -> Path:
    """Where a new model for ``model_dir`` goes: through a symbolic link to its target.
    Refused (:class:`ModelError`) when that is something other than a model directory: a
    file, or a directory holding anything but a model's files (the labels, the seeds, a
    project), which the swap would delete. Checked before training and again when writing."""
    model_dir = Path(model_dir)
    target = model_dir
    if model_dir.is_symlink():
        target = Path(os.path.realpath(model_dir))
        if target.exists() and not target.is_dir():
            raise ModelError(
                f"{model_dir}: a symbolic link to {target}, which is not a directory; "
                "point it at a model directory or give another --model"
            )
    elif model_dir.exists() and not model_dir.is_dir():
        raise ModelError(f"{model_dir}: exists and is not a directory; give another --model")
    try:
        foreign = sorted(set(os.listdir(target)) - MODEL_FILES) if target.is_dir() else []
    except OSError:  # unreadable: the write says so
        foreign = []
    if foreign:
        shown = ", ".join(foreign[:3]) + (
            f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        )
        raise ModelError(
            f"{model_dir}: holds files that are not a model's ({shown}), which writing a model "
            "there would delete; give a new or empty directory with --model"
        )
    return target


def check_writable(model_dir: str | os.PathLike) -> Path:
    """:func:`write_target`, and a trial of what writing it takes, before a long training: a
    working directory made and removed beside it (a read-only file system, no permission),
    and a target that is not a mount point (a mounted volume cannot be renamed)."""
    target = write_target(model_dir)
    if os.path.ismount(target):
        raise ModelError(
            f"{model_dir}: a mount point, which the model cannot replace (it is swapped in by "
            f"renaming); give a directory inside it, e.g. --model {Path(model_dir) / 'model'}"
        )
    try:
        try_making(target)  # in its nearest existing parent: training makes the rest
    except OSError as exc:
        raise WriteError(f"{cannot_write(model_dir, exc)}; nothing was trained") from None
    return target


def _swap_in(tmp: Path, target: Path) -> None:
    """Replace ``target`` by ``tmp``; the old directory is kept until the new one is in place.
    Swaps of the same target in other processes wait for this one (:func:`replacing`)."""
    import shutil

    from topictag.files import exchange, replacing
    from topictag.processes import signals_deferred

    old = None
    # One swap at a time (two trainings finishing together), and never a moment without a
    # model, not even on Ctrl-C or kill -9: the names are exchanged in one step where the
    # system can (Linux); elsewhere two renames leave a moment between them.
    with replacing(target), signals_deferred():
        if target.exists() and exchange(tmp, target):
            old = tmp  # the previous model, now under the temporary name
        else:
            if target.exists():
                old = temp_name(target, "old")
                os.replace(target, old)
            try:
                os.replace(tmp, target)
            except OSError:
                if old is not None:
                    os.replace(old, target)  # put the previous model back
                raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def read_metrics(model_dir: Path) -> dict:
    """``metrics.json`` of a model directory, with a one-line error if it is missing or broken."""
    model_dir = Path(model_dir)
    path = model_dir / METRICS
    if not model_dir.is_dir():
        raise ModelError(f"{model_dir}: no model directory; {RETRAIN}")
    try:
        metrics = json.loads(_read_model_file(path).decode("utf-8"))
    except FileNotFoundError:
        raise ModelError(
            f"{model_dir}: not a topictag model (no {METRICS}); give the model directory with "
            f"--model, or {RETRAIN}"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise ModelError(f"{path}: not valid JSON (truncated?); {RETRAIN}") from None
    if not isinstance(metrics, dict) or not isinstance(metrics.get("artifacts"), dict):
        raise ModelError(f"{path}: no artifact checksums; {RETRAIN}")
    if metrics.get("format") != FORMAT:
        raise ModelError(
            f"{path}: model format {metrics.get('format')}, expected {FORMAT}; {RETRAIN}"
        )
    return metrics


def _read_model_file(path: Path) -> bytes:
    """A model file's bytes; anything but a regular file (a directory, a FIFO that would wait
    forever, a link to /dev/zero that never ends) is one :class:`ModelError` line."""
    try:
        return read_regular(path)
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise ModelError(f"{path}: a directory, not a file; {RETRAIN}") from None
    except ValueError as exc:
        raise ModelError(f"{path}: {exc}; {RETRAIN}") from None
    except OSError as exc:
        raise ModelError(f"{path}: cannot read ({exc.strerror or exc})") from None


def verified_bytes(model_dir: Path, name: str, metrics: dict) -> bytes:
    """An artifact's content if its sha256 matches the one in ``metrics.json``. The bytes that
    were checked are the bytes used: the file is read once."""
    path = Path(model_dir) / name
    expected = metrics["artifacts"].get(name)
    if expected is None:
        raise ModelError(f"{path}: no checksum recorded in metrics.json; {RETRAIN}")
    try:
        data = _read_model_file(path)
    except FileNotFoundError:
        raise ModelError(f"{path}: missing; {RETRAIN}") from None
    if hashlib.sha256(data).hexdigest() != expected:
        raise ModelError(
            f"{path}: checksum mismatch (file changed or truncated); refusing to load it; {RETRAIN}"
        )
    return data


def thresholds_note(metrics: dict, used: dict[str, float]) -> str | None:
    """Why ``metrics.json``'s thresholds are not ``used``, those the tagger applies (stored in
    ``portable.npz``, under its checksum), or None when they agree. Editing metrics.json
    changes nothing: retrain, or give ``--threshold``."""
    stored = metrics.get("thresholds")
    if not isinstance(stored, dict):
        problem = "are missing"
    elif set(stored) != set(used):
        problem = "name other topics than the model's"
    elif not all(map(is_number, stored.values())):
        bad = next(t for t, v in stored.items() if not is_number(v))
        problem = f"are not all numbers ({bad!r}: {stored[bad]!r})"
    elif not all(abs(stored[t] - v) <= 1e-9 for t, v in used.items()):
        problem = "differ from the model's (edited?)"
    else:
        return None
    return (
        f"{METRICS}: the thresholds {problem}; shown are those the tagger uses, from "
        f"{PORTABLE_NPZ} (to change them, retrain or tag with --threshold)"
    )


def is_number(value) -> bool:
    """Whether a value read from JSON is a number (``true`` is not, though Python's bool is an
    int)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class Floats:
    """A float64 array without numpy: its shape and its values in C order.

    The tagger scores an article or two in plain Python from these, so that the command line
    does not wait for numpy's import (about 0.09 s, a third of its start-up).
    """

    shape: tuple[int, ...]
    values: array

    @classmethod
    def of(cls, data) -> Floats:
        """From a numpy array (or anything numpy takes), or a :class:`Floats` as it is."""
        if isinstance(data, Floats):
            return data
        import numpy as np

        data = np.ascontiguousarray(data, dtype=np.float64)
        values = array("d")
        values.frombytes(data.tobytes())
        return cls(tuple(data.shape), values)

    def numpy(self):
        """The same values as a numpy array (a view, no copy)."""
        import numpy as np

        return np.frombuffer(self.values, dtype=np.float64).reshape(self.shape)

    def rows(self) -> list[array]:
        """The rows of a 2-D array, each a flat ``array('d')``."""
        n, width = self.shape
        return [self.values[i * width : (i + 1) * width] for i in range(n)]


_NPY_MAGIC = b"\x93NUMPY"


def read_npz(data: bytes) -> dict[str, Floats]:
    """The arrays of an ``.npz`` archive, read without numpy and without pickle: every member
    must be a float64 array in C order, anything else is refused (``ValueError``)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return {
                info.filename.removesuffix(".npy"): _read_npy(archive.read(info))
                for info in archive.infolist()
            }
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise ValueError(f"not a readable .npz archive ({exc})") from None


def _read_npy(data: bytes) -> Floats:
    """One ``.npy`` member (format versions 1 to 3)."""
    if data[:6] != _NPY_MAGIC or data[6] not in (1, 2, 3):
        raise ValueError("not an .npy array")
    start = 10 if data[6] == 1 else 12
    end = start + int.from_bytes(data[8:start], "little")
    try:
        header = ast.literal_eval(data[start:end].decode("latin-1"))
        descr, fortran, shape = header["descr"], header["fortran_order"], tuple(header["shape"])
    except (SyntaxError, ValueError, KeyError, TypeError):
        raise ValueError("unreadable .npy header") from None
    if descr not in ("<f8", ">f8") or fortran:
        order = "Fortran" if fortran else "C"
        raise ValueError(f"expected float64 in C order, found {descr!r} in {order} order")
    values = array("d")
    values.frombytes(data[end:])
    if (descr == "<f8") != (sys.byteorder == "little"):
        values.byteswap()
    if len(values) != math.prod(shape):
        raise ValueError("array size does not match its shape")
    return Floats(shape, values)


def load_pipeline(model_dir: Path):
    """The scikit-learn pipeline, after checking its checksum (joblib runs code when loading)."""
    import joblib

    metrics = read_metrics(model_dir)
    return joblib.load(io.BytesIO(verified_bytes(model_dir, PIPELINE, metrics)))
