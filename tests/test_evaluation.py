"""`topictag evaluate`: figures on any labelled file, and the rows the model gets wrong."""

import json

import pytest
from conftest import write_jsonl
from typer.testing import CliRunner

from topictag.cli import app
from topictag.errors import CONTROLS
from topictag.evaluation import evaluate_file

ROWS = [
    {"id": "r1", "text": "Brent crude rose after OPEC+ agreed to cut output.", "labels": ["oil"]},
    # Deliberately mislabelled, so the model disagrees with it.
    {"id": "r2", "text": "Brent crude fell as OPEC+ raised output quotas.", "labels": ["gas"]},
    {"id": "r3", "text": "The museum opened a new wing for modern sculpture.", "labels": []},
]


def test_errors_list_exactly_the_rows_whose_topics_differ(tmp_path, use_model):
    path = write_jsonl(tmp_path / "rows.jsonl", ROWS)
    result = evaluate_file(path, errors=True)
    predicted = {e["id"]: e for e in result["errors"]}
    assert "r2" in predicted
    wrong = predicted["r2"]
    assert "gas" in wrong["missed"]
    assert set(wrong["labels"]) == {"gas"} and set(wrong["predicted"]) == set(wrong["false"])
    for error in result["errors"]:
        assert set(error["labels"]) != set(error["predicted"])
        assert set(error["missed"]) == set(error["labels"]) - set(error["predicted"])
    margins = [e["margin"] for e in result["errors"]]
    assert margins == sorted(margins, reverse=True)


def test_without_errors_flag_no_errors_key(tmp_path, use_model):
    path = write_jsonl(tmp_path / "rows.jsonl", ROWS)
    assert "errors" not in evaluate_file(path)


def test_cli_errors_as_json_and_table(tmp_path, use_model):
    path = write_jsonl(tmp_path / "rows.jsonl", ROWS)
    runner = CliRunner()
    result = runner.invoke(app, ["evaluate", str(path), "--errors", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert any(e["id"] == "r2" for e in data["errors"])
    table = runner.invoke(app, ["evaluate", str(path), "--errors"])
    assert table.exit_code == 0
    assert "r2: " in table.stdout and "missed gas" in table.stdout


def test_the_errors_table_shows_escape_sequences_in_ids_and_text_as_text(tmp_path, use_model):
    rows = [{**ROWS[1], "id": "r\x1b[2J", "text": ROWS[1]["text"] + " \x1b]0;x\x07"}]
    path = write_jsonl(tmp_path / "rows.jsonl", rows)
    table = CliRunner().invoke(app, ["evaluate", str(path), "--errors"])
    assert table.exit_code == 0
    assert "\x1b" not in table.stdout and "\x07" not in table.stdout
    assert "r\\x1b[2J: missed gas" in table.stdout and "\\x1b]0;x\\x07" in table.stdout


def test_an_id_used_twice_is_an_error_not_two_rows(tmp_path, use_model):
    """Two rows of one id (not a correction) were both counted, each with its own labels."""
    from topictag.errors import LabelError

    rows = [ROWS[0], {**ROWS[0], "labels": ["gas"]}]
    path = write_jsonl(tmp_path / "rows.jsonl", rows)
    with pytest.raises(
        LabelError, match=r"rows\.jsonl:2 \(id 'r1'\): duplicate id, first at line 1"
    ):
        evaluate_file(path)
    corrected = [ROWS[0], {**ROWS[0], "labels": ["gas"], "supersedes": True}]
    path = write_jsonl(tmp_path / "corrected.jsonl", corrected)
    assert evaluate_file(path)["n"] == 1


def test_the_errors_as_json_hold_the_text_with_every_control_character_escaped(tmp_path, use_model):
    """The C1 CSI (\\x9b) and a bidi override went raw into the JSON, to the terminal."""
    text = ROWS[1]["text"] + " \x9b2J \u202eevil \x7f"
    path = write_jsonl(tmp_path / "rows.jsonl", [{**ROWS[1], "id": "r\x85", "text": text}])
    result = CliRunner().invoke(app, ["evaluate", str(path), "--errors", "-f", "json"])
    assert result.exit_code == 0, result.output
    assert not CONTROLS.intersection(result.stdout.replace("\n", ""))
    (error,) = json.loads(result.stdout)["errors"]
    assert (error["id"], error["text"]) == ("r\x85", text)
