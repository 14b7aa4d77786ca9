"""topictag: tag English energy-geopolitics news with topics.

The public API. Importing it stays light (the standard library only): numpy is imported only
to score large batches, and the CLI, scikit-learn and datasets only by the functions that
need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from topictag import defaults
from topictag.errors import InputError, LabelError, ModelError, TopictagError

if TYPE_CHECKING:
    import os
    from collections.abc import Callable

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

#: Names loaded from their module on first use, so that ``import topictag`` (and the command,
#: which Ctrl-C may stop while it loads) does next to nothing.
_LAZY = {
    "Paragraph": "paragraphs",
    "split_paragraphs": "paragraphs",
    **dict.fromkeys(
        [
            "ArticleResult",
            "ParagraphResult",
            "Tagger",
            "load_model",
            "predict",
            "predict_scores",
            "tag_article",
            "tag_batch",
        ],
        "tagger",
    ),
}

__all__ = [
    "ArticleResult",
    "InputError",
    "LabelError",
    "ModelError",
    "Paragraph",
    "ParagraphResult",
    "Tagger",
    "TopictagError",
    "corpus_trends",
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
    """The public API's functions and classes, from their modules on first use; and
    ``__version__``, read from the installed metadata only when asked for (importing
    ``importlib.metadata`` costs as much as the rest of the package)."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f"topictag.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("topictag")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            return "0.0.0"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """The module's names with the ones loaded on first use, so that ``dir()`` and ``help()``
    list the whole API (help loads them to show their signatures)."""
    return sorted({*globals(), *_LAZY})


# The wrappers below have the signatures of the functions they call (a test keeps them equal),
# so help() and editors show the real arguments; the modules behind them load on first call.


def train(
    labels_dir: str | os.PathLike | None = None,
    seeds_dir: str | os.PathLike | None = None,
    model_dir: str | os.PathLike | None = None,
    grid: dict[str, list] | None = None,
    inner_folds: int = defaults.INNER_FOLDS,
    run_evaluation: bool = True,
    progress: Callable[[str], None] | None = None,
    n_jobs: int = defaults.N_JOBS,
    ablation: bool = True,
    use_lexicon: bool = True,
    use_furniture: bool = True,
) -> dict:
    """Train on ``labels_dir`` and ``seeds_dir``, evaluate, and write the model to
    ``model_dir``; returns its metrics. See :func:`topictag.training.train`."""
    from topictag.training import train as _train

    return _train(**_arguments(locals()))


def tag_corpus(
    input_path: str | os.PathLike,
    output_path: str | os.PathLike | None = None,
    *,
    text_field: str = "text",
    num_proc: int = 1,
    on_error: str = "fail",
    model: str | os.PathLike | None = None,
    threshold: float | None = None,
    progress: bool = True,
    chunk_rows: int = defaults.CHUNK_ROWS,
    warn: Callable[[str], None] | None = None,
) -> dict:
    """Tag every row of a JSON Lines, CSV or Parquet corpus into a JSON Lines or Parquet file
    (stdout when ``output_path`` is None); returns the summary. See
    :func:`topictag.batch.tag_corpus`."""
    from topictag.batch import tag_corpus as _tag_corpus

    return _tag_corpus(**_arguments(locals()))


def evaluate_file(
    path: str | os.PathLike,
    model: str | os.PathLike | None = None,
    threshold: float | None = None,
    errors: bool = False,
) -> dict:
    """Score a model on a labelled JSON Lines file; see
    :func:`topictag.evaluation.evaluate_file`."""
    from topictag.evaluation import evaluate_file as _evaluate_file

    return _evaluate_file(**_arguments(locals()))


def corpus_trends(
    path: str | os.PathLike,
    *,
    date_field: str = defaults.REPORT_DATE_FIELD,
    by: str = defaults.REPORT_BY,
    group_field: str | None = None,
    text_field: str = "text",
    top: int = defaults.REPORT_TOP_GROUPS,
    sample: int = defaults.REPORT_SAMPLE,
    model: str | os.PathLike | None = None,
    progress: bool = True,
    warn: Callable[[str], None] | None = None,
) -> dict:
    """The figures of ``topictag report`` on a tagged corpus: articles per topic and period,
    co-occurrence, groups, the terms that carried each topic; see
    :func:`topictag.trends.corpus_trends`."""
    from topictag.trends import corpus_trends as _corpus_trends

    return _corpus_trends(**_arguments(locals()))


def _arguments(given: dict) -> dict:
    """A wrapper's arguments, as keywords for the function it calls."""
    return {name: value for name, value in given.items() if not name.startswith("_")}
