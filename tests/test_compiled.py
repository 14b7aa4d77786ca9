"""The compiled batch scorer gives the scikit-learn pipeline's probabilities (within 1e-9) and
the numpy scorer's linear scores (within 1e-12), on any text and any model settings; it falls
back to numpy with one warning where numba is missing; its compiled code is cached."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import topictag.scorer as scorer
from topictag import compiled
from topictag.artifact import export_portable, load_pipeline
from topictag.compiled import CompiledScorer, CompiledScorerWarning, char_table
from topictag.lexicon import load_lexicon
from topictag.pipeline import build_pipeline
from topictag.scorer import PortableModel
from topictag.topics import load_topics

ROOT = Path(__file__).resolve().parent.parent
AUTHORED = ROOT / "labels" / "authored.jsonl"
SHIPPED = ROOT / "model"


@pytest.fixture
def compiled_path(monkeypatch):
    """Every batch goes to the compiled kernels, even an empty one."""
    monkeypatch.setattr(scorer, "COMPILED", True)
    monkeypatch.setattr(scorer, "PURE_PYTHON_CHARS", -1)
    monkeypatch.setattr(scorer, "COMPILED_CHARS", 0)


def numpy_decision(model: PortableModel, texts: list[str]) -> np.ndarray:
    """The reference: the numpy scorer of topictag.scorer."""
    saved = scorer.COMPILED, scorer.PURE_PYTHON_CHARS
    scorer.COMPILED, scorer.PURE_PYTHON_CHARS = False, 0
    try:
        return np.asarray(model.decision(texts))
    finally:
        scorer.COMPILED, scorer.PURE_PYTHON_CHARS = saved


def authored_texts(model: PortableModel, n: int) -> list[str]:
    """The first ``n`` authored paragraphs, normalised as ``model`` normalises them: the
    kernels score the texts :meth:`PortableModel.decision` hands them, already normalised."""
    with open(AUTHORED, encoding="utf-8") as fh:
        texts = [json.loads(line)["text"] for line in fh][:n]
    return scorer.normalize_all(texts, model.normalize)


@pytest.fixture(scope="module")
def both(model_dir):
    """The test model (trained on the seeds with its lexicon) as pipeline and portable model."""
    return load_pipeline(model_dir), PortableModel.load(model_dir)


def fitted(seed_rows, topics, lexicon, **params):
    """A pipeline with other settings, fitted on the seed paragraphs, and its portable model."""
    pipeline = build_pipeline(C=8.0, lexicon=lexicon, topics=topics, char_min_df=1)
    pipeline.set_params(**params)
    texts = [r["text"] for r in seed_rows]
    y = np.array([[t in r["labels"] for t in topics] for r in seed_rows], dtype=int)
    pipeline.fit(texts, y)
    settings_, arrays = export_portable(pipeline, topics, [0.5] * len(topics), lexicon)
    return pipeline, PortableModel(json.loads(json.dumps(settings_)), arrays)


def test_same_probabilities_on_every_seed_paragraph(both, seed_rows, compiled_path):
    pipeline, portable = both
    texts = [r["text"] for r in seed_rows]
    ours = portable.scores(texts)
    assert portable._compiled[0] is not None  # the compiled kernels scored them
    assert np.abs(np.asarray(ours) - pipeline.predict_proba(texts)).max() <= 1e-9


def test_same_probabilities_on_the_authored_corpus(both, compiled_path):
    """1,470 paragraphs the test model has not seen; the numpy scorer's linear scores too."""
    pipeline, portable = both
    with open(AUTHORED, encoding="utf-8") as fh:
        texts = [json.loads(line)["text"] for line in fh]
    ours = np.asarray(portable.decision(texts))
    assert np.abs(ours - numpy_decision(portable, texts)).max() <= 1e-12
    probabilities = np.asarray(portable.scores(texts))
    assert np.abs(probabilities - pipeline.predict_proba(texts)).max() <= 1e-9


