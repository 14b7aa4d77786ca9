"""The model card and README figures: tables of what training measured, with the interval a
small test set allows and the held-out answers that changed since the previous model."""

import copy
import json
from functools import reduce
from operator import getitem

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topictag.card import (
    changes_paragraph,
    figures_problem,
    metrics_table,
    model_card,
    summary_table,
    uncertainty_lines,
)

TOPICS = ["gas", "oil"]


def held_out(**extra) -> dict:
    per_topic = {t: {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2} for t in TOPICS}
    return {"n": 4, "macro_f1": 0.6667, "micro_f1": 0.6667, "per_topic": per_topic, **extra}


def test_the_table_shows_the_bootstrap_interval_when_training_measured_one():
    assert "interval" not in metrics_table(held_out())
    table = metrics_table(held_out(macro_f1_interval_95=[0.4, 0.9]))
    assert table.splitlines()[-1] == "| macro F1, 95% bootstrap interval | | | 0.40 to 0.90 | |"


def test_the_changed_answers_are_named_or_nothing_is_said():
    assert changes_paragraph(held_out()) is None
    same = {"macro_f1": 0.5, "fixed": [], "broken": [], "difference_interval_95": [0.0, 0.0]}
    assert changes_paragraph(held_out(since_previous_model=same)) == (
        "Every held-out answer is that of the model this one replaced (macro F1 0.50 leaving one "
        "article out)."
    )
    since = {"macro_f1": 0.5, "fixed": ["s-p01: oil", "s-p02: gas"], "broken": []}
    text = changes_paragraph(held_out(since_previous_model=since))
    assert "(macro F1 0.50 leaving one article out)" in text
    assert "now right: `s-p01: oil`; `s-p02: gas`; now wrong: none." in text
    since["difference_interval_95"] = [-0.1, 0.03]
    text = changes_paragraph(held_out(since_previous_model=since))
    assert (
        "article out; the change in macro F1, 95% paired bootstrap interval -0.10 to +0.03)" in text
    )


def test_the_model_card_carries_both(model_dir):
    metrics = json.loads((model_dir / "metrics.json").read_text(encoding="utf-8"))
    since = {"macro_f1": 0.5, "fixed": [], "broken": ["s-p03: gas"]}
    metrics["evaluation"] = {
        "leave_one_article_out": held_out(
            macro_f1_interval_95=[0.4, 0.9], since_previous_model=since
        )
    }
    metrics["topics"] = TOPICS
    metrics["thresholds"] = {t: 0.5 for t in TOPICS}
    metrics["data"]["label_counts"] = {k: {t: 1 for t in TOPICS} for k in ("real", "authored")}
    card = model_card(metrics)
    assert "0.40 to 0.90" in card
    assert "now wrong: `s-p03: gas`." in card


def test_train_and_info_print_the_interval_and_the_changes_under_the_table():
    since = {"macro_f1": 0.5, "fixed": ["s-p01: oil"], "broken": []}
    lines = uncertainty_lines(
        {
            "leave_one_article_out": held_out(
                macro_f1_interval_95=[0.4, 0.9], since_previous_model=since
            )
        }
    )
    assert lines[0] == (
        "Leave one real article out: macro F1 0.67, 95% bootstrap interval 0.40 to 0.90 "
        "(4 paragraphs)."
    )
    assert "now right: `s-p01: oil`" in lines[1]
    assert uncertainty_lines({}) == [] == uncertainty_lines({"leave_one_article_out": held_out()})


