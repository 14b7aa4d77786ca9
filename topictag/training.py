"""Train the model and measure it honestly: grouped by article, tuned inside training folds only.

Evaluations (all on real paragraphs; authored paragraphs are training data only):

- ``leave_one_article_out``: each real article is held out in turn; the model is trained on
  everything else (authored corpus and the other real articles).
- ``seeds_only``: the same folds, trained on the other real articles only, so the figures show
  what the authored corpus adds.
- ``authored_only``: trained on the authored corpus, tested on every real paragraph.
- ``baselines``: the lexicon as a keyword list, and predicting every topic everywhere.
- ``dev``: the final model on the development set (``labels/dev.jsonl``), which is written
  apart from the training rows and only ever reported, never used to fit or choose anything.

In every fold the hyperparameters and the per-topic thresholds are chosen by grouped
cross-validation inside that fold's training data.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import json
import platform
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.model_selection import GroupKFold

from topictag import defaults
from topictag.errors import LabelError
from topictag.furniture import compile_furniture, furniture_rows, furniture_settings
from topictag.labels import LabelledData, load_dev, load_labels
from topictag.lexicon import LEXICON_FILE, keyword_hits, load_lexicon
from topictag.metrics import binarize, choose_thresholds, macro_f1_interval, report
from topictag.normalize import NFKC_CF, NFKC_CF_ABBREV, normalize_all
from topictag.pipeline import (
    LexiconFeatures,
    build_classifier,
    build_features,
    build_pipeline,
    forget_memos,
    predict_proba,
)
from topictag.topics import load_topics

Progress = Callable[[str], None]


def _quiet(message: str) -> None:
    pass


@dataclass
class Fitted:
    """A pipeline fitted on all of its training data, with what was chosen for it."""

    pipeline: object
    params: dict
    thresholds: np.ndarray
    inner_macro_f1: float | None

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """(n, k) probabilities as the tagger gives them: the pipeline's, with page furniture
        at zero when the parameters say so."""
        return _furniture_zeroed(predict_proba(self.pipeline, texts), texts, self.params)


@functools.cache
def _furniture_rule():
    return compile_furniture(furniture_settings())


def _furniture_zeroed(scores: np.ndarray, texts: Sequence[str], params: dict) -> np.ndarray:
    """``scores`` with the rows of page furniture set to zero, if ``params["furniture"]``."""
    if not params.get("furniture"):
        return scores
    scores = scores.copy()
    scores[np.asarray(furniture_rows(texts, _furniture_rule()), dtype=bool)] = 0.0
    return scores


def expand_grid(grid: dict[str, list], has_lexicon: bool) -> list[dict]:
    """Every combination of the grid's values; lexicon settings collapse when there is none
    (a configuration without the lexicon has no ``lexicon_scale``)."""
    grid = dict(grid)
    if not has_lexicon:
        grid["lexicon"] = [False]
    keys = sorted(grid)
    out: list[dict] = []
    for values in itertools.product(*(grid[k] for k in keys)):
        params = dict(zip(keys, values))
        if not params.get("lexicon"):
            params.pop("lexicon_scale", None)
        if params not in out:
            out.append(params)
    return out


def _char_min_df(n_texts: int) -> int:
    return 2 if n_texts >= 50 else 1


@contextlib.contextmanager
def _constant_labels_expected():
    """A fold may hold no positive example of a rare topic; OneVsRestClassifier then predicts
    a constant for it and says so. That is expected inside small folds."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Label .* is present in all training examples")
        yield


def text_form(params: dict) -> str:
    """The text normalisation of a configuration: with the abbreviations written alike unless
    ``params["abbreviations"]`` is false (see ``topictag.normalize``)."""
    return NFKC_CF_ABBREV if params.get("abbreviations", True) else NFKC_CF


def _fit(texts, y, params, lexicon, topics):
    """The full pipeline for one configuration, fitted on ``texts``."""
    pipeline = build_pipeline(
        C=params["C"],
        normalize=text_form(params),
        lexicon=lexicon if params.get("lexicon") else None,
        topics=topics,
        char_min_df=_char_min_df(len(texts)),
        balanced=params.get("balanced", True),
        lexicon_scale=params.get("lexicon_scale", 1.0),
    )
    with _constant_labels_expected():
        pipeline.fit(list(texts), y)
    return forget_memos(pipeline)


