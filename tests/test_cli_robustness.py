"""The CLI under hostile input: every good file tagged, one stderr line per bad one."""

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import LABELS
from typer.testing import CliRunner

from topictag.cli import app
from topictag.htmltext import html_to_text

GOOD = "The EU's sanctions package bans transactions with Rosneft.\n\nGas flows via TANAP."


@pytest.fixture
def runner(use_model):
    return CliRunner()


@pytest.fixture
def nasty(tmp_path):
    """A folder with good, odd and bad inputs. Returns (folder, good names, bad names)."""
    d = tmp_path / "nasty"
    d.mkdir()
    good = {
        "utf8.txt": GOOD.encode(),
        "bom.txt": b"\xef\xbb\xbf" + GOOD.encode(),
        "utf16.txt": GOOD.encode("utf-16"),
        "crlf.txt": GOOD.replace("\n", "\r\n").encode(),
        "cr.txt": GOOD.replace("\n", "\r").encode(),
        "nul.txt": GOOD.encode().replace(b"EU", b"E\x00U"),
        "empty.txt": b"",
        "blank.txt": b"  \n\n\t \n",
        "page.html": f"<html><body><p>{GOOD}</p></body></html>".encode(),
        "russian.txt": "Газпром и SOCAR обсудили поставки газа в Иран через Азербайджан.".encode(),
        "oneline.txt": ("Oil tankers and sanctions. " * 40_000).encode(),
    }
    bad = {
        "cp1251.txt": "Газпром и SOCAR обсудили поставки газа".encode("cp1251"),
        "latin1.txt": "Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e na\u00efve".encode("latin-1"),
        "image.txt": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
        "doc.txt": b"%PDF-1.5\n" + bytes(range(256)) * 8,
    }
    for name, data in {**good, **bad}.items():
        (d / name).write_bytes(data)
    (d / "broken.txt").symlink_to(d / "missing-target.txt")
    return d, set(good), set(bad) | {"broken.txt"}


def test_every_good_file_has_a_result_and_every_bad_file_one_error_line(runner, nasty):
    folder, good, bad = nasty
    result = runner.invoke(app, ["tag", str(folder), "--format", "jsonl"])
    assert result.exit_code == 1
    names = [json.loads(line)["source"].rsplit("/", 1)[-1] for line in result.stdout.splitlines()]
    assert set(names) == good
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == len(bad)
    for name in bad:
        assert sum(name in line for line in errors) == 1, name
    assert "Traceback" not in result.output


def test_results_for_odd_but_valid_inputs(runner, nasty):
    folder, _, _ = nasty
    out = {}
    for line in runner.invoke(app, ["tag", str(folder), "-f", "jsonl"]).stdout.splitlines():
        row = json.loads(line)
        out[row["source"].rsplit("/", 1)[-1]] = row
    reference = out["utf8.txt"]["topics"]
    for name in ("bom.txt", "utf16.txt", "crlf.txt", "cr.txt", "page.html"):
        assert out[name]["topics"] == reference, name
    assert out["empty.txt"]["paragraphs"] == [] and out["empty.txt"]["topics"] == []
    assert out["russian.txt"]["english"] is False
    assert (
        out["oneline.txt"]["paragraphs"][0]["end"] - out["oneline.txt"]["paragraphs"][0]["start"]
        <= 20_000
    )


