"""The ``topictag`` command: a thin layer over the library; each command calls one function."""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import os
import signal
import sys
import warnings
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
import typer.core

from topictag import defaults
from topictag.errors import (
    InputError,
    OptionError,
    TopictagError,
    counted,
    one_line,
    show_warning,
)
from topictag.strict_json import dumps


class _Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, handled as Ctrl-C is: temporary files removed, worker processes
    stopped; the exit code is 128 + the signal's number, as a shell reports it."""

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(signum)
        self.signum = signum


def _on_stop_signal(signum, frame):
    raise _Terminated(signum)


def _stopped(exc: KeyboardInterrupt) -> tuple[str, int]:
    """The error line and exit code of a run ended by a signal."""
    if isinstance(exc, _Terminated):
        return ("terminated" if exc.signum == signal.SIGTERM else "hung up"), 128 + exc.signum
    return "interrupted", 130


#: errno values of a write that cannot succeed: full disk, quota, file too large, I/O error,
#: read-only file system, a closed descriptor.
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS, errno.EBADF}


class _ClosedStdout(io.TextIOBase):
    """``sys.stdout`` for a process started with descriptor 1 closed (``topictag tag a.txt
    >&-``): Python sets it to None, and every result printed was dropped with exit 0. Writing
    fails here as it would on the closed descriptor, so the run says so (exit 1), as cat does."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))


def _write_failure(exc: OSError) -> str:
    """The one line for a write that failed outside the files the library names itself (they
    are :class:`~topictag.errors.WriteError`): that is stdout. Stdout is then pointed at
    /dev/null, so that the interpreter's last flush of it cannot print a traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no file descriptor (a test harness)
        pass
    return f"{exc.filename or '<stdout>'}: cannot write ({exc.strerror})"


def _click_class(name: str) -> type:
    """One of click's exception classes, found through typer's ``BadParameter`` (typer 0.28
    carries its own copy of click, earlier versions use click itself)."""
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == name)