def _fold_predictions(normal, lexicon_counts, y_train, train_idx, val_idx, configs):
    """Validation probabilities of every configuration for one inner fold.

    The same steps as :func:`_fit` then ``predict_proba``, with the text features fitted once
    per fold and text form instead of once per configuration (they depend on neither ``C``
    nor the lexicon's scale). ``normal`` and ``lexicon_counts`` map each form to all the
    texts so normalised and to their lexicon counts.
    """
    blocks: dict[str, tuple] = {}
    out = []
    with _constant_labels_expected():
        for params in configs:
            form = text_form(params)
            if form not in blocks:
                features = build_features(char_min_df=_char_min_df(len(train_idx)))
                blocks[form] = (
                    features.fit_transform(normal[form][train_idx]),
                    features.transform(normal[form][val_idx]),
                )
            a, b = blocks[form]
            if params.get("lexicon"):
                scale = params.get("lexicon_scale", 1.0)
                counts = lexicon_counts[form]
                a = sparse.hstack([a, counts[train_idx] * scale]).tocsr()
                b = sparse.hstack([b, counts[val_idx] * scale]).tocsr()
            classifier = build_classifier(params["C"], params.get("balanced", True))
            classifier = classifier.fit(a, y_train)
            out.append(np.asarray(classifier.predict_proba(b), dtype=np.float64))
    return out


def out_of_fold_scores(
    texts: Sequence[str],
    y: np.ndarray,
    groups: Sequence[str],
    topics: Sequence[str],
    lexicon: dict,
    configs: list[dict],
    inner_folds: int = defaults.INNER_FOLDS,
) -> list[np.ndarray]:
    """Each configuration's (n, k) probabilities for every row, from grouped cross-validation
    on these rows (each row scored by a fit without its article), with page furniture at zero
    where the configuration says so: what hyperparameters and thresholds are chosen on."""
    splitter = GroupKFold(n_splits=min(inner_folds, len(set(groups))))
    texts = np.asarray(texts, dtype=object)
    normal, lex = {}, {}  # each form of the grid -> the texts so normalised, their lexicon counts
    for form in {text_form(params) for params in configs}:
        normal[form] = np.asarray(normalize_all(texts, form), dtype=object)
        lex[form] = (
            LexiconFeatures(lexicon=lexicon, topics=topics).fit([]).transform(normal[form])
            if lexicon
            else np.zeros((len(texts), 0))
        )
    oof = [np.zeros(y.shape, dtype=np.float64) for _ in configs]
    for train_idx, val_idx in splitter.split(np.zeros(len(texts)), groups=groups):
        fold = _fold_predictions(normal, lex, y[train_idx], train_idx, val_idx, configs)
        for scores, predicted in zip(oof, fold):
            scores[val_idx] = predicted
    return [_furniture_zeroed(scores, texts, p) for scores, p in zip(oof, configs)]


def fit_selected(
    texts: Sequence[str],
    y: np.ndarray,
    groups: Sequence[str],
    topics: Sequence[str],
    lexicon: dict,
    grid: dict[str, list],
    inner_folds: int = defaults.INNER_FOLDS,
) -> Fitted:
    """Choose hyperparameters and thresholds by grouped CV on this data, then fit on all of it."""
    configs = expand_grid(grid, bool(lexicon))
    n_groups = len(set(groups))
    if n_groups < 2:
        params = configs[0]
        pipeline = _fit(texts, y, params, lexicon, topics)
        return Fitted(pipeline, params, np.full(len(topics), 0.5), None)
    oof = out_of_fold_scores(texts, y, groups, topics, lexicon, configs, inner_folds)
    results = threshold_results(y, oof, topics)
    best = best_setting(results)
    params, (thresholds, result) = configs[best], results[best]
    return Fitted(_fit(texts, y, params, lexicon, topics), params, thresholds, result["macro_f1"])


