"""predict() and friends: topics, scores, paragraphs and the article's topics."""

import json
import os

import numpy as np
import pandas as pd
import pytest
from conftest import SEEDS
from hypothesis import given, settings
from hypothesis import strategies as st

from topictag import Tagger, load_model, predict, predict_scores, tag_article, tag_batch
from topictag.errors import InputError
from topictag.paragraphs import normalize_newlines, split_paragraphs

SEED = sorted(SEEDS.glob("*.txt"))[2]


def test_predict_returns_topic_names(use_model):
    topics = predict("The EU's 19th sanctions package bans transactions with Rosneft.")
    assert "sanctions" in topics
    assert set(topics) <= set(load_model().topics)


def test_model_argument_beats_the_environment(monkeypatch, model_dir):
    monkeypatch.setenv("TOPICTAG_MODEL", "/nonexistent")
    assert predict("Gas exports to Europe rose.", model=model_dir) == predict(
        "Gas exports to Europe rose.", model=str(model_dir)
    )


def test_scores_cover_every_topic_in_unit_interval(use_model):
    scores = predict_scores("Kazakh oil through the Baku-Tbilisi-Ceyhan pipeline.")
    assert list(scores) == load_model().topics
    assert all(0.0 <= s <= 1.0 for s in scores.values())


def test_article_topics_are_the_union_of_paragraph_topics(use_model):
    result = tag_article(SEED.read_text(encoding="utf-8"), source=SEED.name)
    union = {t for p in result.paragraphs for t in p.topics}
    assert set(result.topics) == union
    for topic in result.topics:
        assert result.scores[topic] == max(p.scores[topic] for p in result.paragraphs)


def test_paragraph_offsets_point_into_the_original(use_model):
    text = SEED.read_text(encoding="utf-8").replace("\n", "\r\n")
    for p in tag_article(text).paragraphs:
        assert normalize_newlines(text[p.start : p.end]) == p.text


def test_threshold_override_applies_to_every_topic(use_model):
    text = "Gas and oil talks."
    assert tag_article(text, threshold=0.0).topics == load_model().topics
    assert tag_article(text, threshold=1.0).topics == []


def test_empty_text_has_no_topics(use_model):
    result = tag_article("   \n\n ")
    assert result.topics == [] and result.paragraphs == []
    assert set(result.scores.values()) == {0.0}


def test_model_is_loaded_once(use_model):
    assert load_model().model is load_model().model


def test_scores_and_decisions_are_separate(use_model):
    tagger = load_model()
    scores = tagger.scores(["Sanctions on gas.", "Weather in Baku."])
    assert np.shape(scores) == (2, len(tagger.topics))
    assert tagger.decide(np.ones_like(scores)) == [tagger.topics, tagger.topics]
    assert tagger.decide(np.zeros_like(scores)) == [[], []]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(max_size=300), max_size=5))
def test_batch_equals_single_and_stays_in_range(model_dir, texts):
    tagger = Tagger.load(model_dir)
    batch = tagger.tag_batch(texts)
    for text, result in zip(texts, batch):
        single = tagger.tag(text)
        assert result["topics"] == single.topics
        assert set(result["topics"]) <= set(tagger.topics)
        assert all(0.0 <= s <= 1.0 for s in result["scores"].values())


