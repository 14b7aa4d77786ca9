"""The topictag command, driven through typer's CliRunner: exit codes and parsed JSON."""

import json
import shutil
import subprocess
import sys

import pytest
from conftest import SEEDS, TEST_GRID
from typer.main import get_command
from typer.testing import CliRunner

from topictag.cli import app
from topictag.errors import CONTROLS

SEED_FILES = sorted(SEEDS.glob("*.txt"))


@pytest.fixture
def runner(use_model):
    return CliRunner()


def test_tag_json_has_the_documented_fields(runner):
    result = runner.invoke(app, ["tag", str(SEED_FILES[0]), "--format", "json"])
    assert result.exit_code == 0, result.output
    article = json.loads(result.stdout)
    assert {"source", "topics", "scores", "paragraphs"} <= set(article)
    assert set(article["topics"]) <= set(article["scores"])
    assert {"index", "start", "end", "text", "topics", "scores"} <= set(article["paragraphs"][0])


def test_tag_directory_as_json_array_and_jsonl(runner):
    as_json = runner.invoke(app, ["tag", str(SEEDS), "-f", "json"])
    assert as_json.exit_code == 0
    assert [a["source"] for a in json.loads(as_json.stdout)] == [str(p) for p in SEED_FILES]
    as_jsonl = runner.invoke(app, ["tag", str(SEEDS), "-f", "jsonl"])
    lines = as_jsonl.stdout.strip().splitlines()
    assert [json.loads(line)["topics"] for line in lines] == [
        a["topics"] for a in json.loads(as_json.stdout)
    ]


def test_several_inputs_as_json_are_an_array_even_when_every_one_fails(runner, tmp_path):
    """Every input missing printed nothing; a reader of the array got no JSON at all."""
    missing = [str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]
    both = runner.invoke(app, ["tag", *missing, "-f", "json"])
    assert both.exit_code == 1 and json.loads(both.stdout) == []
    one = runner.invoke(app, ["tag", missing[0], "-f", "json"])
    assert one.exit_code == 1 and one.stdout == ""  # one input: an object, or nothing
    mixed = runner.invoke(app, ["tag", missing[0], str(SEED_FILES[0]), "-f", "json"])
    assert mixed.exit_code == 1
    assert [a["source"] for a in json.loads(mixed.stdout)] == [str(SEED_FILES[0])]


def test_tag_table_with_paragraphs(runner):
    result = runner.invoke(app, ["tag", str(SEED_FILES[1]), "--paragraphs"])
    assert result.exit_code == 0
    assert "topics:" in result.stdout and "[  0]" in result.stdout


def test_page_furniture_is_shown_untagged_in_every_format(runner):
    text = "Oil tankers queue at the Bosphorus.\n\nRead more: sanctions on Iranian oil"
    table = runner.invoke(app, ["tag", "-", "--paragraphs"], input=text)
    assert "[  1] - (page furniture)" in table.stdout
    as_json = json.loads(runner.invoke(app, ["tag", "-", "-f", "json"], input=text).stdout)
    assert [p["furniture"] for p in as_json["paragraphs"]] == [False, True]
    html = runner.invoke(app, ["tag", "-", "-f", "html"], input=text).stdout
    assert html.count("page furniture: not tagged") == 1


def test_tag_reads_stdin(runner):
    result = runner.invoke(
        app, ["tag", "-", "-f", "json"], input="Sanctions on Rosneft.\n\nOil prices."
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout)["source"] == "-"


def test_threshold_option(runner):
    result = runner.invoke(app, ["tag", str(SEED_FILES[0]), "-f", "json", "--threshold", "0"])
    assert json.loads(result.stdout)["topics"] == list(json.loads(result.stdout)["scores"])


@pytest.mark.parametrize("bad", ["--threshold=1.5", "--threshold=nan", "--format=xml"])
def test_bad_options_are_usage_errors(runner, bad):
    assert runner.invoke(app, ["tag", str(SEED_FILES[0]), bad]).exit_code == 2