def threshold_results(
    y: np.ndarray, oof: list[np.ndarray], topics: Sequence[str]
) -> list[tuple[np.ndarray, dict]]:
    """For each setting's out-of-fold scores, the per-topic thresholds chosen on them and the
    figures (:func:`topictag.metrics.report`) those thresholds give."""
    out = []
    for scores in oof:
        thresholds = choose_thresholds(y, scores, defaults.THRESHOLD_GRID)
        out.append((thresholds, report(y, scores >= thresholds, topics)))
    return out


def best_setting(results: list[tuple[np.ndarray, dict]]) -> int:
    """The index of the setting with the highest macro F1; the first of a tie (within 1e-12),
    so a grid's order decides between equals."""
    best = 0
    for i, (_, result) in enumerate(results):
        if _defined(result["macro_f1"]) > _defined(results[best][1]["macro_f1"]) + 1e-12:
            best = i
    return best


def _defined(f1: float | None) -> float:
    """An F1 for comparisons: undefined (no topic in the data) counts as the lowest."""
    return -1.0 if f1 is None else f1


def _held_out_fold(texts, y, articles, train, test, topics, lexicon, grid, inner_folds):
    """Fit with selection on the ``train`` rows, return 0/1 predictions for the ``test`` rows."""
    fitted = fit_selected(
        texts[train], y[train], articles[train], topics, lexicon, grid, inner_folds
    )
    return fitted.scores(texts[test]) >= fitted.thresholds


