"""Batch tagging of corpora (topictag.batch): every format in and out, columns kept, the same
results as Tagger.tag_batch, bad rows named by number, and no half-written output."""

import csv
import errno
import io
import json
import os
import random
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import SEEDS, write_jsonl
from typer.testing import CliRunner

import topictag
from topictag import InputError, Tagger, defaults
from topictag import batch as batch_module
from topictag.batch import tag_corpus
from topictag.cli import app
from topictag.errors import CONTROLS, OptionError, WriteError

SEED_FILES = sorted(SEEDS.glob("*.txt"))


@pytest.fixture(scope="module")
def articles(seed_rows) -> list[dict]:
    """Rows of a small corpus: one to three seed paragraphs per article, plus other columns."""
    texts = [r["text"] for r in seed_rows]
    rows = []
    for i in range(0, len(texts), 2):
        rows.append({"id": f"a{i}", "text": "\n\n".join(texts[i : i + 1 + i % 3]), "n": i})
    rows.append({"id": "blank", "text": " \n ", "n": -1})
    return rows


@pytest.fixture(scope="module")
def expected(model_dir, articles) -> list[dict]:
    return Tagger.load(model_dir).tag_batch([r["text"] for r in articles])


def write_corpus(path: Path, rows: list[dict]) -> Path:
    if path.suffix == ".jsonl":
        return write_jsonl(path, rows)
    if path.suffix == ".csv":
        with open(path, "w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        return path
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def read_output(path: Path) -> list[dict]:
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def leftovers(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("out_suffix", [".jsonl", ".parquet"])
@pytest.mark.parametrize("in_suffix", [".jsonl", ".csv", ".parquet"])
def test_every_column_kept_and_results_equal_tag_batch(
    tmp_path, model_dir, articles, expected, in_suffix, out_suffix
):
    source = write_corpus(tmp_path / f"corpus{in_suffix}", articles)
    target = tmp_path / f"tagged{out_suffix}"
    summary = tag_corpus(source, target, model=model_dir, chunk_rows=7)
    assert summary["rows"] == summary["tagged"] == len(articles)
    assert summary["skipped"] == 0 and summary["errors"] == []
    out = read_output(target)
    assert len(out) == len(articles)
    for row, got, want in zip(articles, out, expected):
        assert list(got) == [*row, "topics", "scores"]
        # CSV cells are text as written; JSON Lines and Parquet keep their types.
        kept = {k: str(v) for k, v in row.items()} if in_suffix == ".csv" else row
        assert {k: got[k] for k in row} == kept
        assert got["topics"] == want["topics"]
        assert got["scores"] == want["scores"]


def test_parquet_output_types(tmp_path, model_dir, articles):
    source = write_corpus(tmp_path / "corpus.jsonl", articles)
    tag_corpus(source, tmp_path / "out.parquet", model=model_dir)
    schema = pq.read_schema(tmp_path / "out.parquet")
    assert schema.field("topics").type == pa.list_(pa.string())
    topics = Tagger.load(model_dir).topics
    assert schema.field("scores").type == pa.struct([(t, pa.float64()) for t in topics])
    assert schema.field("n").type == pa.int64()


def test_two_processes_give_the_same_file_as_one(tmp_path, model_dir, articles):
    source = write_corpus(tmp_path / "corpus.jsonl", articles)
    tag_corpus(source, tmp_path / "one.jsonl", model=model_dir, chunk_rows=3)
    summary = tag_corpus(source, tmp_path / "two.jsonl", model=model_dir, chunk_rows=3, num_proc=2)
    assert summary["tagged"] == len(articles)
    assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()


def test_a_chunk_is_cut_at_a_million_characters_of_text(tmp_path):
    """Chunks in flight are the parent's and workers' memory: 1,000 news-length articles are
    cut into chunks as soon as their texts reach 1,000,000 characters, every row in order."""
    rows = [{"id": i, "text": f"{i} " + "Gas flows to Europe. " * 80} for i in range(1000)]
    source = write_jsonl(tmp_path / "c.jsonl", rows)
    chunks = list(batch_module._read_jsonl(source, "text", None, 1000))
    assert len(chunks) > 1
    assert all(sum(map(len, chunk.texts[:-1])) < 1_000_000 for chunk in chunks)
    assert [row["id"] for chunk in chunks for row in chunk.rows] == list(range(1000))


def test_workers_do_not_read_ahead(model_dir, articles):
    """At most two chunks per worker are in flight: memory is bounded by the chunk size, not
    by the corpus."""
    read = []

    def chunks():
        for i, row in enumerate(articles):
            read.append(i)
            yield batch_module._Chunk([row["text"]], 1)

    tagger = Tagger.load(model_dir)
    stream = batch_module._tagged(chunks(), tagger, 2, model_dir, None)
    first_chunk, first_result = next(stream)
    assert len(read) <= 2 * 2
    assert first_result == tagger.tag_batch(first_chunk.texts)
    assert len(list(stream)) == len(articles) - 1


def test_stdout_when_no_output_is_given(tmp_path, model_dir, articles, expected, capsys):
    source = write_corpus(tmp_path / "corpus.jsonl", articles[:3])
    summary = tag_corpus(source, model=model_dir)
    assert summary["output"] is None
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["topics"] for line in lines] == [e["topics"] for e in expected[:3]]


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_missing_text_field_names_it(tmp_path, model_dir, articles, suffix):
    source = write_corpus(tmp_path / f"corpus{suffix}", articles)
    with pytest.raises(InputError, match="no (field|column) 'body'.*--text-field"):
        tag_corpus(source, tmp_path / "out.jsonl", text_field="body", model=model_dir)
    assert not (tmp_path / "out.jsonl").exists()


def test_text_field_option_picks_the_column(tmp_path, model_dir, articles, expected):
    rows = [{"id": r["id"], "body": r["text"]} for r in articles]
    source = write_corpus(tmp_path / "corpus.csv", rows)
    tag_corpus(source, tmp_path / "out.jsonl", text_field="body", model=model_dir)
    assert [r["topics"] for r in read_output(tmp_path / "out.jsonl")] == [
        e["topics"] for e in expected
    ]


BAD_JSONL = [
    {"id": 1, "text": "Gas exports to Europe."},
    {"id": 2, "text": None},
    "",
    {"id": 3, "text": 42},
    '{"id": 4, "text": "unterminated',
    '["not", "an", "object"]',
    {"id": 5},
    {"id": 6, "text": "Sanctions on Rosneft."},
]
BAD_LINES = {
    2: "'text' is null",
    4: "'text' is int, not a string",
    5: "not valid JSON",
    6: "not a JSON object",
    7: "no field 'text'",
}


def test_bad_json_lines_fail_with_their_line_number(tmp_path, model_dir):
    source = write_jsonl(tmp_path / "bad.jsonl", BAD_JSONL)
    (tmp_path / "out.jsonl").write_text("previous\n")
    with pytest.raises(InputError, match=r"bad.jsonl: line 2: 'text' is null"):
        tag_corpus(source, tmp_path / "out.jsonl", model=model_dir)
    assert (tmp_path / "out.jsonl").read_text() == "previous\n"
    assert leftovers(tmp_path) == []


def test_bad_json_lines_skipped_and_reported(tmp_path, model_dir):
    source = write_jsonl(tmp_path / "bad.jsonl", BAD_JSONL)
    warnings = []
    summary = tag_corpus(
        source, tmp_path / "out.jsonl", on_error="skip", model=model_dir, warn=warnings.append
    )
    assert (summary["rows"], summary["tagged"], summary["skipped"]) == (7, 2, 5)
    assert len(summary["errors"]) == len(warnings) == len(BAD_LINES)
    for message, (line, problem) in zip(summary["errors"], BAD_LINES.items()):
        assert message.startswith(f"{source}: line {line}: {problem}")
    assert [r["id"] for r in read_output(tmp_path / "out.jsonl")] == [1, 6]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_null_text_row_is_named_by_row_number(tmp_path, model_dir, suffix):
    rows = [{"id": "a", "text": "Oil and gas."}, {"id": "b", "text": None}, {"id": "c", "text": ""}]
    source = write_corpus(tmp_path / f"corpus{suffix}", rows)
    with pytest.raises(InputError, match="row 2: 'text' is (null|empty)"):
        tag_corpus(source, tmp_path / "out.jsonl", model=model_dir)
    summary = tag_corpus(source, tmp_path / "out.jsonl", on_error="skip", model=model_dir)
    # An empty string is a text (with no topics); CSV cannot tell it from a missing value.
    kept = ["a"] if suffix == ".csv" else ["a", "c"]
    assert summary["skipped"] == 3 - len(kept)
    assert [r["id"] for r in read_output(tmp_path / "out.jsonl")] == kept


def test_non_text_parquet_column_is_refused(tmp_path, model_dir):
    source = write_corpus(tmp_path / "corpus.parquet", [{"text": 1}, {"text": 2}])
    with pytest.raises(InputError, match="column 'text' holds int64, not text"):
        tag_corpus(source, tmp_path / "out.jsonl", model=model_dir)


def test_malformed_csv_names_the_line(tmp_path, model_dir):
    source = tmp_path / "broken.csv"
    source.write_text('id,text\n1,"Gas."\n2,"Oil.",extra\n', encoding="utf-8")
    with pytest.raises(InputError, match="broken.csv: not valid CSV.*line 3"):
        tag_corpus(source, tmp_path / "out.jsonl", model=model_dir)
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_failure_mid_run_leaves_no_half_file(
    tmp_path, model_dir, articles, monkeypatch, suffix, error
):
    source = write_corpus(tmp_path / "corpus.jsonl", articles)
    target = tmp_path / f"out{suffix}"
    calls = []
    original = Tagger.tag_batch

    def failing(self, texts):
        calls.append(len(texts))
        if len(calls) == 3:  # two chunks already written to the temporary file
            raise error
        return original(self, texts)

    monkeypatch.setattr(Tagger, "tag_batch", failing)
    with pytest.raises(type(error)):
        tag_corpus(source, target, model=model_dir, chunk_rows=5)
    assert not target.exists()
    assert leftovers(tmp_path) == []
    target.write_bytes(b"an earlier result")
    calls.clear()
    with pytest.raises(type(error)):
        tag_corpus(source, target, model=model_dir, chunk_rows=5)
    assert target.read_bytes() == b"an earlier result"
    assert leftovers(tmp_path) == []


def test_existing_topics_column_is_refused(tmp_path, model_dir):
    source = write_jsonl(tmp_path / "c.jsonl", [{"text": "Gas.", "topics": ["mine"]}])
    with pytest.raises(InputError, match="already has a column named 'topics'"):
        tag_corpus(source, tmp_path / "out.jsonl", model=model_dir)


@pytest.mark.parametrize(
    ("name", "message"),
    [("corpus.txt", "unsupported corpus format"), ("missing.jsonl", "no such file")],
)
def test_unusable_input_paths(tmp_path, model_dir, name, message):
    if name.endswith(".txt"):
        (tmp_path / name).write_text("x")
    with pytest.raises(InputError, match=message):
        tag_corpus(tmp_path / name, tmp_path / "out.jsonl", model=model_dir)


def test_an_output_of_no_known_format_or_a_directory_is_a_wrong_option(
    tmp_path, model_dir, articles
):
    """Exit 2 on the command line, as for any wrong option's value; a ValueError in Python."""
    source = write_corpus(tmp_path / "corpus.jsonl", articles)
    with pytest.raises(OptionError, match="unsupported output format"):
        tag_corpus(source, tmp_path / "out.csv", model=model_dir)
    (tmp_path / "results").mkdir()
    with pytest.raises(ValueError, match="a directory; name a file"):
        tag_corpus(source, tmp_path / "results", model=model_dir)
    result = CliRunner().invoke(
        app,
        [
            "tag",
            "--input",
            str(source),
            "--output",
            str(tmp_path / "out.csv"),
            "--model",
            str(model_dir),
        ],
    )
    assert result.exit_code == 2 and "unsupported output format" in result.output


def test_lazy_export_from_the_package():
    assert topictag.tag_corpus.__doc__ and "tag_corpus" in topictag.__all__


# The command -------------------------------------------------------------------------------


def test_a_worker_frees_the_python_vocabularies_once_the_kernels_score(
    model_dir, articles, expected, monkeypatch
):
    """A --num-proc worker only tags chunks: once the compiled kernels score, its model holds
    no vocabulary as Python strings or dicts (some 20 MB per worker), and tags as before."""
    import signal

    import scipy.linalg.cython_blas  # noqa: F401  (a worker refuses it; this process needs it)

    import topictag.scorer as scorer
    import topictag.tagger as tagger_module

    monkeypatch.setattr(tagger_module, "_CACHE", {})  # the worker's model, not the tests'
    monkeypatch.setattr(batch_module, "_WORKER", {})
    monkeypatch.setattr(scorer, "COMPILED_CHARS", 0)
    monkeypatch.setattr(scorer, "PURE_PYTHON_CHARS", 100)  # a small corpus: large batches
    handler = signal.getsignal(signal.SIGINT)
    try:
        batch_module._init_worker(str(model_dir), None)
    finally:
        signal.signal(signal.SIGINT, handler)
    texts = [r["text"] for r in articles]
    results = batch_module._tag_texts(texts) + batch_module._tag_texts(texts[:1])
    model = batch_module._WORKER["tagger"].model
    assert model._lean
    assert all("vocabulary" not in b.settings for b in model.blocks if b.kind == "tfidf")
    assert [r["topics"] for r in results] == [e["topics"] for e in expected + expected[:1]]
    for ours, theirs in zip(results, expected + expected[:1]):
        assert all(abs(ours["scores"][t] - s) <= 1e-6 for t, s in theirs["scores"].items())


WORKER_STATE = (
    "import json, sys\n"
    "from topictag import batch, scorer\n"
    "scorer.COMPILED_CHARS = 0\n"
    "batch._init_worker(sys.argv[1], None)\n"
    "batch._tag_texts(['Gas flows through the pipeline to Europe. ' * 600])\n"
    "print(json.dumps({'lean': batch._WORKER['tagger'].model._lean,\n"
    "    'compiled': batch._WORKER['tagger'].model._compiled[0] is not None,\n"
    "    'scipy.linalg': 'scipy.linalg' in sys.modules}))\n"
)


def test_a_worker_scores_with_the_kernels_without_importing_scipy(model_dir):
    """numba imports scipy (some 15 MB) only for linear algebra in compiled code, which the
    kernels do not use: a worker process refuses that import and still scores with them."""
    env = {**os.environ, "PYTHONPATH": str(Path(topictag.__file__).parent.parent)}
    done = subprocess.run(
        [sys.executable, "-c", WORKER_STATE, str(model_dir)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    state = json.loads(done.stdout)
    assert state == {"lean": True, "compiled": True, "scipy.linalg": False}


@pytest.fixture
def runner(use_model):
    return CliRunner()


@pytest.mark.parametrize("preset", [None, "jemalloc"])
def test_cli_corpus_run_trims_the_parent_process(runner, tmp_path, articles, monkeypatch, preset):
    """Arrow's own pool (mimalloc) held some 30 MB more of freed memory in the parent process
    of a corpus run: `tag --input` sets ARROW_DEFAULT_MEMORY_POOL=system, unless it is set;
    and it fixes glibc's mmap threshold, so large freed blocks go back to the system."""
    fixed = []
    monkeypatch.setattr(batch_module, "fixed_mmap_threshold", lambda: fixed.append(True))
    if preset is None:
        monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    else:
        monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", preset)
    source = write_corpus(tmp_path / "corpus.jsonl", articles)
    target = tmp_path / "out.parquet"
    result = runner.invoke(app, ["tag", "--input", str(source), "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert os.environ["ARROW_DEFAULT_MEMORY_POOL"] == (preset or "system")
    assert fixed == [True]


def test_cli_writes_the_output_and_prints_a_summary(runner, tmp_path, articles, expected):
    source = write_corpus(tmp_path / "corpus.csv", articles)
    target = tmp_path / "out.parquet"
    result = runner.invoke(
        app, ["tag", "--input", str(source), "--output", str(target), "--num-proc", "2"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["tagged"] == len(articles) and summary["output"] == str(target)
    assert [r["topics"] for r in read_output(target)] == [e["topics"] for e in expected]


def test_cli_without_output_writes_json_lines_to_stdout(runner, tmp_path, articles, expected):
    source = write_corpus(tmp_path / "corpus.jsonl", articles)
    result = runner.invoke(app, ["tag", "--input", str(source)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["scores"] for r in rows] == [e["scores"] for e in expected]
    assert json.loads(result.stderr.splitlines()[-1])["tagged"] == len(articles)


def test_cli_bad_row_fails_with_one_line(runner, tmp_path):
    source = write_jsonl(tmp_path / "bad.jsonl", BAD_JSONL)
    result = runner.invoke(
        app, ["tag", "--input", str(source), "--output", str(tmp_path / "o.jsonl")]
    )
    assert result.exit_code == 1
    assert result.stderr == f"error: {source}: line 2: 'text' is null\n"
    assert not (tmp_path / "o.jsonl").exists()


def test_cli_skip_writes_the_good_rows_and_exits_1(runner, tmp_path):
    source = write_jsonl(tmp_path / "bad.jsonl", BAD_JSONL)
    target = tmp_path / "o.jsonl"
    result = runner.invoke(
        app, ["tag", "--input", str(source), "--output", str(target), "--on-error", "skip"]
    )
    assert result.exit_code == 1
    assert json.loads(result.stdout)["skipped"] == len(BAD_LINES)
    assert result.stderr.count("(skipped)") == len(BAD_LINES)
    assert len(read_output(target)) == 2


def test_cli_missing_text_field(runner, tmp_path, articles):
    source = write_corpus(tmp_path / "corpus.parquet", articles)
    result = runner.invoke(app, ["tag", "--input", str(source), "--text-field", "body"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and "'body'" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["tag", "x.txt", "--input", "corpus.jsonl"],
        ["tag", "--output", "out.jsonl"],
        ["tag", "--input", "corpus.jsonl", "--num-proc", "0"],
        ["tag", "--input", "corpus.jsonl", "--on-error", "ignore"],
    ],
)
def test_cli_usage_errors(runner, args):
    assert runner.invoke(app, args).exit_code == 2


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--input", "c.jsonl", "--paragraphs"], "--paragraphs applies to article paths"),
        (["--input", "c.jsonl", "-f", "json", "-e"], "--format and --explain apply to article"),
        (["--output", "o.jsonl", "--encoding", "latin-1"], "--encoding applies to article"),
        (["a.txt", "--num-proc", "2"], "--num-proc applies only to --input"),
        (["a.txt", "--text-field", "body", "--on-error", "skip"], "--text-field and --on-error"),
    ],
)
def test_options_that_would_be_ignored_are_usage_errors(runner, args, named):
    """An option the chosen mode would not use is refused, not silently dropped."""
    result = runner.invoke(app, ["tag", *args])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {named}")


def test_jsonl_format_agrees_with_input_mode(runner, tmp_path, articles):
    source = write_corpus(tmp_path / "corpus.jsonl", articles)
    result = runner.invoke(app, ["tag", "--input", str(source), "-f", "jsonl"])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == len(articles)


def test_jsonl_format_with_another_output_suffix_is_a_usage_error(runner, tmp_path, articles):
    """The suffix chooses the output's format: ``-f jsonl -o x.parquet`` wrote Parquet."""
    source = write_corpus(tmp_path / "corpus.jsonl", articles)
    args = ["tag", "--input", str(source), "-f", "jsonl", "-o"]
    result = runner.invoke(app, [*args, str(tmp_path / "x.parquet")])
    assert result.exit_code == 2 and not (tmp_path / "x.parquet").exists()
    assert "--format jsonl does not match --output" in result.stderr
    for output in (str(tmp_path / "x.jsonl"), str(tmp_path / "x.ndjson"), "-"):
        assert runner.invoke(app, [*args, output]).exit_code == 0


@pytest.mark.parametrize(
    ("content", "where"),
    [
        # every row has one unquoted comma too many: pandas shifted the text into the id column
        ("id,text\n1,Gas pipeline, with a comma\n2,Oil, and more\n", "row 1 (line 2) has 3"),
        ('id,text\n1,"Gas."\n\n2,"Oil.",extra\n', "row 2 (line 4) has 3"),
        ('id,text\n1,"Gas\nand oil."\n2,Oil,\n', "row 2 (line 4) has 3"),
    ],
)
@pytest.mark.parametrize("on_error", ["fail", "skip"])
def test_csv_row_with_more_fields_than_the_header_is_an_error(
    tmp_path, model_dir, content, where, on_error
):
    source = tmp_path / "corpus.csv"
    source.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=rf"corpus.csv: not valid CSV: {re.escape(where)} fields"):
        tag_corpus(source, tmp_path / "out.jsonl", model=model_dir, on_error=on_error)
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize("out_suffix", [".jsonl", ".parquet"])
@pytest.mark.parametrize(
    ("suffix", "repeated"), [(".csv", "id"), (".parquet", "id"), (".parquet", "text")]
)
def test_a_column_named_twice_is_refused_naming_it(
    tmp_path, model_dir, suffix, repeated, out_suffix
):
    """The output keeps every input column, and a row cannot hold two of one name: a Parquet
    file's second 'id' was dropped without a word, and a second 'text' was a KeyError."""
    names = ["text", "id", repeated]
    source = tmp_path / f"twice{suffix}"
    if suffix == ".csv":
        source.write_text(f"{','.join(names)}\ngas pipeline,a,b\n", encoding="utf-8")
    else:
        values = [pa.array(["gas pipeline"]), pa.array(["a"]), pa.array(["b"])]
        pq.write_table(pa.Table.from_arrays(values, names=names), source)
    target = tmp_path / f"out{out_suffix}"
    with pytest.raises(InputError) as caught:
        tag_corpus(source, target, model=model_dir)
    kind = "CSV header" if suffix == ".csv" else "Parquet schema"
    assert str(caught.value) == (
        f"{source}: the {kind} names a column twice: {repeated!r} "
        f"(columns: {', '.join(names)}); rename or drop one"
    )
    assert not target.exists()


def test_csv_with_quoted_commas_and_short_rows_is_read(tmp_path, model_dir):
    source = tmp_path / "corpus.csv"
    source.write_text('id,text,note\n1,"Gas, oil and sanctions.",x\n2,"Oil."\n', encoding="utf-8")
    summary = tag_corpus(source, tmp_path / "out.jsonl", model=model_dir)
    assert summary["tagged"] == 2
    assert [r["text"] for r in read_output(tmp_path / "out.jsonl")] == [
        "Gas, oil and sanctions.",
        "Oil.",
    ]


# Outputs that cannot be written, inputs that are not what they say -------------------------


@pytest.mark.parametrize("link", [None, "symbolic", "hard"])
def test_the_input_is_never_the_output(tmp_path, model_dir, articles, link):
    source = write_corpus(tmp_path / "corpus.jsonl", articles)
    before = source.read_bytes()
    target = source
    if link:
        target = tmp_path / "out.jsonl"
        (target.symlink_to if link == "symbolic" else target.hardlink_to)(source)
    with pytest.raises(InputError, match="is the input file"):
        tag_corpus(source, target, model=model_dir)
    assert source.read_bytes() == before


class FullDisk:
    """A text file on a disk that fills up after its first write."""

    def __init__(self, fh):
        self.fh, self.writes = fh, 0

    def write(self, text):
        self.writes += 1
        if self.writes > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return self.fh.write(text)

    def __getattr__(self, name):
        return getattr(self.fh, name)


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_a_full_disk_is_one_error_and_leaves_no_file(
    tmp_path, model_dir, articles, monkeypatch, suffix
):
    source = write_corpus(tmp_path / "corpus.jsonl", articles)
    target = tmp_path / f"out{suffix}"
    if suffix == ".jsonl":

        def full_open(path, mode="r", *args, **kwargs):
            fh = open(path, mode, *args, **kwargs)
            return FullDisk(fh) if "x" in mode else fh

        monkeypatch.setattr(batch_module, "open", full_open, False)
    else:
        real = pq.ParquetWriter.write_table
        calls = []

        def write_table(self, table, *args, **kwargs):
            calls.append(1)
            if len(calls) > 1:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(self, table, *args, **kwargs)

        monkeypatch.setattr(pq.ParquetWriter, "write_table", write_table)
    with pytest.raises(WriteError) as caught:
        tag_corpus(source, target, model=model_dir, chunk_rows=3)
    assert str(caught.value) == f"{target}: cannot write (No space left on device)"
    assert not target.exists() and leftovers(tmp_path) == []


@pytest.mark.skipif(os.name != "posix", reason="needs resource limits")
@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_cli_output_past_the_file_size_limit_is_one_error_line(
    tmp_path, model_dir, seed_rows, suffix
):
    """The kernel refuses the write (EFBIG), as a full disk would (ENOSPC). pyarrow's error
    names it in a sentence of its own ("Error writing bytes to file. Detail: [errno 27] ..."):
    both outputs give the system's words."""
    import resource

    rows = [{"id": i, "text": seed_rows[i % len(seed_rows)]["text"]} for i in range(3000)]
    source = write_jsonl(tmp_path / "corpus.jsonl", rows)
    target = tmp_path / f"out{suffix}"

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    args = ["tag", "--input", str(source), "--output", str(target), "--model", str(model_dir)]
    done = subprocess.run(
        [sys.executable, "-m", "topictag", *args],
        preexec_fn=limit,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    assert done.stderr == f"error: {target}: cannot write ({os.strerror(errno.EFBIG)})\n"
    assert not target.exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "data", [b"", b"not parquet at all", b"PAR1" + b"\0" * 50, "truncated"], ids=repr
)
def test_junk_or_truncated_parquet_is_not_valid_parquet(tmp_path, model_dir, articles, data):
    source = tmp_path / "corpus.parquet"
    if data == "truncated":
        whole = write_corpus(tmp_path / "whole.parquet", articles).read_bytes()
        data = whole[: len(whole) // 2]
    source.write_bytes(data)
    with pytest.raises(InputError, match=r"corpus\.parquet: not valid Parquet \("):
        tag_corpus(source, tmp_path / "out.jsonl", model=model_dir)
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize("out_suffix", [".jsonl", ".parquet"])
def test_a_parquet_file_with_no_rows_is_no_rows(tmp_path, model_dir, out_suffix):
    source = tmp_path / "empty.parquet"
    empty = {"id": pa.array([], pa.int64()), "text": pa.array([], pa.string())}
    pq.write_table(pa.table(empty), source)
    target = tmp_path / f"out{out_suffix}"
    summary = tag_corpus(source, target, model=model_dir, num_proc=1)
    assert (summary["rows"], summary["tagged"], summary["skipped"]) == (0, 0, 0)
    assert read_output(target) == []
    if out_suffix == ".parquet":
        assert pq.read_schema(target).names == ["id", "text", "topics", "scores"]


@pytest.mark.parametrize("on_error", ["fail", "skip"])
def test_a_json_line_nested_too_deeply_is_a_bad_row(tmp_path, model_dir, on_error):
    deep = '{"text": ' + "[" * 100_000 + "]" * 100_000 + "}"
    source = write_jsonl(tmp_path / "deep.jsonl", [deep, {"text": "Gas flows via TANAP."}])
    message = f"{source}: line 1: JSON nested too deeply to read"
    if on_error == "fail":
        with pytest.raises(InputError, match=re.escape(message)):
            tag_corpus(source, tmp_path / "out.jsonl", model=model_dir)
        return
    summary = tag_corpus(source, tmp_path / "out.jsonl", model=model_dir, on_error="skip")
    assert summary["tagged"] == 1 and summary["errors"] == [message]


@pytest.mark.parametrize("out", ["out.jsonl", "out.parquet"])
def test_a_json_line_nested_past_the_limit_is_a_bad_row(tmp_path, model_dir, out):
    """Read, but too deep to write: a Parquet output's type for a row nested 950 deep took
    3.2 GB for a 6 KB file. A row at the limit is written."""
    limit = batch_module.MAX_JSON_DEPTH

    def nested(levels: int) -> dict:  # the row itself is the first level
        value = 1
        for _ in range(levels - 1):
            value = {"a": value}
        return {"text": "Gas flows via TANAP.", "meta": value}

    assert batch_module.nesting(nested(limit)) == limit
    rows = [nested(limit + 1), nested(limit), {"text": "oil", "tags": [[["x"]] * 200]}]
    source = write_jsonl(tmp_path / "deep.jsonl", rows)
    summary = tag_corpus(source, tmp_path / out, model=model_dir, on_error="skip")
    assert summary["errors"] == [
        f"{source}: line 1: JSON nested {limit + 1} levels deep, over the {limit} a row may hold"
    ]
    assert summary["tagged"] == 2


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_a_text_of_more_paragraphs_than_an_article_may_hold_is_a_bad_row(
    tmp_path, model_dir, suffix
):
    """As for one article: 12 MB of one-letter paragraphs in one row took 2.9 GB. A text with
    as many line breaks but fewer paragraphs (blank lines) is tagged."""
    limit = defaults.MAX_ARTICLE_PARAGRAPHS
    rows = [
        {"text": "a\n\n" * (limit + 1)},
        {"text": "Gas flows via TANAP." + "\n" * (3 * limit)},
    ]
    if suffix == ".jsonl":
        source = write_jsonl(tmp_path / "c.jsonl", rows)
        where = "line 1"
    else:
        source = tmp_path / "c.csv"
        source.write_text("text\n" + "".join(f'"{r["text"]}"\n' for r in rows))
        where = "row 1"
    summary = tag_corpus(source, tmp_path / "out.jsonl", model=model_dir, on_error="skip")
    assert summary["errors"] == [
        f"{source}: {where}: 'text' has {limit + 1:,} paragraphs, over the {limit:,} of one article"
    ]
    assert [r["topics"] for r in read_output(tmp_path / "out.jsonl")] == [["gas"]]


def test_more_workers_than_cpus_are_cut_to_the_cpus_with_a_warning(
    tmp_path, model_dir, monkeypatch
):
    """``--num-proc 16`` on 2 CPUs started 16 processes, each with its model, and ran slower."""
    import topictag.batch as batch

    monkeypatch.setattr(batch, "usable_cpus", lambda: 1)
    monkeypatch.setattr(
        batch, "worker_pool", lambda *a: pytest.fail("started workers"), raising=False
    )
    source = write_jsonl(tmp_path / "c.jsonl", [{"text": "Gas flows via TANAP."}])
    said = []
    summary = tag_corpus(
        source, tmp_path / "o.jsonl", model=model_dir, num_proc=16, warn=said.append
    )
    assert said == ["16 worker processes asked for, 1 CPU here: using 1"]
    assert summary["tagged"] == 1


def test_with_workers_the_parent_never_loads_the_model(tmp_path, use_model, monkeypatch):
    """With --num-proc 2 only the workers load the model (it reads the topics alone), and the
    output is the same as one process's."""
    import topictag.batch as batch

    corpus = write_jsonl(
        tmp_path / "c.jsonl",
        [{"id": i, "text": t} for i, t in enumerate(["Brent crude rose.", "Gas via TAP."] * 3)],
    )
    one = batch.tag_corpus(corpus, tmp_path / "one.jsonl")
    monkeypatch.setattr(batch, "load_model", lambda *a, **k: pytest.fail("parent loaded it"))
    two = batch.tag_corpus(corpus, tmp_path / "two.jsonl", num_proc=2)
    assert one["tagged"] == two["tagged"] == 6
    read = (tmp_path / "one.jsonl").read_text, (tmp_path / "two.jsonl").read_text
    assert read[0]() == read[1]()


def test_a_threshold_out_of_range_is_refused_before_any_work(tmp_path, use_model):
    import topictag.batch as batch

    corpus = write_jsonl(tmp_path / "c.jsonl", [])
    with pytest.raises(InputError, match="threshold"):
        batch.tag_corpus(corpus, tmp_path / "o.jsonl", num_proc=2, threshold=1.5)


def test_a_row_with_a_lone_surrogate_is_a_bad_row_not_a_crash(tmp_path, model_dir):
    """Valid JSON, but no text: UTF-8 and Parquet cannot hold it, so its row is named and
    skipped like any bad row; a surrogate pair (an escaped emoji) is an ordinary character."""
    source = tmp_path / "c.jsonl"
    source.write_text(
        '{"id": 1, "text": "gas pipeline"}\n'
        '{"id": 2, "text": "half an emoji \\ud83d here"}\n'
        '{"id": 3, "text": "oil", "note": "a lone \\uDC80 elsewhere"}\n'
        '{"id": 4, "text": "a whole emoji \\ud83d\\ude00"}\n'
    )
    with pytest.raises(InputError, match=r"line 2: holds a lone surrogate \\ud83d"):
        tag_corpus(source, tmp_path / "out.jsonl", model=model_dir)
    for out in ("out.jsonl", "out.parquet"):
        summary = tag_corpus(source, tmp_path / out, on_error="skip", model=model_dir)
        assert (summary["tagged"], summary["skipped"]) == (2, 2)
        assert [r["id"] for r in read_output(tmp_path / out)] == [1, 4]
    assert read_output(tmp_path / "out.jsonl")[1]["text"] == "a whole emoji \U0001f600"


def test_an_output_that_is_a_symbolic_link_is_written_where_it_points(tmp_path, model_dir):
    (tmp_path / "results").mkdir()
    target = tmp_path / "results" / "tagged.jsonl"
    target.write_text("previous\n")
    (tmp_path / "latest.jsonl").symlink_to(target)
    source = write_jsonl(tmp_path / "c.jsonl", [{"text": "gas pipeline"}])
    tag_corpus(source, tmp_path / "latest.jsonl", model=model_dir)
    assert (tmp_path / "latest.jsonl").is_symlink()
    assert [r["text"] for r in read_output(target)] == ["gas pipeline"]


@pytest.mark.parametrize("out", ["out.jsonl", "out.parquet"])
def test_an_output_written_again_keeps_its_permissions(tmp_path, model_dir, out):
    """The new file is renamed over the old one; a private output must stay private."""
    source = write_jsonl(tmp_path / "c.jsonl", [{"text": "gas pipeline"}])
    tag_corpus(source, tmp_path / out, model=model_dir)
    (tmp_path / out).chmod(0o600)
    tag_corpus(source, tmp_path / out, model=model_dir)
    assert (tmp_path / out).stat().st_mode & 0o777 == 0o600
    assert [r["text"] for r in read_output(tmp_path / out)] == ["gas pipeline"]


def test_a_number_too_long_to_read_is_a_bad_row_not_a_crash(tmp_path, model_dir):
    source = tmp_path / "c.jsonl"
    source.write_text('{"text": "gas", "n": ' + "9" * 5000 + '}\n{"text": "oil"}\n')
    summary = tag_corpus(source, tmp_path / "out.jsonl", on_error="skip", model=model_dir)
    assert (summary["tagged"], summary["skipped"]) == (1, 1)
    with pytest.raises(InputError, match="line 1: not valid JSON"):
        tag_corpus(source, tmp_path / "out.jsonl", model=model_dir)


def test_an_output_name_near_the_file_system_limit_is_written(tmp_path, model_dir):
    """The temporary name beside it is longer than the name; it must still fit in 255 bytes."""
    source = write_jsonl(tmp_path / "c.jsonl", [{"text": "gas pipeline"}])
    output = tmp_path / ("o" * 244 + ".jsonl")
    tag_corpus(source, output, model=model_dir)
    assert [r["text"] for r in read_output(output)] == ["gas pipeline"]
    assert leftovers(tmp_path) == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_an_output_that_is_a_fifo_is_refused_before_tagging(tmp_path, model_dir):
    os.mkfifo(tmp_path / "out.jsonl")
    source = write_jsonl(tmp_path / "c.jsonl", [{"text": "gas pipeline"}])
    with pytest.raises(InputError, match="out.jsonl: a FIFO \\(named pipe\\), not a regular file"):
        tag_corpus(source, tmp_path / "out.jsonl", model=model_dir)
    assert stat.S_ISFIFO(os.stat(tmp_path / "out.jsonl").st_mode)


def test_a_tagged_corpus_is_never_written_into_the_model_directory(tmp_path, model_dir):
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    source = write_jsonl(tmp_path / "c.jsonl", [{"text": "gas pipeline"}])
    result = CliRunner().invoke(
        app, ["tag", "--input", str(source), "--model", str(model), "-o", str(model / "t.jsonl")]
    )
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: --output {model / 't.jsonl'} is in the model directory {model}; write elsewhere\n"
    )
    assert not (model / "t.jsonl").exists()


def test_a_parquet_corpus_is_read_in_arrow_memory_that_does_not_grow_with_it(tmp_path):
    """A pre-buffering reader kept every column chunk it had read: 330 MB of Arrow buffers
    after 150,000 articles. Read without, it holds about one batch."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from topictag.batch import _parquet_chunks

    path = tmp_path / "c.parquet"
    rng = random.Random(0)
    with pq.ParquetWriter(path, pa.schema([("id", pa.int64()), ("text", pa.string())])) as out:
        for group in range(20):  # 20 row groups of 1,000 rows: 40 MB of text that compresses
            ids = range(group * 1000, (group + 1) * 1000)  # badly, as real text does
            texts = [" ".join(f"{rng.getrandbits(40):x}" for _ in range(200)) for _ in ids]
            out.write_table(pa.table({"id": list(ids), "text": texts}))
    before, most, rows = pa.total_allocated_bytes(), 0, 0
    for chunk in _parquet_chunks(path, "text", lambda *a: None, 500):
        rows += len(chunk.texts)
        most = max(most, pa.total_allocated_bytes() - before)
    assert rows == 20_000
    assert path.stat().st_size > 20 * 2**20
    assert most < 10 * 2**20  # a row group is 2 MB of text


def test_parquet_map_columns_and_string_view_text_are_read(tmp_path):
    """Both are valid Parquet that datasets could not type ("not valid Parquet")."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not hasattr(pa, "string_view"):
        pytest.skip("pyarrow without string_view")
    path = tmp_path / "odd.parquet"
    pq.write_table(
        pa.table(
            {
                "text": pa.array(["Gas flows to Turkey.", "Oil prices rose."], pa.string_view()),
                "m": pa.array([[("k", "v")], []], pa.map_(pa.string(), pa.string())),
            }
        ),
        path,
    )
    for out in (tmp_path / "o.jsonl", tmp_path / "o.parquet"):
        summary = tag_corpus(path, out)
        assert summary["tagged"] == 2
    rows = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert [r["m"] for r in rows] == [[["k", "v"]], []]
    assert pq.read_table(tmp_path / "o.parquet").column("m").to_pylist() == [[("k", "v")], []]


def test_a_parquet_date_or_timestamp_python_cannot_hold_is_written_as_iso_text(tmp_path, model_dir):
    """A year before 1 or after 9999 made ``to_pylist`` raise OverflowError for the whole
    chunk, so one odd timestamp failed a JSON Lines run. Such a value is written as ISO text
    with the year digits it needs (UTC for a time zone), a duration as its number and unit;
    the others as before, and a Parquet output keeps the values as stored."""
    big = 2**62
    columns = {
        "text": pa.array(["gas pipeline", "oil"]),
        "day": pa.array([-(2**31) + 1, 20_000], pa.int32()).cast(pa.date32()),
        "day64": pa.array([big, 20_000 * 86_400_000], pa.int64()).cast(pa.date64()),
        "at": pa.array([big, 1_736_121_600_000], pa.int64()).cast(pa.timestamp("ms")),
        "local": pa.array([big, 1_736_121_600_000]).cast(pa.timestamp("ms", tz="Asia/Tokyo")),
        "took": pa.array([big, 5], pa.int64()).cast(pa.duration("s")),
        "times": pa.array([[big], [1_500]], pa.list_(pa.timestamp("ms"))),
    }
    source = tmp_path / "far.parquet"
    pq.write_table(pa.table(columns), source)
    summary = tag_corpus(source, tmp_path / "out.jsonl", model=model_dir)
    assert summary["tagged"] == 2
    far, near = [
        {k: v for k, v in row.items() if k in columns}
        for row in read_output(tmp_path / "out.jsonl")
    ]
    assert far == {
        "text": "gas pipeline",
        "day": "-5877641-06-24",
        "day64": "5029829-08-29",
        "at": "146140482-04-24T15:36:27.904",
        "local": "146140482-04-24T15:36:27.904Z",
        "took": "4611686018427387904 seconds",
        "times": ["146140482-04-24T15:36:27.904"],
    }
    assert near == {
        "text": "oil",
        "day": "2024-10-04",
        "day64": "2024-10-04",
        "at": "2025-01-06T00:00:00",
        "local": "2025-01-06T09:00:00+09:00",
        "took": "0:00:05",
        "times": ["1970-01-01T00:00:01.500000"],
    }
    tag_corpus(source, tmp_path / "out.parquet", model=model_dir)
    kept = pq.read_table(tmp_path / "out.parquet")
    assert kept.column("at").cast(pa.int64()).to_pylist() == [big, 1_736_121_600_000]


def test_a_csv_text_longer_than_the_csv_modules_limit_is_tagged(tmp_path):
    import csv

    path = tmp_path / "long.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerows([["id", "text"], [1, "Gazprom raised gas exports. " * 6000], [2, "Oil."]])
    summary = tag_corpus(path, tmp_path / "o.jsonl")
    assert summary["tagged"] == 2
    assert csv.field_size_limit() == 131072  # the process's own limit is left as it was


def test_a_number_too_large_for_parquet_is_one_error_and_no_file(tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_text('{"id": 123456789012345678901234567890, "text": "Gas."}\n')
    with pytest.raises(InputError, match="a whole number too large for Parquet"):
        tag_corpus(path, tmp_path / "o.parquet")
    assert not (tmp_path / "o.parquet").exists()
    assert tag_corpus(path, tmp_path / "o.jsonl")["tagged"] == 1  # JSON Lines keeps it


@pytest.mark.parametrize(
    "codec", ["utf-16", "utf-32", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"]
)
def test_a_json_lines_corpus_in_utf16_or_utf32_is_one_error_before_any_row(tmp_path, codec):
    """PowerShell's > writes UTF-16: row 1 was "not UTF-8" and later rows decoded by chance.
    Without a byte order mark (the -le and -be codecs), every line was "not valid JSON"."""
    path = tmp_path / "c.jsonl"
    lines = "".join(json.dumps({"id": i, "text": "Gas."}) + "\n" for i in range(3))
    path.write_text(lines, encoding=codec)
    for on_error in ("fail", "skip"):
        with pytest.raises(InputError, match=f"{codec.upper()} text .* must be UTF-8"):
            tag_corpus(path, tmp_path / "o.jsonl", on_error=on_error)
    assert not (tmp_path / "o.jsonl").exists()


def test_input_with_several_files_or_a_directory_says_so(runner, tmp_path):
    for name in ("a.jsonl", "b.jsonl"):
        (tmp_path / name).write_text('{"text": "Gas."}\n')
    several = runner.invoke(
        app, ["tag", "--input", str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl")]
    )
    assert several.exit_code == 2
    assert "--input takes one corpus file, and no article paths beside it" in several.stderr
    folder = runner.invoke(app, ["tag", "--input", str(tmp_path)])
    assert folder.exit_code == 1
    assert folder.stderr == f"error: {tmp_path}: a directory; --input takes one corpus file\n"


def test_a_csv_corpus_is_read_without_writing_to_the_home_directory(tmp_path, model_dir):
    """A read-only home made every CSV corpus "not valid CSV"; a writable one kept a lock file
    of each run."""
    from conftest import env_with_home, homes

    source = tmp_path / "c.csv"
    source.write_text("id,text\n1,Gas exports rose.\n2,Brent crude fell.\n", encoding="utf-8")
    made = homes(tmp_path)
    for name, home in made.items():
        target = tmp_path / f"out-{name}.jsonl"
        args = ["tag", "--input", str(source), "-o", str(target), "--model", str(model_dir)]
        done = subprocess.run(
            [sys.executable, "-m", "topictag", *args],
            env=env_with_home(home),
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, (name, done.stderr)
        assert len(target.read_text().splitlines()) == 2
    assert list(made["empty"].iterdir()) == []


@pytest.mark.parametrize(
    "given, message",
    [
        ({"num_proc": "2"}, "num_proc must be a whole number of at least 1, not '2'"),
        ({"num_proc": 0}, "num_proc must be"),
        ({"chunk_rows": 1.5}, "chunk_rows must be"),
        ({"text_field": None}, "text_field must be a field's name, not None"),
    ],
)
def test_a_wrong_argument_of_tag_corpus_is_named(tmp_path, model_dir, articles, given, message):
    source = write_corpus(tmp_path / "corpus.jsonl", articles)
    with pytest.raises(ValueError, match=message):
        tag_corpus(source, tmp_path / "out.jsonl", model=model_dir, **given)
    assert not (tmp_path / "out.jsonl").exists()


def standard_json(line: str):
    """A JSON line as a standard reader reads it: NaN and Infinity are not JSON."""

    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(line, parse_constant=refuse)


def test_json_lines_output_is_standard_json_with_no_control_character_raw(tmp_path, model_dir):
    """A Parquet NaN was written as NaN, and C1 controls and bidi overrides went out raw."""
    source = tmp_path / "corpus.parquet"
    rows = [
        {"text": "Gas exports rose.", "source": "a\x9b2J\u202eb\x85", "x": float("nan")},
        {"text": "Oil prices fell.", "source": "plain", "x": 1.5},
    ]
    pq.write_table(pa.Table.from_pylist(rows), source)
    target = tmp_path / "out.jsonl"
    tag_corpus(source, target, model=model_dir)
    written = target.read_text(encoding="utf-8")
    assert not CONTROLS.intersection(written.replace("\n", ""))
    out = [standard_json(line) for line in written.splitlines()]
    assert [(r["source"], r["x"]) for r in out] == [("a\x9b2J\u202eb\x85", None), ("plain", 1.5)]


def test_a_number_too_large_for_a_float_is_written_as_null(runner, tmp_path):
    """1e400 is valid JSON that Python reads as infinite: it went out as Infinity."""
    source = tmp_path / "inf.jsonl"
    source.write_text('{"text": "Gas exports.", "big": 1e400, "small": -1e400}\n')
    result = runner.invoke(app, ["tag", "--input", str(source)])
    assert result.exit_code == 0, result.output
    row = standard_json(result.stdout)
    assert (row["big"], row["small"]) == (None, None)


@pytest.mark.parametrize("on_error", ["fail", "skip"])
def test_nan_and_infinity_in_a_json_line_are_bad_rows(tmp_path, model_dir, on_error):
    """Python's json reads them, no standard reader does: they were tagged and written back."""
    source = tmp_path / "c.jsonl"
    lines = [
        '{"id": 1, "text": "Gas exports.", "x": "NaN"}',
        '{"id": 2, "text": "Gas exports.", "x": NaN}',
        '{"id": 3, "text": "Gas exports.", "x": [Infinity]}',
        '{"id": 4, "text": "Gas exports.", "x": -Infinity}',
    ]
    source.write_text("\n".join(lines) + "\n")
    first = f"{source}: line 2: not valid JSON (NaN is not a JSON value at column 40)"
    if on_error == "fail":
        with pytest.raises(InputError) as caught:
            tag_corpus(source, tmp_path / "out.jsonl", model=model_dir)
        assert str(caught.value) == first
        return
    summary = tag_corpus(source, tmp_path / "out.jsonl", model=model_dir, on_error="skip")
    assert summary["skipped"] == 3 and summary["errors"][0] == first
    assert "line 3: not valid JSON (Infinity is" in summary["errors"][1]
    assert "line 4: not valid JSON (-Infinity is" in summary["errors"][2]
    assert [r["id"] for r in read_output(tmp_path / "out.jsonl")] == [1]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_shows_a_corpus_name_s_escape_sequences_as_text(monkeypatch):
    """tqdm printed its description, the corpus's file name, raw to the terminal."""
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with batch_module.progress_bar("tagging a\x1b]0;pwned\x07\x9b2J.jsonl", 10, "B", True) as bar:
        bar.update(5)
    assert "tagging a\\x1b]0;pwned\\x07\\x9b2J.jsonl" in terminal.getvalue()
    assert not {"\x1b", "\x07", "\x9b"}.intersection(terminal.getvalue())