def test_the_shipped_model_scores_as_numpy_does(seed_rows, compiled_path):
    """The shipped model (95,000 features) on the seeds and the authored corpus, each text
    alone and in one batch; none of its vocabulary hashes collide."""
    portable = PortableModel.load(SHIPPED)
    with open(AUTHORED, encoding="utf-8") as fh:
        texts = [r["text"] for r in seed_rows] + [json.loads(line)["text"] for line in fh]
    ours = np.asarray(portable.decision(texts))
    assert np.abs(ours - numpy_decision(portable, texts)).max() <= 1e-12
    alone = scorer.normalize_all(texts[:50], portable.normalize)  # as decision() does first
    one_by_one = np.vstack([portable._compiled[0].decision([t]) for t in alone])
    assert np.abs(one_by_one - ours[:50]).max() <= 1e-12
    tfidf = [b for b in portable._compiled[0].blocks if hasattr(b, "collisions")]
    assert [b.collisions for b in tfidf] == [0, 0]


def _hostile_strings() -> list[str]:
    lexicon = load_lexicon(ROOT / "labels", [t.name for t in load_topics(ROOT / "labels")])
    terms = sorted({t.lstrip("!") for terms in lexicon.values() for t in terms})
    terms += ["tear gas", "gas station", "olive oil", "Oil of Olay", "sanctions on players"]
    terms += ["İstanbul hub", "ſhale", "shale", "SHALE", "istanbul hub", "Tear Gas Station"]
    odd = [
        "İ", "İstanbul", "ı", "ſ", "\u212a", "ß", "ǅ", "ﬁ", "Σ", "ΟΔΟΣ", "ΣΑΣ.", "e\u0301",
        "\u0301", "\u20dd", "𝔤𝔞𝔰", "😀", "𐐀", "\U0001f1f7\U0001f1fa", "\t", "\n", "\r",
        "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\u00a0", "\u1680", "\u2000", "\u2007",
        "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\x00", "\x07", "\x7f", "\ud800",
        "\udfff", "\u00ad", "\u200b", "\ufeff", "_", "-", "--", "'", "’", "a" * 3000,
        "x" * 20001, "oil-rich", "non-oil", "gas.", "(LNG)", "OPEC+", "tear gas",
    ]  # fmt: skip
    return odd + terms + [t.upper() for t in terms] + [t.title() for t in terms]


HOSTILE = st.lists(
    st.one_of(
        st.text(max_size=12),
        st.text(st.characters(codec=None, min_codepoint=0x80), max_size=6),
        st.sampled_from(_hostile_strings()),
    ),
    max_size=12,
).flatmap(
    lambda parts: st.lists(
        st.sampled_from([" ", "", "\n", "\t", "-", "\u00a0"]),
        min_size=len(parts),
        max_size=len(parts),
    ).map(lambda seps: "".join(s + p for s, p in zip(seps, parts)))
)


@pytest.fixture(scope="module")
def hiding(seed_rows, topics):
    """A model whose lexicon has exclusion phrases and case-sensitive terms with odd letters."""
    lexicon = {
        "gas": ["gas", "natural gas", "LNG", "İstanbul hub", "!tear gas", "!gas station"],
        "oil": ["oil", "OPEC+", "Brent", "ſhale", "!olive oil", "!Oil of Olay"],
        "sanctions": ["sanctions", "SDN", "!sanctions on players"],
    }
    return fitted(seed_rows, topics, lexicon)


@pytest.mark.parametrize("model", ["both", "hiding"])
@settings(max_examples=60, deadline=None)
@given(texts=st.lists(HOSTILE, min_size=1, max_size=4))
def test_same_probabilities_on_hostile_unicode(request, model, texts):
    """Non-BMP characters, combining marks, letters whose lowercase is longer ('İ'), Unicode
    spaces, control characters, lone surrogates, very long words, lexicon terms and exclusion
    phrases in any case."""
    pipeline, portable = request.getfixturevalue(model)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(scorer, "COMPILED", True)
        mp.setattr(scorer, "PURE_PYTHON_CHARS", -1)
        mp.setattr(scorer, "COMPILED_CHARS", 0)
        ours = np.asarray(portable.scores(texts))
        linear = np.asarray(portable.decision(texts))
    assert portable._compiled[0] is not None
    assert np.abs(ours - pipeline.predict_proba(texts)).max() <= 1e-9
    assert np.abs(linear - numpy_decision(portable, texts)).max() <= 1e-12


