"""The compiled batch scorer: :class:`~topictag.scorer.PortableModel`'s numbers for large
batches, about ten times faster than its numpy path, from numba kernels (``topictag._kernels``).

Every block of the model is scored in compiled code: word n-grams, ``char_wb`` n-grams and the
lexicon counts, with sublinear TF, IDF, L2 norm and the logistic regressions' dot products in
the same loop. Everything is read from the portable model (n-gram ranges, lowercasing,
sublinear TF, norm, token pattern, vocabulary), and exactness is kept by leaving each Unicode
rule to Python: texts are lowercased with ``str.lower`` and passed as code points, and the
character classes the kernels use (``str.split`` whitespace, ``\\w``, the lexicon's
case-insensitive letters and word edges) are tables built from Python's own ``re`` over every
code point. A token pattern other than scikit-learn's default is run by ``re`` itself, and a
lexicon whose patterns are not the plain term alternations of :mod:`topictag.lexicon` makes
the model fall back to numpy.

Every vocabulary lookup is exact: character n-grams of up to six characters are keyed by
their code points themselves, word n-grams by their tokens' ids, and any string found by its
64-bit hash is confirmed by comparing its code points, so a hash collision never changes a
score (it costs a probe step).

numba is imported only here, when a batch too large for plain Python is scored: tagging one
article never imports it. If numba cannot be imported or compile, :func:`compiled_scorer`
warns once and returns None, and the numpy path is used.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TYPE_CHECKING

import numpy as np

from topictag.processes import ForkSafeLock

if TYPE_CHECKING:
    from topictag.scorer import PortableModel

#: scikit-learn's default token pattern (word runs of two or more characters), tokenised in
#: compiled code; any other pattern is run by Python's ``re``.
DEFAULT_TOKEN_PATTERNS = frozenset({r"(?u)\b\w\w+\b", r"\b\w\w+\b"})

#: The shape of one lexicon pattern (``topictag.lexicon._alternation``): a whole-word
#: alternation of literal terms, longest first.
_LEXICON_PREFIX = r"(?<![\w-])(?:"
_LEXICON_SUFFIX = r")(?![\w-])"
_LEXICON_EDGE = r"[\w-]"

#: Characters scored in one step: each block's kernel runs over the whole step, so that its
#: tables stay in the CPU caches (smaller steps are slower: 50,000 characters cost a fifth
#: more time); the temporary arrays take some 20 bytes per character.
BATCH_CHARS = 250_000

#: Score the ``char_wb`` block (the slowest) in a second thread while the other blocks run
#: in this one (see ``CompiledScorer._step``): None (the default) when this process may use
#: two CPUs or more, True or False always or never. The workers of ``tag --num-proc N`` and
#: of a Dask cluster set it to False: their processes share the CPUs already. The scores are
#: the same to the last bit either way.
SECOND_THREAD: bool | None = None

#: With a second thread, the share of a step's characters whose ``char_wb`` scores it
#: computes; this thread does the rest once the word and lexicon blocks are done, so the two
#: finish together. On the benchmark's unseen-text set (``bench/run.py``), nine fresh
#: processes each, machine under other load: the whole block in the second thread 19,957
#: paragraphs/s (median), 3/4 of it 25,993, 0.85 of it 25,376. The second memo costs some
#: 7 MB, in processes that use the second thread only.
SECOND_THREAD_SHARE = 0.75

#: Steps of fewer characters are scored in one thread (handing over costs some 50 µs).
SECOND_THREAD_MIN_CHARS = 20_000

#: Distinct words whose ``char_wb`` n-grams a block remembers (a power of two; the memo is
#: emptied when full, so it stays at some 7 MB whatever the corpus).
MEMO_WORDS = 2**15

_UNICODE_SIZE = 0x110000
#: Code points per string when every code point is run through ``re`` (256 KB each).
_PIECE = 2**16
_WARNED: list[str] = []


class CompiledScorerWarning(RuntimeWarning):
    """The compiled scorer is not available here; the numpy path scores instead."""


class NotCompilable(ValueError):
    """The model uses a setting the compiled kernels do not implement."""


def encode(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The code points of ``texts`` one after another (``uint32``), and the offset of each
    text (``n + 1`` values). Lone surrogates are kept as they are, one code point each."""
    data = "".join(texts).encode("utf-32-le", "surrogatepass")
    cps = np.frombuffer(bytearray(data), dtype=np.uint32)
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)), out=offsets[1:])
    return cps, offsets


