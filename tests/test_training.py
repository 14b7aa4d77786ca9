"""Training: honest grouped evaluation, determinism, and what it writes."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import SEEDS, TEST_GRID, write_jsonl
from typer.testing import CliRunner

import topictag.training as training
from topictag.artifact import load_pipeline
from topictag.cli import app
from topictag.errors import LabelError, TopictagError
from topictag.furniture import compile_furniture, furniture_rows, furniture_settings
from topictag.labels import load_labels
from topictag.lexicon import load_lexicon
from topictag.metrics import binarize, report
from topictag.normalize import FORMS, normalize
from topictag.pipeline import predict_proba
from topictag.scorer import PortableModel
from topictag.topics import load_topics


@pytest.fixture(scope="module")
def data(labels_dir):
    topics = [t.name for t in load_topics(labels_dir)]
    return load_labels(labels_dir, topics, SEEDS), load_lexicon(labels_dir, topics)


def test_no_paragraph_of_a_test_article_is_ever_in_training(monkeypatch, data):
    labelled, lexicon = data
    article_of = dict(zip(labelled.texts, labelled.articles))
    trained_on = {}
    models = []  # kept alive, so that no two of them ever share an id()
    real_fit, real_predict = training._fit, training.predict_proba

    def fit(texts, y, params, lexicon, topics):
        model = real_fit(texts, y, params, lexicon, topics)
        models.append(model)
        trained_on[id(model)] = {article_of[t] for t in texts}
        return model

    def predict(model, texts):
        tested = {article_of[t] for t in texts}
        assert not tested & trained_on[id(model)]
        return real_predict(model, texts)

    inner_folds = []
    real_fold = training._fold_predictions
    article_of_normal = {  # the inner folds see the texts normalised, in each form of the grid
        normalize(t, form): a for t, a in article_of.items() for form in FORMS
    }

    def fold(normal, lexicon_counts, y_train, train_idx, val_idx, configs):
        inner_folds.append(1)
        for texts in normal.values():
            trained = {article_of_normal[t] for t in texts[train_idx]}
            assert not trained & {article_of_normal[t] for t in texts[val_idx]}
        return real_fold(normal, lexicon_counts, y_train, train_idx, val_idx, configs)

    monkeypatch.setattr(training, "_fit", fit)
    monkeypatch.setattr(training, "predict_proba", predict)
    monkeypatch.setattr(training, "_fold_predictions", fold)
    result = training.evaluate(labelled, lexicon, TEST_GRID, inner_folds=2)
    held_out = result["leave_one_article_out"]
    assert held_out["n"] == len(labelled)
    assert len(trained_on) == 5 and len(inner_folds) == 10
    # each row's held-out answer is kept, for the next training to compare with
    assert set(held_out["predictions"]) == set(labelled.ids)
    low, high = held_out["macro_f1_interval_95"]
    assert low <= held_out["macro_f1"] <= high


def test_evaluation_reports_model_and_baselines_on_real_text_only(data):
    labelled, lexicon = data
    authored = [
        {
            "id": f"a{i}",
            "article": f"auth-{i}",
            "text": f"Authored gas text {i}.",
            "labels": ["gas"],
            "source": "authored",
        }
        for i in range(3)
    ]
    both = labelled.subset([True] * len(labelled))
    both.ids += [r["id"] for r in authored]
    both.articles += [r["article"] for r in authored]
    both.texts += [r["text"] for r in authored]
    both.labels += [r["labels"] for r in authored]
    both.sources += ["authored"] * 3
    result = training.evaluate(both, lexicon, TEST_GRID, inner_folds=2)
    real_rows = sum(both.real)
    for name in ("leave_one_article_out", "seeds_only", "authored_only"):
        assert result[name]["n"] == real_rows
    assert set(result["baselines"]) == {"all_topics", "keywords"}
    assert set(result["leave_one_article_out"]["per_topic"]) == set(both.topics)
    # an ablation asks for the model's own figures only
    lean = training.evaluate(
        both, lexicon, TEST_GRID, inner_folds=2, baselines=False, seeds_only=False
    )
    assert set(lean) == {"leave_one_article_out", "authored_only"}
    assert lean["leave_one_article_out"] == result["leave_one_article_out"]


def test_with_one_real_article_the_figures_say_why_the_model_is_not_measured(data):
    from topictag.card import summary_table

    labelled, lexicon = data
    first = labelled.articles[[i for i, r in enumerate(labelled.real) if r][0]]
    keep = [(not r) or a == first for a, r in zip(labelled.articles, labelled.real)]
    one = labelled.subset(keep)
    result = training.evaluate(one, lexicon, TEST_GRID, inner_folds=2)
    assert "leave_one_article_out" not in result
    assert "at least two real (not authored) articles, and there is 1" in result["not_measured"]
    assert summary_table(result).endswith("and there is 1.")
    note = "the model is not measured: ... there are 0"
    assert summary_table({"not_measured": note}) == f"(no evaluation: {note})"


def test_thresholds_and_parameters_are_recorded(model_dir):
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert set(metrics["thresholds"]) == set(metrics["topics"])
    assert metrics["params"] == {
        "C": 8.0,
        "furniture": True,
        "lexicon": True,
        "lexicon_scale": 0.25,
    }
    assert "timestamp" not in json.dumps(metrics)
    assert len(metrics["data"]["sha256"]) == 64


def test_retraining_the_same_labels_gives_identical_files(tmp_path, labels_dir, model_dir):
    again = tmp_path / "again"
    training.train(labels_dir, SEEDS, again, grid=TEST_GRID, inner_folds=2, run_evaluation=False)
    for name in ("metrics.json", "portable.json", "portable.npz", "pipeline.joblib"):
        assert (again / name).read_bytes() == (model_dir / name).read_bytes(), name


def test_retraining_in_another_process_gives_identical_files(tmp_path, labels_dir):
    """Between processes, string hashes (the order of sets) and memory addresses change: the
    files, pipeline.joblib included, must not depend on either."""
    code = (
        "import sys\n"
        "from topictag.training import train\n"
        f"train(sys.argv[1], sys.argv[2], sys.argv[3], grid={TEST_GRID!r}, inner_folds=2,"
        " run_evaluation=False, n_jobs=1)\n"
    )
    for seed, name in (("1", "a"), ("2", "b")):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        args = [str(labels_dir), str(SEEDS), str(tmp_path / name)]
        subprocess.run([sys.executable, "-c", code, *args], env=env, check=True, timeout=300)
    for name in ("pipeline.joblib", "portable.json", "portable.npz", "metrics.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_saved_pipeline_and_portable_model_give_the_same_scores(model_dir, seed_rows):
    texts = [r["text"] for r in seed_rows]
    pipeline = load_pipeline(model_dir)
    expected = pipeline.predict_proba(texts)
    assert np.abs(PortableModel.load(model_dir).scores(texts) - expected).max() <= 1e-9


def test_a_new_topic_in_the_labels_is_learned_without_code_changes(tmp_path, labels_dir):
    labels = tmp_path / "labels"
    labels.mkdir()
    shutil.copy(labels_dir / "lexicon.toml", labels)
    (labels / "topics.toml").write_text(
        (labels_dir / "topics.toml").read_text()
        + '\n[[topic]]\nname = "nuclear"\ndefinition = "Nuclear power."\n'
    )
    rows = [json.loads(line) for line in (labels_dir / "seeds.jsonl").read_text().splitlines()]
    extra = [
        {"id": f"n{i}", "article": f"nuc-{i % 3}", "text": text, "labels": ["nuclear"]}
        for i, text in enumerate(
            [
                "Rosatom builds a nuclear plant in Uzbekistan.",
                "The nuclear reactor in Kazakhstan.",
                "Uranium fuel for the nuclear power station.",
                "Nuclear power talks with Rosatom.",
            ]
        )
    ]
    write_jsonl(labels / "mine.jsonl", rows + extra)
    metrics = training.train(
        labels, SEEDS, tmp_path / "model", grid=TEST_GRID, inner_folds=2, run_evaluation=False
    )
    assert metrics["topics"][-1] == "nuclear"
    scores = PortableModel.load(tmp_path / "model").scores(
        ["A new nuclear reactor for Uzbekistan."]
    )
    assert scores[0][-1] > 0.5


def test_training_without_the_lexicon_stops_unless_asked(tmp_path, labels_dir):
    """The lexicon is worth up to 0.09 macro F1: a missing file is not silently dropped."""
    labels = tmp_path / "labels"
    labels.mkdir()
    for name in ("topics.toml", "seeds.jsonl"):
        shutil.copy(labels_dir / name, labels)
    out = tmp_path / "model"
    args = (labels, SEEDS, out)
    with pytest.raises(LabelError, match=r"lexicon.toml: missing .* --no-lexicon"):
        training.train(*args, grid=TEST_GRID, inner_folds=2, run_evaluation=False)
    assert not out.exists()
    metrics = training.train(
        *args, grid=TEST_GRID, inner_folds=2, run_evaluation=False, use_lexicon=False
    )
    assert metrics["params"]["lexicon"] is False
    assert not any(b.kind == "lexicon" for b in PortableModel.load(out).blocks)


def test_no_lexicon_trains_without_its_features_but_keeps_the_keyword_baseline(
    tmp_path, labels_dir
):
    out = tmp_path / "model"
    metrics = training.train(
        labels_dir, SEEDS, out, grid=TEST_GRID, inner_folds=2, n_jobs=1, use_lexicon=False
    )
    assert metrics["params"]["lexicon"] is False
    assert "without_lexicon" not in metrics["evaluation"]
    assert "keywords" in metrics["evaluation"]["baselines"]
    assert PortableModel.load(out).lexicon


def test_training_without_evaluation_keeps_the_last_figures_marked_stale(
    tmp_path, labels_dir, monkeypatch
):
    topics = [t.name for t in load_topics(labels_dir)]
    y = np.eye(len(topics), dtype=bool)
    figures = {"leave_one_article_out": report(y, y, topics)}
    monkeypatch.setattr(
        training, "evaluate", lambda *args, **kwargs: json.loads(json.dumps(figures))
    )
    out = tmp_path / "model"
    args = dict(grid=TEST_GRID, inner_folds=2, n_jobs=1, ablation=False)
    measured = training.train(labels_dir, SEEDS, out, **args)
    assert measured["evaluation"] == figures and "evaluation_stale" not in measured

    unmeasured = training.train(labels_dir, SEEDS, out, run_evaluation=False, **args)
    assert unmeasured["evaluation"] == figures
    stale = unmeasured["evaluation_stale"]
    assert stale["data_sha256"] == measured["data"]["sha256"]
    assert stale["params"] == measured["params"]
    note = "Stale figures: measured by an earlier training on the same training data"
    assert note in (out / "MODEL_CARD.md").read_text(encoding="utf-8")
    info = CliRunner().invoke(app, ["info", "--model", str(out)])
    assert info.exit_code == 0, info.output
    assert note in info.stdout and "| 1.00 |" in info.stdout
    # Stale stays stale, with its origin, however many trainings skip the evaluation.
    again = training.train(labels_dir, SEEDS, out, run_evaluation=False, **args)
    assert again["evaluation_stale"] == stale and again["evaluation"] == figures
    assert "evaluation_stale" not in training.train(labels_dir, SEEDS, out, **args)


def test_training_without_evaluation_and_no_earlier_figures_writes_none(tmp_path, labels_dir):
    out = tmp_path / "model"
    metrics = training.train(labels_dir, SEEDS, out, grid=TEST_GRID, run_evaluation=False)
    assert metrics["evaluation"] == {} and "evaluation_stale" not in metrics


def test_selection_and_fit_read_normalised_text(data):
    """Soft hyphens change nothing anywhere in training: the inner cross-validation reads the
    texts normalised, as the pipeline's first step does."""
    labelled, lexicon = data
    hidden = [t.replace("a", "a\u00ad").replace("o", "ｏ") for t in labelled.texts]
    y = binarize(labelled.labels, labelled.topics)
    args = (y, labelled.articles, labelled.topics, lexicon, TEST_GRID, 2)
    plain = training.fit_selected(labelled.texts, *args)
    odd = training.fit_selected(hidden, *args)
    assert odd.inner_macro_f1 == plain.inner_macro_f1
    assert odd.thresholds.tolist() == plain.thresholds.tolist()
    np.testing.assert_array_equal(
        predict_proba(odd.pipeline, hidden), predict_proba(plain.pipeline, labelled.texts)
    )