SETTINGS = {
    # lexicon features scaled by a factor that is not a power of two
    "scaled lexicon": {"features__lexicon__scale": 0.3},
    # char n-grams longer than six characters (hashed, not packed), word trigrams, one-letter
    # tokens (a token pattern the kernels leave to Python's re)
    "long n-grams, own token pattern": {
        "features__char__ngram_range": (1, 7),
        "features__word__ngram_range": (1, 3),
        "features__word__token_pattern": r"(?u)\b\w+\b",
    },
    # given vocabularies in which prefixes of an entry are missing (the packed tables then
    # hold those prefixes as entries without a feature)
    "vocabularies without the prefixes": {
        "features__char__vocabulary": ["ipeli", "pipel", "sanct", "nctio", " gas", "tion", "as"],
        "features__word__vocabulary": ["natural gas", "the pipeline", "sanctions on", "oil"],
    },
    # no lowercasing, raw term counts, no L2 norm, bigrams only
    "no lowercase, raw counts, no norm": {
        "features__word__lowercase": False,
        "features__char__lowercase": False,
        "features__word__sublinear_tf": False,
        "features__char__norm": None,
        "features__word__ngram_range": (2, 2),
        "features__char__ngram_range": (4, 4),
    },
}


@pytest.mark.parametrize("params", SETTINGS.values(), ids=SETTINGS.keys())
def test_every_setting_is_read_from_the_model(seed_rows, topics, params, compiled_path):
    lexicon = {"gas": ["gas", "LNG", "!tear gas"], "sanctions": ["sanctions", "OFAC"]}
    pipeline, portable = fitted(seed_rows, topics, lexicon, **params)
    texts = [r["text"] for r in seed_rows] + ["İSTANBUL gas, tear gas; TEAR GAS LNG lng ofac"]
    texts += [" ".join(_hostile_strings()[:60])]
    ours = np.asarray(portable.scores(texts))
    assert portable._compiled[0] is not None
    assert np.abs(ours - pipeline.predict_proba(texts)).max() <= 1e-9


def test_hash_collisions_never_change_a_score(both, seed_rows):
    """With 3-bit hashes nearly every n-gram, seen or not, collides with vocabulary entries;
    each hit is confirmed by comparing code points, so only the probing gets longer."""
    _, portable = both
    tiny = CompiledScorer(portable, hash_bits=3)
    word = next(b for b in tiny.blocks if getattr(b, "analyzer", "") == "word")
    assert word.collisions > 0.9 * (len(word.voff) - 1)
    unseen = ["zqxj vrbl gas qwzx pipeline-zz ŋŋŋ", "Unheard-of words only: flibbertigibbet."]
    texts = [r["text"] for r in seed_rows] + unseen
    normalised = scorer.normalize_all(texts, portable.normalize)
    ours = tiny.decision(normalised)
    assert np.abs(ours - numpy_decision(portable, texts)).max() <= 1e-12


def test_a_full_word_memo_is_emptied_and_refilled(both):
    """The memo of words' character n-grams holds four words here: scores stay the same."""
    _, portable = both
    texts = authored_texts(portable, 200)
    small = CompiledScorer(portable, memo_words=4)
    ours = np.vstack([small.decision(texts[i : i + 7]) for i in range(0, len(texts), 7)])
    assert np.abs(ours - numpy_decision(portable, texts)).max() <= 1e-12


def test_the_second_thread_gives_the_same_scores_to_the_last_bit(both, monkeypatch):
    """The char_wb block scored beside the others, in steps small and large: the same sums as
    in one thread, within 1e-12 of numpy, and the thread is started once."""
    _, portable = both
    texts = authored_texts(portable, 600)
    monkeypatch.setattr(compiled, "BATCH_CHARS", 30_000)  # several steps, the last one small
    monkeypatch.setattr(compiled, "SECOND_THREAD_MIN_CHARS", 10_000)
    monkeypatch.setattr(compiled, "SECOND_THREAD", False)
    alone = CompiledScorer(portable).decision(texts)
    monkeypatch.setattr(compiled, "SECOND_THREAD", True)
    paired = CompiledScorer(portable)
    beside = paired.decision(texts)
    assert paired._thread is not None
    assert np.array_equal(beside, alone)
    assert np.abs(beside - numpy_decision(portable, texts)).max() <= 1e-12
    assert np.array_equal(paired.decision(texts), alone)  # the memo warm, the same thread


