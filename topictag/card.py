"""Plain-text renderings of metrics: tables for the CLI, the model card, the README."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from topictag.artifact import is_number
from topictag.errors import counted

EVALUATION_TITLES = {
    "leave_one_article_out": "Leave one real article out (trained on everything else)",
    "seeds_only": "Leave one real article out, trained on real articles only",
    "authored_only": "Trained on the authored corpus only, tested on every real paragraph",
    "dev": "Development set: written apart from the training rows, labelled twice blind",
}


def figure(value: float | None) -> str:
    """A figure with two decimals, or "undefined" (an F1 over no topic present at all)."""
    return "undefined" if value is None else f"{value:.2f}"


def stale_note(metrics: dict) -> str | None:
    """What is wrong with the figures of a model trained without evaluation, or None when
    they were measured on it (see ``topictag.training.earlier_evaluation``)."""
    stale = metrics.get("evaluation_stale")
    if not stale:
        return None
    measured = stale.get("data_sha256") or "?"
    same = measured == metrics.get("data", {}).get("sha256")
    on = "the same training data" if same else f"other training data ({measured[:12]})"
    change = topic_change(measured_topics(metrics.get("evaluation", {})), metrics["topics"])
    return (
        f"Stale figures: measured by an earlier training on {on}"
        + (f" and another topic set ({change})," if change else "")
        + f" with parameters {stale.get('params')}, not on this model, which was trained "
        "without evaluation; retrain without --no-evaluate to measure it."
    )


def measured_topics(evaluation: dict) -> list[str]:
    """The topics ``evaluation``'s figures were measured on: the columns of its summary."""
    rows = _summary_rows(evaluation)
    return list(_f1s(rows[0][1])) if rows else []


def topic_change(measured: Sequence[str], topics: Sequence[str]) -> str | None:
    """How the topics of a model differ from those its (stale) figures were measured on, or
    None when they are the same set (or there are no figures)."""
    if not measured:
        return None
    new = [t for t in topics if t not in measured]
    gone = [t for t in measured if t not in topics]
    parts = [f"none for {', '.join(new)}, new in this model"] if new else []
    if gone:
        parts.append(f"{', '.join(gone)} no longer {'a topic' if len(gone) == 1 else 'topics'}")
    return "; ".join(parts) or None


def figures_warning(path: str | Path, problem: str) -> str:
    """The one-line warning for a ``metrics.json`` (at ``path``) whose figures are not as
    training wrote them (``problem``, from :func:`figures_problem`): ``info`` and ``report``
    show the model without its figures rather than fail halfway through a table or a page."""
    return f"{path}: not as training wrote it ({problem}); its figures are left out"


def figures_problem(metrics: dict) -> str | None:
    """The first thing in ``metrics`` that the figures shown of it cannot be drawn from (a hand
    edit, a damaged file), as "evaluation.dev.macro_f1 is 'x', not a number"; None when every
    figure ``info``, the model card and ``report`` read has the shape training writes."""
    return next(_figures_problems(metrics), None)


def _figures_problems(metrics: dict) -> Iterator[str]:
    data = metrics.get("data")
    if not isinstance(data, dict):
        yield _wrong("data", data, "an object")
        return
    for key in ("rows", "real_rows", "authored_rows", "real_articles"):
        yield from _field(data, key, "data", _is_count, "a count")
    if data.get("sha256") is not None and not isinstance(data["sha256"], str):
        yield _wrong("data.sha256", data["sha256"], "a checksum")
    if "params" not in metrics:
        yield "params is missing"
    topics = metrics.get("topics")
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        yield _wrong("topics", topics, "a list of names")
    stale = metrics.get("evaluation_stale")
    if stale is not None and not isinstance(stale, dict):
        yield _wrong("evaluation_stale", stale, "an object")
    elif (
        stale and stale.get("data_sha256") is not None and not isinstance(stale["data_sha256"], str)
    ):
        yield _wrong("evaluation_stale.data_sha256", stale["data_sha256"], "a checksum")
    evaluation = metrics.get("evaluation", {})
    if not isinstance(evaluation, dict):
        yield _wrong("evaluation", evaluation, "an object")
        return
    for key in EVALUATION_TITLES:
        if key in evaluation:
            yield from _result_problems(f"evaluation.{key}", evaluation[key])
    for group, full in {**dict.fromkeys(ABLATION_TITLES, False), "baselines": True}.items():
        results = evaluation.get(group, {})
        if not isinstance(results, dict):
            yield _wrong(f"evaluation.{group}", results, "an object")
            continue
        for key, result in results.items():
            yield from _result_problems(f"evaluation.{group}.{key}", result, full)
    if not isinstance(evaluation.get("not_measured", ""), str):
        yield _wrong("evaluation.not_measured", evaluation["not_measured"], "a sentence")
    main = evaluation.get("leave_one_article_out")
    if isinstance(main, dict) and main.get("since_previous_model") is not None:
        yield from _since_problems(main["since_previous_model"])
    yield from _topic_problems(evaluation)


