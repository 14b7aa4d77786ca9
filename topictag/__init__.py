"""topictag: tag English energy-geopolitics news with topics.

The public API. Importing it stays light (numpy only): the CLI, scikit-learn and datasets are
imported only by the functions that need them.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from topictag.errors import InputError, LabelError, ModelError, TopictagError
from topictag.paragraphs import Paragraph, split_paragraphs
from topictag.tagger import (
    ArticleResult,
    ParagraphResult,
    Tagger,
    load_model,
    predict,
    predict_scores,
    tag_article,
    tag_batch,
)

try:
    __version__ = version("topictag")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "ArticleResult",
    "InputError",
    "LabelError",
    "ModelError",
    "Paragraph",
    "ParagraphResult",
    "Tagger",
    "TopictagError",
    "evaluate_file",
    "load_model",
    "predict",
    "predict_scores",
    "split_paragraphs",
    "tag_article",
    "tag_batch",
    "train",
]


def train(*args, **kwargs):
    """Train and evaluate a model; see :func:`topictag.training.train`."""
    from topictag.training import train as _train

    return _train(*args, **kwargs)


def evaluate_file(*args, **kwargs):
    """Score a model on a labelled JSON Lines file (see ``topictag.evaluation``)."""
    from topictag.evaluation import evaluate_file as _evaluate_file

    return _evaluate_file(*args, **kwargs)
