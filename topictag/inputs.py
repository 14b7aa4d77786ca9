"""Read articles from files, directories and stdin, with one clear error per bad input."""

from __future__ import annotations

import os
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from topictag.defaults import MAX_ARTICLE_BYTES
from topictag.errors import InputError, listed
from topictag.files import TooLarge, read_limited, read_regular, why_not_a_file
from topictag.htmltext import (
    NO_MAIN_TEXT_EXTRACTOR,
    TOO_LARGE_FOR_MAIN_TEXT,
    has_main_text_extractor,
    html_to_text,
    looks_like_html,
    too_large_for_main_text,
)

TEXT_SUFFIXES = (".txt",)
HTML_SUFFIXES = (".html", ".htm", ".xhtml")


@dataclass
class Article:
    source: str
    text: str
    warnings: list[str]


def check_encoding(encoding: str) -> None:
    """Raise :class:`InputError` unless ``encoding`` names a codec that turns bytes into text
    (not, say, ``rot13`` or ``base64``): checked once, before any input is read."""
    import codecs

    try:
        info = codecs.lookup(encoding)
    except LookupError:
        raise InputError(f"unknown encoding {encoding!r}") from None
    if not getattr(info, "_is_text_encoding", True):
        raise InputError(f"{encoding!r} is not a text encoding")
    try:
        info.decode(b"")
    except UnicodeError:  # "undefined", a codec that refuses every input
        raise InputError(
            f"{encoding!r} decodes nothing; give the encoding the text is in"
        ) from None