class _Group(typer.core.TyperGroup):
    """The command group; a wrong option or argument is one ``error:`` line (exit 2) naming
    the help to read, not typer's boxed usage text."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if problem := empty_argument(sys.argv[1:] if args is None else list(args)):
            typer.echo(f"error: {problem}", err=True)
            sys.exit(2)
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _click_class("ClickException") as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # the help, already shown
                sys.exit(exc.exit_code)
            if isinstance(exc, _click_class("UsageError")):
                typer.echo(f"error: {one_line(usage_error(exc))}", err=True)
            else:
                typer.echo(f"error: {one_line(exc.format_message())}", err=True)
            sys.exit(exc.exit_code)
        except typer.Abort:
            typer.echo("error: aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def empty_argument(args: list[str]) -> str | None:
    """Why the command line is refused for an empty argument, or None. No option or path of
    ours takes an empty string, and a path read as one is the working directory (``Path("")``
    is ``.``): ``topictag tag "$FILE"`` with ``FILE`` unset tagged every file below it, and
    ``--png ""`` wrote the charts there over any of the same name."""
    options = True  # until "--": after it every argument is a path, "--x=" a file's name
    for i, arg in enumerate(args):
        if arg == "":
            before = args[i - 1] if i else ""
            named = (
                f" for {before}"
                if options and before.startswith("-") and before not in ("-", "--")
                else ""
            )
            return f"an empty argument{named} (an unset shell variable?)"
        if arg == "--":
            options = False
        elif options and arg.startswith("--") and arg.partition("=")[1:] == ("=", ""):
            return f"an empty value for {arg[:-1]} (an unset shell variable?)"
    return None


def usage_error(exc) -> str:
    """A click usage error as one line: its message, then the help to read."""
    ctx = getattr(exc, "ctx", None)
    where = f" (see '{ctx.command_path} -h')" if ctx is not None else ""
    return f"{exc.format_message()}{where}"


class _App(typer.Typer):
    def __call__(self, *args, **kwargs):
        """The command line: SIGTERM and SIGHUP clean up as Ctrl-C does; help or usage text
        that cannot be written (a full disk, a stdout closed from the start) is one error
        line, a reader that stops early a quiet exit; a warning is one line. A signal before
        a command starts or after it ends is one line too, never a traceback."""
        import threading

        from topictag.processes import STOP_SIGNALS

        main = threading.current_thread() is threading.main_thread()
        previous: dict = {}
        shown = warnings.showwarning
        code: int | str | None = 0
        try:
            if sys.stdout is None:
                sys.stdout = _ClosedStdout()
            for stream in (sys.stdout, sys.stderr):  # a lone surrogate is shown as \\ud800
                with contextlib.suppress(AttributeError, ValueError, OSError):
                    stream.reconfigure(errors="backslashreplace")
            if main:
                for signum in (s for s in STOP_SIGNALS if s != signal.SIGINT):
                    previous[signum] = signal.signal(signum, _on_stop_signal)
            warnings.showwarning = show_warning
            try:
                super().__call__(*args, **kwargs)
            except SystemExit as exc:
                code = exc.code
            except OSError as exc:
                if isinstance(exc, BrokenPipeError) or exc.errno not in _WRITE_ERRNOS:
                    raise
                typer.echo(f"error: {one_line(_write_failure(exc))}", err=True)
                code = 1
        except KeyboardInterrupt as exc:  # outside a command
            code = _report_stop(exc)
        finally:
            warnings.showwarning = shown
            code = _handlers_restored(previous, code)
        sys.exit(code)


def _report_stop(exc: KeyboardInterrupt) -> int:
    message, code = _stopped(exc)
    with contextlib.suppress(OSError, ValueError):
        typer.echo(f"error: {message}", err=True)
    return code


def _handlers_restored(previous: dict, code: int | str | None) -> int | str | None:
    """Put the signal handlers back. Python runs a signal that was waiting as a handler is
    changed, so a Ctrl-C at the very end of a run surfaces here: it ends the run as one line
    with its exit code, and the remaining handlers are still put back."""
    for signum, handler in previous.items():
        try:
            signal.signal(signum, handler)
        except KeyboardInterrupt as exc:
            signal.signal(signum, handler)
            code = _report_stop(exc)
    return code


app = _App(
    help="Tag English energy-geopolitics news with topics (gas, oil, transport corridor, "
    "diplomacy, sanctions, or your own).",
    cls=_Group,
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        from topictag import __version__

        typer.echo(f"topictag {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    pass


class Format(str, Enum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    html = "html"


class OnError(str, Enum):
    fail = "fail"
    skip = "skip"


ModelOption = Annotated[
    Path | None,
    typer.Option(
        "--model",
        "-m",
        help="Model directory (default: $TOPICTAG_MODEL, else ./model, else the shipped model).",
    ),
]


def _not_nan(value: float | None) -> float | None:
    """An option's range check (``min``, ``max``) for NaN, which every comparison lets in."""
    if value is not None and value != value:
        raise typer.BadParameter(f"{value} is not a number.")
    return value


def _in_setting_range(value: float | None) -> float | None:
    """A setting that must be a number from 1e-4 to 1e4: the solver takes minutes or more
    to converge, or never does, far outside it (C = 1e-320 ran for over 10 minutes)."""
    if value is not None and not 1e-4 <= value <= 1e4:
        raise typer.BadParameter(f"{value} is not a number from 0.0001 to 10000.")
    return value


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {one_line(message)}", err=True)
    return typer.Exit(code)


#: The file name endings of each report format; a name with another ending is refused.
_REPORT_SUFFIXES = {"html": (".html", ".htm"), "json": (".json",)}


def _wrong_suffix(output: Path, fmt: ReportFormat) -> str | None:
    """Why ``output`` is the wrong name for a report in ``fmt``, or None: ``report.pdf`` would
    hold an HTML page. A name without an ending is the user's choice."""
    suffix = output.suffix.lower()
    wanted = _REPORT_SUFFIXES[fmt.value]
    if not suffix or suffix in wanted:
        return None
    other = next((f for f, ends in _REPORT_SUFFIXES.items() if suffix in ends), None)
    hint = f", or --format {other}" if other else ""
    return f"{output}: --format {fmt.value} writes {fmt.value.upper()}; name it {wanted[0]}{hint}"


def _unmakeable_directory(path: Path, option: str) -> str | None:
    """Why ``path``, given as ``option``, cannot be (or be made) a directory to write in, or
    None: checked before a long run, which would otherwise end without its output. A write
    refused (a read-only file system) is said as a failed ``--output`` says it."""
    from topictag.files import cannot_write, try_making

    name = f"{option} {path}"
    if path.exists():
        return None if path.is_dir() else f"{name}: exists and is not a directory"
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return f"{name}: {parent} is not a directory"
    try:
        try_making(path)
    except OSError as exc:
        return cannot_write(name, exc)
    return None