def _code_point_pieces() -> Iterator[tuple[int, str]]:
    """Every code point, in order, as (first code point, string of ``_PIECE`` code points).

    Pieces, not one string: all of Unicode is a 4.5 MB string (17.8 MB in memory, four bytes a
    character), and freeing a block that large raises glibc's thresholds for returning memory
    to the system, so each process then kept some 15 MB more for good.
    """
    for start in range(0, _UNICODE_SIZE, _PIECE):
        piece = np.arange(start, min(start + _PIECE, _UNICODE_SIZE), dtype="<u4")
        yield start, piece.tobytes().decode("utf-32-le", "surrogatepass")


@functools.cache
def char_table(pattern: str, flags: int = 0) -> np.ndarray:
    """For every code point, whether the one-character regex ``pattern`` matches it, as
    Python's ``re`` decides (a boolean array of 0x110000)."""
    table = np.zeros(_UNICODE_SIZE, dtype=np.bool_)
    runs = re.compile(f"(?:{pattern})+", flags)
    for start, piece in _code_point_pieces():
        for match in runs.finditer(piece):
            table[start + match.start() : start + match.end()] = True
    return table


def _kernels():
    from topictag import _kernels

    return _kernels


def _table_bits(n: int) -> int:
    """log2 of an open-addressing table's size for ``n`` keys: at most half full."""
    return max(4, (2 * n).bit_length())