def test_empty_input_is_success_with_a_warning(runner, tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("")
    result = runner.invoke(app, ["tag", str(path), "-f", "json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["paragraphs"] == []
    assert "no text to tag" in result.stderr


def test_non_english_text_is_flagged_on_stderr_and_in_json(runner):
    text = "Газпром и SOCAR обсудили поставки российского газа в Иран через Азербайджан."
    result = runner.invoke(app, ["tag", "-", "-f", "json"], input=text)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["english"] is False
    assert "does not look like English" in result.stderr


def test_html_on_stdin_is_tagged_as_text(runner):
    page = "<!DOCTYPE html><html><body><p>Crude oil exports.</p><p>More.</p></body></html>"
    result = runner.invoke(app, ["tag", "-", "-f", "json"], input=page)
    assert [p["text"] for p in json.loads(result.stdout)["paragraphs"]] == [
        "Crude oil exports.",
        "More.",
    ]


@pytest.mark.parametrize(
    "page", sorted((Path(__file__).parent / "data" / "html").glob("*.html")), ids=lambda p: p.name
)
def test_html_page_offsets_refer_to_its_extracted_text(runner, page):
    result = runner.invoke(app, ["tag", str(page), "-f", "json"])
    assert result.exit_code == 0, result.stderr
    text = html_to_text(page.read_text(encoding="utf-8"))
    paragraphs = json.loads(result.stdout)["paragraphs"]
    assert [p["text"] for p in paragraphs] == text.split("\n\n")
    assert all(text[p["start"] : p["end"]] == p["text"] for p in paragraphs)


def test_without_trafilatura_html_is_tagged_with_one_warning(runner, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "trafilatura", None)  # import trafilatura: ImportError
    for name in ("a.html", "b.html"):
        (tmp_path / name).write_text(f"<html><body><p>{GOOD}</p></body></html>")
    result = runner.invoke(app, ["tag", str(tmp_path), "-f", "jsonl"])
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 2
    assert result.stderr.count("warning: trafilatura cannot be imported") == 1


def test_encoding_option(runner, tmp_path):
    path = tmp_path / "ru.txt"
    path.write_bytes("Газпром и SOCAR обсудили поставки газа".encode("cp1251"))
    result = runner.invoke(app, ["tag", str(path), "-f", "json", "--encoding", "cp1251"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["paragraphs"][0]["text"].startswith("Газпром")


@pytest.mark.parametrize(
    ("encoding", "message"),
    [
        ("bogus", "unknown encoding 'bogus'"),
        ("rot13", "'rot13' is not a text encoding"),
        ("undefined", "'undefined' decodes nothing; give the encoding the text is in"),
    ],
)
def test_a_bad_encoding_is_a_usage_error_before_any_input_is_read(
    runner, tmp_path, encoding, message
):
    """Checked once, not per file: even an empty input (which decodes to nothing) fails."""
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "a.txt").write_text("Oil exports rose.", encoding="utf-8")
    for paths in (["empty.txt"], ["a.txt", "empty.txt"]):
        result = runner.invoke(
            app, ["tag", *(str(tmp_path / p) for p in paths), "--encoding", encoding]
        )
        assert result.exit_code == 2
        assert result.stdout == ""
        assert result.stderr == f"error: --encoding: {message}\n"


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tag", "{dir}/zero.txt"], "zero.txt: a device, not a file"),
        (["tag", "--input", "{dir}/zero.jsonl"], "zero.jsonl: a device, not a regular file"),
        (["evaluate", "{dir}/zero.jsonl"], "zero.jsonl: a device, not a file"),
        (["label", "{dir}/zero.txt", "--labels", "{dir}", "--seeds", "{dir}"], "a device"),
    ],
    ids=["tag", "tag-input", "evaluate", "label"],
)
def test_a_device_behind_a_file_name_is_refused_not_read_forever(runner, tmp_path, args, message):
    """/dev/zero never ends: read whole, it would fill the memory (evaluate once did)."""
    for name in ("zero.txt", "zero.jsonl"):
        (tmp_path / name).symlink_to("/dev/zero")
    shutil.copy(LABELS / "topics.toml", tmp_path)  # label reads the topics first
    result = runner.invoke(app, [a.format(dir=tmp_path) for a in args])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_a_file_name_with_a_line_break_keeps_its_error_on_one_line(runner, tmp_path):
    name = tmp_path / "gone\nerror: fake\x1b[31m.txt"
    result = runner.invoke(app, ["tag", str(name)])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "gone\\nerror: fake\\x1b[31m.txt: no such file" in result.stderr


def test_a_file_name_with_a_line_break_is_one_header_line_of_the_table(runner, tmp_path):
    name = tmp_path / "two\nlines\x1b[31m.txt"
    name.write_text("Oil exports rose.", encoding="utf-8")
    result = runner.invoke(app, ["tag", str(name)])
    assert result.exit_code == 0
    header, columns = result.stdout.splitlines()[:2]
    assert header == f"{tmp_path}/two\\nlines\\x1b[31m.txt  (1 paragraph)"
    assert columns.split() == ["topic", "score", "threshold", "tagged"]


# Files that are not files, outputs that cannot be written ------------------------------------


def topictag(*args: str, **options) -> subprocess.CompletedProcess:
    """The installed command in a process of its own, with a time limit (a FIFO once made it
    wait forever)."""
    options = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **options}
    return subprocess.run([sys.executable, "-m", "topictag", *args], timeout=120, **options)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_without_a_writer_is_refused_not_waited_for(use_model, tmp_path):
    os.mkfifo(tmp_path / "pipe.txt")
    done = topictag("tag", str(tmp_path / "pipe.txt"))
    assert done.returncode == 1
    assert done.stderr.decode() == (
        f"error: {tmp_path / 'pipe.txt'}: a FIFO (named pipe), not a regular file\n"
    )


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["info"],
        ["tag", "{seed}", "-f", "json"],
        ["tag", "{seed}", "-f", "html"],
        ["tag", "--input", "{corpus}"],
    ],
    ids=["help", "info", "tag", "tag-html", "tag-input"],
)
def test_stdout_on_a_full_disk_is_one_error_line(use_model, tmp_path, args):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"text": GOOD}) + "\n")
    seed = sorted(Path(__file__).parent.parent.joinpath("seeds").glob("*.txt"))[0]
    args = [a.format(seed=seed, corpus=corpus) for a in args]
    with open("/dev/full", "w") as full:
        done = topictag(*args, stdout=full)
    assert done.returncode == 1
    assert done.stderr.decode() == "error: <stdout>: cannot write (No space left on device)\n"


