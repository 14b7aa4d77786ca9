"""The package as a user meets it: console script, light import, README that stays true."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command

from topictag.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
SEED = sorted((ROOT / "seeds").glob("*.txt"))[0]


def test_installed_console_script_runs():
    exe = Path(sys.executable).parent / "topictag"
    result = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "tag" in result.stdout


def test_python_dash_m_works():
    result = subprocess.run(
        [sys.executable, "-m", "topictag", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0


def test_import_and_predict_stay_light(model_dir):
    code = (
        "import sys, topictag\n"
        f"topictag.predict('Gas and oil sanctions.', model={str(model_dir)!r})\n"
        "heavy = ('numpy', 'typer', 'datasets', 'sklearn', 'scipy', 'pandas', 'numba')\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_tag_command_stays_light(model_dir):
    """The cold start of ``topictag tag FILE`` is Python, typer and the model, nothing more.

    scikit-learn and scipy take some 1.8 s to import, datasets and pyarrow about 1 s, numpy
    0.09 s (one article is scored in plain Python); typer 0.29 imports pydantic to parse any
    option (0.15 s), hence its pin below 0.29. trafilatura and lxml (some 0.4 s) are for HTML
    pages only.
    """
    code = (
        "import sys\n"
        "from topictag.cli import app\n"
        f"app(['tag', {str(SEED)!r}, '-f', 'json', '-m', {str(model_dir)!r}],"
        " standalone_mode=False)\n"
        "heavy = ('numpy', 'sklearn', 'scipy', 'pandas', 'datasets', 'pyarrow', 'pydantic',"
        " 'topictag.batch', 'numba', 'topictag.compiled', 'trafilatura', 'lxml',"
        " 'matplotlib', 'topictag.trends', 'topictag.tagged')\n"
        "print(','.join(m for m in heavy if m in sys.modules), file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert '"topics"' in result.stdout
    assert result.stderr.strip() == ""


def test_tag_works_from_any_directory_with_the_shipped_model(tmp_path):
    """An install carries the model (topictag/model/), a checkout has model/: either way the
    tagger finds it without --model, wherever it is run from."""
    exe = Path(sys.executable).parent / "topictag"
    env = {k: v for k, v in os.environ.items() if k != "TOPICTAG_MODEL"}
    result = subprocess.run(
        [str(exe), "tag", str(SEED), "-f", "json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["paragraphs"]


def test_readme_opens_with_the_two_commands():
    blocks = re.findall(r"```(?:bash|sh)\n(.*?)```", README, re.S)
    assert "pip install" in blocks[0] and "topictag tag seeds/" in blocks[0]
    assert "pytest" in blocks[1]


def test_every_cli_command_appears_in_the_readme():
    for name in get_command(app).commands:
        assert f"topictag {name}" in README, name


def test_readme_python_example_runs(use_model, monkeypatch):
    """The README's Python block runs as written (against the test model: values differ)."""
    block = re.findall(r"```python\n(.*?)```", README, re.S)[0]
    monkeypatch.chdir(ROOT)
    exec(compile(block, "README.md", "exec"), {})


@pytest.mark.parametrize(
    ("name", "module"),
    [("train", "topictag.training"), ("tag_corpus", "topictag.batch"),
     ("evaluate_file", "topictag.evaluation"), ("corpus_trends", "topictag.trends")],
)  # fmt: skip
def test_lazy_wrappers_have_the_signature_of_the_function_they_call(name, module):
    """help(topictag.tag_corpus) shows input_path, output_path...: not (*args, **kwargs)."""
    import importlib
    import inspect

    import topictag

    def shape(function):
        return [
            (p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()
        ]

    real = getattr(importlib.import_module(module), name)
    assert shape(getattr(topictag, name)) == shape(real)


def test_readme_documents_tag_corpus_with_its_real_arguments():
    import inspect

    import topictag

    (call,) = re.findall(r"`(tag_corpus\(.*?\))`", README, re.S)
    names = re.findall(r"(\w+)=", call) + re.findall(r"\((\w+),", call)
    assert set(names) <= set(inspect.signature(topictag.tag_corpus).parameters), call


def test_readme_figures_are_those_of_the_shipped_model():
    """The figures between the README's metrics markers come from model/metrics.json
    (refresh them with `python -m topictag.card` after training)."""
    import json

    from topictag.card import update_readme

    metrics = json.loads((ROOT / "model" / "metrics.json").read_text(encoding="utf-8"))
    assert update_readme(README, metrics) == README


def test_readme_example_output_is_what_the_shipped_model_prints(monkeypatch):
    """The first example under "What you get" is the shipped model's output, thresholds
    included (paste the command's output there after retraining)."""
    from typer.testing import CliRunner

    block = re.search(r"```\n\$ topictag (tag [^\n]+)\n(.*?)```", README, re.S)
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(app, [*block.group(1).split(), "--model", "model"])
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip("\n") == block.group(2).rstrip("\n")


def test_help_lists_every_public_name_with_its_signature():
    """The names loaded on first use were missing from help(topictag) and dir(topictag)."""
    import pydoc

    import topictag

    assert set(topictag.__all__) <= set(dir(topictag))
    text = pydoc.render_doc(topictag, renderer=pydoc.plaintext)
    for name in topictag.__all__:
        assert name in text
    for call in ("predict(text", "tag_batch(", "load_model(", "split_paragraphs("):
        assert call in text
