"""Shared fixtures: a small model trained in a temporary directory from the real seed labels,
so no test depends on the committed model/."""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import pytest

from topictag.training import train

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
LABELS = ROOT / "labels"
#: Small settings so a test model trains in seconds.
TEST_GRID = {
    "C": [8.0],
    "furniture": [True],
    "lexicon": [True],
    "lexicon_scale": [0.25],
}  # the shipped design


@pytest.fixture(scope="session", autouse=True)
def _interruptible():
    """Ctrl-C as Python handles it, even when the tests run as a background job (``pytest &``
    from a script), which starts with SIGINT ignored and passes that on to every child: the
    tests of interrupts would then see none."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture(scope="session")
def labels_dir(tmp_path_factory) -> Path:
    """A copy of the topic file, lexicon and seed labels (not the authored corpus)."""
    out = tmp_path_factory.mktemp("labels")
    for name in ("topics.toml", "lexicon.toml", "seeds.jsonl"):
        shutil.copy(LABELS / name, out / name)
    return out


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory, labels_dir) -> Path:
    out = tmp_path_factory.mktemp("model") / "model"
    train(labels_dir, SEEDS, out, grid=TEST_GRID, inner_folds=2, run_evaluation=False)
    return out


@pytest.fixture
def use_model(monkeypatch, model_dir) -> Path:
    """Point $TOPICTAG_MODEL at the test model."""
    monkeypatch.setenv("TOPICTAG_MODEL", str(model_dir))
    return model_dir


@pytest.fixture(scope="session")
def seed_rows() -> list[dict]:
    with open(LABELS / "seeds.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


@pytest.fixture(scope="session")
def topics() -> list[str]:
    from topictag.topics import load_topics

    return [t.name for t in load_topics(LABELS)]


def write_jsonl(path: Path, rows: list) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write((row if isinstance(row, str) else json.dumps(row, ensure_ascii=False)) + "\n")
    return path


def homes(tmp_path: Path) -> dict[str, Path]:
    """Two home directories for a subprocess: ``empty`` (writable, to see what a run leaves in
    it) and ``unusable`` (under a regular file: nothing can be made there, as on a read-only
    home, which root's tests cannot otherwise make)."""
    (tmp_path / "a-file").write_text("")
    (tmp_path / "empty").mkdir()
    return {"empty": tmp_path / "empty", "unusable": tmp_path / "a-file" / "home"}


def env_with_home(home: Path) -> dict[str, str]:
    """The environment with ``home`` as HOME and no cache location of its own."""
    unset = ("HF_HOME", "HF_DATASETS_CACHE", "XDG_CACHE_HOME")
    return {**{k: v for k, v in os.environ.items() if k not in unset}, "HOME": str(home)}