@pytest.mark.parametrize("share", [0.0, 0.3, 0.75, 1.0])
def test_the_character_block_split_between_two_threads_sums_the_same(both, monkeypatch, share):
    """The second thread scores the first share of the characters, this one the rest, each
    with its own word memo: the same sums as one thread, whatever the share (at least one
    text goes to the second thread; all of them at 1.0), and with one long text last."""
    _, portable = both
    texts = authored_texts(portable, 300)
    texts.append(" ".join(texts[:40]))  # most of the last step's characters in one text
    monkeypatch.setattr(compiled, "BATCH_CHARS", 30_000)
    monkeypatch.setattr(compiled, "SECOND_THREAD_MIN_CHARS", 0)
    monkeypatch.setattr(compiled, "SECOND_THREAD", False)
    alone = CompiledScorer(portable).decision(texts)
    monkeypatch.setattr(compiled, "SECOND_THREAD", True)
    monkeypatch.setattr(compiled, "SECOND_THREAD_SHARE", share)
    paired = CompiledScorer(portable)
    assert np.array_equal(paired.decision(texts), alone)
    memos = paired._beside.memos
    assert len(memos) == (1 if share == 1.0 else 2)
    assert all(fill[0] > 0 for *_, fill in memos)
    assert np.array_equal(paired.decision(texts), alone)  # both memos warm
    paired.forget()
    assert all(fill.sum() == 0 and not table.any() for table, *_, fill in memos)


def test_an_error_in_one_block_waits_for_the_thread(both, monkeypatch):
    """The thread's block is done before the error leaves the step: no second batch can meet
    it still writing its word memo."""
    _, portable = both
    monkeypatch.setattr(compiled, "SECOND_THREAD", True)
    monkeypatch.setattr(compiled, "SECOND_THREAD_MIN_CHARS", 0)
    paired = CompiledScorer(portable)
    word = next(b for b in paired.blocks if getattr(b, "analyzer", "") == "word")
    finished = []
    real_add = paired._beside.add

    def slow_add(*args):
        import time

        time.sleep(0.3)
        real_add(*args)
        finished.append(True)

    def broken(*args):
        raise MemoryError("test")

    monkeypatch.setattr(paired._beside, "add", slow_add)
    monkeypatch.setattr(word, "add", broken)
    with pytest.raises(MemoryError):
        paired.decision(["Gas flows west through the pipeline."])
    assert finished == [True]


def test_workers_of_a_process_pool_score_in_one_thread(monkeypatch):
    from topictag import batch

    monkeypatch.setattr(compiled, "SECOND_THREAD", None)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert compiled._second_thread()
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert not compiled._second_thread()
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setitem(sys.modules, "scipy.linalg.cython_blas", None)  # as a worker does
    batch._lean_worker()
    assert not compiled._second_thread()


#: Terms that are prefixes of one another, exclusions that overlap terms of their own and of
#: other topics, case-sensitive and case-insensitive terms of one topic.
NESTED = {
    "gas": ["gas", "gas field", "natural gas", "LNG", "LNG carrier", "!tear gas", "!gas"
            " station", "!natural gas station"],
    "oil": ["oil", "oil field", "crude oil", "Brent", "!olive oil", "!oil field day"],
    "sanctions": ["sanctions", "sanctions on", "SDN", "!sanctions on players", "!gas station"],
}  # fmt: skip
NESTED_WORDS = sorted({w for terms in NESTED.values() for t in terms for w in t.strip("!").split()})