def test_a_configuration_without_the_lexicon_has_no_lexicon_scale():
    grid = {"C": [8.0], "lexicon": [True, False], "lexicon_scale": [0.25, 1.0]}
    assert training.expand_grid(grid, has_lexicon=True) == [
        {"C": 8.0, "lexicon": True, "lexicon_scale": 0.25},
        {"C": 8.0, "lexicon": True, "lexicon_scale": 1.0},
        {"C": 8.0, "lexicon": False},
    ]
    assert training.expand_grid(grid, has_lexicon=False) == [{"C": 8.0, "lexicon": False}]


def test_each_design_choice_in_the_grid_has_its_ablation():
    grid = {"C": [8.0], "lexicon": [True], "lexicon_scale": [0.25, 1.0]}
    assert training.ablation_grids(grid, has_lexicon=True) == {
        "without_lexicon": {**grid, "lexicon": [False]},
        "lexicon_unscaled": {**grid, "lexicon_scale": [1.0]},
    }
    unscaled = {"C": [8.0], "lexicon": [True]}
    assert list(training.ablation_grids(unscaled, has_lexicon=True)) == ["without_lexicon"]
    assert training.ablation_grids(grid, has_lexicon=False) == {}
    furnished = {**unscaled, "furniture": [True]}
    assert training.ablation_grids(furnished, has_lexicon=False) == {
        "without_furniture_rule": {**furnished, "furniture": [False]}
    }
    abbreviated = {**unscaled, "abbreviations": [True]}
    assert training.ablation_grids(abbreviated, has_lexicon=False) == {
        "abbreviations_as_written": {**abbreviated, "abbreviations": [False]}
    }


