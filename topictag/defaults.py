"""Every default path and setting, in one place.

Paths resolve as: explicit argument, then an environment variable, then the default below.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The installed package; a normal install puts the shipped model in ``PACKAGE_DIR/model``.
PACKAGE_DIR = Path(__file__).resolve().parent
#: The repository root when topictag runs from a checkout (editable install).
REPO_ROOT = PACKAGE_DIR.parent

MODEL_ENV = "TOPICTAG_MODEL"
LABELS_ENV = "TOPICTAG_LABELS"
SEEDS_ENV = "TOPICTAG_SEEDS"

#: Grid searched by grouped cross-validation inside every training fold.
#: ``C`` is the inverse regularisation of the logistic regressions; ``lexicon`` turns the
#: topic term-list features on or off. The lexicon is kept on: cross-validation on the
#: authored corpus cannot see its value (that text is easy), but on real articles it adds
#: about 0.1 macro F1; train.py measures this every time ("without_lexicon" in metrics.json).
DEFAULT_GRID: dict[str, list] = {"C": [1.0, 2.0, 4.0, 8.0], "lexicon": [True]}

#: Processes used for the evaluation folds.
N_JOBS = 2

#: Inner folds for choosing hyperparameters and thresholds.
INNER_FOLDS = 4

#: Candidate decision thresholds searched per topic.
THRESHOLD_GRID = tuple(round(0.05 * i, 2) for i in range(2, 19))

#: Paragraphs longer than this many characters are cut into pieces of at most this size,
#: so a file with no paragraph breaks is still tagged in bounded memory.
MAX_PARAGRAPH_CHARS = 20_000

#: A file or stdin larger than this is refused as one article (a 50 MB article takes over a
#: minute and 700 MB); corpora go through ``tag --input``, which streams. It also stops an
#: endless stream such as /dev/zero.
MAX_ARTICLE_BYTES = 32 * 1024 * 1024


def _resolve(
    explicit: str | os.PathLike | None, env: str, default: str, installed: bool = False
) -> Path:
    if explicit is not None:
        return Path(explicit)
    if os.environ.get(env):
        return Path(os.environ[env])
    local = Path(default)
    if local.exists():
        return local
    if installed and (PACKAGE_DIR / default).exists():
        return PACKAGE_DIR / default
    return REPO_ROOT / default


def model_dir(path: str | os.PathLike | None = None, installed: bool = True) -> Path:
    """The model directory: ``path``, else ``$TOPICTAG_MODEL``, else ``model/`` in the working
    directory, else the copy installed with the package (``topictag/model/``), else the
    source checkout's. Training passes ``installed=False``: it never writes into an install.
    """
    return _resolve(path, MODEL_ENV, "model", installed)


def labels_dir(path: str | os.PathLike | None = None) -> Path:
    """The labels directory: ``path``, else ``$TOPICTAG_LABELS``, else ``labels/``."""
    return _resolve(path, LABELS_ENV, "labels")


def seeds_dir(path: str | os.PathLike | None = None) -> Path:
    """The seed articles: ``path``, else ``$TOPICTAG_SEEDS``, else ``seeds/``."""
    return _resolve(path, SEEDS_ENV, "seeds")