def _grouped_predictions(
    data: LabelledData,
    y: np.ndarray,
    lexicon: dict,
    grid: dict[str, list],
    inner_folds: int,
    train_rows: Callable[[np.ndarray], np.ndarray],
    progress: Progress,
    name: str,
    n_jobs: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Hold out each real article in turn; return (test row indices, their 0/1 predictions).

    Folds run in ``n_jobs`` processes; results come back in fold order.
    """
    articles = np.asarray(data.articles, dtype=object)
    texts = np.asarray(data.texts, dtype=object)
    real = np.asarray(data.real)
    folds = []
    for article in sorted(set(articles[real])):
        train = train_rows(articles != article)
        if len(train):
            folds.append((article, train, np.flatnonzero(real & (articles == article))))
    if not folds:
        return np.zeros(0, dtype=int), np.zeros((0, y.shape[1]), dtype=bool)
    jobs = [
        (texts, y, articles, train, test, data.topics, lexicon, grid, inner_folds)
        for _, train, test in folds
    ]
    preds = []
    for k, pred in enumerate(_in_order(_held_out_fold, jobs, n_jobs), 1):
        article, train, _ = folds[k - 1]
        progress(
            f"{name}: fold {k}/{len(folds)} done (held out {article}, {len(train)} training rows)"
        )
        preds.append(pred)
    return np.concatenate([test for _, _, test in folds]), np.concatenate(preds)


#: The worker pool of the running :func:`train`, shared by all its evaluations.
_SHARED_POOL: list = []


@contextlib.contextmanager
def _fold_pool(n_jobs: int, share: bool = False):
    """Worker processes for evaluation folds (they die with this process, see
    ``topictag.processes``): the running training's shared pool, else a new one. An
    interruption (Ctrl-C, SIGTERM) or a failure stops the workers at once."""
    if _SHARED_POOL and not share:
        yield _SHARED_POOL[-1]
        return
    from topictag.processes import stop_workers, worker_pool

    executor = worker_pool(n_jobs)
    if share:
        _SHARED_POOL.append(executor)
    finished = False
    try:
        yield executor
        finished = True
    finally:
        if share:
            _SHARED_POOL.remove(executor)
        if finished:
            executor.shutdown()
        else:
            stop_workers(executor)


def _in_order(function: Callable, tasks: list[tuple], n_jobs: int) -> Iterator:
    """``function(*task)`` for each task, in order: in this process when ``n_jobs`` is 1, else
    in ``n_jobs`` worker processes."""
    if n_jobs <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield function(*task)
        return
    from concurrent.futures.process import BrokenProcessPool

    from topictag.errors import TopictagError

    with _fold_pool(n_jobs) as executor:
        futures = [executor.submit(function, *task) for task in tasks]
        try:
            for future in futures:
                yield future.result()
        except BrokenProcessPool:
            raise TopictagError(
                "a training worker process stopped unexpectedly (killed, or out of memory?)"
            ) from None


def keyword_predictions(texts: Sequence[str], lexicon: dict, topics: Sequence[str]) -> np.ndarray:
    """The keyword baseline: a topic whenever one of its lexicon terms occurs."""
    return np.array(keyword_hits(lexicon, topics, texts), dtype=bool).reshape(len(texts), -1)


def evaluate(
    data: LabelledData,
    lexicon: dict,
    grid: dict[str, list],
    inner_folds: int = defaults.INNER_FOLDS,
    progress: Progress = _quiet,
    n_jobs: int = 1,
    baselines: bool = True,
    seeds_only: bool = True,
) -> dict:
    """Every honest figure for this data: see the module docstring. ``baselines=False`` and
    ``seeds_only=False`` leave those comparisons out (an ablation needs neither)."""
    topics = data.topics
    y = binarize(data.labels, topics)
    real = np.asarray(data.real)
    authored = ~real
    out: dict = {}

    def held_out(name, train_rows, rows_too=False):
        rows, pred = _grouped_predictions(
            data, y, lexicon, grid, inner_folds, train_rows, progress, name, n_jobs
        )
        result = report(y[rows], pred, topics)
        result["macro_f1_interval_95"] = macro_f1_interval(y[rows], pred)
        if rows_too:
            result["predictions"] = predicted_topics([data.ids[r] for r in rows], pred, topics)
        return result

    n_real = len(set(np.asarray(data.articles)[real]))
    if n_real >= 2:
        out["leave_one_article_out"] = held_out("leave one article out", np.flatnonzero, True)
        if authored.any() and seeds_only:
            out["seeds_only"] = held_out("seeds only", lambda keep: np.flatnonzero(keep & real))
    if authored.any() and real.any():
        progress("authored only -> real articles")
        texts = np.asarray(data.texts, dtype=object)
        articles = np.asarray(data.articles, dtype=object)
        pred = _held_out_fold(
            texts,
            y,
            articles,
            np.flatnonzero(authored),
            np.flatnonzero(real),
            topics,
            lexicon,
            grid,
            inner_folds,
        )
        out["authored_only"] = report(y[real], pred, topics)
    if baselines and real.any():
        real_texts = [t for t, r in zip(data.texts, real) if r]
        out["baselines"] = {
            "all_topics": report(y[real], np.ones_like(y[real], dtype=bool), topics),
        }
        if lexicon:
            out["baselines"]["keywords"] = report(
                y[real], keyword_predictions(real_texts, lexicon, topics), topics
            )
    if n_real < 2 and baselines:
        out["not_measured"] = (
            "the model is not measured: holding one real article out needs rows of at least "
            f"two real (not authored) articles, and there {'is' if n_real == 1 else 'are'} "
            f"{n_real}"
        )
    return out


def predicted_topics(ids: Sequence[str], pred: np.ndarray, topics: Sequence[str]) -> dict:
    """Row id -> the topics predicted for it (held out), so the next training can name the
    rows whose answer changed (:func:`changed_rows`)."""
    return {i: [t for t, on in zip(topics, row) if on] for i, row in zip(ids, pred.tolist())}


def changed_rows(before: dict, after: dict, gold: dict) -> dict:
    """The held-out answers that changed between two trainings, against the labels now:
    ``{"fixed": [...], "broken": [...]}``, each item ``"ROW_ID: topic"`` (a topic now right
    that was wrong, or the reverse). ``before`` and ``after`` map row ids to predicted
    topics (:func:`predicted_topics`), ``gold`` to labels; rows missing from either
    training are left out."""
    fixed, broken = [], []
    for row in sorted(set(before) & set(after) & set(gold)):
        for topic in sorted(set(before[row]) ^ set(after[row])):
            right_now = (topic in after[row]) == (topic in gold[row])
            (fixed if right_now else broken).append(f"{row}: {topic}")
    return {"fixed": fixed, "broken": broken}


def ablation_grids(grid: dict[str, list], has_lexicon: bool) -> dict[str, dict[str, list]]:
    """The grid of each ablation that applies to ``grid``: without the lexicon, with the
    lexicon at full scale when the grid offers smaller scales, without the page furniture
    rule when the grid has it, and with abbreviations as written when the grid writes them
    alike."""
    out = {}
    if has_lexicon and any(grid.get("lexicon", [])):
        out["without_lexicon"] = {**grid, "lexicon": [False]}
        if set(grid.get("lexicon_scale", [1.0])) != {1.0}:
            out["lexicon_unscaled"] = {**grid, "lexicon": [True], "lexicon_scale": [1.0]}
    if any(grid.get("furniture", [])):
        out["without_furniture_rule"] = {**grid, "furniture": [False]}
    if any(grid.get("abbreviations", [])):
        out["abbreviations_as_written"] = {**grid, "abbreviations": [False]}
    return out


def _f1_summary(result: dict) -> dict:
    return {
        "macro_f1": result["macro_f1"],
        "micro_f1": result["micro_f1"],
        "f1": {t: v["f1"] for t, v in result["per_topic"].items()},
    }


def ablation_figures(
    data: LabelledData,
    dev: LabelledData | None,
    lexicon: dict,
    grid: dict[str, list],
    inner_folds: int,
    progress: Progress,
    n_jobs: int,
) -> dict:
    """The model's own evaluations (and the development set's figures, with its false
    alarms) for one ablation's ``grid``, so what each design choice is worth is on record."""
    if not any(grid.get("lexicon", [])):
        lexicon = {}
    out = {
        name: _f1_summary(r)
        for name, r in evaluate(
            data, lexicon, grid, inner_folds, progress, n_jobs, baselines=False, seeds_only=False
        ).items()
    }
    if dev is not None:
        y = binarize(data.labels, data.topics)
        fitted = fit_selected(data.texts, y, data.articles, data.topics, lexicon, grid, inner_folds)
        figures = held_apart(fitted, dev, lexicon, baselines=False)
        out["dev"] = {**_f1_summary(figures), "false_alarms": figures["false_alarms"]}
    return out