def _topic_problems(evaluation: dict) -> Iterator[str]:
    """A result whose topics are not those of the first: its row of the summary table would
    put its figures under the wrong topics' columns."""
    rows = _summary_rows(evaluation)
    if not rows:
        return
    first = list(_f1s(rows[0][1]))
    for title, result in rows[1:]:
        topics = list(_f1s(result))
        if topics != first:
            missing = [t for t in first if t not in topics]
            yield (
                f"the figures of '{title}' are for {', '.join(topics) or 'no topic'}"
                + (f", none for {', '.join(missing)}" if missing else "")
                + f", not for {', '.join(first)} as those of '{rows[0][0]}'"
            )
            return


def _result_problems(where: str, result, per_topic: bool = True) -> Iterator[str]:
    """An evaluation's macro and micro F1 and each topic's figures: precision, recall, F1 and
    support (``per_topic``), or F1 alone (``f1``, as an ablation records them)."""
    if not isinstance(result, dict):
        yield _wrong(where, result, "an object")
        return
    for key in ("macro_f1", "micro_f1"):
        yield from _field(result, key, where, _is_figure, "a number")
    if not per_topic:
        yield from _field(result, "f1", where, _is_mapping, "an object")
        for topic, f1 in (result.get("f1") or {}).items():
            if not _is_figure(f1):
                yield _wrong(f"{where}.f1.{topic}", f1, "a number")
        return
    yield from _field(result, "n", where, _is_count, "a count")
    yield from _field(result, "per_topic", where, _is_mapping, "an object")
    for topic, m in (result.get("per_topic") or {}).items():
        if not isinstance(m, dict):
            yield _wrong(f"{where}.per_topic.{topic}", m, "an object")
            continue
        for key in ("precision", "recall", "f1"):
            yield from _field(m, key, f"{where}.per_topic.{topic}", _is_figure, "a number")
        yield from _field(m, "support", f"{where}.per_topic.{topic}", _is_count, "a count")
    interval = result.get("macro_f1_interval_95")
    if interval and not _is_pair(interval):
        yield _wrong(f"{where}.macro_f1_interval_95", interval, "two numbers")


def _since_problems(since) -> Iterator[str]:
    """The answers changed since the previous model (:func:`changes_paragraph`)."""
    where = "evaluation.leave_one_article_out.since_previous_model"
    if not isinstance(since, dict):
        yield _wrong(where, since, "an object")
        return
    for key in ("fixed", "broken"):
        yield from _field(since, key, where, lambda v: isinstance(v, list), "a list")
    if not _is_figure(since.get("macro_f1")):
        yield _wrong(f"{where}.macro_f1", since["macro_f1"], "a number")
    change = since.get("difference_interval_95")
    if change and not _is_pair(change):
        yield _wrong(f"{where}.difference_interval_95", change, "two numbers")


def _field(
    obj: dict, key: str, where: str, ok: Callable[[object], bool], what: str
) -> Iterator[str]:
    """The problem with ``obj[key]``, if any: missing, or not ``what``."""
    if key not in obj:
        yield f"{where}.{key} is missing"
    elif not ok(obj[key]):
        yield _wrong(f"{where}.{key}", obj[key], what)