def test_thresholds_are_chosen_on_the_scores_the_tagger_gives(monkeypatch, data):
    """Inside selection, page furniture scores zero, as it will when tagging."""
    labelled, lexicon = data
    texts = list(labelled.texts) + ["Related: gas, oil and sanctions"] * 4
    y = binarize(list(labelled.labels) + [[]] * 4, labelled.topics)
    articles = list(labelled.articles) + ["links"] * 4
    seen = []
    real_choose = training.choose_thresholds
    monkeypatch.setattr(
        training, "choose_thresholds", lambda y, s, grid: seen.append(s) or real_choose(y, s, grid)
    )
    for rule in (True, False):
        grid = {**TEST_GRID, "furniture": [rule]}
        training.fit_selected(texts, y, articles, labelled.topics, lexicon, grid, 2)
    with_rule, without = seen
    furniture = np.asarray(furniture_rows(texts, compile_furniture(furniture_settings())))
    assert furniture[-4:].all() and furniture.sum() < 10  # the seeds have a few too
    assert (with_rule[furniture] == 0).all() and (without[-4:] > 0).all()
    np.testing.assert_array_equal(with_rule[~furniture], without[~furniture])


def test_a_fitted_model_scores_furniture_as_the_tagger_does(model_dir):
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert metrics["params"]["furniture"] is True
    fitted = training.Fitted(load_pipeline(model_dir), metrics["params"], np.zeros(5), None)
    texts = ["Tags: oil, gas, sanctions", "Oil tankers leave Novorossiysk."]
    portable = PortableModel.load(model_dir)
    from topictag import Tagger

    np.testing.assert_allclose(fitted.scores(texts), Tagger(portable).scores(texts), atol=1e-9)
    assert (fitted.scores(texts)[0] == 0).all()
    plain = training.Fitted(fitted.pipeline, {**fitted.params, "furniture": False}, None, None)
    assert (plain.scores(texts)[0] > 0).all()


