"""The nested cross-validation of ``bench/selection.py``: each outer fold chooses its settings
on its own training rows, and a choice per topic from one setting is that setting."""

import importlib.util

import numpy as np
from conftest import ROOT, SEEDS

SPEC = importlib.util.spec_from_file_location("selection", ROOT / "bench" / "selection.py")
selection = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(selection)

GRID = '{"C": [8.0], "lexicon_scale": [0.125]}'


def test_each_outer_fold_chooses_without_its_test_articles(labels_dir, monkeypatch, capsys):
    seen = []
    real_choose = selection.choose

    def choose(texts, y, groups, *args):
        seen.append(set(groups))
        return real_choose(texts, y, groups, *args)

    monkeypatch.setattr(selection, "choose", choose)
    selection.main(
        ["--labels", str(labels_dir), "--seeds", str(SEEDS), "--grid", GRID, "--jobs", "1"]
    )
    _, data, _, _ = selection.load(labels_dir, SEEDS)
    articles = set(data.articles)
    assert len(seen) == selection.OUTER_FOLDS  # no development set in these labels
    held_out = [articles - groups for groups in seen]
    assert all(len(h) == 1 for h in held_out)  # five seed articles, five folds
    assert set.union(*held_out) == articles
    lines = capsys.readouterr().out.splitlines()
    one, each = (line.split(": ", 1)[1] for line in lines if line.startswith("nested"))
    assert one == each  # one setting: each topic's best is that setting, at the same threshold


def test_a_topic_takes_the_setting_it_scores_best_with(labels_dir, monkeypatch):
    topics, data, lexicon, _ = selection.load(labels_dir, SEEDS)
    y = selection.binarize(data.labels, topics)
    configs = [{"C": 8.0}, {"C": 16.0}]
    oof = [np.zeros(y.shape), np.zeros(y.shape)]
    oof[0][:, 0] = y[:, 0]  # the first setting ranks the first topic perfectly
    oof[1][:, 1:] = y[:, 1:]  # the second every other topic
    monkeypatch.setattr(selection.T, "out_of_fold_scores", lambda *a: oof)
    texts = np.asarray(data.texts, dtype=object)
    _, per_topic = selection.choose(texts, y, data.articles, topics, lexicon, configs, 2)
    assert [c for c, _ in per_topic] == [0] + [1] * (len(topics) - 1)