class _TfidfBlock:
    """One TF-IDF block (``word`` or ``char_wb``) with its hashed vocabulary."""

    def __init__(self, block, coef: np.ndarray, hash_bits: int, memo_words: int):
        spec = block.settings
        self.analyzer = spec["analyzer"]
        if self.analyzer not in ("word", "char_wb"):
            raise NotCompilable(f"analyzer {self.analyzer!r}")
        if spec.get("norm") not in ("l2", None):
            raise NotCompilable(f"norm {spec.get('norm')!r}")
        self.lowercase = bool(spec["lowercase"])
        self.min_n, self.max_n = (int(n) for n in spec["ngram_range"])
        self.sublinear = bool(spec["sublinear_tf"])
        self.l2 = spec["norm"] == "l2"
        self.token_pattern = block.token_pattern
        self.default_tokens = spec["token_pattern"] in DEFAULT_TOKEN_PATTERNS
        self.hmask = np.uint64((1 << hash_bits) - 1)
        vocabulary = spec["vocabulary"]
        self.vcps, self.voff = encode(vocabulary)
        # Three ways to find a vocabulary n-gram, each exact: char n-grams of at most six
        # characters are keyed by their code points; word n-grams of at most six tokens by
        # their tokens' ids, each token found by its hash and confirmed by comparing code
        # points; anything else by the hash of the whole string, confirmed the same way.
        word_ids = self.analyzer == "word" and self.default_tokens and self.max_n <= 6
        if self.analyzer == "char_wb" and self.max_n <= 6:
            self.mode = "chars"
            self.table = self._packed(self.vcps, self.voff, len(vocabulary))
            #: Vocabulary strings whose hash another one has too (checked at load: 0 for the
            #: shipped model, and always 0 for packed keys, which are the n-grams themselves);
            #: a collision costs probe steps, never a wrong count.
            self.collisions = 0
            self.vcps = np.zeros(0, dtype=np.uint32)  # the table holds the n-grams
        elif word_ids and (tables := self._token_tables(vocabulary)) is not None:
            self.mode = "token ids"
            self.table, self.token_table, self.collisions = tables
        else:
            self.mode = "hashed"
            self.table, self.collisions = self._hashed(self.vcps, self.voff)
        self._finish(block, coef, memo_words)

    def _packed(self, cps: np.ndarray, offsets: np.ndarray, n: int) -> np.ndarray:
        """A packed table of the strings with their prefixes (see ``build_packed_table``), as
        small as keeps it at most half full."""
        bits = _table_bits(n)
        while (
            table := _kernels().build_packed_table(cps, offsets, self.hmask, bits, self.min_n)
        ) is None:
            bits += 1
        return table

    def _hashed(self, cps: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, int]:
        """A table of strings by hash, and how many of them share their hash with another."""
        k = _kernels()
        hashes = k.string_hashes(cps, offsets, self.hmask)
        table = k.build_table(hashes, offsets, _table_bits(len(hashes)))
        return table, len(hashes) - len(np.unique(hashes))

    def _token_tables(self, vocabulary: list[str]) -> tuple[np.ndarray, np.ndarray, int] | None:
        """The n-grams keyed by their tokens' ids, and the tokens by hash (``vcps`` and
        ``voff`` become the tokens' code points), with the tokens' hash collisions; None if
        there are too many distinct tokens."""
        tokens: dict[str, int] = {}
        sequences = [
            [tokens.setdefault(t, len(tokens)) + 1 for t in v.split(" ")] for v in vocabulary
        ]
        if len(tokens) >= 2**21 - 2:  # token ids take 21 bits in a key: hash whole n-grams
            return None
        ids = np.fromiter((i for seq in sequences for i in seq), dtype=np.uint32)
        id_off = np.zeros(len(sequences) + 1, dtype=np.int64)
        np.cumsum([len(seq) for seq in sequences], out=id_off[1:])
        ngrams = self._packed(ids, id_off, len(vocabulary))
        self.vcps, self.voff = encode(list(tokens))
        token_table, collisions = self._hashed(self.vcps, self.voff)
        return ngrams, token_table, collisions

    def _finish(self, block, coef: np.ndarray, memo_words: int) -> None:
        # Each feature's IDF and coefficients side by side: one cache line per feature.
        width = len(block.settings["vocabulary"])
        self.rows = np.empty((width, 1 + coef.shape[0]), dtype=np.float64)
        self.rows[:, 0] = block.idf.numpy()
        self.rows[:, 1:] = coef[:, block.offset : block.offset + width].T
        self.is_space = char_table(r"\s")
        self.is_word = char_table(r"\w")
        self.memo_words = memo_words
        #: The word memos of a ``char_wb`` block (see _kernels.char_wb_block): the first for
        #: the second thread or for all texts, the second made on first use by this thread
        #: when the two share a step. A memo is only ever written by one thread at a time.
        self.memos: list[tuple[np.ndarray, ...]] = []
        if self.analyzer == "char_wb":
            self.memos.append(self._new_memo())

    def _new_memo(self) -> tuple[np.ndarray, ...]:
        words = self.memo_words
        return (
            np.zeros((2 * words, 5), dtype=np.int64),  # the table of words
            np.zeros(8 * words, dtype=np.uint32),  # their code points
            np.zeros(24 * words, dtype=np.int32),  # their n-gram ids
            np.zeros(3, dtype=np.int64),  # words, code points and ids stored
        )

    def forget(self) -> None:
        """Empty the word memos."""
        for table, _, _, fill in self.memos:
            table[:] = 0
            fill[:] = 0

    def encode(self, texts: Sequence[str], encoded: dict) -> tuple[np.ndarray, np.ndarray]:
        """The code points this block reads (lowercased or not), from ``encoded`` or made
        and kept there for the other blocks."""
        key = "lower" if self.lowercase else "text"
        if key not in encoded:
            encoded[key] = encode([t.lower() for t in texts] if self.lowercase else texts)
        return encoded[key]

    def add(
        self,
        texts: Sequence[str],
        encoded: dict,
        out: np.ndarray,
        rows: tuple[int, int] | None = None,
        memo: int = 0,
    ) -> None:
        """Add this block's scores of ``texts`` to ``out``; for a ``char_wb`` block, only those
        of the texts ``rows`` (start, stop) when given, to ``out`` of that many rows, using
        word memo number ``memo``."""
        k = _kernels()
        cps, offsets = self.encode(texts, encoded)
        vocab = (self.table, self.vcps, self.rows)
        if self.analyzer == "char_wb":
            if rows is not None:
                offsets = offsets[rows[0] : rows[1] + 1]
            while len(self.memos) <= memo:
                self.memos.append(self._new_memo())
            k.char_wb_block(
                cps,
                offsets,
                self.is_space,
                self.min_n,
                self.max_n,
                self.hmask,
                self.mode == "chars",
                *vocab,
                self.sublinear,
                self.l2,
                *self.memos[memo],
                out,
            )
            return
        if self.default_tokens:
            starts, ends, doc_tok = k.word_tokens(cps, offsets, self.is_word)
        else:
            cps, starts, ends, doc_tok = self._python_tokens(texts, self.lowercase)
        if self.mode == "token ids":
            tids = k.token_ids(cps, starts, ends, self.hmask, self.token_table, self.vcps)
            k.word_id_block(
                tids,
                doc_tok,
                self.min_n,
                self.max_n,
                self.hmask,
                self.table,
                self.rows,
                self.sublinear,
                self.l2,
                out,
            )
            return
        k.word_block(
            cps,
            starts,
            ends,
            doc_tok,
            self.min_n,
            self.max_n,
            self.hmask,
            *vocab,
            self.sublinear,
            self.l2,
            out,
        )

    def _python_tokens(self, texts: Sequence[str], lower: bool):
        """Tokens found by Python's ``re`` (any token pattern), as code points with the
        start and end of each token and the first token of each text."""
        per_text = [self.token_pattern.findall(t.lower() if lower else t) for t in texts]
        flat = [token for tokens in per_text for token in tokens]
        cps, bounds = encode(flat)
        doc_tok = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum([len(tokens) for tokens in per_text], out=doc_tok[1:])
        return cps, bounds[:-1].copy(), bounds[1:].copy(), doc_tok