def test_the_model_records_the_furniture_markers_it_was_trained_with(model_dir):
    settings = json.loads((model_dir / "portable.json").read_text(encoding="utf-8"))
    assert settings["furniture"] == furniture_settings()


def test_selection_scores_scaled_lexicons_as_the_fitted_pipeline_does(data):
    """The inner folds scale precomputed lexicon counts of precomputed normal texts; the
    pipeline normalises and scales its own."""
    from topictag.normalize import normalize_all
    from topictag.pipeline import LexiconFeatures, predict_proba

    labelled, lexicon = data
    texts = np.asarray(labelled.texts, dtype=object)
    y = training.binarize(labelled.labels, labelled.topics)
    train, val = np.arange(len(texts)) % 3 != 0, np.arange(len(texts)) % 3 == 0
    counts = LexiconFeatures(lexicon=lexicon, topics=labelled.topics).fit([])
    for abbreviations in (True, False):
        params = {"C": 8.0, "lexicon": True, "lexicon_scale": 0.25, "abbreviations": abbreviations}
        form = training.text_form(params)
        normal = {form: np.asarray(normalize_all(texts, form), dtype=object)}
        lex = {form: counts.transform(normal[form])}
        (fold,) = training._fold_predictions(
            normal, lex, y[train], np.flatnonzero(train), np.flatnonzero(val), [params]
        )
        pipeline = training._fit(texts[train], y[train], params, lexicon, labelled.topics)
        assert pipeline.named_steps["normalize"].form == form
        assert pipeline.named_steps["features"].get_params()["lexicon__scale"] == 0.25
        assert np.abs(fold - predict_proba(pipeline, texts[val])).max() <= 1e-12


