"""Score a shipped model on any labelled JSON Lines file (rows with ``text`` and ``labels``)."""

from __future__ import annotations

import os
from pathlib import Path

from topictag.labels import check_labels, latest_rows, scan_jsonl
from topictag.lexicon import compile_lexicon, count_terms
from topictag.metrics import binarize, report
from topictag.tagger import load_model


def evaluate_file(
    path: str | os.PathLike, model: str | os.PathLike | None = None, threshold: float | None = None
) -> dict:
    """Per-topic precision, recall, F1 and support, macro and micro F1 of the model on ``path``,
    with the keyword baseline from the model's lexicon beside them.

    Each row's text is tagged as ``predict`` tags it. A row naming a topic the model does not
    know is an error, not a silent zero. A correction row (``"supersedes": true``) replaces
    the labels of the earlier row with its id, as in training.
    """
    tagger = load_model(model, threshold)
    rows = latest_rows(scan_jsonl(Path(path), ("text", "labels")))
    for number, row in rows:
        check_labels(Path(path), number, row, tagger.topics)
    texts = [row["text"] for _, row in rows]
    y_true = binarize([row["labels"] for _, row in rows], tagger.topics)
    predicted = [tagger.tag(text).topics for text in texts]
    result = report(y_true, binarize(predicted, tagger.topics), tagger.topics)
    if tagger.model.lexicon:
        patterns = compile_lexicon(tagger.model.lexicon, tagger.topics)
        keywords = [[n > 0 for n in count_terms(patterns, t)] for t in texts]
        result["baselines"] = {"keywords": report(y_true, keywords, tagger.topics)}
    return result