def _lexicon_terms(pattern: re.Pattern[str]) -> tuple[list[str], bool]:
    """The terms of one lexicon pattern and whether it ignores case; NotCompilable unless the
    pattern is exactly a whole-word alternation of literal terms, longest first."""
    source = pattern.pattern
    if not (source.startswith(_LEXICON_PREFIX) and source.endswith(_LEXICON_SUFFIX)):
        raise NotCompilable("lexicon pattern of another shape")
    body = source[len(_LEXICON_PREFIX) : -len(_LEXICON_SUFFIX)]
    terms, current, i = [], [], 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            current.append(body[i + 1])
            i += 2
            continue
        if body[i] == "|":
            terms.append("".join(current))
            current = []
        else:
            current.append(body[i])
        i += 1
    terms.append("".join(current))
    rebuilt = _LEXICON_PREFIX + "|".join(map(re.escape, terms)) + _LEXICON_SUFFIX
    lengths = [len(t) for t in terms]
    flags = pattern.flags & ~re.UNICODE
    if rebuilt != source or not all(lengths) or lengths != sorted(lengths, reverse=True):
        raise NotCompilable("lexicon pattern with non-literal terms")
    if flags not in (0, re.IGNORECASE):
        raise NotCompilable("lexicon pattern flags")
    return terms, flags == re.IGNORECASE


def _class_type(n_classes: int) -> type:
    """The smallest unsigned type for class ids 0..n_classes."""
    return np.uint8 if n_classes < 2**8 else np.uint16