def held_apart(fitted: Fitted, data: LabelledData, lexicon: dict, baselines: bool = True) -> dict:
    """A fitted model's figures on rows it never saw (the development set), with how many
    paragraphs labelled with no topic it tags anyway (``false_alarms``)."""
    topics = data.topics
    y = binarize(data.labels, topics)
    pred = fitted.scores(data.texts) >= fitted.thresholds
    out = report(y, pred, topics)
    out["macro_f1_interval_95"] = macro_f1_interval(y, pred)
    none = ~y.any(axis=1)
    out["no_topic_rows"] = int(none.sum())
    out["false_alarms"] = int(pred[none].any(axis=1).sum())
    if baselines and lexicon:
        out["baselines"] = {
            "keywords": report(y, keyword_predictions(data.texts, lexicon, topics), topics)
        }
    return out


def _dev_summary(dev: LabelledData) -> dict:
    counts = Counter(t for labels in dev.labels for t in labels)
    return {
        "file": dev.files[0],
        "rows": len(dev),
        "articles": len(set(dev.articles)),
        "label_counts": {t: counts.get(t, 0) for t in dev.topics},
        "rows_without_topic": sum(1 for labels in dev.labels if not labels),
    }


def data_summary(data: LabelledData, lexicon: dict) -> dict:
    """Counts and a content hash of the training data (no timestamps: same data, same file)."""
    digest = hashlib.sha256()
    for row in zip(data.ids, data.articles, data.texts, data.labels, data.sources):
        digest.update(json.dumps(row, ensure_ascii=False, sort_keys=True).encode())
    digest.update(json.dumps([data.topics, lexicon], sort_keys=True).encode())

    def counts(keep):
        c = Counter(t for labels, k in zip(data.labels, keep) if k for t in labels)
        return {t: c.get(t, 0) for t in data.topics}

    real = data.real
    return {
        "files": data.files,
        "rows": len(data),
        "real_rows": sum(real),
        "authored_rows": len(data) - sum(real),
        "real_articles": len({a for a, r in zip(data.articles, real) if r}),
        "label_counts": {
            "real": counts(real),
            "authored": counts([not r for r in real]),
        },
        "rows_without_topic": sum(1 for labels in data.labels if not labels),
        "sha256": digest.hexdigest(),
    }