def test_module_level_tag_batch(use_model):
    out = tag_batch(["Oil tankers in the shadow fleet.", ""])
    assert len(out) == 2 and out[1]["topics"] == []


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_a_threshold_outside_0_to_1_is_refused(model_dir, bad):
    with pytest.raises(InputError, match="threshold must be a number from 0 to 1"):
        Tagger.load(model_dir, threshold=bad)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: tag_batch("gas pipeline"), "texts must be a list of texts, not a single str"),
        (lambda: tag_batch(b"gas pipeline"), "texts must be a list of texts, not a single bytes"),
        (lambda: tag_batch(["gas", None]), r"texts\[1\] must be a str, not None"),
        (lambda: tag_batch(["gas", "oil", b"x"]), r"texts\[2\] must be a str, not bytes: decode"),
        (lambda: tag_batch(42), "texts must be a list of texts, not int"),
        (lambda: predict(["gas", "oil"]), "text must be a str, not list: tag several texts with"),
        (lambda: predict(b"gas"), "text must be a str, not bytes: decode it first"),
        (lambda: predict(None), "text must be a str, not None"),
        (lambda: predict_scores(3.5), "text must be a str, not float"),
        (lambda: tag_article(["gas"]), "text must be a str, not list"),
        (lambda: load_model().scores("gas"), "texts must be a list of texts, not a single str"),
        (lambda: predict(bytearray(b"gas")), "text must be a str, not bytearray: decode"),
        (lambda: tag_batch({"gas": 1}), "not a dict: pass list"),
        (lambda: tag_batch(pd.DataFrame({"text": ["gas"]})), r"not a DataFrame: pass df\['text'\]"),
        (lambda: tag_batch({"gas", "oil"}), "not a set, whose order is arbitrary"),
        (lambda: load_model().tag("gas", source=b"a.txt"), "source must be a str, not bytes"),
        (lambda: load_model().tag("gas", max_paragraphs="2"), "max_paragraphs must be an int"),
        (lambda: split_paragraphs(None), "text must be a str, not NoneType"),
    ],
)
def test_a_wrong_argument_is_a_type_error_naming_it(use_model, call, message):
    """A bare string is not a list of one-character texts, and a bad item is named by index."""
    with pytest.raises(TypeError, match=message):
        call()


def test_scores_of_the_wrong_width_are_refused_not_read_short(use_model):
    tagger = load_model()
    width = len(tagger.topics)
    with pytest.raises(ValueError, match="one score per topic"):
        tagger.decide([[0.9]])
    with pytest.raises(ValueError, match=r"rows \(one per paragraph\) of one score per topic"):
        tagger.decide([0.9] * width)  # one row, not inside a list
    with pytest.raises(ValueError, match="one score per topic"):
        tagger.decide(["x" * width])
    with pytest.raises(TypeError, match="not dict"):
        tagger.decide({t: [0.9] for t in tagger.topics})
    with pytest.raises(ValueError, match="furniture has 1 flags for 2 rows"):
        tagger.decide([[0.0] * width] * 2, [True])
    assert tagger.decide([[0.0] * width]) == [[]]
    assert tagger.decide(np.zeros((0, width))) == []


def test_a_data_frame_of_scores_is_refused_not_read_by_its_column_names(use_model):
    pd = pytest.importorskip("pandas")
    tagger = load_model()
    frame = pd.DataFrame([[0.9] * len(tagger.topics)], columns=tagger.topics)
    with pytest.raises(TypeError, match="not DataFrame"):
        tagger.decide(frame)


def test_a_path_as_the_source_is_kept_as_its_text(use_model, tmp_path):
    assert load_model().tag("gas", source=tmp_path / "a.txt").source == str(tmp_path / "a.txt")


def test_tag_batch_takes_any_iterable_of_texts_and_a_threshold(use_model):
    texts = ["Gas exports to Europe rose.", "Oil and gas sanctions."]
    assert tag_batch(iter(texts)) == tag_batch(tuple(texts)) == tag_batch(texts)
    assert len(tag_batch(["gas pipeline"])) == 1
    topics = load_model().topics
    assert [r["topics"] for r in tag_batch(texts, threshold=0.0)] == [topics, topics]
    assert [r["topics"] for r in tag_batch(texts, threshold=1.0)] == [[], []]


FURNISHED = (
    "Gas flows from the Shah Deniz field through the South Caucasus Pipeline to Turkey.\n\n"
    "Related: Gazprom raises gas exports to Turkey through TurkStream"
)


def test_page_furniture_gets_no_topic_and_zero_scores(model_dir):
    tagger = Tagger.load(model_dir)
    article, furniture = tagger.tag(FURNISHED).paragraphs
    assert (article.furniture, furniture.furniture) == (False, True)
    assert furniture.topics == [] and set(furniture.scores.values()) == {0.0}
    assert "gas" in article.topics
    raw = tagger.model.scores([furniture.text])[0]  # the rule, not the model, zeroes it
    assert max(raw) > 0.0
    assert tagger.tag(FURNISHED).to_dict()["paragraphs"][1]["furniture"] is True