def decode(data: bytes, name: str, encoding: str | None = None) -> tuple[str, list[str]]:
    """Bytes to text: UTF-8 (with or without BOM), UTF-16 or UTF-32 with BOM (UTF-32's
    little-endian mark begins like UTF-16's, so it is tested first); anything else is refused
    with an error that suggests ``--encoding``, unless ``encoding`` names the codec to use.

    NUL bytes inside otherwise valid text are removed with a warning; data that looks binary
    (many NUL or control bytes, or a known binary signature) is refused.
    """
    warnings: list[str] = []
    if encoding:
        try:
            return data.decode(encoding), warnings
        except LookupError:
            raise InputError(f"unknown encoding {encoding!r}") from None
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{name}: not valid {encoding} (byte {exc.start}); check --encoding"
            ) from None
        except UnicodeError as exc:
            raise InputError(
                f"{name}: cannot be read as {encoding} ({exc}); check --encoding"
            ) from None
    for marks, codec in _MARKED:
        if data.startswith(marks):
            try:
                return data.decode(codec), warnings
            except UnicodeDecodeError:
                raise InputError(
                    f"{name}: has a {codec.upper()} byte order mark but is not valid "
                    f"{codec.upper()}"
                ) from None
    sample = data[:8192]
    if sample and (sample.count(b"\x00") > len(sample) // 10 or _looks_binary(sample)):
        _refuse_utf16_without_bom(sample, name)
        raise InputError(f"{name}: binary data, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        _refuse_utf16_without_bom(sample, name)
        raise InputError(
            f"{name}: not UTF-8 text (invalid byte at position {exc.start}); convert it to "
            "UTF-8 or give its encoding, e.g. --encoding cp1251"
        ) from None
    if "\x00" in text:
        text = text.replace("\x00", "")
        warnings.append(f"{name}: removed NUL bytes from the text")
    return text, warnings


#: Byte order marks and their codecs, UTF-32's first: its little-endian mark begins as UTF-16's.
_MARKED = (
    ((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"), "utf-32"),
    ((b"\xff\xfe", b"\xfe\xff"), "utf-16"),
)


def refuse_wide_json_lines(first_line: bytes, name: str) -> None:
    """An error when a JSON Lines file is UTF-16 or UTF-32 (what Windows PowerShell's ``>``
    writes), with or without a byte order mark: JSON Lines is UTF-8, and read line by line such
    a file would give one bad first line and then rows decoded by chance. Without a mark, a NUL
    among the first four bytes decides it: a JSON line opens with an ASCII character, which
    UTF-16 and UTF-32 write with NUL beside it, and UTF-8 JSON never holds a raw NUL."""
    for marks, codec in _MARKED:
        if first_line.startswith(marks):
            raise InputError(
                f"{name}: {codec.upper()} text (it opens with a byte order mark); JSON Lines "
                f"must be UTF-8: convert it (iconv -f {codec.upper()} -t UTF-8)"
            )
    codec = _unmarked_wide(first_line[:4])
    if codec:
        raise InputError(
            f"{name}: {codec.upper()} text (no byte order mark); JSON Lines must be UTF-8: "
            f"convert it (iconv -f {codec.upper()} -t UTF-8)"
        )


def refuse_repeated_columns(
    name: str, columns: Sequence[str], what: str, read: Iterable[str] | None = None
) -> None:
    """An error when ``columns`` (a CSV header, a Parquet schema: ``what``) names a column
    twice; with ``read``, only one of those columns counts. A reader keeps one column of a
    name: the other's values would be lost without a word, or the reader fail with a
    traceback (pyarrow's "exists 2 times in schema")."""
    counts = Counter(columns)
    wanted = counts if read is None else read
    repeated = next((c for c in wanted if counts[c] > 1), None)
    if repeated is not None:
        raise InputError(
            f"{name}: the {what} names a column twice: {listed([repeated])!r} "
            f"(columns: {listed(columns)}); rename or drop one"
        )


def _unmarked_wide(head: bytes) -> str | None:
    """The codec of a UTF-16 or UTF-32 text without a byte order mark whose first characters
    are ASCII, from its first four bytes; None for anything else."""
    if len(head) < 4 or not head.isascii():
        return None
    shapes = {  # which of the four bytes are not NUL
        (True, False, False, False): "utf-32-le",
        (False, False, False, True): "utf-32-be",
        (True, False, True, False): "utf-16-le",
        (False, True, False, True): "utf-16-be",
    }
    return shapes.get(tuple(byte != 0 for byte in head[:4]))


def _refuse_utf16_without_bom(sample: bytes, name: str) -> None:
    """An error with the ``--encoding`` to give when ``sample`` reads as UTF-16 text without a
    byte order mark. Never guessed silently: text decodes as words separated by spaces, which
    binary data read two bytes at a time almost never gives."""
    even = sample[: len(sample) // 2 * 2]
    for codec in ("utf-16-le", "utf-16-be"):
        try:
            text = even.decode(codec)
        except UnicodeDecodeError:
            continue
        spaces = sum(map(text.count, " \n"))
        printable = sum(1 for c in text if c.isprintable() or c in "\t\r\n")
        if text and spaces >= 0.05 * len(text) and printable >= 0.95 * len(text):
            raise InputError(
                f"{name}: looks like UTF-16 without a byte order mark; give its encoding: "
                f"--encoding {codec}"
            )


_TAG = re.compile(r"<[A-Za-z!/?]")

_MAGIC = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x7fELF", b"\x1f\x8b")


def _looks_binary(sample: bytes) -> bool:
    if sample.startswith(_MAGIC):
        return True
    control = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13, 0))
    return control > max(8, len(sample) // 20)


def shown_source(source: str) -> str:
    """How a message or a table names an input: ``<stdin>`` for ``-`` (results keep ``-``)."""
    return "<stdin>" if source == "-" else source


def _as_article(source: str, text: str, warnings: list[str], html: bool) -> Article:
    """The article of a text; HTML (``html``: by the file's suffix, or by its start) turned
    into the text of its main content. A ``.html`` file without a single tag is plain text
    saved under that name: read as HTML, its blank lines, and so its paragraphs, would go."""
    html = html and _TAG.search(text[:65536]) is not None
    if html or looks_like_html(text):
        if too_large_for_main_text(text):
            warnings.append(f"{shown_source(source)}: {TOO_LARGE_FOR_MAIN_TEXT}")
        elif not has_main_text_extractor():
            warnings.append(NO_MAIN_TEXT_EXTRACTOR)
        text = html_to_text(text)
    return Article(source, text, warnings)


def read_file(path: str | os.PathLike, encoding: str | None = None) -> Article:
    """One article from a file; HTML (by suffix or content) is turned into text first. Its
    source is the path as given (``./-``, which ``Path`` would shorten to ``-``, stdin's name)."""
    name = os.fspath(path)
    path = Path(path)
    try:
        data = read_bytes(path, MAX_ARTICLE_BYTES)
    except TooLarge:
        raise InputError(_too_large(name)) from None
    except ValueError as exc:
        raise InputError(f"{name}: {exc}") from None
    except FileNotFoundError:
        raise InputError(f"{name}: {why_not_a_file(path)}") from None
    except PermissionError:
        raise InputError(f"{name}: permission denied") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a directory") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read ({exc.strerror})") from None
    text, warnings = decode(data, name, encoding)
    return _as_article(name, text, warnings, path.suffix.lower() in HTML_SUFFIXES)


def _too_large(name: str) -> str:
    return (
        f"{name}: over {MAX_ARTICLE_BYTES // 2**20} MB, too large for one article; tag a "
        "corpus with --input (one article per row)"
    )


def read_bytes(path: Path, limit: int | None = None) -> bytes:
    """The content of a regular file (or a symbolic link to one). ``ValueError`` for a device,
    a FIFO or a socket (refused before any read, so none can hang or never end),
    :class:`TooLarge` for more than ``limit`` bytes; ``OSError`` as ``open`` raises."""
    return read_regular(path, limit)


def read_stdin(encoding: str | None = None) -> Article:
    """One article from standard input; HTML is recognised by its content."""
    if sys.stdin is None:  # started with stdin closed (`topictag tag - <&-`)
        raise InputError("<stdin>: closed; give article paths, or pipe text to topictag tag -")
    try:
        if hasattr(sys.stdin, "buffer"):
            data = read_limited(sys.stdin.buffer, MAX_ARTICLE_BYTES)
        else:  # a text stream without bytes beneath (a test harness, an IDE)
            data = read_limited(sys.stdin, MAX_ARTICLE_BYTES).encode()
    except TooLarge:
        raise InputError(_too_large("<stdin>")) from None
    text, warnings = decode(data, "<stdin>", encoding)
    return _as_article("-", text, warnings, False)


def _below(root: Path) -> Iterator[Path]:
    """Every entry below the directory ``root`` (as ``root.rglob("*")``, symbolic links to
    directories not followed), except hidden ones (a name starting with ".") and whatever is
    inside a hidden directory or a virtual environment (a directory with ``pyvenv.cfg``):
    ``tag .`` in a project must not tag ``.venv/``, ``.git/`` or ``site-packages``. ``root``
    itself is walked even if it is one of those. PermissionError if ``root`` is unreadable;
    unreadable directories below it are skipped."""

    folders = [root]  # a stack, not recursion: a tree 1,000 directories deep is walked too
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as scan:
                entries = [entry for entry in scan if not entry.name.startswith(".")]
        except OSError:
            if folder == root:
                raise
            continue
        for entry in entries:
            path = folder / entry.name
            yield path
            if _is_directory(entry) and not os.path.exists(path / "pyvenv.cfg"):
                folders.append(path)


def _is_directory(entry: os.DirEntry) -> bool:
    """A directory itself, not a symbolic link to one (walking links could loop)."""
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def expand(paths: Sequence[str]) -> Iterator[str | InputError]:
    """Every input a list of arguments names: files as given, directories as their ``.txt``
    files (recursively, sorted), ``-`` for stdin; an :class:`InputError` for a bad argument."""
    for arg in paths or ["-"]:
        if arg == "-":
            yield arg
            continue
        if not arg:  # Path("") is the working directory
            yield InputError("'': an empty path")
            continue
        path = Path(arg)
        if path.is_dir():
            try:
                found = sorted(
                    p
                    for p in _below(path)
                    if p.suffix.lower() in TEXT_SUFFIXES + HTML_SUFFIXES
                    and not os.path.isdir(p)  # a FIFO or device is then refused by name
                )
            except PermissionError:
                yield InputError(f"{arg}: permission denied")
                continue
            if not found:
                yield InputError(f"{arg}: directory has no .txt or .html files")
            yield from (str(p) for p in found)
        else:
            yield arg


def read_inputs(
    paths: Sequence[str], encoding: str | None = None
) -> Iterator[Article | InputError]:
    """Articles for each input in order; a bad input yields its error and the rest go on.
    The warning that HTML is converted without trafilatura comes with the first page only."""
    return read_expanded(expand(paths), encoding)


def read_expanded(
    items: Iterable[str | InputError], encoding: str | None = None
) -> Iterator[Article | InputError]:
    """:func:`read_inputs` of what :func:`expand` gave (a caller that looks at the file names
    first need not walk the directories twice)."""
    warned = False
    for item in items:
        if isinstance(item, InputError):
            yield item
            continue
        try:
            article = read_stdin(encoding) if item == "-" else read_file(item, encoding)
        except InputError as exc:
            yield exc
            continue
        if NO_MAIN_TEXT_EXTRACTOR in article.warnings:
            if warned:
                article.warnings.remove(NO_MAIN_TEXT_EXTRACTOR)
            warned = True
        yield article