@settings(max_examples=200, deadline=None)
@given(
    words=st.lists(
        st.one_of(
            st.sampled_from(NESTED_WORDS),
            st.sampled_from(NESTED_WORDS).map(str.upper),
            st.sampled_from(["x", "-", "players", "day", "İ", "ſ"]),
        ),
        max_size=30,
    ),
    seps=st.lists(st.sampled_from([" ", "  ", "-", ",", "\n", "_"]), min_size=30, max_size=30),
)
def test_lexicon_counts_are_those_of_the_regular_expressions(topics, words, seps):
    """One walk per place counts every group as its own regex alternation does: leftmost,
    longest, not overlapping, whole words only, outside the topic's exclusions."""
    from types import SimpleNamespace

    from topictag.lexicon import compile_lexicon, count_terms

    patterns = compile_lexicon(NESTED, topics)
    block = compiled._LexiconBlock(
        SimpleNamespace(patterns=patterns, offset=0, width=len(topics)), np.eye(len(topics))
    )
    text = "".join(w + s for w, s in zip(words, seps))
    texts = [text, text.upper(), "gas " + text]
    out = np.zeros((len(texts), len(topics)))
    block.add(texts, {}, out)
    expected = [count_terms(patterns, t) for t in texts]
    assert np.rint(np.expm1(out)).astype(int).tolist() == expected


def test_character_tables_are_pythons():
    """``str.split()`` (char_wb words) and ``re``'s ``\\s`` agree on every code point."""
    space = char_table(r"\s")
    assert space.sum() == 29
    assert all(space[i] == chr(i).isspace() for i in range(0x110000) if space[i] or i < 0x3100)


def test_without_numba_numpy_scores_with_one_warning(model_dir, monkeypatch, seed_rows):
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba fails
    monkeypatch.delitem(sys.modules, "topictag._kernels", raising=False)
    monkeypatch.setattr(compiled, "_WARNED", [])
    monkeypatch.setattr(scorer, "COMPILED_CHARS", 0)
    monkeypatch.setattr(scorer, "PURE_PYTHON_CHARS", -1)
    portable = PortableModel.load(model_dir)
    texts = [r["text"] for r in seed_rows]
    with pytest.warns(CompiledScorerWarning, match="scoring with numpy"):
        ours = np.asarray(portable.decision(texts))
    assert portable._compiled == [None]
    assert np.abs(ours - numpy_decision(portable, texts)).max() == 0.0
    # another model in the same process: no second warning (it would fail this test)
    PortableModel.load(model_dir).decision(texts)


KERNEL_STATS = (
    "import json, sys\n"
    "from topictag.scorer import PortableModel\n"
    "from topictag.compiled import compiled_scorer\n"
    "from topictag import _kernels\n"
    "assert compiled_scorer(PortableModel.load(sys.argv[1])) is not None\n"
    "stats = [f.stats for f in vars(_kernels).values() if hasattr(f, 'stats')]\n"
    "print(json.dumps({'compiled': sum(sum(s.cache_misses.values()) for s in stats),\n"
    "                  'loaded': sum(sum(s.cache_hits.values()) for s in stats)}))\n"
)


def _same_package() -> dict:
    """An environment in which a child process imports the very topictag files this one did
    (an installed copy and a checkout have caches of their own)."""
    import topictag

    return {**os.environ, "PYTHONPATH": str(Path(topictag.__file__).resolve().parent.parent)}


def test_a_second_process_loads_the_kernels_from_the_cache(both, model_dir, tmp_path):
    """This process compiled the kernels (or loaded them) and cached them; another process
    loads them and compiles nothing."""
    assert compiled.compiled_scorer(both[1]) is not None
    command = [sys.executable, "-c", KERNEL_STATS, str(model_dir)]
    run = subprocess.run(
        command, capture_output=True, check=True, env=_same_package(), cwd=tmp_path
    )
    out = json.loads(run.stdout)
    assert out["compiled"] == 0 and out["loaded"] > 0


LOCKED = (
    "import json, time\n"
    "from topictag.compiled import _compile_lock\n"
    "with _compile_lock():\n"
    "    start = time.time()\n"
    "    time.sleep(0.5)\n"
    "    end = time.time()  # before the lock is released\n"
    "print(json.dumps([start, end]))\n"
)