def _in_model(path: Path, model: Path | None) -> Path | None:
    """The model directory the command reads when ``path`` lies in it (a report written as
    ``model/portable.json`` would break the model; any other file there makes training refuse
    the directory), else None."""
    try:
        model_dir = Path(os.path.realpath(defaults.model_dir(model)))
    except TopictagError:
        return None
    where = Path(os.path.realpath(path))
    return model_dir if model_dir == where or model_dir in where.parents else None


def _refuse_overwriting_inputs(output: Path | None, source: Path, model: Path | None) -> None:
    """A usage error (exit 2) for an ``--output`` that would write over what the command
    reads: its input file (also through a link), or anything in the model directory; and for
    standard output sent to the input file, which gets the rows or a summary line."""
    _refuse_stdout_onto(source)  # the rows go there, or the summary line
    if output is None or str(output) == "-":
        return
    from topictag.batch import output_is_input

    if output_is_input(source, output):
        raise _fail(f"--output {output} is the input file; write to another file", 2)
    if model_dir := _in_model(output, model):
        raise _fail(f"--output {output} is in the model directory {model_dir}; write elsewhere", 2)


def _refuse_stdout_onto(source: str | Path) -> None:
    """A usage error (exit 2) when standard output is the file ``source`` (``>> input``): the
    output would be appended to the input, and read back as more of it (``> input`` has
    emptied it already; nothing is written then either)."""
    from topictag.files import stdout_is

    if str(source) != "-" and stdout_is(source):
        raise _fail(f"standard output is the input file {source}; write to another file", 2)


def _refuse_stdout_onto_any(items: list) -> None:
    """:func:`_refuse_stdout_onto` for every file of ``items`` (``inputs.expand``: the article
    arguments, directories' files included), before any is read or any output written."""
    from topictag.files import stdout_is_a_file

    if stdout_is_a_file():
        for item in items:
            if isinstance(item, str):
                _refuse_stdout_onto(item)