def test_page_furniture_gets_no_topic_even_at_threshold_zero(model_dir):
    """Its score, 0, meets a threshold of 0; the rule still gives it no topic, in every path."""
    tagger = Tagger.load(model_dir, threshold=0.0)
    article, furniture = tagger.tag(FURNISHED).paragraphs
    assert article.topics == tagger.topics and furniture.topics == []
    line = "Related: Gas pipeline to Europe reopens"
    assert tagger.tag_batch([line]) == [{"topics": [], "scores": dict.fromkeys(tagger.topics, 0)}]
    assert tagger.decide([[0.0] * 5, [0.0] * 5], [True, False]) == [[], tagger.topics]


def test_the_rule_leaves_every_other_paragraph_scored_as_before(model_dir):
    tagger = Tagger.load(model_dir)
    texts = ["Oil tankers wait at the Bosphorus.", "Tags: oil, gas", "Sanctions on LNG."]
    scores = tagger.scores(texts)
    assert scores[1] == [0.0] * len(tagger.topics)
    assert [scores[0], scores[2]] == tagger.model.scores([texts[0], texts[2]])


def test_a_model_trained_without_the_rule_tags_furniture_as_text(model_dir):
    from topictag.artifact import PORTABLE_JSON, PORTABLE_NPZ, read_npz
    from topictag.scorer import PortableModel

    settings = json.loads((model_dir / PORTABLE_JSON).read_text(encoding="utf-8"))
    assert settings["furniture"]["markers"]
    del settings["furniture"]
    model = PortableModel(settings, read_npz((model_dir / PORTABLE_NPZ).read_bytes()))
    line = "Tags: oil, gas"
    assert Tagger(model).scores([line]) == model.scores([line]) != [[0.0] * len(model.topics)]
    assert not Tagger(model).tag(line).paragraphs[0].furniture


def test_unreadable_furniture_markers_are_a_model_error(model_dir):
    from topictag.artifact import PORTABLE_JSON, PORTABLE_NPZ, read_npz
    from topictag.errors import ModelError
    from topictag.scorer import PortableModel

    settings = json.loads((model_dir / PORTABLE_JSON).read_text(encoding="utf-8"))
    settings["furniture"] = {"markers": ["(unclosed"], "openers": []}
    with pytest.raises(ModelError, match="furniture"):
        PortableModel(settings, read_npz((model_dir / PORTABLE_NPZ).read_bytes()))


def test_furniture_is_tagged_alike_in_batches_and_one_by_one(model_dir):
    tagger = Tagger.load(model_dir)
    texts = [FURNISHED, "Read more: sanctions on Iranian oil", "Most read: 1. gas"]
    assert tagger.tag_batch(texts) == [
        {"topics": r.topics, "scores": r.scores} for r in map(tagger.tag, texts)
    ]


@pytest.mark.parametrize("bad", ["0.5", True, [0.5]])
def test_a_threshold_that_is_not_a_number_is_a_type_error(model_dir, bad):
    with pytest.raises(TypeError, match="threshold must be a number from 0 to 1"):
        Tagger.load(model_dir, threshold=bad)


def test_a_threshold_may_be_any_real_number_type(model_dir):
    assert Tagger.load(model_dir, threshold=np.float32(0.5)).thresholds[0] == 0.5
    assert Tagger.load(model_dir, threshold=1).thresholds[0] == 1.0


@pytest.mark.parametrize("text", ["gas\n\n" * 6, "gas\n" * 6, "gas\n\n" * 3 + "x " * 50_000])
def test_an_article_of_too_many_paragraphs_is_refused_before_they_are_scored(model_dir, text):
    tagger = Tagger.load(model_dir)
    count = len(tagger.tag(text).paragraphs)
    assert len(tagger.tag(text, max_paragraphs=count).paragraphs) == count
    with pytest.raises(InputError, match=f"{count:,} paragraphs, over the {count - 1:,} of one"):
        tagger.tag(text, max_paragraphs=count - 1)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda a: a.update(thresholds=a["thresholds"][:2]), "thresholds do not match"),
        (lambda a: a.update(intercept=a["intercept"][:2]), "intercept do not match"),
        (lambda a: a.update(thresholds=a["thresholds"] * np.nan), "not a number from 0 to 1"),
    ],
    ids=["thresholds", "intercept", "nan"],
)
def test_arrays_that_do_not_fit_the_topics_are_a_model_error(model_dir, edit, message):
    """Checked when the model loads, not found by the first text scored."""
    from topictag.artifact import PORTABLE_JSON, PORTABLE_NPZ, read_npz
    from topictag.errors import ModelError
    from topictag.scorer import PortableModel

    settings = json.loads((model_dir / PORTABLE_JSON).read_text(encoding="utf-8"))
    arrays = {k: v.numpy() for k, v in read_npz((model_dir / PORTABLE_NPZ).read_bytes()).items()}
    edit(arrays)
    with pytest.raises(ModelError, match=message):
        PortableModel(settings, arrays)