def versions() -> dict:
    import joblib
    import sklearn

    from topictag import __version__

    return {
        "topictag": __version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "joblib": joblib.__version__,
        "python": platform.python_version(),
    }


def earlier_evaluation(model_dir: Path) -> tuple[dict, dict | None]:
    """The figures of the model now in ``model_dir``, for a training that skips the evaluation
    (``--no-evaluate``) to keep instead of writing none: ``(evaluation, stale)``, where
    ``stale`` records what the figures were measured on. ``({}, None)`` without figures."""
    try:
        old = json.loads((Path(model_dir) / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}, None
    if not isinstance(old, dict) or not isinstance(old.get("evaluation"), dict):
        return {}, None
    if not old["evaluation"]:
        return {}, None
    stale = old.get("evaluation_stale") or {  # figures already stale keep their origin
        "data_sha256": (old.get("data") or {}).get("sha256"),
        "params": old.get("params"),
        "note": "measured by an earlier training, not on this model; kept by a training "
        "without evaluation",
    }
    return old["evaluation"], stale


def since_previous_model(held_out: dict, model_dir: Path, data: LabelledData) -> dict:
    """``{"since_previous_model": {...}}``: the leave-one-article-out figure of the model in
    ``model_dir`` (the one this training replaces) and the rows whose answer changed
    (:func:`changed_rows`); ``{}`` when that model recorded no held-out answers."""
    previous = earlier_evaluation(model_dir)[0].get("leave_one_article_out")
    if not isinstance(previous, dict) or not isinstance(previous.get("predictions"), dict):
        return {}
    topics = data.topics
    before = {  # a topic since removed from topics.toml is no answer to compare
        i: [t for t in v if t in topics]
        for i, v in previous["predictions"].items()
        if isinstance(v, list)
    }
    after = held_out["predictions"]
    gold = {i: list(labels) for i, labels in zip(data.ids, data.labels)}
    changes = changed_rows(before, after, gold)
    both = sorted(set(before) & set(after) & set(gold))
    difference = macro_f1_interval(
        binarize([gold[i] for i in both], topics),
        binarize([after[i] for i in both], topics),
        baseline=binarize([before[i] for i in both], topics),
    )
    return {
        "since_previous_model": {
            "macro_f1": previous.get("macro_f1"),
            **changes,
            "difference_interval_95": difference,
        }
    }


def selection_note(grid: dict[str, list]) -> str:
    """What ``metrics.json`` says of how the settings were chosen: a setting given as one
    value was fixed by the user, not chosen."""
    fixed = sorted(k for k, values in grid.items() if len(values) == 1)
    chosen = "chosen by grouped (by article) cross-validation on the training data"
    if not fixed or fixed == sorted(grid):
        return chosen if not fixed else f"thresholds {chosen}; every other setting fixed"
    return f"{chosen}; fixed (one value in the grid): {', '.join(fixed)}"


def train(
    labels_dir: str | Path | None = None,
    seeds_dir: str | Path | None = None,
    model_dir: str | Path | None = None,
    grid: dict[str, list] | None = None,
    inner_folds: int = defaults.INNER_FOLDS,
    run_evaluation: bool = True,
    progress: Progress | None = None,
    n_jobs: int = defaults.N_JOBS,
    ablation: bool = True,
    use_lexicon: bool = True,
    use_furniture: bool = True,
) -> dict:
    """Train on every labelled paragraph, evaluate, and write the model to ``model_dir``.

    The lexicon (``labels/lexicon.toml``) is worth 0.01 to 0.09 macro F1 (``without_lexicon``
    in metrics.json), so without it training stops (:class:`LabelError`) unless
    ``use_lexicon=False``, which trains without lexicon features (a lexicon that is there still
    gives the keyword baseline). ``use_furniture=False``
    trains a model that scores page furniture as text (see ``topictag.furniture``), for labels
    that give such lines topics.

    ``run_evaluation=False`` skips the evaluation: the figures of the model it replaces are
    kept, marked stale (``evaluation_stale``: the data hash and parameters they were measured
    with). Returns the metrics written to ``model_dir/metrics.json``.
    """
    from topictag.artifact import check_writable, write_model

    progress = progress or _quiet
    labels_path = defaults.labels_dir(labels_dir)
    seeds_path = defaults.seeds_dir(seeds_dir)
    if seeds_dir is not None and not seeds_path.is_dir():  # a typo would skip the seed checks
        raise LabelError(f"{seeds_dir}: no such directory of seed articles")
    model_path = defaults.model_dir(model_dir, installed=False)
    check_writable(model_path)  # before hours of training, not after
    grid = grid if grid is not None else defaults.DEFAULT_GRID

    topics = [t.name for t in load_topics(labels_path)]
    lexicon = load_lexicon(labels_path, topics)
    progress(f"loading labels from {labels_path}")
    data = load_labels(labels_path, topics, seeds_path, warn=lambda m: progress(f"warning: {m}"))
    dev = load_dev(labels_path, topics, data)
    if not use_lexicon:
        grid, ablation = {**grid, "lexicon": [False]}, False
    elif not lexicon and any(grid.get("lexicon", [])):
        raise LabelError(
            f"{labels_path / LEXICON_FILE}: missing or without terms; its term counts are worth "
            "0.01 to 0.09 macro F1: restore it, or train without it with --no-lexicon"
        )
    if not use_furniture:
        grid = {**grid, "furniture": [False]}

    evaluation: dict = {}
    if run_evaluation:
        with contextlib.ExitStack() as stack:
            if n_jobs > 1:  # one set of worker processes for every evaluation
                stack.enter_context(_fold_pool(n_jobs, share=True))
            evaluation = evaluate(data, lexicon, grid, inner_folds, progress, n_jobs)
            ablations = ablation_grids(grid, bool(lexicon)) if ablation else {}
            for name, variant in ablations.items():
                evaluation[name] = ablation_figures(
                    data,
                    dev,
                    lexicon,
                    variant,
                    inner_folds,
                    lambda m, name=name: progress(f"{name.replace('_', ' ')}: {m}"),
                    n_jobs,
                )
    if "leave_one_article_out" in evaluation:
        evaluation["leave_one_article_out"].update(
            since_previous_model(evaluation["leave_one_article_out"], model_path, data)
        )
    progress("fitting the final model on all labelled paragraphs")
    y = binarize(data.labels, topics)
    fitted = fit_selected(data.texts, y, data.articles, topics, lexicon, grid, inner_folds)
    if run_evaluation and dev is not None:
        progress(f"scoring the development set ({len(dev)} paragraphs; reported, never used)")
        evaluation["dev"] = held_apart(fitted, dev, lexicon)
    metrics = {
        "topics": topics,
        "thresholds": {t: float(v) for t, v in zip(topics, fitted.thresholds)},
        "params": {k: fitted.params[k] for k in sorted(fitted.params)},
        "selection": {
            "grid": grid,
            "inner_folds": inner_folds,
            "inner_macro_f1": fitted.inner_macro_f1,
            "note": selection_note(grid),
        },
        "evaluation": evaluation,
        "data": data_summary(data, lexicon),
        "versions": versions(),
    }
    if dev is not None:
        metrics["data"]["dev"] = _dev_summary(dev)
    if not run_evaluation:
        metrics["evaluation"], stale = earlier_evaluation(model_path)
        if stale:
            metrics["evaluation_stale"] = stale
            progress("no evaluation: the figures of the previous model are kept, marked stale")
    progress(f"writing {model_path}")
    furniture = furniture_settings() if fitted.params.get("furniture") else None
    return write_model(
        model_path, fitted.pipeline, topics, fitted.thresholds, lexicon, metrics, furniture
    )