def friendly(command):
    """Turn library errors into one line on stderr and exit code 1 (2 for a wrong option's
    value); Ctrl-C into exit 130."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except TopictagError as exc:
            raise _fail(str(exc), 2 if isinstance(exc, OptionError) else 1) from None
        except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP
            raise _fail(*_stopped(exc)) from None
        except BrokenPipeError:
            sys.stderr.close()
            raise typer.Exit(0) from None
        except OSError as exc:  # stdout on a full disk (the library names its own files)
            if exc.errno not in _WRITE_ERRNOS:
                raise
            raise _fail(_write_failure(exc)) from None

    return wrapper


def _write_page(text: str) -> None:
    """A page or a document to stdout exactly as made: ``typer.echo`` (click) removes what
    looks like an ANSI escape sequence when stdout is not a terminal, which would change a
    page's text under its highlights. A closed pipe or a full disk raise as in ``typer.echo``,
    for :func:`friendly` to handle."""
    sys.stdout.write(text)
    sys.stdout.flush()


def _json(obj, indent: int | None = 2) -> str:
    """``obj`` as standard JSON with no control character raw (see :mod:`topictag.strict_json`)."""
    return dumps(obj, indent)


#: --format of info and evaluate (html is only for tag).
REPORT_FORMATS = "table (the default), json (indented) or jsonl (the same JSON on one line)."


def _indent(fmt: Format) -> int | None:
    """JSON Lines is one line; JSON is indented for people."""
    return None if fmt is Format.jsonl else 2


@app.command()
@friendly
def tag(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            help="Article files (.txt, or .html/.htm/.xhtml turned into text), directories "
            "(every such file inside), or - for stdin; with none, stdin when it is not a "
            "terminal."
        ),
    ] = None,
    paragraphs: Annotated[
        bool, typer.Option("--paragraphs", "-p", help="Show each paragraph's topics.")
    ] = False,
    fmt: Annotated[
        Format | None,
        typer.Option(
            "--format",
            "-f",
            help="table for people (the default); json or jsonl for programs; html for a "
            "self-contained page.",
            show_default=False,
        ),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            callback=_not_nan,
            help="One threshold for every topic instead of the stored ones.",
        ),
    ] = None,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain", "-e", help="Show the words that pushed each paragraph's topics up."
        ),
    ] = False,
    encoding: Annotated[
        str | None,
        typer.Option(help="Text encoding of the inputs (default: UTF-8, or UTF-16/32 with a BOM)."),
    ] = None,
    model: ModelOption = None,
    corpus: Annotated[
        Path | None,
        typer.Option(
            "--input",
            help="Tag a corpus (.jsonl, .csv or .parquet), one article per row, instead of paths.",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="--input: write .jsonl or .parquet (default: JSON Lines on stdout).",
        ),
    ] = None,
    text_field: Annotated[
        str | None,
        typer.Option(
            help="--input: the column that holds the text (default: text).", show_default=False
        ),
    ] = None,
    num_proc: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="--input: worker processes that tag in parallel (default: 1).",
            show_default=False,
        ),
    ] = None,
    on_error: Annotated[
        OnError | None,
        typer.Option(
            help="--input: a bad row stops the run (fail, the default) or is reported and "
            "left out.",
            show_default=False,
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="--input: tag on the Dask cluster of this scheduler (tcp://HOST:PORT); its "
            "workers read the corpus and write --output.",
            show_default=False,
        ),
    ] = None,
    ship_model: Annotated[
        bool,
        typer.Option(
            "--ship-model",
            help="--scheduler: send the model to the workers instead of having them read it "
            "from its directory.",
        ),
    ] = False,
) -> None:
    """Tag articles with topics, per article and per paragraph.

    JSON output: one object per article (an array when several inputs are given), with source,
    topics, scores and paragraphs (and each paragraph's evidence with --explain). HTML: one
    page, a section per article.
    """
    if corpus is not None or output is not None:
        _refuse(
            "to article paths, not to --input",
            {
                "--format": fmt not in (None, Format.jsonl),
                "--paragraphs": paragraphs,
                "--explain": explain,
                "--encoding": encoding is not None,
            },
        )
        from topictag.batch import OUTPUT_FORMATS

        to_file = output is not None and str(output) != "-"
        if fmt is Format.jsonl and to_file:
            if OUTPUT_FORMATS.get(Path(output).suffix.lower(), "jsonl") != "jsonl":
                raise _fail(
                    f"--format jsonl does not match --output {output}: its suffix chooses the "
                    f"format ({', '.join(OUTPUT_FORMATS)}); leave --format out",
                    2,
                )
        distributed = scheduler is not None
        _refuse("only without --scheduler", {"--num-proc": distributed and num_proc is not None})
        _refuse("only with --scheduler", {"--ship-model": ship_model and not distributed})
        _tag_corpus(
            paths,
            corpus,
            output,
            text_field or "text",
            num_proc or 1,
            on_error or OnError.fail,
            model,
            threshold,
            scheduler,
            ship_model,
        )
        return
    _refuse(
        "only to --input",
        {
            "--text-field": text_field is not None,
            "--num-proc": num_proc is not None,
            "--on-error": on_error is not None,
            "--scheduler": scheduler is not None,
            "--ship-model": ship_model,
        },
    )
    fmt = fmt or Format.table
    from topictag.inputs import check_encoding, expand, read_expanded, shown_source
    from topictag.render import article_table
    from topictag.tagger import load_model

    if encoding is not None:
        try:
            check_encoding(encoding)
        except TopictagError as exc:
            raise _fail(f"--encoding: {exc}", 2) from None
    if not paths and (sys.stdin is None or sys.stdin.isatty()):
        raise _fail("no input: give article files, a directory, or - to read stdin", 2)
    items = list(expand(paths or []))  # the directories walked once, for both uses
    _refuse_stdout_onto_any(items)
    tagger = load_model(model, threshold)
    thresholds = dict(zip(tagger.topics, tagger.thresholds))
    results, failed = [], 0
    for item in read_expanded(items, encoding):
        if isinstance(item, TopictagError):
            typer.echo(f"error: {one_line(str(item))}", err=True)
            failed += 1
            continue
        for warning in item.warnings:
            typer.echo(f"warning: {one_line(warning)}", err=True)
        try:
            result = tagger.tag(
                item.text,
                source=item.source,
                explain=explain or fmt is Format.html,
                max_paragraphs=defaults.MAX_ARTICLE_PARAGRAPHS,
            )
        except InputError as exc:
            typer.echo(f"error: {one_line(f'{shown_source(item.source)}: {exc}')}", err=True)
            failed += 1
            continue
        if not result.paragraphs:
            typer.echo(f"warning: {one_line(shown_source(item.source))}: no text to tag", err=True)
        for warning in result.warnings:
            typer.echo(f"warning: {one_line(f'{shown_source(item.source)}: {warning}')}", err=True)
        if fmt is Format.table:
            typer.echo(article_table(result, thresholds, paragraphs or explain) + "\n")
        elif fmt is Format.jsonl:
            typer.echo(_json(result.to_dict(), indent=None))
        elif fmt is Format.html:
            results.append(result)
        else:
            results.append(result.to_dict())
    if fmt is Format.html and (results or not failed):
        from topictag.report import html_report

        _write_page(html_report(results, tagger.topics))
    if fmt is Format.json:
        given = paths or ["-"]
        if len(given) > 1 or Path(given[0]).is_dir():  # an array, [] when every input failed
            typer.echo(_json(results))
        elif results:
            typer.echo(_json(results[0]))
    if failed:
        raise typer.Exit(1)


def _refuse(where: str, given: dict[str, bool]) -> None:
    """A usage error (exit 2) naming the options that were given but would be ignored."""
    names = [name for name, present in given.items() if present]
    if names:
        listed = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
        verb = "applies" if len(names) == 1 else "apply"
        raise _fail(f"{listed} {verb} {where}", 2)


def _tag_corpus(
    paths, corpus, output, text_field, num_proc, on_error, model, threshold, scheduler, ship_model
) -> None:
    """``tag --input``: one JSON line of summary (on stderr when the rows go to stdout); exit 1
    if a row was skipped. With ``--scheduler``, on a Dask cluster (``topictag.distributed``)."""
    from topictag.batch import fixed_mmap_threshold, tag_corpus

    if corpus is None:
        raise _fail("--output writes a tagged corpus: give the corpus with --input CORPUS", 2)
    if paths:
        raise _fail(
            f"--input takes one corpus file, and no article paths beside it (also given: "
            f"{' '.join(map(str, paths[:3]))}{' ...' if len(paths) > 3 else ''}; a shell "
            "pattern that matched several files?)",
            2,
        )
    _refuse_overwriting_inputs(output, corpus, model)
    options = {"text_field": text_field, "on_error": on_error.value, "model": model}
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", defaults.ARROW_MEMORY_POOL)
    fixed_mmap_threshold()  # this process only reads, hands out and writes chunks
    if scheduler is not None:
        if output is None or str(output) == "-":
            raise _fail("--scheduler needs --output FILE (.jsonl or .parquet) for the workers", 2)
        from topictag.distributed import tag_corpus_distributed

        summary = tag_corpus_distributed(
            corpus, output, scheduler, threshold=threshold, ship_model=ship_model, **options
        )
    else:
        summary = tag_corpus(corpus, output, num_proc=num_proc, threshold=threshold, **options)
    typer.echo(_json(summary, indent=None), err=output is None or str(output) == "-")
    if summary["skipped"]:
        raise typer.Exit(1)


@app.command()
@friendly
def train(
    labels: Annotated[
        Path | None, typer.Option(help="Labels directory (default: labels/).")
    ] = None,
    seeds: Annotated[Path | None, typer.Option(help="Seed articles (default: seeds/).")] = None,
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            "-m",
            help="Model directory to write (default: $TOPICTAG_MODEL, else ./model).",
        ),
    ] = None,
    evaluate: Annotated[
        bool,
        typer.Option(
            help="Run the grouped cross-validation (--no-evaluate skips it and keeps the "
            "previous model's figures, marked stale)."
        ),
    ] = True,
    lexicon: Annotated[
        bool,
        typer.Option(
            help="Use the lexicon (labels/lexicon.toml) as features; without the file training "
            "stops unless --no-lexicon is given."
        ),
    ] = True,
    furniture: Annotated[
        bool,
        typer.Option(
            help="Give page furniture (lines opening 'Related:', 'Read more:', 'Tags:', "
            "'Subscribe', 'Home >' ...) no topic; --no-furniture scores it as text, for labels "
            "that give such lines topics."
        ),
    ] = True,
    c_value: Annotated[
        float | None,
        typer.Option(
            "--C",
            callback=_in_setting_range,
            help="Fix the regularisation C instead of choosing it by cross-validation (from "
            "8, 16, 32): with --lexicon-scale, one setting instead of twelve, several times "
            "faster. Thresholds are still chosen.",
        ),
    ] = None,
    lexicon_scale: Annotated[
        float | None,
        typer.Option(
            callback=_in_setting_range,
            help="Fix the lexicon features' scale instead of choosing it (from 1/8, 1/4, 1/2, 1).",
        ),
    ] = None,
) -> None:
    """Train, evaluate and write the model (the same as `python train.py`).

    Trains on every labelled paragraph, evaluates it grouped by article, and writes it to the
    model directory. `topictag info` shows the settings the last training chose; give them
    with --C and --lexicon-scale to retrain quickly after adding articles or a topic.
    """
    from topictag.card import stale_note, summary_table, uncertainty_lines
    from topictag.training import train as train_model

    _refuse(
        "to the lexicon's features, not with --no-lexicon",
        {"--lexicon-scale": lexicon_scale is not None and not lexicon},
    )
    grid = dict(defaults.DEFAULT_GRID)
    if c_value is not None:
        grid["C"] = [c_value]
    if lexicon_scale is not None:
        grid["lexicon_scale"] = [lexicon_scale]
    metrics = train_model(
        labels,
        seeds,
        model,
        grid=grid,
        run_evaluation=evaluate,
        progress=lambda m: typer.echo(one_line(m), err=True),
        use_lexicon=lexicon,
        use_furniture=furniture,
    )
    typer.echo(summary_table(metrics["evaluation"]) if metrics["evaluation"] else "trained")
    for line in uncertainty_lines(metrics["evaluation"]):
        typer.echo(line)
    if stale_note(metrics):
        typer.echo(stale_note(metrics))


@app.command()
@friendly
def info(
    model: ModelOption = None,
    fmt: Annotated[
        Format, typer.Option("--format", "-f", help=REPORT_FORMATS, metavar="[table|json|jsonl]")
    ] = Format.table,
    top_terms: Annotated[
        int,
        typer.Option(
            "--top-terms",
            min=0,
            help="Also show each topic's N strongest features for and against it.",
        ),
    ] = 0,
) -> None:
    """Show the model's topics, thresholds, training data and measured accuracy.

    With --top-terms N, also what it learned (JSON: a "top_terms" object, topic ->
    for/against).
    """
    from topictag import defaults
    from topictag.artifact import METRICS, read_metrics, thresholds_note
    from topictag.card import figures_problem, figures_warning
    from topictag.explain import top_terms_table
    from topictag.tagger import load_model

    path = defaults.model_dir(model)
    metrics = read_metrics(path)
    tagger = load_model(path)  # the thresholds shown are those it applies
    used = dict(zip(tagger.topics, tagger.thresholds))
    note = thresholds_note(metrics, used)
    if note:
        typer.echo(f"warning: {one_line(note)}", err=True)
    metrics = {**metrics, "thresholds": used}
    terms = _top_terms(path, top_terms) if top_terms else None
    if fmt is Format.html:
        raise _fail("--format html is for `topictag tag`; use table, json or jsonl", 2)
    if fmt is not Format.table:
        typer.echo(_json({**metrics, "top_terms": terms} if terms else metrics, _indent(fmt)))
        return
    head = [
        f"model: {one_line(str(path))}",
        "topics: " + ", ".join(f"{t} ({v:.2f})" for t, v in metrics["thresholds"].items()),
    ]
    problem = figures_problem(metrics)
    if problem:
        typer.echo(f"warning: {one_line(figures_warning(path / METRICS, problem))}", err=True)
    lines = head + ([] if problem else _metrics_lines(metrics))
    if terms:
        lines += ["", "strongest features per topic (coefficients):", top_terms_table(terms)]
    # each line as one line: the figures come from a file that may have been edited
    typer.echo("\n".join(one_line(line) for text in lines for line in text.split("\n")))


def _metrics_lines(metrics: dict) -> list[str]:
    """What ``topictag info`` shows of ``metrics.json``: training data, parameters, accuracy."""
    from topictag.card import stale_note, summary_table, uncertainty_lines

    data = metrics["data"]
    evaluation = metrics.get("evaluation", {})
    lines = [
        f"trained on {data['rows']} paragraphs: {data['real_rows']} real from "
        f"{counted(data['real_articles'], 'article')}, {data['authored_rows']} authored",
        f"parameters: {metrics['params']}",
        summary_table(evaluation),
        *uncertainty_lines(evaluation),
    ]
    stale = stale_note(metrics)
    return lines + [stale] if stale else lines


def _top_terms(path: Path, n: int) -> dict:
    from topictag.explain import top_terms
    from topictag.tagger import load_model

    return top_terms(load_model(path).model, n)


@app.command()
@friendly
def evaluate(
    file: Annotated[Path, typer.Argument(help="JSON Lines file; each row has text and labels.")],
    model: ModelOption = None,
    fmt: Annotated[
        Format, typer.Option("--format", "-f", help=REPORT_FORMATS, metavar="[table|json|jsonl]")
    ] = Format.table,
    threshold: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, callback=_not_nan, help="One threshold for every topic."),
    ] = None,
    errors: Annotated[
        bool,
        typer.Option("--errors", help="Also list every row the model gets wrong, worst first."),
    ] = False,
) -> None:
    """Score the model on labelled paragraphs.

    Per-topic precision, recall and F1, macro and micro F1, and the keyword baseline; with
    --errors, each wrong row (JSON: "errors", with missed and false topics and scores).
    """
    from topictag.card import figure, metrics_table
    from topictag.evaluation import errors_table, evaluate_file

    if fmt is Format.html:
        raise _fail("--format html is for `topictag tag`; use table, json or jsonl", 2)
    _refuse_stdout_onto(file)
    result = evaluate_file(file, model, threshold, errors=errors)
    if fmt is not Format.table:
        typer.echo(_json(result, _indent(fmt)))
        return
    typer.echo(metrics_table(result))
    for name, baseline in result.get("baselines", {}).items():
        typer.echo(
            f"\nbaseline ({name}): macro F1 {figure(baseline['macro_f1'])}, "
            f"micro F1 {figure(baseline['micro_f1'])}"
        )
    if errors:
        wrong = result["errors"]
        typer.echo(f"\n{len(wrong)} of {result['n']} rows wrong, worst first:")
        if wrong:
            typer.echo(errors_table(wrong))


class Order(str, Enum):
    uncertain = "uncertain"
    document = "document"


@app.command()
@friendly
def label(
    article: Annotated[
        Path | None,
        typer.Argument(help="Article to label (UTF-8 .txt); it is copied into the seeds folder."),
    ] = None,
    order: Annotated[
        Order | None,
        typer.Option(
            help="uncertain (the default): paragraphs the model is least sure of first; "
            "document: in the order of the text.",
            show_default=False,
        ),
    ] = None,
    topics: Annotated[
        list[str] | None,
        typer.Option("--topics", help='Add a topic first: "name=definition" (repeatable).'),
    ] = None,
    review: Annotated[
        bool,
        typer.Option(
            "--review", help="List labels that cross-validation strongly disagrees with; fix them."
        ),
    ] = False,
    disagreement: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="--review: |label - probability| above this (default: 0.8).",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="--review: list and walk through the N worst disagreements (0: all; default: 20).",
            show_default=False,
        ),
    ] = None,
    labels: Annotated[
        Path | None, typer.Option(help="Labels directory (default: labels/).")
    ] = None,
    seeds: Annotated[Path | None, typer.Option(help="Seed articles (default: seeds/).")] = None,
    model: ModelOption = None,
) -> None:
    """Label an article's paragraphs in the terminal, one key per answer.

    Digits toggle topics, Enter accepts, s skips, b goes back, q quits; every answer is
    appended to labels/seeds.jsonl at once, and running it again resumes.
    """
    from topictag.labeling import (
        REVIEW_CUTOFF,
        REVIEW_LIMIT,
        label_article,
        parse_topic,
        review_labels,
    )

    for spec in topics or ():
        try:
            parse_topic(spec)
        except TopictagError as exc:
            raise _fail(str(exc), 2) from None
    if review and article is not None:
        raise _fail(f"--review goes through the labels on file: give it or {article}, not both", 2)
    if review and order is not None:
        raise _fail("--order is for labelling an article, not --review", 2)
    if not review and (disagreement is not None or limit is not None):
        raise _fail("--disagreement and --limit are for --review", 2)
    if review:
        _, session = review_labels(
            labels,
            seeds,
            model,
            REVIEW_CUTOFF if disagreement is None else disagreement,
            topics or (),
            out=typer.echo,
            limit=REVIEW_LIMIT if limit is None else limit,
        )
        typer.echo(f"{session.counts['corrected']} labels corrected")
    elif article is None:
        raise _fail("give an article to label, or --review", 2)
    else:
        summary = label_article(
            article,
            labels,
            seeds,
            model,
            (order or Order.uncertain).value,
            topics or (),
            out=typer.echo,
        )
        typer.echo(str(summary))


class ReportFormat(str, Enum):
    html = "html"
    json = "json"


class Period(str, Enum):
    day = "day"
    week = "week"
    month = "month"


@app.command()
@friendly
def report(
    tagged: Annotated[
        Path,
        typer.Argument(
            help="A corpus tagged by `topictag tag --input` (.jsonl or .parquet); an untagged "
            "one is tagged first."
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the report here (default: stdout)."),
    ] = None,
    fmt: Annotated[
        ReportFormat,
        typer.Option("--format", "-f", help="html: one self-contained page; json: its figures."),
    ] = ReportFormat.html,
    date_field: Annotated[
        str, typer.Option(help="The column of each article's date (ISO text, date, timestamp).")
    ] = defaults.REPORT_DATE_FIELD,
    by: Annotated[Period, typer.Option(help="Count articles per day, week or month.")] = (
        Period(defaults.REPORT_BY)
    ),
    group_field: Annotated[
        str | None,
        typer.Option(
            help="Break the topics down by this column (default: source, if there is one).",
            show_default=False,
        ),
    ] = None,
    text_field: Annotated[
        str, typer.Option(help="The column of the text, read for terms and examples.")
    ] = "text",
    top: Annotated[
        int,
        typer.Option(min=1, max=100, help="Groups drawn in the breakdown; the others are summed."),
    ] = defaults.REPORT_TOP_GROUPS,
    sample: Annotated[
        int,
        typer.Option(
            min=0,
            help="Articles read for the terms, in all: shared evenly among topics and periods "
            "(some 10 ms each).",
        ),
    ] = defaults.REPORT_SAMPLE,
    png: Annotated[
        Path | None, typer.Option(help="Also write each chart as DIR/NAME.png, for slides.")
    ] = None,
    model: ModelOption = None,
) -> None:
    """Report on a tagged corpus: topics over time, together and by source, and what carried
    them.

    Rows without a usable date are counted and named (stderr and the page), not dropped.
    """
    from topictag.files import not_replaceable
    from topictag.trends import corpus_trends
    from topictag.trends_page import CHARTS, html_page, json_text, write_pngs, write_text

    to_file = output is not None and str(output) != "-"
    _refuse_overwriting_inputs(output, tagged, model)
    if png is not None and (model_dir := _in_model(png, model)):
        raise _fail(f"--png {png} is in the model directory {model_dir}; write elsewhere", 2)
    if to_file and (problem := _wrong_suffix(output, fmt)):
        raise _fail(problem, 2)
    if to_file and not output.parent.is_dir():  # before reading the whole corpus
        raise _fail(f"{output}: no such directory: {output.parent}")
    if to_file and (problem := not_replaceable(output)):
        raise _fail(f"{output}: {problem}; give a file, or no --output for stdout")
    if png is not None and (problem := _unmakeable_directory(png, "--png")):
        raise _fail(problem)
    figures = corpus_trends(
        tagged,
        date_field=date_field,
        by=by.value,
        group_field=group_field,
        text_field=text_field,
        top=top,
        sample=sample,
        model=model,
    )
    text = html_page(figures) if fmt is ReportFormat.html else json_text(figures)
    if png is not None:
        written = write_pngs(figures, png)
        for name in CHARTS:
            if (old := png / f"{name}.png") not in written and old.exists():
                typer.echo(
                    f"warning: {one_line(str(old))}: from an earlier report (this one has no "
                    f"{name} chart); not replaced",
                    err=True,
                )
    if not to_file:
        _write_page(text)
        return
    write_text(output, text)
    typer.echo(
        f"{one_line(str(output))}: {counted(figures['corpus']['rows'], 'article')}, "
        f"{counted(len(figures['periods']), 'period')}, {figures['sample']['read']:,} read for "
        "terms",
        err=True,
    )