@pytest.mark.parametrize(
    "args, says",
    [
        (["info", "--top-terms", "abc"], "'abc' is not a valid int"),
        (["tag", "--formt", "json", "x"], "No such option: --formt"),
        (["nocommand"], "No such command 'nocommand'"),
        (["report", "--top", "1000", "x"], "1000 is not in the range"),
        (["tag", "--format"], "requires an argument"),
    ],
)
def test_a_usage_error_is_one_error_line_naming_the_help(runner, args, says):
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ") and says in line
    assert "Usage:" not in line and "─" not in line


def test_no_command_shows_the_help(runner):
    result = runner.invoke(app, [])
    assert result.exit_code == 2
    assert "Commands" in result.output and "error" not in result.output


def test_missing_file_is_one_line_and_others_still_tagged(runner, tmp_path):
    result = runner.invoke(
        app, ["tag", str(tmp_path / "nope.txt"), str(SEED_FILES[0]), "-f", "jsonl"]
    )
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: {tmp_path / 'nope.txt'}: no such file"
    assert len(result.stdout.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_directory_without_text_files(runner, tmp_path):
    result = runner.invoke(app, ["tag", str(tmp_path)])
    assert result.exit_code == 1
    assert "has no .txt or .html files" in result.stderr


def test_unreadable_model_is_one_line(tmp_path):
    result = CliRunner().invoke(app, ["tag", str(SEED_FILES[0]), "--model", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "python train.py" in result.stderr


def test_info_json(runner, model_dir):
    result = runner.invoke(app, ["info", "-f", "json"])
    assert result.exit_code == 0
    assert (
        json.loads(result.stdout)["topics"]
        == json.loads((model_dir / "metrics.json").read_text())["topics"]
    )
    assert runner.invoke(app, ["info"]).exit_code == 0


def test_evaluate_json(runner, tmp_path, seed_rows):
    path = tmp_path / "gold.jsonl"
    path.write_text(
        "\n".join(json.dumps({"text": r["text"], "labels": r["labels"]}) for r in seed_rows)
    )
    result = runner.invoke(app, ["evaluate", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["n"] == len(seed_rows)
    assert {"macro_f1", "micro_f1", "per_topic", "baselines"} <= set(report)
    assert set(report["per_topic"]["gas"]) == {"precision", "recall", "f1", "support", "predicted"}


def test_evaluate_rows_without_any_topic_says_undefined(runner, tmp_path):
    path = tmp_path / "quiet.jsonl"
    path.write_text(json.dumps({"text": "The weather was mild.", "labels": []}) + "\n")
    as_json = runner.invoke(app, ["evaluate", str(path), "--format", "json", "--threshold", "1"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["macro_f1"] is None
    table = runner.invoke(app, ["evaluate", str(path), "--threshold", "1"])
    assert table.exit_code == 0, table.output
    assert "**undefined**" in table.stdout and "0.00**" not in table.stdout


def test_evaluate_unknown_topic_is_an_error(runner, tmp_path):
    path = tmp_path / "gold.jsonl"
    path.write_text(json.dumps({"text": "x", "labels": ["weather"]}) + "\n")
    result = runner.invoke(app, ["evaluate", str(path)])
    assert result.exit_code == 1
    assert "unknown topic 'weather'" in result.stderr


def test_train_command_writes_a_model(tmp_path, labels_dir, monkeypatch):
    import topictag.defaults as defaults

    monkeypatch.setattr(defaults, "DEFAULT_GRID", TEST_GRID)
    labels = tmp_path / "labels"
    shutil.copytree(labels_dir, labels)
    out = tmp_path / "model"
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--labels",
            str(labels),
            "--seeds",
            str(SEEDS),
            "--model",
            str(out),
            "--no-evaluate",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (out / "metrics.json").exists()


def test_train_with_fixed_settings_chooses_neither_c_nor_the_lexicon_scale(
    tmp_path, labels_dir, monkeypatch
):
    """The quick retrain: the settings given are the model's, the grid a single point."""
    import topictag.defaults as defaults

    monkeypatch.setattr(defaults, "DEFAULT_GRID", TEST_GRID)
    args = ["train", "--labels", str(labels_dir), "--seeds", str(SEEDS), "--no-evaluate"]
    fixed = ["--C", "4", "--lexicon-scale", "0.5", "--model", str(tmp_path / "m")]
    result = CliRunner().invoke(app, [*args, *fixed])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert (metrics["params"]["C"], metrics["params"]["lexicon_scale"]) == (4.0, 0.5)
    assert (metrics["selection"]["grid"]["C"], metrics["selection"]["grid"]["lexicon_scale"]) == (
        [4.0],
        [0.5],
    )
    assert metrics["selection"]["note"].startswith("thresholds chosen by grouped")
    assert metrics["selection"]["note"].endswith("every other setting fixed")
    for wrong in (["--C", "0"], ["--C", "1e-320"], ["--lexicon-scale", "0.5", "--no-lexicon"]):
        refused = CliRunner().invoke(app, [*args, *wrong, "--model", str(tmp_path / "n")])
        assert refused.exit_code == 2 and not (tmp_path / "n").exists()


def test_train_without_a_lexicon_stops_unless_no_lexicon(tmp_path, labels_dir, monkeypatch):
    import topictag.defaults as defaults

    monkeypatch.setattr(defaults, "DEFAULT_GRID", TEST_GRID)
    labels = tmp_path / "labels"
    shutil.copytree(labels_dir, labels)
    (labels / "lexicon.toml").unlink()
    args = ["train", "--labels", str(labels), "--seeds", str(SEEDS), "--no-evaluate"]
    stopped = CliRunner().invoke(app, [*args, "--model", str(tmp_path / "m")])
    assert stopped.exit_code == 1
    assert stopped.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "lexicon.toml: missing" in stopped.stderr and "--no-lexicon" in stopped.stderr
    assert not (tmp_path / "m").exists()
    trained = CliRunner().invoke(app, [*args, "--model", str(tmp_path / "m"), "--no-lexicon"])
    assert trained.exit_code == 0, trained.output
    assert json.loads((tmp_path / "m" / "metrics.json").read_text())["params"]["lexicon"] is False


def test_train_no_furniture_writes_a_model_that_scores_page_lines_as_text(
    tmp_path, labels_dir, monkeypatch
):
    import topictag.defaults as defaults
    from topictag import Tagger

    monkeypatch.setattr(defaults, "DEFAULT_GRID", TEST_GRID)  # the rule on, as shipped
    args = ["train", "--labels", str(labels_dir), "--seeds", str(SEEDS), "--no-evaluate"]
    result = CliRunner().invoke(app, [*args, "--model", str(tmp_path / "m"), "--no-furniture"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "m" / "metrics.json").read_text())["params"]["furniture"] is False
    assert "furniture" not in json.loads((tmp_path / "m" / "portable.json").read_text())
    paragraph = Tagger.load(tmp_path / "m").tag("Related: sanctions on oil").paragraphs[0]
    assert not paragraph.furniture and max(paragraph.scores.values()) > 0


def test_train_with_broken_labels_is_one_line(tmp_path):
    labels = tmp_path / "labels"
    labels.mkdir()
    shutil.copy(SEEDS.parent / "labels" / "topics.toml", labels)
    (labels / "x.jsonl").write_text("{oops\n")
    result = CliRunner().invoke(
        app, ["train", "--labels", str(labels), "--model", str(tmp_path / "m")]
    )
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "x.jsonl:1: malformed JSON" in result.stderr
    assert not (tmp_path / "m").exists()


def test_version_option():
    import topictag

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"topictag {topictag.__version__}\n"


@pytest.mark.parametrize("command", ["tag", "train", "info", "evaluate", "label", "report"])
def test_every_command_has_help(command):
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert len(result.stdout) > 100


@pytest.mark.parametrize("command", [[], ["tag"], ["report"], ["label"]])
def test_help_flows_its_paragraphs_to_the_terminal_not_to_the_source_lines(command):
    """A docstring wraps at the source's line length; on a wide terminal each paragraph of
    the help is one line, so no sentence breaks off in the middle."""
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "240"})
    assert result.exit_code == 0
    lines = [line.strip(" │") for line in result.stdout.splitlines()]
    broken = [
        line
        for line in lines
        if line and line[-1].isalpha() and line[:1].islower() and not line.startswith("--")
    ]
    assert not broken, broken


@pytest.mark.parametrize("command", ["info", "evaluate"])
def test_info_and_evaluate_jsonl_is_one_line_of_the_json(runner, command, tmp_path, seed_rows):
    args = [command]
    if command == "evaluate":
        gold = tmp_path / "gold.jsonl"
        gold.write_text(json.dumps({"text": seed_rows[0]["text"], "labels": []}) + "\n")
        args.append(str(gold))
    as_json = runner.invoke(app, [*args, "--format", "json"])
    as_jsonl = runner.invoke(app, [*args, "--format", "jsonl"])
    assert as_json.exit_code == as_jsonl.exit_code == 0, as_jsonl.output
    assert len(as_jsonl.stdout.strip().splitlines()) == 1
    assert json.loads(as_jsonl.stdout) == json.loads(as_json.stdout)
    option = next(p for p in get_command(app).commands[command].params if p.name == "fmt")
    assert "html" not in option.metavar and "html" not in option.help
    assert all(name in option.help for name in ("table", "json", "jsonl"))


@pytest.mark.parametrize("command", [["info"], ["evaluate", "x.jsonl"]])
def test_html_format_is_only_for_tag(runner, command):
    result = runner.invoke(app, [*command, "--format", "html"])
    assert result.exit_code == 2
    assert "--format html is for `topictag tag`" in result.stderr


def test_ctrl_c_while_the_command_loads_is_one_line_and_exit_130(monkeypatch, capsys):
    """Not a traceback of the imports: the same end as Ctrl-C once the command runs."""
    import builtins

    import topictag.__main__ as command

    real_import = builtins.__import__

    def interrupted(name, *args, **kwargs):
        if name == "topictag.cli":
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", interrupted)
    with pytest.raises(SystemExit) as caught:
        command.main()
    assert caught.value.code == 130
    assert capsys.readouterr().err == "error: interrupted\n"


def test_importing_the_package_loads_no_module_of_the_tagger_until_used():
    import subprocess
    import sys

    code = (
        "import sys, topictag; print('topictag.tagger' in sys.modules); "
        "topictag.predict; print('topictag.tagger' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "True"]


def test_info_shows_a_model_path_s_escape_sequences_as_text(runner, model_dir, tmp_path):
    import shutil

    odd = tmp_path / "m\x1b[2J"
    shutil.copytree(model_dir, odd)
    result = runner.invoke(app, ["info", "--model", str(odd)])
    assert result.exit_code == 0
    assert "\x1b" not in result.stdout and "m\\x1b[2J" in result.stdout


def test_a_warning_is_one_line_without_the_source_line_that_raised_it(model_dir):
    """numba's "no writable cache directory" came as a file path, a line number and the
    source line "@_jit" under it."""
    code = (
        "import sys, warnings\n"
        "from topictag import artifact\n"
        "from topictag.__main__ import main\n"
        "real = artifact.read_metrics\n"
        "def warned(path):\n"
        "    warnings.warn('first\\nsecond', RuntimeWarning)\n"
        "    return real(path)\n"
        "artifact.read_metrics = warned\n"
        f"sys.argv = ['topictag', 'info', '--model', {str(model_dir)!r}]\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "warning: first\\nsecond\n"


@pytest.mark.parametrize("command", [["tag"], ["evaluate"], ["report"]])
def test_a_missing_file_is_said_alike_by_every_command(runner, tmp_path, command):
    missing = tmp_path / "nope.jsonl"
    result = runner.invoke(app, [*command, str(missing)])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: {missing}: no such file"


#: Characters a terminal obeys that json.dumps(ensure_ascii=False) wrote raw: DEL, C1 (\x9b
#: is CSI), a next line, a line separator, bidi overrides and isolates.
RAW_IN_JSON = "\x7f\x9b31m\x85\u2028\u202e\u2066\u200f"


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_tag_json_escapes_every_control_character_and_reads_back_the_same(runner, tmp_path, fmt):
    path = tmp_path / "a\u202eb.txt"
    text = f"Gas exports via TurkStream rose {RAW_IN_JSON} and \x1b[2J."
    path.write_text(text + "\n", encoding="utf-8")
    result = runner.invoke(app, ["tag", str(path), "-f", fmt])
    assert result.exit_code == 0, result.output
    assert not CONTROLS.intersection(result.stdout.replace("\n", ""))
    article = json.loads(result.stdout)
    assert article["source"] == str(path) and article["paragraphs"][0]["text"] == text
    assert "\\u009b31m" in result.stdout and "\\u202e" in result.stdout


def test_tag_html_escapes_an_article_s_control_characters(runner, tmp_path):
    path = tmp_path / "inj.txt"
    path.write_text("EU sanctions on Rosneft oil\x1b[8mpipeline exports\n", encoding="utf-8")
    result = runner.invoke(app, ["tag", str(path), "-f", "html"])
    assert result.exit_code == 0, result.output
    assert not CONTROLS.intersection(result.stdout.replace("\n", ""))
    assert '<span class="ctl">\\x1b</span>[8mpipeline' in result.stdout


def test_a_page_is_written_exactly_as_made(runner, monkeypatch):
    """typer.echo removes what looks like an ANSI sequence when stdout is not a terminal: the
    page's text changed under its highlights."""
    page = '<p>a \x1b[31m b <mark title="x">c</mark></p>\n'
    monkeypatch.setattr("topictag.report.html_report", lambda results, topics: page)
    result = runner.invoke(app, ["tag", str(SEED_FILES[0]), "-f", "html"])
    assert result.exit_code == 0, result.output
    assert result.stdout == page


def test_a_report_page_is_written_exactly_as_made(runner, monkeypatch, tmp_path):
    page = "<p>a \x1b[31m b</p>\n"
    monkeypatch.setattr("topictag.trends_page.html_page", lambda figures: page)
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"date": "2025-03-05", "topics": []}\n', encoding="utf-8")
    result = runner.invoke(app, ["report", str(corpus), "--sample", "0"])
    assert result.exit_code == 0, result.output
    assert result.stdout == page


def test_stdin_is_named_alike_in_the_table_and_the_messages_and_kept_as_dash_in_json(runner):
    table = runner.invoke(app, ["tag", "-"], input="")
    assert table.stdout.startswith("<stdin>  (0 paragraphs)")
    assert table.stderr == "warning: <stdin>: no text to tag\n"
    data = runner.invoke(app, ["tag", "-", "-f", "json"], input="Gas flows via TANAP.")
    assert json.loads(data.stdout)["source"] == "-"


def test_info_shows_an_edited_metrics_file_without_its_control_characters(model_dir, tmp_path):
    edited = tmp_path / "model"
    shutil.copytree(model_dir, edited)
    metrics = json.loads((edited / "metrics.json").read_text())
    metrics["params"]["note"] = "\x1b]0;pwned\x07\x1b[2J"
    (edited / "metrics.json").write_text(json.dumps(metrics))
    result = CliRunner().invoke(app, ["info", "--model", str(edited)])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and "\\x1b]0;pwned" in result.stdout