def _ignorecase_classes(chars: set[str]) -> tuple[np.ndarray, dict[str, int]]:
    """Code point -> class for case-insensitive terms: two characters share a class when they
    match the same set of code points under ``re.IGNORECASE`` (as ``re`` decides); 0 for a
    code point no term character matches."""
    if not chars:
        return np.zeros(_UNICODE_SIZE, dtype=np.uint8), {}
    union = "[" + "".join(re.escape(c) for c in sorted(chars)) + "]"
    letters = re.compile(union, re.IGNORECASE)
    candidates = [
        start + m.start() for start, piece in _code_point_pieces() for m in letters.finditer(piece)
    ]
    sets: dict[str, frozenset[int]] = {}
    for c in chars:
        literal = re.compile(re.escape(c), re.IGNORECASE)
        sets[c] = frozenset(cp for cp in candidates if literal.fullmatch(chr(cp)))
    ids: dict[frozenset[int], int] = {}
    table = np.zeros(_UNICODE_SIZE, dtype=_class_type(len(set(sets.values()))))
    for c in sorted(chars):
        members = sets[c]
        if members not in ids:
            ids[members] = len(ids) + 1
            if table[list(members)].any():
                raise NotCompilable("case-insensitive lexicon letters that overlap")
            table[list(members)] = ids[members]
    return table, {c: ids[sets[c]] for c in chars}


class _LexiconBlock:
    """The lexicon counts: every term group (per topic: case-sensitive terms, terms that
    ignore case, exclusions) in one of two tries over character classes, one for the
    case-sensitive groups and one for the rest, so that one walk from each place in a text
    serves every group."""

    def __init__(self, block, coef: np.ndarray):
        groups = []  # (lexicon topic, hides, ignores case, terms)
        for topic, patterns in enumerate(block.patterns):
            if len(patterns) not in (2, 3):
                raise NotCompilable("lexicon patterns of another kind")
            for kind, pattern in enumerate(patterns):
                if pattern is not None:
                    terms, ignorecase = _lexicon_terms(pattern)
                    groups.append((topic, kind == 2, ignorecase, terms))
        exact_chars = sorted({c for _, _, ci, terms in groups if not ci for t in terms for c in t})
        exact_ids = {c: i + 1 for i, c in enumerate(exact_chars)}
        exact_classes = np.zeros(_UNICODE_SIZE, dtype=_class_type(len(exact_ids)))
        for c, i in exact_ids.items():
            exact_classes[ord(c)] = i
        loose_classes, loose_ids = _ignorecase_classes(
            {c for _, _, ci, terms in groups if ci for t in terms for c in t}
        )
        width = max([len(exact_ids), *loose_ids.values(), 0]) + 1
        trans: list[list[int]] = [[-1] * width, [-1] * width]  # the two roots
        ends: list[list[int]] = [[], []]
        for g, (_, _, ignorecase, terms) in enumerate(groups):
            ids = loose_ids if ignorecase else exact_ids
            for term in terms:
                current = int(ignorecase)
                for c in term:
                    if trans[current][ids[c]] < 0:
                        trans[current][ids[c]] = len(trans)
                        trans.append([-1] * width)
                        ends.append([])
                    current = trans[current][ids[c]]
                if g not in ends[current]:
                    ends[current].append(g)
        self.group_topic = np.array([g[0] for g in groups], dtype=np.int64)
        self.group_hide = np.array([g[1] for g in groups], dtype=np.bool_)
        ends_off = np.zeros(len(ends) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in ends], out=ends_off[1:])
        self.tries = (
            (0, exact_classes, char_table(_LEXICON_EDGE)),
            (1, loose_classes, char_table(_LEXICON_EDGE, re.IGNORECASE)),
            np.array(trans, dtype=np.int32).reshape(len(trans), width),
            ends_off,
            np.array([g for e in ends for g in e], dtype=np.int64),
        )
        self.coef_t = np.ascontiguousarray(coef[:, block.offset : block.offset + block.width].T)

    def encode(self, texts: Sequence[str], encoded: dict) -> tuple[np.ndarray, np.ndarray]:
        """The code points of ``texts`` as they are, from ``encoded`` or kept there."""
        if "text" not in encoded:
            encoded["text"] = encode(texts)
        return encoded["text"]

    def add(self, texts: Sequence[str], encoded: dict, out: np.ndarray) -> None:
        cps, offsets = self.encode(texts, encoded)
        _kernels().lexicon_block(
            cps, offsets, self.group_topic, self.group_hide, self.tries, self.coef_t, out
        )