@pytest.mark.skipif(os.name != "posix", reason="closes a descriptor before exec")
@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["info"],
        ["tag", "{seed}"],
        ["tag", "{seed}", "-f", "json"],
        ["tag", "{seed}", "-f", "html"],
    ],
)
def test_a_stdout_closed_from_the_start_is_one_error_line(use_model, args):
    """Started with `>&-`, Python sets sys.stdout to None and print drops everything: the
    results were lost with exit 0. cat says "Bad file descriptor" and exits 1; so do we."""
    seed = sorted(Path(__file__).parent.parent.joinpath("seeds").glob("*.txt"))[0]
    args = [a.format(seed=seed) for a in args]
    done = topictag(*args, stdout=None, preexec_fn=lambda: os.close(1))
    assert done.returncode == 1
    assert done.stderr.decode() == "error: <stdout>: cannot write (Bad file descriptor)\n"


@pytest.mark.parametrize(
    "args", [["--help"], ["info"], ["tag", "-", "-f", "json"], ["tag", "-", "-f", "html"]]
)
def test_a_closed_stdout_is_a_quiet_exit(use_model, args):
    read, write = os.pipe()
    os.close(read)
    try:
        done = topictag(*args, stdout=write, input=GOOD.encode())
    finally:
        os.close(write)
    assert done.stderr == b""


@pytest.mark.parametrize("link", [None, "symbolic", "hard"])
def test_output_that_is_the_input_is_refused(runner, tmp_path, link):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"text": GOOD}) + "\n")
    before = corpus.read_bytes()
    output = corpus
    if link:
        output = tmp_path / "out.jsonl"
        (output.symlink_to if link == "symbolic" else output.hardlink_to)(corpus)
    result = runner.invoke(app, ["tag", "--input", str(corpus), "--output", str(output)])
    assert result.exit_code == 2
    assert result.stderr == f"error: --output {output} is the input file; write to another file\n"
    assert corpus.read_bytes() == before


