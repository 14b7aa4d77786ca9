"""Text normalisation before features: the same words whatever invisible or compatibility
characters a publisher's text carries.

A soft hyphen (``g\\u00adas``), a zero-width space, a byte order mark or a bidi mark inside a
word, and full-width letters (``ｇａｓ``), would otherwise hide the word from the model. It is a
model setting (``"normalize": "nfkc-cf"`` in ``portable.json``, the ``normalize`` step of the
scikit-learn pipeline), so a model trained without it still scores exactly as it was trained.

Standard library only: the tagger imports it on the single-article path.
"""

from __future__ import annotations

import unicodedata

#: The name recorded in a model that normalises its texts.
NFKC_CF = "nfkc-cf"


class _FormatCharacters(dict):
    """``str.translate`` table deleting every character of Unicode category Cf (format
    characters), filled lazily: enumerating all of Unicode up front takes 0.08 s."""

    def __missing__(self, code: int) -> int | None:
        value = None if unicodedata.category(chr(code)) == "Cf" else code
        self[code] = value
        return value


_DROP_FORMAT = _FormatCharacters()


def normalize(text: str) -> str:
    """``text`` without format characters (Unicode category Cf: soft hyphen, zero-width space
    and joiners, byte order mark, bidi marks), then in Unicode NFKC form (full-width and other
    compatibility characters become the ordinary ones).

    Format characters go first so that a mark they separated from its letter composes with it,
    and so that ``normalize(normalize(t)) == normalize(t)`` (NFKC never makes a Cf character).
    ASCII text is returned as it is, at no cost.
    """
    if text.isascii():
        return text
    return unicodedata.normalize("NFKC", text.translate(_DROP_FORMAT))


def normalize_all(texts, form: str | None = NFKC_CF) -> list[str]:
    """Each text normalised as ``form`` says (None: left as it is)."""
    if form is None:
        return list(texts)
    if form != NFKC_CF:
        raise ValueError(f"unknown text normalisation {form!r}")
    return [normalize(t) for t in texts]


def aligned(text: str) -> tuple[str, list[int], list[int]]:
    """``normalize(text)`` with, for each of its characters, where it comes from in ``text``:
    ``(normal, starts, ends)`` where the character ``normal[i]`` stands for
    ``text[starts[i]:ends[i]]``. A span ``[a, b)`` of ``normal`` is ``[starts[a], ends[b - 1])``
    in ``text``.

    Each letter is normalised with the combining marks and format characters that follow it;
    when that does not give the normalisation of the whole text (some scripts compose two
    letters), whitespace-separated pieces are used instead, and at worst the whole text.
    """
    normal = normalize(text)
    if normal == text:
        positions = list(range(len(text)))
        return normal, positions, [p + 1 for p in positions]
    for pieces in (_clusters(text), _pieces(text), [(0, len(text))]):
        starts: list[int] = []
        ends: list[int] = []
        out = []
        for a, b in pieces:
            part = normalize(text[a:b])
            out.append(part)
            starts += [a] * len(part)
            ends += [b] * len(part)
        if "".join(out) == normal:
            return normal, starts, ends
    raise AssertionError("unreachable: the whole text is its own piece")  # pragma: no cover


def _clusters(text: str) -> list[tuple[int, int]]:
    """A letter (or any character that starts a cluster) with the combining marks and format
    characters after it, as (start, end) offsets."""
    bounds = []
    for i, ch in enumerate(text):
        if not bounds or (
            unicodedata.combining(ch) == 0 and unicodedata.category(ch) not in ("Cf", "Mn", "Mc")
        ):
            bounds.append(i)
    return list(zip(bounds, bounds[1:] + [len(text)]))


def _pieces(text: str) -> list[tuple[int, int]]:
    """Runs of whitespace and runs of anything else, as (start, end) offsets."""
    bounds = [0]
    for i in range(1, len(text)):
        if text[i].isspace() != text[i - 1].isspace():
            bounds.append(i)
    return list(zip(bounds, bounds[1:] + [len(text)]))
