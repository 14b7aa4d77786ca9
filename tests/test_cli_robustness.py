"""The CLI under hostile input: every good file tagged, one stderr line per bad one."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from topictag.cli import app

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


def test_encoding_option(runner, tmp_path):
    path = tmp_path / "ru.txt"
    path.write_bytes("Газпром и SOCAR обсудили поставки газа".encode("cp1251"))
    result = runner.invoke(app, ["tag", str(path), "-f", "json", "--encoding", "cp1251"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["paragraphs"][0]["text"].startswith("Газпром")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tag", "{dir}/zero.txt"], "zero.txt: a device, not a file"),
        (["tag", "--input", "{dir}/zero.jsonl"], "zero.jsonl: not a regular file"),
        (["evaluate", "{dir}/zero.jsonl"], "zero.jsonl: a device, not a file"),
        (["label", "{dir}/zero.txt", "--labels", "{dir}", "--seeds", "{dir}"], "a device"),
    ],
    ids=["tag", "tag-input", "evaluate", "label"],
)
def test_a_device_behind_a_file_name_is_refused_not_read_forever(runner, tmp_path, args, message):
    """/dev/zero never ends: read whole, it would fill the memory (evaluate once did)."""
    for name in ("zero.txt", "zero.jsonl"):
        (tmp_path / name).symlink_to("/dev/zero")
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