def test_train_on_a_full_disk_is_one_line_and_keeps_the_model(tmp_path, labels_dir, monkeypatch):
    import topictag.artifact as artifact

    model = tmp_path / "model"
    model.mkdir()
    (model / "metrics.json").write_text("{}")

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(artifact, "_fsync_write", full)
    args = ["train", "--labels", str(labels_dir), "--model", str(model), "--no-evaluate"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert error == (
        f"error: {model}: cannot write (No space left on device); the previous model is unchanged"
    )
    assert "Traceback" not in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    assert (model / "metrics.json").read_text() == "{}"


@pytest.mark.parametrize(
    ("edit", "warning"),
    [
        ({"gas": 0.1}, "differ from the model's"),
        ({"gas": "high"}, "are not all numbers ('gas': 'high')"),
    ],
)
def test_info_shows_the_thresholds_the_tagger_uses(tmp_path, model_dir, edit, warning):
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    metrics = json.loads((model / "metrics.json").read_text())
    used = dict(metrics["thresholds"])
    metrics["thresholds"].update(edit)
    (model / "metrics.json").write_text(json.dumps(metrics))
    result = CliRunner().invoke(app, ["info", "--model", str(model), "-f", "json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["thresholds"] == used
    assert result.stderr.startswith("warning: metrics.json: the thresholds " + warning)
    assert len(result.stderr.splitlines()) == 1
    table = CliRunner().invoke(app, ["info", "--model", str(model)])
    assert table.exit_code == 0 and f"gas ({used['gas']:.2f})" in table.stdout


def test_a_lone_surrogate_in_a_text_is_shown_escaped_not_a_crash(use_model, tmp_path):
    """Valid JSON (``\\ud800``) and Python's unicode_escape give texts that UTF-8 cannot
    hold; stdout shows such a character as its escape, which JSON reads back as the same."""
    labels = tmp_path / "l.jsonl"
    labels.write_text('{"text": "gas \\ud800 pipeline", "labels": []}\n')
    done = topictag("evaluate", str(labels), "--errors")
    assert done.returncode == 0, done.stderr
    assert "gas \\ud800 pipeline" in done.stdout.decode()
    article = tmp_path / "a.txt"
    article.write_text("Gas pipeline \\ud800 talks.")
    done = topictag("tag", str(article), "-f", "json", "--encoding", "unicode_escape")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["paragraphs"][0]["text"] == "Gas pipeline \ud800 talks."


@pytest.mark.parametrize("args", [["tag", "-"], ["tag"]])
def test_a_closed_stdin_is_one_error_line(use_model, args):
    done = topictag(*args, stdin=None, preexec_fn=lambda: os.close(0))
    assert done.returncode in (1, 2)
    assert done.stderr.decode().startswith("error: ") and len(done.stderr.splitlines()) == 1


def test_an_article_of_too_many_paragraphs_is_refused_and_the_others_tagged(runner, tmp_path):
    from topictag.defaults import MAX_ARTICLE_PARAGRAPHS

    (tmp_path / "list.txt").write_text("gas\n" * (MAX_ARTICLE_PARAGRAPHS + 1))
    (tmp_path / "good.txt").write_text(GOOD)
    result = runner.invoke(app, ["tag", str(tmp_path), "-f", "jsonl"])
    assert result.exit_code == 1
    assert [json.loads(line)["source"] for line in result.stdout.splitlines()] == [
        str(tmp_path / "good.txt")
    ]
    assert result.stderr == (
        f"error: {tmp_path / 'list.txt'}: {MAX_ARTICLE_PARAGRAPHS + 1:,} paragraphs, over the "
        f"{MAX_ARTICLE_PARAGRAPHS:,} of one article; tag a corpus with --input (one article "
        "per row)\n"
    )


@pytest.mark.parametrize("command", ["tag", "evaluate"])
def test_a_nan_threshold_is_a_usage_error(runner, tmp_path, command):
    (tmp_path / "l.jsonl").write_text('{"text": "gas", "labels": ["gas"]}\n')
    result = runner.invoke(app, [command, str(tmp_path / "l.jsonl"), "--threshold", "nan"])
    assert result.exit_code == 2
    assert "nan is not a number" in result.stderr


def test_output_without_input_says_what_is_missing(runner, tmp_path):
    result = runner.invoke(app, ["tag", "--output", str(tmp_path / "o.jsonl")], input=GOOD)
    assert result.exit_code == 2
    assert result.stderr == (
        "error: --output writes a tagged corpus: give the corpus with --input CORPUS\n"
    )
    assert not (tmp_path / "o.jsonl").exists()


@pytest.mark.parametrize(
    "edit",
    [{"data": {}}, {"data": 5}, {"evaluation": "x"}, {"data": {"rows": 1}}],
    ids=["data-empty", "data-number", "evaluation-text", "data-partial"],
)
def test_info_on_a_hand_edited_metrics_file_shows_the_model_and_one_warning(
    tmp_path, model_dir, edit
):
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    metrics = json.loads((model / "metrics.json").read_text())
    (model / "metrics.json").write_text(json.dumps({**metrics, **edit}))
    result = CliRunner().invoke(app, ["info", "--model", str(model)])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == f"model: {model}"
    assert result.stderr.startswith(f"warning: {model / 'metrics.json'}: not as training wrote it")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    "args, named",
    [
        (["tag", ""], ""),
        (["tag", "--", ""], ""),
        (["tag", "a.txt", "--model", ""], " for --model"),
        (["report", "c.jsonl", "--png="], " for --png"),
        (["evaluate", ""], ""),
    ],
)
def test_an_empty_argument_is_a_usage_error_not_the_working_directory(
    runner, tmp_path, monkeypatch, args, named
):
    """``topictag tag "$FILE"`` with FILE unset tagged every article below the working
    directory, and ``--png ""`` wrote the charts into it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text(GOOD)
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert (
        result.output == f"error: an empty {'value' if '=' in args[-1] else 'argument'}{named}"
        " (an unset shell variable?)\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_an_equals_sign_in_a_value_or_a_file_name_after_double_dash_is_not_empty():
    from topictag.cli import empty_argument

    assert empty_argument(["label", "a.txt", "--topics=x=y"]) is None
    assert empty_argument(["label", "a.txt", "--topics=x="]) is None
    assert empty_argument(["tag", "--", "--x="]) is None
    refused = "an empty value for --model (an unset shell variable?)"
    assert empty_argument(["tag", "--model="]) == refused


def test_a_signal_waiting_when_the_handlers_are_put_back_is_one_line(monkeypatch, capsys):
    """Python runs a pending Ctrl-C when a handler is changed: at the very end of a run it
    printed a traceback. It is the run's exit code and one line, and every handler goes back."""
    import signal

    from topictag import cli

    calls = []

    def change(signum, handler):
        calls.append(signum)
        if len(calls) == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(signal, "signal", change)
    code = cli._handlers_restored({signal.SIGTERM: None, signal.SIGHUP: None}, 0)
    assert code == 130
    assert capsys.readouterr().err == "error: interrupted\n"
    assert set(calls) == {signal.SIGTERM, signal.SIGHUP}


@pytest.mark.parametrize(
    ("args", "victim"),
    [
        (["tag", "--input", "{dir}/c.jsonl"], "c.jsonl"),
        (["tag", "--input", "{dir}/c.jsonl", "--output", "{dir}/o.jsonl"], "c.jsonl"),  # summary
        (["tag", "{dir}/a.txt", "{dir}/b.txt"], "b.txt"),
        (["tag", "{dir}"], "b.txt"),  # a file found in a directory given
        (["evaluate", "{dir}/l.jsonl"], "l.jsonl"),
        (["report", "{dir}/c.jsonl"], "c.jsonl"),
    ],
    ids=["tag-input", "tag-input-summary", "tag-files", "tag-directory", "evaluate", "report"],
)
def test_standard_output_appended_to_an_input_is_refused_before_anything_is_written(
    use_model, tmp_path, args, victim
):
    """``tag --input c.jsonl >> c.jsonl`` read its own rows back as more input and grew the
    corpus with them; ``cat`` refuses this too. Nothing is written, whatever the input."""
    (tmp_path / "a.txt").write_text("Gas flows through the pipeline.\n")
    (tmp_path / "b.txt").write_text("Oil prices rose.\n")
    (tmp_path / "c.jsonl").write_text(json.dumps({"text": GOOD, "date": "2025-01-01"}) + "\n")
    (tmp_path / "l.jsonl").write_text(json.dumps({"text": GOOD, "labels": ["gas"]}) + "\n")
    before = (tmp_path / victim).read_bytes()
    with open(tmp_path / victim, "ab") as appended:
        done = topictag(*(a.format(dir=tmp_path) for a in args), stdout=appended)
    assert done.returncode == 2, done.stderr.decode()
    assert done.stderr.decode() == (
        f"error: standard output is the input file {tmp_path / victim}; write to another file\n"
    )
    assert (tmp_path / victim).read_bytes() == before


def test_standard_output_to_another_file_is_written(use_model, tmp_path):
    (tmp_path / "c.jsonl").write_text(json.dumps({"text": GOOD}) + "\n")
    with open(tmp_path / "out.jsonl", "wb") as out:
        done = topictag("tag", "--input", str(tmp_path / "c.jsonl"), stdout=out)
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads((tmp_path / "out.jsonl").read_text())["text"] == GOOD
