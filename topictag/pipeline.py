"""The model: one scikit-learn Pipeline, TF-IDF word and character n-grams plus lexicon counts,
feeding one logistic regression per topic."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.utils.validation import check_is_fitted

from topictag.lexicon import compile_lexicon, term_features
from topictag.normalize import NFKC_CF_ABBREV, normalize_all

#: Vectorizer settings; the portable scorer reads them back from the fitted pipeline.
WORD = {"analyzer": "word", "ngram_range": (1, 2), "sublinear_tf": True, "min_df": 1}
CHAR = {"analyzer": "char_wb", "ngram_range": (2, 5), "sublinear_tf": True, "min_df": 2}


class LexiconFeatures(TransformerMixin, BaseEstimator):
    """log(1 + count of lexicon terms) for each topic, times ``scale``, as a dense feature block.

    ``lexicon`` maps topic name -> list of terms; ``topics`` fixes the column order. A
    ``scale`` below 1 makes the logistic regression pay more to lean on the lexicon (its
    penalty on a weight is the same, the feature smaller), so the n-grams carry more.
    """

    def __init__(
        self, lexicon: Mapping[str, Sequence[str]] | None = None, topics=None, scale: float = 1.0
    ):
        self.lexicon = lexicon
        self.topics = topics
        self.scale = scale

    def fit(self, X, y=None):
        lexicon = dict(self.lexicon or {})
        self.topics_ = list(self.topics) if self.topics is not None else sorted(lexicon)
        self.patterns_ = compile_lexicon(lexicon, self.topics_)
        self.n_features_out_ = len(self.topics_)
        return self

    def transform(self, X):
        check_is_fitted(self, "patterns_")
        texts = _as_texts(X)
        out = np.zeros((len(texts), self.n_features_out_))
        for i, text in enumerate(texts):
            out[i] = term_features(self.patterns_, text)
        return out * self.scale if self.scale != 1.0 else out

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "patterns_")
        return np.array([f"lexicon:{t}" for t in self.topics_], dtype=object)


class TextNormalizer(TransformerMixin, BaseEstimator):
    """The texts normalised (see ``topictag.normalize``) before any feature sees them: the
    first step of the pipeline, so the word, character and lexicon blocks all read the same
    text. ``form`` is recorded in the portable model, which applies it too."""

    def __init__(self, form: str = NFKC_CF_ABBREV):
        self.form = form

    def fit(self, X, y=None):
        normalize_all([], self.form)  # an unknown form fails here, not at tagging time
        return self

    def transform(self, X):
        return normalize_all(_as_texts(X), self.form)


def _as_texts(X) -> list[str]:
    if isinstance(X, str):
        raise ValueError("expected a list of texts, got a single string")
    return [str(x) for x in X]


def build_features(
    lexicon: Mapping[str, Sequence[str]] | None = None,
    topics: Sequence[str] | None = None,
    char_min_df: int = 2,
    lexicon_scale: float = 1.0,
) -> FeatureUnion:
    """TF-IDF word and character n-grams, plus lexicon counts (times ``lexicon_scale``) when
    ``lexicon`` is given.

    ``char_min_df`` drops character n-grams seen in fewer documents (1 for tiny training sets).
    """
    parts = [
        ("word", TfidfVectorizer(**WORD, dtype=np.float64)),
        ("char", TfidfVectorizer(**{**CHAR, "min_df": char_min_df}, dtype=np.float64)),
    ]
    if lexicon:
        parts.append(
            ("lexicon", LexiconFeatures(lexicon=dict(lexicon), topics=topics, scale=lexicon_scale))
        )
    return FeatureUnion(parts)


def build_classifier(C: float = 8.0, balanced: bool = True) -> OneVsRestClassifier:
    """One logistic regression per topic (dual liblinear: many more features than
    paragraphs), class-balanced unless ``balanced=False``."""
    return OneVsRestClassifier(
        LogisticRegression(
            C=C,
            class_weight="balanced" if balanced else None,
            solver="liblinear",
            dual=True,
            max_iter=5000,
            random_state=0,
        )
    )


def build_pipeline(
    C: float = 8.0,
    lexicon: Mapping[str, Sequence[str]] | None = None,
    topics: Sequence[str] | None = None,
    char_min_df: int = 2,
    normalize: str | None = NFKC_CF_ABBREV,
    balanced: bool = True,
    lexicon_scale: float = 1.0,
) -> Pipeline:
    """The topictag model for one setting of its hyperparameters.

    ``lexicon=None`` (or empty) leaves the lexicon features out; ``normalize=None`` the text
    normalisation (a model trained before it existed has no such step).
    """
    steps = [("normalize", TextNormalizer(normalize))] if normalize else []
    return Pipeline(
        steps
        + [
            ("features", build_features(lexicon, topics, char_min_df, lexicon_scale)),
            ("classifier", build_classifier(C, balanced)),
        ]
    )


def forget_memos(pipeline: Pipeline) -> Pipeline:
    """Drop what scikit-learn remembers only to skip repeating a check: a vectorizer's
    ``_stop_words_id`` is the memory address of its stop word list, which differs from one
    process to the next, so two trainings on the same data would pickle differently. The check
    runs again (on no stop words) the next time the vectorizer is used."""
    for step in [pipeline, *pipeline.get_params(deep=True).values()]:
        if isinstance(step, BaseEstimator):
            vars(step).pop("_stop_words_id", None)
    return pipeline


def predict_proba(pipeline: Pipeline, texts: Sequence[str]) -> np.ndarray:
    """(n, k) probabilities from a fitted pipeline, one column per topic."""
    return np.asarray(pipeline.predict_proba(list(texts)), dtype=np.float64)