def _wrong(where: str, value, what: str) -> str:
    shown = repr(value)
    return f"{where} is {shown if len(shown) <= 40 else shown[:39] + '…'}, not {what}"


def _is_figure(value) -> bool:
    """A figure: a finite number, or None (an F1 over no topic present at all)."""
    return value is None or _is_finite(value)


def _is_finite(value) -> bool:
    return is_number(value) and math.isfinite(value)


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_pair(value) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(map(_is_finite, value))


def _is_mapping(value) -> bool:
    return isinstance(value, dict)


def metrics_table(result: dict) -> str:
    """A Markdown table of per-topic precision, recall, F1, support, and macro/micro F1."""
    lines = ["| topic | precision | recall | F1 | support |", "| --- | ---: | ---: | ---: | ---: |"]
    for topic, m in result["per_topic"].items():
        if _undefined(m):  # left out of macro F1 too
            lines.append(f"| {topic} | - | - | undefined | 0 |")
            continue
        lines.append(
            f"| {topic} | {m['precision']:.2f} | {m['recall']:.2f} | {m['f1']:.2f} "
            f"| {m['support']} |"
        )
    macro, micro = figure(result["macro_f1"]), figure(result["micro_f1"])
    lines.append(f"| **macro F1** | | | **{macro}** | {result['n']} paragraphs |")
    lines.append(f"| micro F1 | | | {micro} | |")
    if result.get("macro_f1_interval_95"):
        lines.append(f"| macro F1, 95% bootstrap interval | | | {interval(result)} | |")
    return "\n".join(lines)


def interval(result: dict) -> str:
    """A result's 95% bootstrap interval of macro F1, as "0.84 to 0.95"."""
    low, high = result["macro_f1_interval_95"]
    return f"{low:.2f} to {high:.2f}"


def changes_paragraph(result: dict) -> str | None:
    """The held-out answers that changed since the model this one replaced, or None when
    that model recorded none (``since_previous_model``, see ``topictag.training``)."""
    since = result.get("since_previous_model")
    if not since:
        return None

    def rows(items: list[str]) -> str:
        return "; ".join(f"`{item}`" for item in items) if items else "none"

    before = (
        f"the model this one replaced (macro F1 {figure(since.get('macro_f1'))} leaving one "
        "article out"
    )
    if not since["fixed"] and not since["broken"]:
        return f"Every held-out answer is that of {before})."
    change = since.get("difference_interval_95")
    difference = (
        f"; the change in macro F1, 95% paired bootstrap interval {change[0]:+.2f} to "
        f"{change[1]:+.2f}"
        if change
        else ""
    )
    return (
        f"Since {before}{difference}), answers now right: {rows(since['fixed'])}; now wrong: "
        f"{rows(since['broken'])}."
    )


def _undefined(m: dict) -> bool:
    """Whether a topic's F1 is undefined: neither labelled nor predicted (``None`` since
    metrics record it so; support and predictions of 0 in earlier ones)."""
    return m["f1"] is None or (m["support"] == 0 and m.get("predicted") == 0)


def _f1s(result: dict) -> dict[str, float | None]:
    """Each topic's F1; None where it is undefined."""
    if "per_topic" in result:
        return {t: None if _undefined(m) else m["f1"] for t, m in result["per_topic"].items()}
    return result["f1"]


#: The ablations training records (``training.ablation_grids``), as the table names them.
ABLATION_TITLES = {
    "without_lexicon": "without the lexicon",
    "lexicon_unscaled": "lexicon features at full scale",
    "without_furniture_rule": "page furniture scored as text",
    "abbreviations_as_written": "abbreviations as written (U.S. apart from US)",
}


