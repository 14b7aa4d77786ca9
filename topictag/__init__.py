"""topictag: tag English energy-geopolitics news with topics.

The public API. Importing it stays light (the standard library only): numpy is imported only
to score large batches, and the CLI, scikit-learn and datasets only by the functions that
need them.
"""

from __future__ import annotations

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
    "tag_corpus",
    "train",
]


def __getattr__(name: str):
    """``__version__``, read from the installed metadata only when asked for (importing
    ``importlib.metadata`` costs as much as the rest of the package)."""
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("topictag")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            return "0.0.0"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def train(*args, **kwargs):
    """Train and evaluate a model; see :func:`topictag.training.train`."""
    from topictag.training import train as _train

    return _train(*args, **kwargs)


def tag_corpus(*args, **kwargs):
    """Tag every row of a JSON Lines, CSV or Parquet corpus into a JSON Lines or Parquet file;
    see :func:`topictag.batch.tag_corpus`."""
    from topictag.batch import tag_corpus as _tag_corpus

    return _tag_corpus(*args, **kwargs)


def evaluate_file(*args, **kwargs):
    """Score a model on a labelled JSON Lines file (see ``topictag.evaluation``)."""
    from topictag.evaluation import evaluate_file as _evaluate_file

    return _evaluate_file(*args, **kwargs)