def test_the_python_functions_refuse_an_article_of_too_many_paragraphs_too(model_dir):
    """600,000 one-word lines took 970 MB through tag_article; the limit is the command's."""
    from topictag.defaults import MAX_ARTICLE_PARAGRAPHS

    text = "gas\n" * (MAX_ARTICLE_PARAGRAPHS + 1)
    with pytest.raises(InputError, match=f"{MAX_ARTICLE_PARAGRAPHS + 1:,} paragraphs"):
        tag_article(text, model=model_dir)
    with pytest.raises(InputError):
        predict(text, model=model_dir)
    lifted = Tagger.load(model_dir).tag("gas\n" * 3, max_paragraphs=None)
    assert len(lifted.paragraphs) == 3


def test_tag_and_tag_batch_score_through_scores_so_a_subclass_can_replace_the_scorer(model_dir):
    """The benchmark runs scikit-learn and fastText behind the same Tagger by overriding
    scores(); a refactor that scored around it once timed topictag against itself."""
    calls = []

    class Constant(Tagger):
        def scores(self, texts, furniture=None):
            calls.append(list(texts))
            return [[0.9] * len(self.topics) for _ in texts]

    tagger = Constant(Tagger.load(model_dir).model)
    assert tagger.tag("Anything.\n\nElse.").topics == tagger.topics
    assert tagger.tag_batch(["One.", "Two."])[0]["topics"] == tagger.topics
    assert calls == [["Anything.", "Else."], ["One.", "Two."]]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.floats(0, 1), min_size=5, max_size=5),
    st.one_of(st.floats(0, 1), st.sampled_from([0.0, 1.0, 0.45, 0.0045324])),
    st.integers(0, 4),
)
def test_a_score_is_compared_with_its_threshold_as_it_is_shown(model_dir, row, cut, near):
    """A paragraph shown with oil 1.0 was untagged at --threshold 1, and one shown with
    0.004532 tagged at 0.0045324: the shown score (6 decimals) now decides."""
    tagger = Tagger(Tagger.load(model_dir).model, cut)
    row[near] = cut + (row[near] - 0.5) * 2e-6  # many scores within rounding of the cut
    row = [min(max(s, 0.0), 1.0) for s in row]
    [topics] = tagger.decide([row])
    shown = tagger._named(row)
    assert topics == [t for t in tagger.topics if shown[t] >= cut]


def test_threads_loading_a_model_cold_load_it_once(model_dir, monkeypatch):
    """Eight threads starting cold loaded eight models (each some 30 MB) and kept one."""
    import threading
    import time

    from topictag import tagger as tagger_module
    from topictag.scorer import PortableModel

    real, loads = PortableModel.load, []

    def slow_load(path):
        loads.append(path)
        time.sleep(0.2)
        return real(path)

    monkeypatch.setattr(tagger_module, "_CACHE", {})
    monkeypatch.setattr(PortableModel, "load", staticmethod(slow_load))
    got = []
    threads = [
        threading.Thread(target=lambda: got.append(load_model(model_dir).model)) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loads) == 1 and len({id(m) for m in got}) == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_child_forked_while_a_model_loads_or_builds_can_load_and_build(model_dir):
    """The locks that make threads load one model and build one compiled scorer would be
    copied held into a child forked meanwhile, which would then wait for ever."""
    import signal

    from topictag import scorer as scorer_module
    from topictag import tagger as tagger_module

    with tagger_module._LOADING, scorer_module._BUILDING:  # as other threads hold them
        pid = os.fork()
        if pid == 0:  # the child: fail rather than hang
            signal.alarm(60)
            tagger_module._CACHE.clear()
            scorer_module.COMPILED, scorer_module.COMPILED_CHARS = True, 0
            load_model(model_dir).tag_batch(["Gas flows to Europe through Turkey. " * 800])
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