def test_changed_rows_names_each_topic_that_became_right_or_wrong():
    gold = {"a": ["oil"], "b": [], "c": ["gas"], "d": ["gas"]}
    before = {"a": [], "b": [], "c": ["gas", "oil"], "d": ["gas"], "gone": ["oil"]}
    after = {"a": ["oil"], "b": ["gas"], "c": ["gas"], "d": ["gas"]}
    assert training.changed_rows(before, after, gold) == {
        "fixed": ["a: oil", "c: oil"],
        "broken": ["b: gas"],
    }


def test_a_training_names_the_held_out_answers_that_changed_since_the_model_it_replaces(
    tmp_path, labels_dir, seed_rows, monkeypatch
):
    topics = [t.name for t in load_topics(labels_dir)]
    row = next(r for r in seed_rows if r["labels"])
    topic = row["labels"][0]

    def figures(answer):
        held_out = report(np.eye(len(topics), dtype=bool), np.eye(len(topics)), topics)
        held_out["predictions"] = {row["id"]: answer}
        return {"leave_one_article_out": held_out}

    out = tmp_path / "model"
    args = dict(grid=TEST_GRID, inner_folds=2, n_jobs=1, ablation=False)
    # "mining": a topic the earlier labels had and these do not
    monkeypatch.setattr(training, "evaluate", lambda *a, **k: figures(["mining"]))
    first = training.train(labels_dir, SEEDS, out, **args)
    assert "since_previous_model" not in first["evaluation"]["leave_one_article_out"]
    monkeypatch.setattr(training, "evaluate", lambda *a, **k: figures([topic]))
    second = training.train(labels_dir, SEEDS, out, **args)["evaluation"]
    since = second["leave_one_article_out"]["since_previous_model"]
    assert since["macro_f1"] == 1.0
    assert (since["fixed"], since["broken"]) == ([f"{row['id']}: {topic}"], [])
    low, high = since["difference_interval_95"]  # one row, now right: better on every draw
    assert 0.0 < low <= high