class CompiledScorer:
    """A portable model's linear scores from compiled kernels: ``decision(texts)`` is
    :meth:`PortableModel.decision` for any batch, within 1e-12.

    ``hash_bits`` below 64 keeps only that many bits of each n-gram hash: for tests, to force
    collisions.
    """

    def __init__(self, model: PortableModel, hash_bits: int = 64, memo_words: int = MEMO_WORDS):
        if memo_words < 1 or memo_words & (memo_words - 1):
            raise ValueError(f"memo_words must be a power of two, not {memo_words}")
        # The kernels run without the GIL and the word memo is shared: one batch at a time
        # (threads of a Dask worker share the model). A child forked while another thread
        # scored copied the memos half-written: it empties them.
        self._lock = ForkSafeLock(after_fork=self._forget)
        coef = np.ascontiguousarray(model.coef, dtype=np.float64)
        self.intercept = np.asarray(model.intercept, dtype=np.float64)
        self.blocks: list[_TfidfBlock | _LexiconBlock] = [
            _TfidfBlock(block, coef, hash_bits, memo_words)
            if block.kind == "tfidf"
            else _LexiconBlock(block, coef)
            for block in model.blocks
        ]
        #: The block scored in a second thread (see ``SECOND_THREAD``), and (process id,
        #: executor) of that thread.
        self._beside = next(
            (b for b in self.blocks if getattr(b, "analyzer", None) == "char_wb"), None
        )
        self._thread: tuple | None = None

    def forget(self) -> None:
        """Empty the word memo, as in a fresh process (for benchmarks)."""
        with self._lock:
            self._forget()

    def _forget(self) -> None:
        for block in self.blocks:
            if isinstance(block, _TfidfBlock):
                block.forget()

    def decision(self, texts: Sequence[str]) -> np.ndarray:
        """(n, k) linear scores before the logistic link, in steps of about ``BATCH_CHARS``
        characters."""
        try:
            with self._lock:
                return self._decision(list(texts))
        except SystemError as exc:
            # Ctrl-C (or SIGTERM, see topictag.cli) while numba hands back a kernel's result:
            # numba reports the signal's exception as a chain of SystemErrors; raise it as
            # the interruption it is.
            cause = exc.__cause__ or exc.__context__
            while isinstance(cause, SystemError):
                cause = cause.__cause__ or cause.__context__
            if isinstance(cause, KeyboardInterrupt):
                raise cause from None
            raise

    def _decision(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), len(self.intercept)), dtype=np.float64)
        out[:] = self.intercept
        start, size = 0, 0
        for end, text in enumerate(texts, 1):
            size += len(text)
            if size >= BATCH_CHARS or end == len(texts):
                self._step(texts[start:end], size, out[start:end])
                start, size = end, 0
        return out

    def _step(self, texts: list[str], chars: int, out: np.ndarray) -> None:
        """Add every block's scores for ``texts`` to ``out``. The ``char_wb`` block, the
        slowest, is added last, so that with a second thread (see ``SECOND_THREAD``) it can
        score the first ``SECOND_THREAD_SHARE`` of the characters beside the other blocks,
        while this thread scores the rest after them, each with its own word memo. The sums
        are the same either way: the block adds one value per text and topic, last, and
        ``out + (0 + x)`` is ``out + x``."""
        encoded: dict = {}
        beside, scored, split = self._beside, None, 0
        if beside is not None and chars >= SECOND_THREAD_MIN_CHARS and _second_thread():
            for block in self.blocks:  # every form of the texts, before the thread reads one
                block.encode(texts, encoded)
            offsets = beside.encode(texts, encoded)[1]
            split = int(np.searchsorted(offsets, SECOND_THREAD_SHARE * offsets[-1]))
            split = min(max(split, 1), len(texts))
            part = np.zeros((split, out.shape[1]))
            scored = self._executor().submit(beside.add, texts, encoded, part, (0, split), 0)
        try:
            for block in self.blocks:
                if block is not beside:
                    block.add(texts, encoded, out)
            if scored is not None and split < len(texts):
                beside.add(texts, encoded, out[split:], (split, len(texts)), 1)
        finally:  # the thread's work never outlives the step (its memo is used again)
            if scored is not None:
                wait([scored])
        if scored is not None:
            scored.result()
            out[:split] += part
        elif beside is not None:
            beside.add(texts, encoded, out)

    def _executor(self):
        """The second thread, started on first use (again in a forked child, which has the
        executor but not its thread)."""
        if self._thread is None or self._thread[0] != os.getpid():
            pool = ThreadPoolExecutor(1, thread_name_prefix="topictag-scorer")
            self._thread = (os.getpid(), pool)
        return self._thread[1]