def test_processes_compile_one_at_a_time_until_the_kernels_are_cached(tmp_path):
    """Worker processes started together on an empty cache: one compiles (and writes the
    cache) while the others wait, then load it. Once that is done, nobody waits any more."""
    env = {**_same_package(), "TMPDIR": str(tmp_path)}
    command = [sys.executable, "-c", LOCKED]
    pair = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE) for _ in range(2)]
    (a, b) = sorted(json.loads(p.communicate()[0]) for p in pair)
    assert a[1] <= b[0]  # one after the other
    import fcntl

    (lock,) = tmp_path.glob("topictag-kernels-*.lock")
    with open(lock) as held:  # someone compiles right now...
        fcntl.flock(held, fcntl.LOCK_EX)
        later = subprocess.run(command, env=env, capture_output=True, timeout=60)
    assert later.returncode == 0  # ...but the kernels are cached already: no waiting


def test_without_a_writable_cache_directory_the_kernels_compile_in_memory(tmp_path):
    """No cache directory can be written (numba's user cache directory is under a file
    here): one warning, and the kernels still compile and run, in memory."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    env = {
        **os.environ,
        "NUMBA_CACHE_DIR": str(blocker / "cache"),
        "NUMBA_CACHE_LOCATOR_CLASSES": "UserProvidedCacheLocator",
    }
    code = (
        "import json, warnings\n"
        "import numpy as np\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    from topictag import _kernels\n"
        "cps = np.array([103, 97, 115], dtype=np.uint32)\n"
        "offsets = np.array([0, 3], dtype=np.int64)\n"
        "h = _kernels.string_hashes(cps, offsets, np.uint64(2**64 - 1))\n"
        "print(json.dumps({'warnings': [str(w.message) for w in caught],\n"
        "                  'no_cache': _kernels.NO_CACHE_REASON is not None,\n"
        "                  'hash': int(h[0])}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    out = json.loads(result.stdout)
    assert out["no_cache"]
    assert len(out["warnings"]) == 1 and "compiled again in every process" in out["warnings"][0]
    fnv = 0xCBF29CE484222325
    for c in b"gas":
        fnv = ((fnv ^ c) * 0x100000001B3) % 2**64
    assert out["hash"] == fnv


def test_small_batches_move_to_the_kernels_once_they_add_up(model_dir, monkeypatch):
    """numpy scores large batches until they reach COMPILED_CHARS in all (loading numba and
    the kernels takes about a second); then the compiled kernels score every one."""
    monkeypatch.setattr(scorer, "PURE_PYTHON_CHARS", 100)
    monkeypatch.setattr(scorer, "COMPILED_CHARS", 1000)
    portable = PortableModel.load(model_dir)
    batch = ["Gas flows through the pipeline to Europe. " * 10]  # 430 characters
    portable.decision(batch)
    portable.decision(batch)
    assert portable._compiled == []  # 860 characters: numpy
    portable.decision(batch)
    assert portable._compiled[0] is not None  # 1,290: compiled from now on
    portable.decision(["gas"])  # plain Python still scores the smallest batches


def test_the_compiled_path_never_builds_the_python_vocabularies(model_dir, compiled_path):
    """The n-gram -> column dicts (some 8 MB for the shipped model) are built by the first
    plain-Python or numpy lookup, never for the kernels."""
    portable = PortableModel.load(model_dir)
    portable.decision(["Gas flows through the pipeline to Europe."] * 3)
    assert portable._compiled[0] is not None
    assert all(block.vocabulary is None for block in portable.blocks)


def test_a_model_kept_for_the_kernels_frees_its_python_tables_and_scores_the_same(
    model_dir, monkeypatch, seed_rows
):
    """A batch worker's model (keep_compiled_only): until a batch reaches the kernels nothing
    changes; then the vocabularies as Python strings and dicts and the coefficients are freed,
    and every later batch, even one plain Python would score, goes to the kernels, with the
    same scores as a whole model's."""
    monkeypatch.setattr(scorer, "PURE_PYTHON_CHARS", 100)
    monkeypatch.setattr(scorer, "COMPILED_CHARS", 0)
    texts = [r["text"] for r in seed_rows]
    reference = numpy_decision(PortableModel.load(model_dir), texts)
    lean = PortableModel.load(model_dir)
    lean.keep_compiled_only()
    assert lean.decision(["gas"]) and lean._compiled == []  # plain Python, as before
    ours = np.asarray(lean.decision(texts))  # a large batch: the kernels, then the freeing
    assert lean._compiled[0] is not None and lean._lean
    assert np.abs(ours - reference).max() <= 1e-12
    tfidf = [block for block in lean.blocks if block.kind == "tfidf"]
    assert all(b.vocabulary is None and "vocabulary" not in b.settings for b in tfidf)
    assert lean._coef_rows is None and "coef" not in lean._arrays
    one = np.asarray(lean.decision(texts[:1]))  # 1 text: the kernels too, nothing to look up
    assert np.abs(one - reference[:1]).max() <= 1e-12
    with pytest.raises(RuntimeError, match="cannot explain"):
        lean.contributions(texts[0], 0)


