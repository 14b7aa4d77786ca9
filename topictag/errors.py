"""Errors that the CLI turns into a one-line message and a non-zero exit code."""

import sys
from collections.abc import Sequence


class TopictagError(Exception):
    """Base class: a problem with the user's input, labels or model, not a bug. Its message is
    one line (see :func:`one_line`), whatever file name it quotes."""

    def __str__(self) -> str:
        return one_line(super().__str__())


class LabelError(TopictagError):
    """The labelled data cannot be used for training as it is."""


class ModelError(TopictagError):
    """The model directory is missing, incomplete, or does not match its checksums."""


class InputError(TopictagError, ValueError):
    """An article or corpus given to the tagger cannot be read, or an argument of the library's
    functions is wrong: a ``ValueError`` too, so that code catching that catches it."""


class OptionError(TopictagError, ValueError):
    """An option's value that cannot be used (an output name of no known format, a topic given
    with --topics that exists with another definition): the command line's exit code 2, as
    for any wrong option."""


class WriteError(TopictagError):
    """A result could not be written (full disk, read-only file system, no permission); what
    was there before is left as it was, and nothing half-written."""


#: Bidirectional formatting characters: an override (U+202E) shows the rest of its line
#: backwards, an isolate hides where a name ends.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)

#: Control characters (C0, DEL, C1: a terminal obeys some of them), line separators and
#: bidirectional formatting: escaped in messages and in text shown on a terminal, refused in
#: topic names.
CONTROLS = (
    {chr(c) for c in range(32)}
    | {chr(c) for c in range(0x7F, 0xA0)}
    | {"\u2028", "\u2029"}
    | BIDI_CONTROLS
)


def one_line(message: str) -> str:
    """``message`` with line breaks and other control characters escaped (``\\n``, ``\\x1b``),
    so that a file name or a paragraph holding them cannot split a line or drive the terminal."""
    if not CONTROLS.intersection(message):
        return message
    return "".join(escaped(c) if c in CONTROLS else c for c in message)


def escaped(char: str) -> str:
    """One character as Python writes it in a string literal: ``\\x1b``, ``\\u202e``, ``\\n``;
    how :func:`one_line` and the HTML pages show a control character."""
    return char.encode("unicode_escape").decode()


def counted(n: int, noun: str) -> str:
    """``n`` and the noun, singular for one: "1 article", "1,200 articles"."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def listed(names: Sequence[str], most: int = 10, longest: int = 40) -> str:
    """``names`` for a message, comma-separated: at most ``most`` of them, each cut to
    ``longest`` characters, and how many more (a header of 50,000 columns, or one column name
    of 300 MB, must not become an error line of that size)."""
    shown = [n if len(n) <= longest else n[: longest - 1] + "…" for n in names[:most]]
    more = len(names) - len(shown)
    return ", ".join(shown) + (f" and {more:,} more" if more else "")


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """``warnings.showwarning`` as the command line and its workers show a warning: one line,
    ``warning: ...``, not the file, line number and source line of where it was raised."""
    stream = file or sys.stderr
    if stream is not None:
        stream.write(f"warning: {one_line(str(message))}\n")
