"""Text normalisation before features: the same words whatever invisible or compatibility
characters a publisher's text carries, and the same names whatever a publisher's house style.

A soft hyphen (``g\\u00adas``), a zero-width space, a byte order mark or a bidi mark inside a
word, and full-width letters (``ｇａｓ``), would otherwise hide the word from the model. It is a
model setting (``"normalize"`` in ``portable.json``, the form of the ``normalize`` step of the
scikit-learn pipeline), so a model trained without it, or with an older form, still scores
exactly as it was trained.

The form ``"nfkc-cf-abbrev"`` also writes the abbreviations of the United States, the United
Nations, the United Kingdom, the European Union and the Emirates alike with or without
dots (``U.S.`` and ``US`` become ``USA``, ``U.N.`` becomes ``UN``): most training text says
``US`` where much real news says ``U.S.``, which the word block (tokens of two letters or
more) does not see at all. ``USA`` also keeps the country apart from the pronoun "us", which
the lowercasing word block would otherwise read as the same word ("Contact us" is not about
the United States). Only the capitalised forms are rewritten, so a headline in capitals
("JOIN US") is read as the country: a rare loss, written down here.

Standard library only: the tagger imports it on the single-article path.
"""

from __future__ import annotations

import re
import unicodedata

#: The name recorded in a model that normalises its texts.
NFKC_CF = "nfkc-cf"
#: ``NFKC_CF``, then the abbreviations of a few names written alike (the form of new models).
NFKC_CF_ABBREV = "nfkc-cf-abbrev"
#: Every form a model may record.
FORMS = (NFKC_CF, NFKC_CF_ABBREV)

#: Abbreviation -> how it is written after normalisation. Only whole words count: not inside
#: a longer word or a longer dotted abbreviation. Each one contains "US" or "U.".
ABBREVIATIONS = {
    "U.S.A.": "USA",
    "U.S.A": "USA",
    "U.S.": "USA",
    "USA": "USA",
    "US": "USA",
    "U.N.": "UN",
    "U.K.": "UK",
    "E.U.": "EU",
    "U.A.E.": "UAE",
}
#: The abbreviations, longest first, not followed by a word character. Whether one follows a
#: word character or a dot is checked on each match (:func:`_inside`): a lookbehind in the
#: pattern makes the search three times slower.
_ABBREVIATION = re.compile(
    "(?:"
    + "|".join(re.escape(a) for a in sorted(ABBREVIATIONS, key=len, reverse=True))
    + r")(?!\w)"
)


class _FormatCharacters(dict):
    """``str.translate`` table deleting every character of Unicode category Cf (format
    characters), filled lazily: enumerating all of Unicode up front takes 0.08 s."""

    def __missing__(self, code: int) -> int | None:
        value = None if unicodedata.category(chr(code)) == "Cf" else code
        self[code] = value
        return value


_DROP_FORMAT = _FormatCharacters()


def without_format_characters(text: str) -> str:
    """``text`` without its characters of Unicode category Cf."""
    return text.translate(_DROP_FORMAT)


#: Combining marks kept in one run (Unicode's stream-safe limit, UAX #15): NFKC puts a run of
#: marks in canonical order with a sort whose time grows with the square of its length, so a
#: paragraph of 20,000 marks of alternating classes took 0.3 s against 0.5 ms for letters.
#: No language stacks more than a few; the rest of a longer run is dropped.
MAX_MARKS = 30


#: Runs that may hold more than ``MAX_MARKS`` combining marks: every combining character is
#: neither a word character nor a space, so this built-in class finds them, with runs of
#: punctuation, without a table of the marks (building one took 8 ms on first use).
_NON_WORD_RUN = re.compile(rf"[^\w\s]{{{MAX_MARKS + 1},}}")


def _marks_capped(text: str) -> str:
    """``text`` with every run of combining marks cut to its first ``MAX_MARKS``."""
    if _NON_WORD_RUN.search(text) is None:
        return text
    return _NON_WORD_RUN.sub(_capped_run, text)


def _capped_run(match: re.Match) -> str:
    kept, run = [], 0
    for ch in match.group():
        run = run + 1 if unicodedata.combining(ch) else 0
        if run <= MAX_MARKS:
            kept.append(ch)
    return "".join(kept)


def normalize(text: str, form: str = NFKC_CF) -> str:
    """``text`` in normal ``form`` (one of ``FORMS``): without format characters (Unicode
    category Cf: soft hyphen, zero-width space and joiners, byte order mark, bidi marks), then
    in Unicode NFKC form (full-width and other compatibility characters become the ordinary
    ones).

    Format characters go first so that a mark they separated from its letter composes with it,
    and so that ``normalize(normalize(t)) == normalize(t)`` (NFKC never makes a Cf character).
    A run of more than ``MAX_MARKS`` combining marks keeps its first ``MAX_MARKS``.
    ASCII text is returned as it is, at no cost. ``NFKC_CF_ABBREV`` then writes the
    abbreviations of ``ABBREVIATIONS`` as it says (in the one paragraph of ten or so that has
    "US" or "U.").
    """
    if not text.isascii():
        text = without_format_characters(text)
        if not unicodedata.is_normalized("NFKC", text):
            text = unicodedata.normalize("NFKC", _marks_capped(text))
    if form == NFKC_CF_ABBREV and ("US" in text or "U." in text):
        text = _ABBREVIATION.sub(_written, text)
    return text


def _inside(match: re.Match) -> bool:
    """Whether the match follows a word character or a dot (``AUS``, ``A.U.S.``): not an
    abbreviation of ours. The characters it consumed cannot start one that is."""
    start = match.start()
    before = match.string[start - 1] if start else " "
    return before.isalnum() or before in "_."


def _written(match: re.Match) -> str:
    return match.group() if _inside(match) else ABBREVIATIONS[match.group()]


def normalize_all(texts, form: str | None = NFKC_CF) -> list[str]:
    """Each text normalised as ``form`` says (None: left as it is)."""
    if form is None:
        return list(texts)
    if form not in FORMS:
        raise ValueError(f"unknown text normalisation {form!r}")
    return [normalize(t, form) for t in texts]


def aligned(text: str, form: str = NFKC_CF) -> tuple[str, list[int], list[int]]:
    """``normalize(text, form)`` with, for each of its characters, where it comes from in
    ``text``: ``(normal, starts, ends)`` where the character ``normal[i]`` stands for
    ``text[starts[i]:ends[i]]``. A span ``[a, b)`` of ``normal`` is ``[starts[a], ends[b - 1])``
    in ``text``.

    Each letter is normalised with the combining marks and format characters that follow it;
    when that does not give the normalisation of the whole text (some scripts compose two
    letters), whitespace-separated pieces are used instead, and at worst the whole text. Each
    character of a rewritten abbreviation stands for the whole abbreviation.
    """
    normal, starts, ends = _aligned_nfkc(text)
    if form != NFKC_CF_ABBREV or not ("US" in normal or "U." in normal):
        return normal, starts, ends
    out: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    done = 0
    for match in _ABBREVIATION.finditer(normal):
        if _inside(match):
            continue
        a, b = match.span()
        written = ABBREVIATIONS[match.group()]
        out += [normal[done:a], written]
        new_starts += starts[done:a] + [starts[a]] * len(written)
        new_ends += ends[done:a] + [ends[b - 1]] * len(written)
        done = b
    out.append(normal[done:])
    return "".join(out), new_starts + starts[done:], new_ends + ends[done:]


def _aligned_nfkc(text: str) -> tuple[str, list[int], list[int]]:
    """:func:`aligned` for the form ``NFKC_CF``."""
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
