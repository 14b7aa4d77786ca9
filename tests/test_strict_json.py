"""JSON for the user's data: standard JSON that reads back as the same data, with no
character a terminal would obey, and no NaN or Infinity either way."""

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topictag.errors import CONTROLS
from topictag.strict_json import ConstantError, dumps, finite, loads

JSON_DATA = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON_DATA)
def test_dumps_reads_back_as_the_same_data_with_no_control_character_raw(data):
    text = dumps(data)
    assert json.loads(text) == data
    assert loads(text) == data
    assert not CONTROLS.intersection(text)


@given(JSON_DATA)
def test_indented_json_has_only_its_own_line_breaks(data):
    text = dumps(data, indent=2)
    assert json.loads(text) == data
    assert not CONTROLS.intersection(text.replace("\n", ""))


def test_c1_line_separators_and_bidi_controls_are_escaped_as_json_escapes():
    """json.dumps(ensure_ascii=False) wrote these raw: \\x9b is a terminal's CSI."""
    text = dumps({"source": "a\x9b31m\u202eb\u2028c\x7f\x1b"})
    assert text == '{"source": "a\\u009b31m\\u202eb\\u2028c\\u007f\\u001b"}'
    assert dumps("Москва – ünïcode") == '"Москва – ünïcode"'


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf, float("1e400")])
def test_a_non_finite_float_is_written_as_null(number):
    text = dumps({"big": number, "rows": [1.5, number, (number,)]})
    assert text == '{"big": null, "rows": [1.5, null, [null]]}'
    assert finite([number, {"x": number}]) == [None, {"x": None}]


@pytest.mark.parametrize(
    ("doc", "constant"),
    [
        ('{"text": "gas", "n": NaN}', "NaN"),
        ('{"n": Infinity}', "Infinity"),
        ("[1, -Infinity]", "-Infinity"),
        ('{"text": "NaN \\" Infinity", "n": [NaN]}', "NaN"),
        (b'{"n": NaN}', "NaN"),
    ],
)
def test_loads_refuses_nan_and_infinity_where_they_stand(doc, constant):
    """json.loads reads them (Python's extension of JSON); no standard reader does."""
    with pytest.raises(ConstantError) as caught:
        loads(doc)
    assert isinstance(caught.value, json.JSONDecodeError)
    text = doc.decode() if isinstance(doc, bytes) else doc
    assert caught.value.pos == text.rindex(constant)
    assert caught.value.msg == f"{constant} is not a JSON value"


def test_loads_reads_what_json_loads_reads_otherwise():
    assert loads('{"text": "NaN", "big": 1e400}') == {"text": "NaN", "big": math.inf}
    assert loads(b'{"a": [1, "\\u001b"]}') == {"a": [1, "\x1b"]}
    with pytest.raises(json.JSONDecodeError, match="Expecting"):
        loads('{"a": ')
    with pytest.raises(json.JSONDecodeError, match="BOM"):
        loads('\ufeff{"a": 1}')