def _second_thread() -> bool:
    """Whether to score with a second thread (see ``SECOND_THREAD``)."""
    if SECOND_THREAD is not None:
        return SECOND_THREAD
    from topictag.processes import usable_cpus

    return usable_cpus() >= 2


def _lock_paths() -> tuple[str, str]:
    """The lock file that serialises compiling, and the marker that says the kernels of this
    source, numba version and cache setting were compiled once already (temp directory)."""
    import hashlib

    import numba

    from topictag import _kernels

    key = hashlib.sha1()
    with open(_kernels.__file__, "rb") as fh:
        key.update(fh.read())
    for part in (_kernels.__file__, numba.__version__, os.environ.get("NUMBA_CACHE_DIR", "")):
        key.update(part.encode("utf-8", "surrogatepass") + b"\0")
    base = os.path.join(tempfile.gettempdir(), f"topictag-kernels-{os.getuid()}")
    return base + ".lock", f"{base}-{key.hexdigest()[:16]}.ready"


@contextlib.contextmanager
def _compile_lock() -> Iterator[None]:
    """Until the kernels have been compiled once, one process at a time compiles or loads
    them: worker processes started together on an empty cache compile once (the first writes
    the cache, the others load it). Afterwards, no lock."""
    lock, ready = _lock_paths()
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        fcntl = None
    if fcntl is None or os.path.exists(ready):
        yield
        return
    try:
        handle = open(lock, "a")  # noqa: SIM115
    except OSError:
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
            if _kernels().NO_CACHE_REASON is None:
                with contextlib.suppress(OSError):
                    open(ready, "a").close()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def compiled_scorer(model: PortableModel) -> CompiledScorer | None:
    """The compiled scorer of ``model``, its kernels compiled (or loaded from the cache); None,
    with one warning per process, where numba is missing or fails, or the model has a setting
    the kernels do not implement."""
    try:
        _kernels()  # imports numba, compiles nothing yet
        with _compile_lock():
            scorer = CompiledScorer(model)
            scorer.decision(["Warm up: kernels compile or load here, not in the first batch."])
        return scorer
    except Exception as exc:  # ImportError, numba's compile errors, NotCompilable
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
        if not _WARNED:
            _WARNED.append(reason)
            warnings.warn(
                f"topictag: compiled scorer unavailable ({reason}); scoring with numpy",
                CompiledScorerWarning,
                stacklevel=2,
            )
        return None