def test_info_prints_them(model_dir, tmp_path):
    import shutil

    from typer.testing import CliRunner

    from topictag.cli import app

    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    metrics = json.loads((model / "metrics.json").read_text(encoding="utf-8"))
    topics = metrics["topics"]
    result = held_out(macro_f1_interval_95=[0.4, 0.9])
    result["per_topic"] = {t: result["per_topic"]["gas"] for t in topics}
    metrics["evaluation"] = {"leave_one_article_out": result}
    (model / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    info = CliRunner().invoke(app, ["info", "--model", str(model)])
    assert info.exit_code == 0, info.output
    assert "95% bootstrap interval 0.40 to 0.90 (4 paragraphs)." in info.stdout


def test_every_ablation_training_records_has_a_row_title():
    from topictag import defaults
    from topictag.card import ABLATION_TITLES
    from topictag.training import ablation_grids

    assert set(ablation_grids(defaults.DEFAULT_GRID, has_lexicon=True)) == set(ABLATION_TITLES)


def test_a_topic_absent_from_the_rows_and_the_answers_has_an_undefined_f1():
    """As macro F1 leaves it out, the row says so rather than showing an F1 of 0.00."""
    import numpy as np

    from topictag.metrics import report

    result = report(np.array([[1, 0], [0, 0]]), np.array([[1, 0], [0, 0]]), TOPICS)
    rows = metrics_table(result).splitlines()
    assert rows[2] == "| gas | 1.00 | 1.00 | 1.00 | 1 |"
    assert rows[3] == "| oil | - | - | undefined | 0 |"
    wrong = report(np.array([[1, 0], [0, 0]]), np.array([[1, 1], [0, 0]]), TOPICS)
    assert metrics_table(wrong).splitlines()[3] == "| oil | 0.00 | 0.00 | 0.00 | 0 |"


def test_the_readme_command_refreshes_the_figures_between_the_markers(tmp_path, monkeypatch):
    from conftest import ROOT

    from topictag.card import README_END, README_START, main, readme_metrics

    monkeypatch.chdir(tmp_path)
    metrics = json.loads((ROOT / "model" / "metrics.json").read_text(encoding="utf-8"))
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "metrics.json").write_text(json.dumps(metrics))
    (tmp_path / "README.md").write_text(f"intro\n{README_START}\nold\n{README_END}\nend\n")
    assert main([]) == 0
    text = (tmp_path / "README.md").read_text()
    assert text == f"intro\n{README_START}\n{readme_metrics(metrics)}\n{README_END}\nend\n"


def test_the_readme_command_fails_in_one_line(tmp_path, monkeypatch, capsys):
    from topictag.card import main

    monkeypatch.chdir(tmp_path)
    assert main(["--help"]) == 0 and "usage:" in capsys.readouterr().out
    assert main(["a", "b"]) == 2
    capsys.readouterr()
    assert main([]) == 1
    assert capsys.readouterr().err == "error: model/metrics.json: No such file or directory\n"
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "metrics.json").write_text("{}")
    (tmp_path / "README.md").write_text("no markers\n")
    assert main([]) == 1
    assert "README.md: no <!-- " in capsys.readouterr().err
    assert (tmp_path / "README.md").read_text() == "no markers\n"


# -- figures not as training wrote them ----------------------------------------------------


def measured() -> dict:
    """A ``metrics.json`` as a training with every evaluation writes it, reduced to what
    ``info``, the model card and ``report`` read."""
    since = {"macro_f1": 0.5, "fixed": ["s-p01: oil"], "broken": []}
    since["difference_interval_95"] = [-0.1, 0.2]
    ablated = {"macro_f1": 0.5, "micro_f1": 0.5, "f1": {"gas": 0.5, "oil": None}}
    return {
        "topics": TOPICS,
        "params": {"C": 8.0},
        "data": {"rows": 9, "real_rows": 4, "authored_rows": 5, "real_articles": 2, "sha256": "ab"},
        "evaluation": {
            "leave_one_article_out": held_out(
                macro_f1_interval_95=[0.4, 0.9], since_previous_model=since
            ),
            "authored_only": held_out(),
            "dev": held_out(false_alarms=1, no_topic_rows=3),
            "baselines": {"keywords": held_out()},
            "without_lexicon": {"leave_one_article_out": ablated},
            "not_measured": "the model is not measured",
        },
        "evaluation_stale": {"data_sha256": "cd", "params": {"C": 8.0}},
    }


#: Any JSON value, to put where a figure was.
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 5) | st.floats() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=4,
)


def _paths(obj, prefix: tuple = ()) -> list[tuple]:
    """The path of every value under ``obj``, through objects and lists."""
    items = (
        obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else []
    )
    return [prefix] + [p for key, value in items for p in _paths(value, (*prefix, key))]


@st.composite
def edited(draw, metrics: dict) -> dict:
    """``metrics`` with one value anywhere replaced by any JSON value, or its key removed."""
    out = copy.deepcopy(metrics)
    path = draw(st.sampled_from(_paths(out)[1:]))
    parent = reduce(getitem, path[:-1], out)
    if isinstance(parent, dict) and draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(JSON)
    return out


