"""Batch tagging of corpora (topictag.batch): every format in and out, columns kept, the same
results as Tagger.tag_batch, bad rows named by number, and no half-written output."""

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import SEEDS, write_jsonl
from typer.testing import CliRunner

import topictag
from topictag import InputError, Tagger
from topictag import batch as batch_module
from topictag.batch import tag_corpus
from topictag.cli import app

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


def test_unsupported_output_format(tmp_path, model_dir, articles):
    source = write_corpus(tmp_path / "corpus.jsonl", articles)
    with pytest.raises(InputError, match="unsupported output format"):
        tag_corpus(source, tmp_path / "out.csv", model=model_dir)


def test_lazy_export_from_the_package():
    assert topictag.tag_corpus.__doc__ and "tag_corpus" in topictag.__all__


# The command -------------------------------------------------------------------------------


@pytest.fixture
def runner(use_model):
    return CliRunner()


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