def _summary_rows(evaluation: dict) -> list[tuple[str, dict]]:
    """(title, result) of every evaluation, ablation and baseline, in the summary's order."""
    rows = [(title, evaluation[k]) for k, title in EVALUATION_TITLES.items() if k in evaluation]
    for name, what in ABLATION_TITLES.items():
        for key, result in evaluation.get(name, {}).items():
            rows.append((f"{EVALUATION_TITLES.get(key, key)}, {what}", result))
    for name, result in evaluation.get("baselines", {}).items():
        rows.append((f"baseline: {name.replace('_', ' ')}", result))
    return rows


def summary_table(evaluation: dict) -> str:
    """One line per evaluation, ablation and baseline: macro F1, micro F1, each topic's F1."""
    rows = _summary_rows(evaluation)
    note = evaluation.get("not_measured")
    if not rows:
        return f"(no evaluation: {note})" if note else "(no evaluation)"
    topics = list(_f1s(rows[0][1]))
    lines = [
        "| evaluation | macro F1 | micro F1 | " + " | ".join(topics) + " |",
        "| --- | ---: | ---: | " + " | ".join("---:" for _ in topics) + " |",
    ]
    for name, r in rows:
        cells = " | ".join(figure(f) for f in _f1s(r).values())
        lines.append(f"| {name} | {figure(r['macro_f1'])} | {figure(r['micro_f1'])} | {cells} |")
    return "\n".join(lines) + (f"\n\n{note[0].upper()}{note[1:]}." if note else "")


def uncertainty_lines(evaluation: dict) -> list[str]:
    """Under the summary table: how wide the leave-one-article-out figure's interval is, and
    which held-out answers changed since the previous model (when training recorded them)."""
    main = evaluation.get("leave_one_article_out") or {}
    lines = []
    if main.get("macro_f1_interval_95"):
        lines.append(
            f"Leave one real article out: macro F1 {figure(main['macro_f1'])}, 95% bootstrap "
            f"interval {interval(main)} ({main['n']} paragraphs)."
        )
    if changes := changes_paragraph(main):
        lines.append(changes)
    return lines


def dev_paragraph(dev: dict, summary: dict) -> str:
    """What the development set is, and the final model's false alarms on it."""
    return (
        f"Development set ({summary.get('file', 'dev.jsonl')}: {dev['n']} paragraphs of "
        f"{summary.get('articles', '?')} imagined articles, news from outside the seeds' "
        "region, ordinary news and hard negatives; written by us apart from the training "
        "rows and labelled twice blind; only reported, never used to fit or choose anything). "
        f"The final model tags {dev['false_alarms']} of its {dev['no_topic_rows']} "
        "paragraphs with no topic:"
    )


def model_card(metrics: dict) -> str:
    """MODEL_CARD.md: intended use, data, measured figures, limitations."""
    data = metrics["data"]
    evaluation = metrics.get("evaluation", {})
    main = evaluation.get("leave_one_article_out")
    parts = [
        "# topictag model card",
        "",
        "## Intended use",
        "Tagging English news paragraphs and articles about energy geopolitics (born from "
        "articles on Russia, the South Caucasus, Central Asia, Iran and Turkey, and trained for "
        "the world's oil, gas, shipping and sanctions news) with the topics: "
        + ", ".join(metrics["topics"])
        + ". A screening aid for analysts; not a substitute for reading.",
        "",
        "## Model",
        "TF-IDF word 1-2 grams and character 2-5 grams"
        + (" plus topic lexicon counts" if metrics["params"].get("lexicon") else "")
        + f", one logistic regression per topic (C={metrics['params']['C']}), class-balanced. "
        "Hyperparameters and per-topic thresholds chosen by grouped cross-validation inside "
        "the training data.",
        "",
        "Thresholds: " + ", ".join(f"{t} {v:.2f}" for t, v in metrics["thresholds"].items()),
        "",
        "## Data",
        f"{data['rows']} labelled paragraphs: {data['real_rows']} from "
        f"{counted(data['real_articles'], 'real article')} "
        f"and {data['authored_rows']} written by us for training (never test data). "
        f"Files: {', '.join(data['files'])}.",
        "",
        "| topic | real paragraphs | authored paragraphs |",
        "| --- | ---: | ---: |",
    ]
    for topic in metrics["topics"]:
        parts.append(
            f"| {topic} | {data['label_counts']['real'][topic]} "
            f"| {data['label_counts']['authored'][topic]} |"
        )
    parts += [
        "",
        "## Measured accuracy (real articles, grouped by article; the authored dev set apart)",
        "",
    ]
    if stale_note(metrics):
        parts += [f"**{stale_note(metrics)}**", ""]
    parts.append(summary_table(evaluation))
    if main:
        parts += ["", "Per topic, leave one real article out:", "", metrics_table(main)]
        if changes := changes_paragraph(main):
            parts += ["", changes]
    dev = evaluation.get("dev")
    if dev:
        parts += ["", dev_paragraph(dev, data.get("dev", {})), "", metrics_table(dev)]
    parts += [
        "",
        "## Limitations",
        "- The real test set is small (a handful of articles); figures move by several points "
        "with one article, as the bootstrap intervals show.",
        "- English only. Text in other languages gets few known words and unreliable scores.",
        "- Paragraph-level decisions; an article's topic is any paragraph's topic, so one stray "
        "paragraph can tag an article.",
        "- pipeline.joblib is a pickle: loading it runs code. Load only a file whose sha256 "
        "matches metrics.json (topictag checks); the tagger itself uses the pickle-free "
        "portable.json + portable.npz.",
        "",
    ]
    return "\n".join(parts)


