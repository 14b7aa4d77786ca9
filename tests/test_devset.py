"""The development set: reported beside the seed figures, never trained on or chosen with."""

import json
import shutil

import pytest
from conftest import LABELS, SEEDS, write_jsonl

import topictag.training as training
from topictag.errors import LabelError
from topictag.labels import DEV_FILE, label_files, load_dev, load_labels
from topictag.topics import load_topics

DEV_ROWS = [
    {
        "id": "dev-1",
        "article": "dev-a1",
        "text": "Guyana's offshore crude output rose to "
        "900,000 barrels a day as a fourth production ship started.",
        "labels": ["oil"],
    },
    {
        "id": "dev-2",
        "article": "dev-a1",
        "text": "Police fired tear gas at protesters outside the stadium after the final.",
        "labels": [],
    },
    {
        "id": "dev-3",
        "article": "dev-a2",
        "text": "Washington added twelve tankers carrying Venezuelan crude to its sanctions list.",
        "labels": ["oil", "sanctions"],
    },
    {
        "id": "dev-4",
        "article": "dev-a2",
        "text": "The league sanctioned the club for crowd trouble and closed one stand.",
        "labels": [],
    },
]


@pytest.fixture
def with_dev(tmp_path, labels_dir):
    out = tmp_path / "labels"
    shutil.copytree(labels_dir, out)
    write_jsonl(out / DEV_FILE, [{**r, "source": "authored-dev"} for r in DEV_ROWS])
    return out


def _topics():
    return [t.name for t in load_topics(LABELS)]


def test_dev_file_is_not_training_data(with_dev):
    assert DEV_FILE not in [p.name for p in label_files(with_dev)]
    data = load_labels(with_dev, _topics(), SEEDS)
    assert not {r["id"] for r in DEV_ROWS} & set(data.ids)


def test_dev_rows_load_with_their_labels(with_dev):
    topics = _topics()
    dev = load_dev(with_dev, topics, load_labels(with_dev, topics, SEEDS))
    assert dev.ids == [r["id"] for r in DEV_ROWS]
    assert dev.labels == [r["labels"] for r in DEV_ROWS]


def test_no_dev_file_means_no_dev_set(labels_dir):
    topics = _topics()
    assert load_dev(labels_dir, topics, load_labels(labels_dir, topics, SEEDS)) is None


@pytest.mark.parametrize(
    "change, message",
    [
        ({"source": "authored"}, "source"),
        ({"labels": ["weather"]}, "unknown topic"),
    ],
)
def test_bad_dev_rows_are_one_line_errors(with_dev, change, message):
    rows = [
        {**r, "source": "authored-dev", **(change if i == 1 else {})}
        for i, r in enumerate(DEV_ROWS)
    ]
    write_jsonl(with_dev / DEV_FILE, rows)
    topics = _topics()
    with pytest.raises(LabelError, match=message):
        load_dev(with_dev, topics, load_labels(with_dev, topics, SEEDS))


def test_a_dev_row_in_a_training_file_is_refused(with_dev):
    write_jsonl(with_dev / "extra.jsonl", [{**DEV_ROWS[0], "id": "x", "source": "authored-dev"}])
    with pytest.raises(LabelError, match="development data"):
        load_labels(with_dev, _topics(), SEEDS)


def test_a_training_text_in_the_dev_set_is_refused(with_dev, seed_rows):
    row = {**DEV_ROWS[0], "text": seed_rows[10]["text"], "source": "authored-dev"}
    write_jsonl(with_dev / DEV_FILE, [row])
    topics = _topics()
    with pytest.raises(LabelError, match="same text as training row"):
        load_dev(with_dev, topics, load_labels(with_dev, topics, SEEDS))


def test_training_reports_dev_but_never_fits_on_it(monkeypatch, with_dev, tmp_path):
    dev_texts = {r["text"] for r in DEV_ROWS}
    fitted_on = []
    real_fit = training._fit

    def fit(texts, *args):
        fitted_on.append(set(texts))
        return real_fit(texts, *args)

    monkeypatch.setattr(training, "_fit", fit)
    metrics = training.train(
        with_dev,
        SEEDS,
        tmp_path / "model",
        grid={"C": [4.0], "lexicon": [True], "lexicon_scale": [0.25, 1.0]},
        inner_folds=2,
        n_jobs=1,
    )
    assert fitted_on and not any(texts & dev_texts for texts in fitted_on)
    dev = metrics["evaluation"]["dev"]
    assert dev["n"] == len(DEV_ROWS) and dev["no_topic_rows"] == 2
    assert 0 <= dev["false_alarms"] <= 2
    assert "keywords" in dev["baselines"]
    for ablation in ("without_lexicon", "lexicon_unscaled"):  # each reported on dev too
        assert 0 <= metrics["evaluation"][ablation]["dev"]["false_alarms"] <= 2
    assert metrics["data"]["dev"]["rows"] == len(DEV_ROWS)
    card = (tmp_path / "model" / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "Development set" in card
    assert "lexicon features at full scale" in card
    stored = json.loads((tmp_path / "model" / "metrics.json").read_text(encoding="utf-8"))
    assert stored["evaluation"]["dev"] == dev
