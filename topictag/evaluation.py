"""Score a shipped model on any labelled JSON Lines file (rows with ``text`` and ``labels``)."""

from __future__ import annotations

import os
from pathlib import Path

from topictag.errors import one_line
from topictag.labels import check_labels, check_unique_ids, latest_rows, scan_jsonl
from topictag.lexicon import keyword_hits
from topictag.metrics import binarize, report
from topictag.render import preview
from topictag.tagger import load_model


def evaluate_file(
    path: str | os.PathLike,
    model: str | os.PathLike | None = None,
    threshold: float | None = None,
    errors: bool = False,
) -> dict:
    """Per-topic precision, recall, F1 and support, macro and micro F1 of the model on ``path``,
    with the keyword baseline from the model's lexicon beside them.

    Each row's text is tagged as ``predict`` tags it. A row naming a topic the model does not
    know is an error, not a silent zero, and so is an id used twice. A correction row
    (``"supersedes": true``) replaces the labels of the earlier row with its id, as in
    training. ``errors=True`` adds ``errors``: every row the model gets wrong (see
    :func:`row_errors`), worst first.
    """
    tagger = load_model(model, threshold)
    rows = latest_rows(scan_jsonl(Path(path), ("text", "labels")))
    check_unique_ids(Path(path), rows)
    for number, row in rows:
        check_labels(Path(path), number, row, tagger.topics)
    texts = [row["text"] for _, row in rows]
    y_true = binarize([row["labels"] for _, row in rows], tagger.topics)
    tagged = [tagger.tag(text) for text in texts]
    predicted = [t.topics for t in tagged]
    result = report(y_true, binarize(predicted, tagger.topics), tagger.topics)
    if errors:
        thresholds = dict(zip(tagger.topics, tagger.thresholds))
        result["errors"] = row_errors(rows, tagged, thresholds)
    if tagger.model.lexicon:
        keywords = keyword_hits(tagger.model.lexicon, tagger.topics, texts)
        result["baselines"] = {"keywords": report(y_true, keywords, tagger.topics)}
    return result


def row_errors(rows: list[tuple[int, dict]], tagged: list, thresholds: dict[str, float]) -> list:
    """The rows whose predicted topics differ from their labels: line, id, text, labels,
    predicted, ``missed`` and ``false`` topics, and every topic's score. Sorted worst first:
    by the largest distance between a wrong topic's score and its threshold."""
    out = []
    for (number, row), result in zip(rows, tagged):
        labels, predicted = set(row["labels"]), set(result.topics)
        if labels == predicted:
            continue
        wrong = labels ^ predicted
        out.append(
            {
                "line": number,
                "id": row.get("id"),
                "text": row["text"],
                "labels": [t for t in thresholds if t in labels],
                "predicted": result.topics,
                "missed": [t for t in thresholds if t in labels - predicted],
                "false": [t for t in thresholds if t in predicted - labels],
                "scores": {t: round(v, 4) for t, v in result.scores.items()},
                "margin": round(max(abs(result.scores[t] - thresholds[t]) for t in wrong), 4),
            }
        )
    return sorted(out, key=lambda e: -e["margin"])


def errors_table(errors: list[dict], width: int = 100) -> str:
    """The errors as text for people: one block per row, worst first."""
    lines = []
    for e in errors:
        where = one_line(str(e["id"])) if e["id"] is not None else f"line {e['line']}"
        parts = [f"missed {t} ({e['scores'][t]:.2f})" for t in e["missed"]]
        parts += [f"false {t} ({e['scores'][t]:.2f})" for t in e["false"]]
        lines.append(f"{where}: {', '.join(parts)}\n    {preview(e['text'], width)}")
    return "\n".join(lines)