README_START, README_END = "<!-- metrics -->", "<!-- /metrics -->"


def readme_metrics(metrics: dict) -> str:
    """The README's figures block: the summary of every evaluation, per-topic figures leaving
    one real article out, and the development set."""
    evaluation = metrics.get("evaluation", {})
    parts = [summary_table(evaluation)]
    if "leave_one_article_out" in evaluation:
        main = evaluation["leave_one_article_out"]
        parts += ["Per topic, leave one real article out:", metrics_table(main)]
        if changes := changes_paragraph(main):
            parts.append(changes)
    if evaluation.get("dev"):
        dev = evaluation["dev"]
        parts += [dev_paragraph(dev, metrics["data"].get("dev", {})), metrics_table(dev)]
    return "\n\n".join(parts)


def update_readme(readme: str, metrics: dict) -> str:
    """``readme`` with the text between the metrics markers replaced by
    :func:`readme_metrics` (``python -m topictag.card`` does it for README.md)."""
    if README_START not in readme or README_END not in readme.split(README_START, 1)[1]:
        raise ValueError(f"no {README_START} ... {README_END} markers to put the figures between")
    head, rest = readme.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    return f"{head}{README_START}\n{readme_metrics(metrics)}\n{README_END}{tail}"


USAGE = "usage: python -m topictag.card [MODEL_DIR]  (run where README.md is; default: model)"


def main(argv: Sequence[str]) -> int:
    """``python -m topictag.card [MODEL_DIR]``: copy the model's figures into ./README.md
    (rewritten whole). One line on stderr and exit code 1 when a file is missing or bad."""
    import json

    from topictag.errors import one_line
    from topictag.files import write_atomic

    if {"-h", "--help"} & set(argv):
        print(USAGE)
        return 0
    if len(argv) > 1 or any(arg.startswith("-") for arg in argv):
        print(USAGE, file=sys.stderr)
        return 2
    model, readme = Path(argv[0] if argv else "model"), Path("README.md")
    bad = (OSError, ValueError, KeyError, TypeError, AttributeError)

    def fail(path: Path, exc: Exception) -> int:
        problem = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        print(f"error: {one_line(f'{path}: {problem}')}", file=sys.stderr)
        return 1

    try:
        metrics = json.loads((model / "metrics.json").read_text(encoding="utf-8"))
    except bad as exc:
        return fail(model / "metrics.json", exc)
    try:
        text = update_readme(readme.read_text(encoding="utf-8"), metrics)
        write_atomic(readme, text.encode("utf-8"))
    except bad as exc:
        return fail(readme, exc)
    print(f"{readme}: figures of {model}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