LOAO = "leave_one_article_out"


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        ((LOAO, "macro_f1"), "x", f"{LOAO}.macro_f1 is 'x', not a number"),
        ((), [1], "evaluation is [1], not an object"),
        ((LOAO, "per_topic"), 3, f"{LOAO}.per_topic is 3, not an object"),
        (("dev", "per_topic", "oil", "support"), "2", "oil.support is '2', not a count"),
        ((LOAO, "macro_f1_interval_95"), [0.4], "interval_95 is [0.4], not two numbers"),
        (("without_lexicon", LOAO, "f1", "gas"), True, "f1.gas is True, not a number"),
        (("baselines",), ["keywords"], "evaluation.baselines is ['keywords'], not an object"),
    ],
)
def test_a_damaged_figure_is_named_with_its_place(path, value, problem):
    metrics = measured()
    assert figures_problem(metrics) is None
    if path:
        reduce(getitem, path[:-1], metrics["evaluation"])[path[-1]] = value
    else:
        metrics["evaluation"] = value
    assert figures_problem(metrics).endswith(problem)


def test_figures_that_are_not_finite_are_damaged():
    metrics = measured()
    metrics["evaluation"]["dev"]["per_topic"]["gas"]["f1"] = float("nan")
    assert figures_problem(metrics).endswith("dev.per_topic.gas.f1 is nan, not a number")
    metrics = measured()
    metrics["evaluation"][LOAO]["macro_f1_interval_95"] = [0.5, float("inf")]
    assert figures_problem(metrics).endswith("[0.5, inf], not two numbers")


def test_a_result_without_a_topic_of_the_others_is_named():
    """Its row of the summary would shift its figures into the wrong topics' columns."""
    metrics = measured()
    del metrics["evaluation"]["dev"]["per_topic"]["gas"]
    problem = figures_problem(metrics)
    assert problem.startswith("the figures of 'Development set: ")
    assert problem.endswith(
        "are for oil, none for gas, not for gas, oil as those of 'Leave one "
        "real article out (trained on everything else)'"
    )


def test_missing_figures_are_named_and_no_evaluation_is_no_problem():
    metrics = measured()
    del metrics["evaluation"]["dev"]["per_topic"]["gas"]["recall"]
    assert figures_problem(metrics) == "evaluation.dev.per_topic.gas.recall is missing"
    assert figures_problem({**measured(), "evaluation": {}}) is None
    assert figures_problem({**measured(), "data": None}) == "data is None, not an object"


@given(edited(measured()))
def test_figures_are_shown_whole_or_their_problem_named(metrics):
    """Whatever one edit did to metrics.json, ``info`` either names the problem or shows every
    figure; it never fails halfway."""
    from topictag.cli import _metrics_lines

    if figures_problem(metrics) is None:
        assert _metrics_lines(metrics)
        table = [
            line
            for line in summary_table(metrics.get("evaluation", {})).splitlines()
            if "|" in line
        ]
        assert len({line.count("|") for line in table}) <= 1  # every row fills every column


def test_stale_figures_of_another_topic_set_say_so():
    """After ``train --no-evaluate`` on a changed topics.toml, the kept table lacks the new
    topic's column: the note says the topics differ, not only the data."""
    from topictag.card import stale_note

    metrics = measured()
    assert stale_note(metrics).startswith(
        "Stale figures: measured by an earlier training on other training data (cd) with "
    )
    metrics["topics"] = ["gas", "oil", "shipping"]
    assert stale_note(metrics).startswith(
        "Stale figures: measured by an earlier training on other training data (cd) and another "
        "topic set (none for shipping, new in this model), with parameters {'C': 8.0}, not on "
        "this model"
    )
    metrics["topics"] = ["gas"]
    assert "another topic set (oil no longer a topic)," in stale_note(metrics)
    metrics["topics"] = ["gas", "LNG"]
    assert "(none for LNG, new in this model; oil no longer a topic)" in stale_note(metrics)
    metrics["data"]["sha256"] = "cd"
    assert "on the same training data and another topic set" in stale_note(metrics)
