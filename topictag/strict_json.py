"""JSON as topictag writes and reads the user's data: standard JSON only, and nothing in it
that a terminal would obey.

``json.dumps(..., ensure_ascii=False)`` escapes C0 control characters but writes DEL, the C1
controls (``\\x9b`` is a terminal's CSI), line separators and bidirectional formatting raw,
so ``topictag tag -f json`` piped to a terminal could drive it; and it writes a NaN or
infinite float as ``NaN`` or ``Infinity``, which standard JSON readers refuse. ``json.loads``
reads those constants as if they were JSON. :func:`dumps` and :func:`loads` close both gaps.
Model files and label rows the user wrote are not written through here: they are data kept
as given.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable

from topictag.errors import CONTROLS

#: The characters of :data:`~topictag.errors.CONTROLS` that ``json.dumps`` leaves raw (it
#: escapes C0 itself): they can only be inside strings, so each becomes its ``\\uXXXX``.
_RAW = re.compile("[" + "".join(re.escape(c) for c in sorted(CONTROLS) if c >= " ") + "]")


def _escape(match: re.Match) -> str:
    return f"\\u{ord(match.group()):04x}"


def finite(value):
    """``value`` with every NaN or infinite float, at any depth of its dicts, lists and tuples,
    replaced by None: JSON has no such numbers (``1e400`` in a JSON line reads as infinite)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def dumps(obj, indent: int | None = None, default: Callable | None = None) -> str:
    """``obj`` as standard JSON, non-ASCII text as it is but every control character escaped
    (``\\u009b``, ``\\u202e``), and a NaN or infinite float as ``null``; ``json.loads`` reads
    back the same data (but for those floats)."""
    options = {"ensure_ascii": False, "indent": indent, "default": default, "allow_nan": False}
    try:
        text = json.dumps(obj, **options)
    except ValueError:  # a non-finite float: rare, so looked for only then
        text = json.dumps(finite(obj), **options)
    return _RAW.sub(_escape, text)


class ConstantError(json.JSONDecodeError):
    """``NaN``, ``Infinity`` or ``-Infinity`` where a JSON value should be: Python's extension
    of JSON, which no standard reader (nor pyarrow, nor a browser) accepts."""


class _Constant(Exception):
    pass


def _refuse(name: str):
    raise _Constant(name)


_DECODER = json.JSONDecoder(parse_constant=_refuse)
#: A JSON string, or one of the constants outside strings: the first constant this finds is
#: the one the parser met (all before it parsed).
_CONSTANT = re.compile(r'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)', re.S)


def loads(doc: str | bytes):
    """``json.loads(doc)``, but ``NaN``, ``Infinity`` and ``-Infinity`` are refused as the
    invalid JSON they are: a :class:`ConstantError` (a ``json.JSONDecodeError``, so a reader
    reports it as any malformed line) at the constant's position. A number too long for
    Python to read is a ``json.JSONDecodeError`` too."""
    if isinstance(doc, bytes | bytearray):
        doc = doc.decode(json.detect_encoding(doc), "surrogatepass")
    if doc.startswith("\ufeff"):
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", doc, 0)
    try:
        return _DECODER.decode(doc)
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # a number of over 4,300 digits, which int() refuses to read
        raise json.JSONDecodeError(str(exc), doc, 0) from None
    except _Constant as exc:
        name = exc.args[0]
        pos = next((m.start(1) for m in _CONSTANT.finditer(doc) if m.group(1)), 0)
        raise ConstantError(f"{name} is not a JSON value", doc, pos) from None