def test_a_model_kept_for_the_kernels_keeps_everything_when_they_are_unavailable(
    model_dir, monkeypatch, seed_rows
):
    monkeypatch.setattr(compiled, "compiled_scorer", lambda model: None)
    monkeypatch.setattr(scorer, "PURE_PYTHON_CHARS", 100)
    monkeypatch.setattr(scorer, "COMPILED_CHARS", 0)
    texts = [r["text"] for r in seed_rows]
    portable = PortableModel.load(model_dir)
    portable.keep_compiled_only()
    ours = np.asarray(portable.decision(texts))
    assert portable._compiled == [None] and not portable._lean
    assert all("vocabulary" in b.settings for b in portable.blocks if b.kind == "tfidf")
    assert np.abs(ours - numpy_decision(portable, texts)).max() == 0.0
    assert portable.contributions(texts[0], 0)


def test_character_tables_are_built_piece_by_piece_without_a_gap():
    """All of Unicode is run through ``re`` in pieces (never one 17.8 MB string, whose freeing
    left each process holding as much again): a run of matches across a piece boundary, and
    the first and last code points, are found."""
    edge = compiled._PIECE
    table = char_table(f"[\\U{edge - 1:08x}\\U{edge:08x}\\x00\\U0010ffff]")
    assert table.nonzero()[0].tolist() == [0, edge - 1, edge, 0x10FFFF]
    assert all(len(piece) <= edge for _, piece in compiled._code_point_pieces())
    word = char_table(r"\w")
    sample = range(0, 0x110000, 97)
    assert all(word[i] == bool(re.fullmatch(r"\w", chr(i))) for i in sample)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_child_forked_while_another_thread_scores_does_not_wait_forever(both):
    """The child copied the scorer's lock held by a thread it does not have: it waited for
    ever. It now takes a new lock, and empty word memos (the copied ones may be half-written)."""
    import signal

    _, portable = both
    texts = authored_texts(portable, 50)
    scorer_ = CompiledScorer(portable)
    expected = scorer_.decision(texts)
    with scorer_._lock:  # as a thread in the middle of a batch holds it
        pid = os.fork()
        if pid == 0:  # the child: fail rather than hang
            signal.alarm(60)
            same = np.array_equal(scorer_.decision(texts), expected)
            os._exit(0 if same else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_an_interruption_numba_reports_as_a_system_error_is_raised_as_itself(both, monkeypatch):
    """Ctrl-C while numba hands back a kernel's result came out as a SystemError (a chain of
    them), which the command line's Ctrl-C handling missed: a traceback and exit 1."""
    _, portable = both
    scorer_ = CompiledScorer(portable)

    def interrupted(texts):
        try:
            try:
                raise KeyboardInterrupt
            except KeyboardInterrupt as exc:
                raise SystemError("returned a result with an exception set") from exc
        except SystemError as exc:
            raise SystemError("CPUDispatcher returned a result with an exception set") from exc

    monkeypatch.setattr(scorer_, "_decision", interrupted)
    with pytest.raises(KeyboardInterrupt):
        scorer_.decision(["Gas."])
    monkeypatch.setattr(scorer_, "_decision", lambda texts: 1 / 0 if texts else None)
    with pytest.raises(ZeroDivisionError):
        scorer_.decision(["Gas."])  # other errors are left as they are
