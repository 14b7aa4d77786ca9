"""The ``topictag`` command: a thin layer over the library; each command calls one function."""

from __future__ import annotations

import functools
import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from topictag.errors import TopictagError

app = typer.Typer(
    help="Tag English energy-geopolitics news with topics (gas, oil, transport corridor, "
    "diplomacy, sanctions, or your own).",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class Format(str, Enum):
    table = "table"
    json = "json"
    jsonl = "jsonl"


ModelOption = Annotated[
    Path | None,
    typer.Option("--model", "-m", help="Model directory (default: $TOPICTAG_MODEL, else model/)."),
]


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def friendly(command):
    """Turn library errors into one line on stderr and exit code 1; Ctrl-C into exit 130."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except TopictagError as exc:
            raise _fail(str(exc)) from None
        except KeyboardInterrupt:
            raise _fail("interrupted", 130) from None
        except BrokenPipeError:
            sys.stderr.close()
            raise typer.Exit(0) from None

    return wrapper


def _json(obj, indent: int | None = 2) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=indent)


@app.command()
@friendly
def tag(
    paths: Annotated[
        list[str] | None,
        typer.Argument(help="Article files, directories (every .txt inside), or - for stdin."),
    ] = None,
    paragraphs: Annotated[
        bool, typer.Option("--paragraphs", "-p", help="Show each paragraph's topics.")
    ] = False,
    fmt: Annotated[
        Format, typer.Option("--format", "-f", help="table for people; json or jsonl for programs.")
    ] = Format.table,
    threshold: Annotated[
        float | None,
        typer.Option(
            min=0.0, max=1.0, help="One threshold for every topic instead of the stored ones."
        ),
    ] = None,
    model: ModelOption = None,
) -> None:
    """Tag articles with topics. JSON output: one object per article (an array when several
    inputs are given), with source, topics, scores and paragraphs."""
    from topictag.inputs import read_inputs
    from topictag.render import article_table
    from topictag.tagger import load_model

    if not paths and sys.stdin.isatty():
        raise _fail("no input: give article files, a directory, or - to read stdin", 2)
    tagger = load_model(model, threshold)
    thresholds = dict(zip(tagger.topics, tagger.thresholds.tolist()))
    results, failed = [], 0
    for item in read_inputs(paths or []):
        if isinstance(item, TopictagError):
            typer.echo(f"error: {item}", err=True)
            failed += 1
            continue
        for warning in item.warnings:
            typer.echo(f"warning: {warning}", err=True)
        result = tagger.tag(item.text, source=item.source)
        if not result.paragraphs:
            typer.echo(f"warning: {item.source}: no text to tag", err=True)
        if fmt is Format.table:
            typer.echo(article_table(result, thresholds, paragraphs) + "\n")
        elif fmt is Format.jsonl:
            typer.echo(_json(result.to_dict(), indent=None))
        else:
            results.append(result.to_dict())
    if fmt is Format.json and (results or not failed):
        single = (
            len(results) == 1
            and len(paths or ["-"]) == 1
            and not Path((paths or ["-"])[0]).is_dir()
        )
        typer.echo(_json(results[0] if single else results))
    if failed:
        raise typer.Exit(1)


@app.command()
@friendly
def train(
    labels: Annotated[
        Path | None, typer.Option(help="Labels directory (default: labels/).")
    ] = None,
    seeds: Annotated[Path | None, typer.Option(help="Seed articles (default: seeds/).")] = None,
    model: ModelOption = None,
    evaluate: Annotated[
        bool, typer.Option(help="Run the grouped cross-validation (--no-evaluate skips it).")
    ] = True,
) -> None:
    """Train the model on every labelled paragraph, evaluate it, write it to the model directory
    (the same as `python train.py`)."""
    from topictag.card import summary_table
    from topictag.training import train as train_model

    metrics = train_model(
        labels, seeds, model, run_evaluation=evaluate, progress=lambda m: typer.echo(m, err=True)
    )
    typer.echo(summary_table(metrics["evaluation"]) if metrics["evaluation"] else "trained")


@app.command()
@friendly
def info(
    model: ModelOption = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="table or json.")] = Format.table,
) -> None:
    """Show the model's topics, thresholds, training data and cross-validated figures."""
    from topictag import defaults
    from topictag.artifact import read_metrics
    from topictag.card import summary_table

    path = defaults.model_dir(model)
    metrics = read_metrics(path)
    if fmt is not Format.table:
        typer.echo(_json(metrics))
        return
    data = metrics["data"]
    typer.echo(f"model: {path}")
    typer.echo("topics: " + ", ".join(f"{t} ({v:.2f})" for t, v in metrics["thresholds"].items()))
    typer.echo(
        f"trained on {data['rows']} paragraphs: {data['real_rows']} real from "
        f"{data['real_articles']} articles, {data['authored_rows']} authored"
    )
    typer.echo(f"parameters: {metrics['params']}")
    typer.echo(summary_table(metrics.get("evaluation", {})))


@app.command()
@friendly
def evaluate(
    file: Annotated[Path, typer.Argument(help="JSON Lines file; each row has text and labels.")],
    model: ModelOption = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="table or json.")] = Format.table,
    threshold: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="One threshold for every topic.")
    ] = None,
) -> None:
    """Score the model on labelled paragraphs: per-topic precision, recall, F1, macro/micro F1."""
    from topictag.card import metrics_table
    from topictag.evaluation import evaluate_file

    result = evaluate_file(file, model, threshold)
    if fmt is not Format.table:
        typer.echo(_json(result))
        return
    typer.echo(metrics_table(result))
    for name, baseline in result.get("baselines", {}).items():
        typer.echo(
            f"\nbaseline ({name}): macro F1 {baseline['macro_f1']:.2f}, "
            f"micro F1 {baseline['micro_f1']:.2f}"
        )