def test_a_seeds_directory_that_is_not_there_stops_training(tmp_path, labels_dir):
    """The seed articles check the seed rows' texts: a mistyped --seeds must not skip that."""
    result = CliRunner().invoke(
        app,
        ["train", "--labels", str(labels_dir), "--seeds", str(tmp_path / "seedz"),
         "--model", str(tmp_path / "model")],
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr == f"error: {tmp_path / 'seedz'}: no such directory of seed articles\n"
    assert not (tmp_path / "model").exists()


@pytest.mark.parametrize("where", ["labels", "seeds"])
def test_training_into_the_labels_or_seeds_stops_before_it_trains(
    tmp_path, labels_dir, monkeypatch, where
):
    """`--model labels` by mistake: the swap would delete the labels. Refused at once, before
    the hours of fitting, with the directory as it was."""
    labels, seeds = tmp_path / "labels", tmp_path / "seeds"
    shutil.copytree(labels_dir, labels)
    shutil.copytree(SEEDS, seeds)
    before = sorted(p.name for p in (tmp_path / where).iterdir())

    def no_fit(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(training, "load_labels", no_fit)
    result = CliRunner().invoke(
        app,
        ["train", "--labels", str(labels), "--seeds", str(seeds), "--model", str(tmp_path / where)],
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {tmp_path / where}: holds files that are not a model")
    assert sorted(p.name for p in (tmp_path / where).iterdir()) == before


@pytest.mark.parametrize("problem", ["mount point", "read-only"])
def test_a_model_directory_that_cannot_be_written_is_found_before_training(
    tmp_path, labels_dir, monkeypatch, problem
):
    """A mounted volume cannot be renamed, and a read-only file system takes no model: both
    used to be found only when the model was written, after the whole training."""
    import errno

    from topictag import artifact

    def no_fit(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(training, "load_labels", no_fit)
    target = tmp_path / "volume"
    if problem == "mount point":
        monkeypatch.setattr(os.path, "ismount", lambda path: str(path) == str(target))
        expected = f"{target}: a mount point, which the model cannot replace"
    else:
        real_mkdir = Path.mkdir

        def read_only(self, *args, **kwargs):
            if self.name.startswith(".volume."):
                raise OSError(errno.EROFS, "Read-only file system", str(self))
            return real_mkdir(self, *args, **kwargs)

        monkeypatch.setattr(Path, "mkdir", read_only)
        expected = f"{target}: cannot write (Read-only file system); nothing was trained"
    with pytest.raises(TopictagError) as caught:
        training.train(labels_dir, SEEDS, target, grid=TEST_GRID, run_evaluation=False)
    assert str(caught.value).startswith(expected)
    assert list(tmp_path.iterdir()) == []
    assert artifact.check_writable(tmp_path / "fine") == tmp_path / "fine"


def test_the_selection_note_names_the_settings_that_were_fixed_not_chosen():
    from topictag.training import selection_note

    grid = {"C": [8.0, 16.0], "lexicon_scale": [0.25, 0.5], "furniture": [True]}
    assert selection_note(grid).endswith("; fixed (one value in the grid): furniture")
    assert selection_note({**grid, "furniture": [True, False]}) == (
        "chosen by grouped (by article) cross-validation on the training data"
    )
    every = selection_note({k: v[:1] for k, v in grid.items()})
    assert every.startswith("thresholds chosen") and every.endswith("every other setting fixed")
