"""The numba kernels behind :mod:`topictag.compiled` (imported only there, and only when a
large batch is scored: importing this module imports numba).

Texts arrive as one array of Unicode code points (``uint32``) with the offset of each text,
already lowercased in Python where the model lowercases, so every character class and case
rule is Python's own. Vocabulary n-grams live in open-addressing tables (linear probing), keyed
exactly: by the n-gram's code points themselves when it has at most six (``_pack``), by its
tokens' ids for word n-grams of at most six tokens, else by a 64-bit FNV-1a hash over code
points, a hit then confirmed by comparing the code points with the vocabulary entry's. A hash
collision costs a probe step; it can never count a wrong feature. The packed tables also
hold every prefix of an entry, so a scan that extends an n-gram stops at the first miss.

Compiled code is cached on disk (numba ``cache=True``: ``__pycache__`` beside this file, else
``$NUMBA_CACHE_DIR`` or the user's cache directory); where no cache directory is writable the
kernels are compiled in memory in every process, with a warning.
"""

from __future__ import annotations

import math
import warnings

import numba
import numpy as np

#: Set when no cache directory was writable: the kernels are then compiled in each process.
NO_CACHE_REASON: str | None = None


def _jit(func):
    """``numba.njit`` with an on-disk cache, or without one where no directory is writable."""
    global NO_CACHE_REASON
    if NO_CACHE_REASON is None:
        try:
            return numba.njit(cache=True, nogil=True)(func)
        except RuntimeError as exc:  # numba: "cannot cache function ...: no locator available"
            NO_CACHE_REASON = str(exc)
            warnings.warn(
                "topictag: no writable cache directory for the compiled scorer "
                f"({exc}); it is compiled again in every process (set NUMBA_CACHE_DIR)",
                RuntimeWarning,
                stacklevel=2,
            )
    return numba.njit(nogil=True)(func)


_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_MIX = np.uint64(0xFF51AFD7ED558CCD)
_SPACE = np.uint32(32)


@_jit
def _step(h, cp):
    """One FNV-1a step over a whole code point."""
    return (h ^ np.uint64(cp)) * _FNV_PRIME


@_jit
def _slot(h, tmask):
    """The table slot of a hash (its bits mixed, so short n-grams spread over the table)."""
    h = h ^ (h >> np.uint64(33))
    h = h * _MIX
    h = h ^ (h >> np.uint64(29))
    return np.int64(h & tmask)


@_jit
def string_hashes(cps, offsets, hmask):
    """The hash of each string ``cps[offsets[i]:offsets[i+1]]`` (a vocabulary entry)."""
    n = len(offsets) - 1
    out = np.empty(n, np.uint64)
    for i in range(n):
        h = _FNV_OFFSET
        for q in range(offsets[i], offsets[i + 1]):
            h = _step(h, cps[q])
        out[i] = h & hmask
    return out


@_jit
def build_table(hashes, offsets, bits):
    """An open-addressing table (linear probing) of ``2**bits`` slots for hashed strings, each
    (hash, id + 1, start, end of the string in the vocabulary's code points); id + 1 is 0 in
    an empty slot."""
    size = np.int64(1) << bits
    tmask = np.uint64(size - 1)
    table = np.zeros((size, 4), np.uint64)
    for i in range(len(hashes)):
        s = _slot(hashes[i], tmask)
        while table[s, 1] != 0:
            s = (s + 1) & (size - 1)
        table[s, 0] = hashes[i]
        table[s, 1] = i + 1
        table[s, 2] = offsets[i]
        table[s, 3] = offsets[i + 1]
    return table


@_jit
def _pack(cps, start, n):
    """Up to six code points as an exact 126-bit key (two words, 21 bits per code point + 1)."""
    k1 = np.uint64(0)
    k2 = np.uint64(0)
    for q in range(n):
        c = np.uint64(cps[start + q]) + np.uint64(1)
        if q < 3:
            k1 |= c << np.uint64(21 * q)
        else:
            k2 |= c << np.uint64(21 * (q - 3))
    return k1, k2


#: A packed table slot's value: the entry's id + 1 (0 for a prefix that is no entry itself),
#: a bit set in every filled slot, and a bit set when a longer entry starts with this one.
_ID = np.uint64(0xFFFFFFFF)
_FILLED = np.uint64(1 << 32)
_CHILD = np.uint64(1 << 33)


@_jit
def _put_packed(k1, k2, value, hmask, table):
    """The slot of the packed string (k1, k2) in ``table``, filled with ``value`` if it was
    empty; returns (slot, whether it was there before)."""
    size = len(table)
    s = _slot((k1 ^ (k2 * _MIX)) & hmask, np.uint64(size - 1))
    while table[s, 2] != 0:
        if table[s, 0] == k1 and table[s, 1] == k2:
            return s, True
        s = (s + 1) & (size - 1)
    table[s, 0] = k1
    table[s, 1] = k2
    table[s, 2] = value
    return s, False


@_jit
def build_packed_table(cps, offsets, hmask, bits, min_n):
    """An open-addressing table of strings of at most six code points, keyed by the strings
    themselves (packed, see ``_pack``): each slot (key1, key2, value), value 0 for empty (see
    ``_ID``). The slot comes from the key's hash with only the bits of ``hmask`` kept.

    The table is closed under prefixes: every prefix of at least ``min_n`` code points of an
    entry has a slot too (with id 0 if it is no entry), and each slot says whether a longer
    one extends it. A scan that extends an n-gram one code point at a time can then stop at
    the first miss, or at a slot nothing extends. Returns None when the prefixes would fill
    more than half of the ``2**bits`` slots (build it again larger)."""
    size = np.int64(1) << bits
    table = np.zeros((size, 3), np.uint64)
    n = len(offsets) - 1
    for i in range(n):
        k1, k2 = _pack(cps, offsets[i], offsets[i + 1] - offsets[i])
        _put_packed(k1, k2, _FILLED | np.uint64(i + 1), hmask, table)
    filled = n
    for i in range(n):
        for length in range(offsets[i + 1] - offsets[i] - 1, min_n - 1, -1):
            k1, k2 = _pack(cps, offsets[i], length)
            s, known = _put_packed(k1, k2, _FILLED, hmask, table)
            table[s, 2] |= _CHILD
            if known:  # its own prefixes are in already
                break
            filled += 1
            if 2 * filled > size:
                return None
    return table


@_jit
def _find_packed(k1, k2, hmask, table):
    """The value of the packed string (k1, k2) in ``table`` (see ``_ID``), 0 if it has none."""
    tmask = np.uint64(len(table) - 1)
    s = _slot((k1 ^ (k2 * _MIX)) & hmask, tmask)
    while True:
        v = table[s, 2]
        if v == 0:
            return v
        if table[s, 0] == k1 and table[s, 1] == k2:
            return v
        s = (s + 1) & (len(table) - 1)


@_jit
def _find_span(h, buf, start, n, table, vcps):
    """The vocabulary id of the string ``buf[start:start+n]`` with hash ``h``, or -1."""
    tmask = np.uint64(len(table) - 1)
    s = _slot(h, tmask)
    while True:
        i = np.int64(table[s, 1]) - 1
        if i < 0:
            return -1
        o = np.int64(table[s, 2])
        if table[s, 0] == h and np.int64(table[s, 3]) - o == n:
            same = True
            for q in range(n):
                if vcps[o + q] != buf[start + q]:
                    same = False
                    break
            if same:
                return i
        s = (s + 1) & (len(table) - 1)


@_jit
def _find_tokens(h, cps, starts, ends, first, n, table, vcps):
    """The vocabulary id of tokens ``first..first+n-1`` joined by single spaces, or -1."""
    tmask = np.uint64(len(table) - 1)
    s = _slot(h, tmask)
    while True:
        i = np.int64(table[s, 1]) - 1
        if i < 0:
            return -1
        if table[s, 0] == h:
            pos = np.int64(table[s, 2])
            end = np.int64(table[s, 3])
            same = True
            for t in range(first, first + n):
                if t > first:
                    if pos >= end or vcps[pos] != _SPACE:
                        same = False
                        break
                    pos += 1
                size = ends[t] - starts[t]
                if pos + size > end:
                    same = False
                    break
                for q in range(size):
                    if vcps[pos + q] != cps[starts[t] + q]:
                        same = False
                        break
                if not same:
                    break
                pos += size
            if same and pos == end:
                return i
        s = (s + 1) & (len(table) - 1)


@_jit
def _add_row(d, counts, touched, n_touched, rows, sublinear, l2, acc, out):
    """Add one text's TF-IDF row (sublinear TF, IDF, L2 norm) times the coefficients to
    ``out[d]``, and reset the counts it used. ``rows[j]``: feature j's IDF, then its
    coefficient for each topic (one cache line per feature); ``acc``: room for k sums."""
    k = out.shape[1]
    acc[:] = 0.0
    norm = 0.0
    for t in range(n_touched):
        j = touched[t]
        c = counts[j]
        counts[j] = 0
        if c == 1:  # most features: log(1) + 1 is 1 exactly
            tf = 1.0
        elif sublinear:
            tf = math.log(c) + 1.0
        else:
            tf = float(c)
        v = tf * rows[j, 0]
        norm += v * v
        for topic in range(k):
            acc[topic] += v * rows[j, topic + 1]
    if n_touched == 0:
        return
    scale = math.sqrt(norm) if l2 else 1.0
    for topic in range(k):
        out[d, topic] += acc[topic] / scale


@_jit
def _word_grams(buf, size, min_n, max_n, hmask, packed, table, vcps, ids, at):
    """Write the vocabulary id of every ``char_wb`` n-gram of the padded word ``buf[:size]``
    (repeats included) into ``ids`` from ``at``; return how many."""
    count = 0
    low = min(min_n, size)  # a padded word shorter than min_n counts whole
    for s in range(size - low + 1):
        h = _FNV_OFFSET
        k1 = np.uint64(0)
        k2 = np.uint64(0)
        for n in range(1, min(max_n, size - s) + 1):
            v = _CHILD
            if packed:
                c = np.uint64(buf[s + n - 1]) + np.uint64(1)
                if n <= 3:
                    k1 |= c << np.uint64(21 * (n - 1))
                else:
                    k2 |= c << np.uint64(21 * (n - 4))
            else:
                h = _step(h, buf[s + n - 1])
            if n < low:
                continue
            if packed:
                v = _find_packed(k1, k2, hmask, table)
                hit = np.int64(v & _ID) - 1
            else:
                hit = _find_span(h & hmask, buf, s, n, table, vcps)
            if hit >= 0:
                ids[at + count] = hit
                count += 1
            if (v & _CHILD) == 0:  # no longer n-gram starts here (or a miss)
                break
    return count


@_jit
def char_wb_block(
    cps,
    doc_off,
    is_space,
    min_n,
    max_n,
    hmask,
    packed,
    table,
    vcps,
    rows,
    sublinear,
    l2,
    memo,
    memo_cps,
    memo_ids,
    memo_fill,
    out,
):
    """scikit-learn's ``char_wb`` TF-IDF block times its coefficients, added to ``out``.

    Words are the runs of non-space characters (``str.split()``); each is padded with a space
    on each side, and every n-gram of ``min_n..max_n`` characters inside the padded word is
    counted (the whole padded word once, if it is shorter than that). With ``packed`` (at
    most six characters per n-gram) the table is keyed by the n-grams themselves (``_pack``),
    else by their hashes.

    A word's n-gram ids depend on the word alone, so they are remembered across calls: ``memo``
    is an open-addressing table of words (hash, start and length of the word in ``memo_cps``,
    start and count of its ids in ``memo_ids``; length 0 when empty), ``memo_fill`` counts
    the words, code points and ids stored. Full, it is emptied and refilled.
    """
    width = len(rows)
    counts = np.zeros(width, np.int32)
    touched = np.empty(width, np.int32)
    acc = np.empty(out.shape[1])
    longest = 0
    for d in range(len(doc_off) - 1):
        longest = max(longest, doc_off[d + 1] - doc_off[d])
    buf = np.empty(longest + 2, np.uint32)
    scratch = np.empty((longest + 2) * (max_n - min_n + 1) + 1, np.int32)
    mmask = np.uint64(len(memo) - 1)
    for d in range(len(doc_off) - 1):
        n_touched = 0
        i = doc_off[d]
        end = doc_off[d + 1]
        while i < end:
            if is_space[cps[i]]:
                i += 1
                continue
            j = i
            h = _FNV_OFFSET
            while j < end and not is_space[cps[j]]:
                h = _step(h, cps[j])
                j += 1
            length = j - i
            # Known word?
            s = _slot(h, mmask)
            ids = scratch
            first = -1
            while memo[s, 2] != 0:
                if memo[s, 0] == np.int64(h) and memo[s, 2] == length:
                    o = memo[s, 1]
                    same = True
                    for q in range(length):
                        if memo_cps[o + q] != cps[i + q]:
                            same = False
                            break
                    if same:
                        ids = memo_ids
                        first = memo[s, 3]
                        count = memo[s, 4]
                        break
                s = (s + 1) & (len(memo) - 1)
            if first < 0:
                size = length + 2
                buf[0] = _SPACE
                for q in range(i, j):
                    buf[q - i + 1] = cps[q]
                buf[size - 1] = _SPACE
                most = size * (max_n - min_n + 1) + 1
                fits = length <= len(memo_cps) // 4 and most <= len(memo_ids) // 4
                if fits and (
                    memo_fill[0] + 1 > len(memo) // 2
                    or memo_fill[1] + length > len(memo_cps)
                    or memo_fill[2] + most > len(memo_ids)
                ):
                    memo[:, 2] = 0
                    memo_fill[:] = 0
                    s = _slot(h, mmask)
                if fits:
                    first = memo_fill[2]
                    count = _word_grams(
                        buf, size, min_n, max_n, hmask, packed, table, vcps, memo_ids, first
                    )
                    ids = memo_ids
                    memo[s, 0] = np.int64(h)
                    memo[s, 1] = memo_fill[1]
                    memo[s, 2] = length
                    memo[s, 3] = first
                    memo[s, 4] = count
                    for q in range(length):
                        memo_cps[memo_fill[1] + q] = cps[i + q]
                    memo_fill[0] += 1
                    memo_fill[1] += length
                    memo_fill[2] += count
                else:  # too long to remember
                    first = 0
                    count = _word_grams(
                        buf, size, min_n, max_n, hmask, packed, table, vcps, scratch, 0
                    )
            for q in range(first, first + count):
                hit = ids[q]
                n_touched = _tally(hit, counts, touched, n_touched)
            i = j
        _add_row(d, counts, touched, n_touched, rows, sublinear, l2, acc, out)


@_jit
def word_tokens(cps, doc_off, is_word):
    """Runs of at least two word characters (``(?u)\\b\\w\\w+\\b``): token starts, ends, and
    the first token of each text."""
    starts = np.empty(len(cps) // 2 + 1, np.int64)
    ends = np.empty(len(cps) // 2 + 1, np.int64)
    doc_tok = np.empty(len(doc_off), np.int64)
    n = 0
    for d in range(len(doc_off) - 1):
        doc_tok[d] = n
        i = doc_off[d]
        end = doc_off[d + 1]
        while i < end:
            if not is_word[cps[i]]:
                i += 1
                continue
            j = i
            while j < end and is_word[cps[j]]:
                j += 1
            if j - i >= 2:
                starts[n] = i
                ends[n] = j
                n += 1
            i = j
    doc_tok[len(doc_off) - 1] = n
    return starts[:n], ends[:n], doc_tok


@_jit
def word_block(
    cps,
    starts,
    ends,
    doc_tok,
    min_n,
    max_n,
    hmask,
    table,
    vcps,
    rows,
    sublinear,
    l2,
    out,
):
    """scikit-learn's word n-gram TF-IDF block times its coefficients, added to ``out``: every
    run of ``min_n..max_n`` consecutive tokens, joined by single spaces."""
    width = len(rows)
    counts = np.zeros(width, np.int32)
    touched = np.empty(width, np.int32)
    acc = np.empty(out.shape[1])
    for d in range(len(doc_tok) - 1):
        n_touched = 0
        last = doc_tok[d + 1]
        for i in range(doc_tok[d], last):
            h = _FNV_OFFSET
            for n in range(1, max_n + 1):
                j = i + n - 1
                if j >= last:
                    break
                if n > 1:
                    h = _step(h, _SPACE)
                for q in range(starts[j], ends[j]):
                    h = _step(h, cps[q])
                if n < min_n:
                    continue
                hit = _find_tokens(h & hmask, cps, starts, ends, i, n, table, vcps)
                if hit >= 0:
                    n_touched = _tally(hit, counts, touched, n_touched)
        _add_row(d, counts, touched, n_touched, rows, sublinear, l2, acc, out)


@_jit
def _tally(hit, counts, touched, n_touched):
    """Count one occurrence of vocabulary entry ``hit``, noting it in ``touched`` the first
    time; returns the new number of entries touched."""
    if counts[hit] == 0:
        touched[n_touched] = hit
        n_touched += 1
    counts[hit] += 1
    return n_touched


@_jit
def token_ids(cps, starts, ends, hmask, table, tcps):
    """The id + 1 of each token in a token vocabulary (hashed strings), 0 if it has none."""
    out = np.zeros(len(starts), np.uint32)
    for t in range(len(starts)):
        h = _FNV_OFFSET
        for q in range(starts[t], ends[t]):
            h = _step(h, cps[q])
        out[t] = _find_span(h & hmask, cps, starts[t], ends[t] - starts[t], table, tcps) + 1
    return out


@_jit
def word_id_block(tids, doc_tok, min_n, max_n, hmask, table, rows, sublinear, l2, out):
    """:func:`word_block` for n-grams of at most six tokens, the vocabulary keyed by its
    n-grams' token ids (``tids``: each token's id + 1, 0 for a token in no vocabulary n-gram),
    packed exactly as :func:`_pack` packs code points."""
    width = len(rows)
    counts = np.zeros(width, np.int32)
    touched = np.empty(width, np.int32)
    acc = np.empty(out.shape[1])
    for d in range(len(doc_tok) - 1):
        n_touched = 0
        last = doc_tok[d + 1]
        for i in range(doc_tok[d], last):
            k1 = np.uint64(0)
            k2 = np.uint64(0)
            for n in range(1, max_n + 1):
                j = i + n - 1
                if j >= last or tids[j] == 0:
                    break
                c = np.uint64(tids[j]) + np.uint64(1)
                if n <= 3:
                    k1 |= c << np.uint64(21 * (n - 1))
                else:
                    k2 |= c << np.uint64(21 * (n - 4))
                if n < min_n:
                    continue
                v = _find_packed(k1, k2, hmask, table)
                hit = np.int64(v & _ID) - 1
                if hit >= 0:
                    n_touched = _tally(hit, counts, touched, n_touched)
                if (v & _CHILD) == 0:  # no longer n-gram starts here (or a miss)
                    break
        _add_row(d, counts, touched, n_touched, rows, sublinear, l2, acc, out)


@_jit
def _starts(src, a, b, classes, edge, out):
    """The places in ``src[a:b]`` where a term can start: a term character (``classes``
    not 0) not preceded by an ``edge`` character. Writes them into ``out``; returns how
    many."""
    n = 0
    for p in range(a, b):
        if classes[src[p]] != 0 and (p == a or not edge[src[p - 1]]):
            out[n] = p
            n += 1
    return n


@_jit
def _walk(src, b, starts, n_starts, root, classes, edge, trans, ends_off, ends, lex):
    """Count the matches of every term group of one trie in ``src[:b]`` from the places in
    ``starts`` (see :func:`_starts`), as the regex alternation of each group finds them:
    leftmost first, the longest term at each place, not overlapping, each followed by a
    character that is not in ``edge`` (or by the end). One walk from each place serves all
    groups; ``ends[ends_off[node]:ends_off[node + 1]]`` are the groups with a term ending at
    ``node``.

    ``lex`` is the per-document state (see :func:`lexicon_block`): the groups' counts, where
    each may match next, the longest end found from this place, and the matches of hiding
    groups, which are recorded as (group, start, end)."""
    count, after, best, hit, hide, spans, n_spans = lex
    for k in range(n_starts):
        p = starts[k]
        node = root
        n_hit = 0
        q = p
        while q < b:
            node = trans[node, classes[src[q]]]
            if node < 0:
                break
            q += 1
            if ends_off[node] < ends_off[node + 1] and (q == b or not edge[src[q]]):
                for e in range(ends_off[node], ends_off[node + 1]):
                    g = ends[e]
                    if best[g] < 0:
                        hit[n_hit] = g
                        n_hit += 1
                    best[g] = q
        for h in range(n_hit):
            g = hit[h]
            if p >= after[g]:
                count[g] += 1
                after[g] = best[g]
                if hide[g]:
                    spans[n_spans[0], 0] = g
                    spans[n_spans[0], 1] = p
                    spans[n_spans[0], 2] = best[g]
                    n_spans[0] += 1
            best[g] = -1


@_jit
def _count_groups(src, a, b, tries, lex, starts_exact, starts_loose):
    """:func:`_walk` over ``src[a:b]`` for both tries (case-sensitive terms, then terms that
    ignore case), after resetting the state in ``lex``."""
    exact_root, exact_classes, exact_edge = tries[0]
    loose_root, loose_classes, loose_edge = tries[1]
    trans, ends_off, ends = tries[2], tries[3], tries[4]
    count, after, best, hit, hide, spans, n_spans = lex
    count[:] = 0
    after[:] = a
    n_spans[0] = 0
    n = _starts(src, a, b, exact_classes, exact_edge, starts_exact)
    _walk(
        src, b, starts_exact, n, exact_root, exact_classes, exact_edge, trans, ends_off, ends, lex
    )
    n = _starts(src, a, b, loose_classes, loose_edge, starts_loose)
    _walk(
        src, b, starts_loose, n, loose_root, loose_classes, loose_edge, trans, ends_off, ends, lex
    )


@_jit
def _group_state(hide, max_spans):
    """The per-document state of :func:`_walk` for groups whose hiding flags are ``hide``."""
    n_groups = len(hide)
    return (
        np.zeros(n_groups, np.int64),  # matches per group
        np.zeros(n_groups, np.int64),  # where each group may match next
        np.full(n_groups, -1, np.int64),  # the longest end from the current place
        np.empty(n_groups, np.int64),  # groups with a term from the current place
        hide,
        np.empty((max_spans, 3), np.int64),  # matches of hiding groups: (group, start, end)
        np.zeros(1, np.int64),  # how many of them
    )


@_jit
def lexicon_block(cps, doc_off, group_topic, group_hide, tries, coef_t, out):
    """The lexicon block times its coefficients, added to ``out``: per topic, log(1 + the
    number of matches of its term groups), counted after the matches of its exclusion groups
    (``group_hide``) are blanked with spaces. ``tries``: the roots, character classes and
    edges of the case-sensitive and the case-insensitive trie, the transitions, and the
    groups ending at each node (see :func:`_walk`).

    All groups are counted in one pass over the text; a topic whose exclusions matched is
    counted again on a copy with those matches blanked."""
    n_topics = coef_t.shape[0]
    k = coef_t.shape[1]
    n_groups = len(group_topic)
    longest = 0
    for d in range(len(doc_off) - 1):
        longest = max(longest, doc_off[d + 1] - doc_off[d])
    buf = np.empty(longest, np.uint32)
    starts_exact = np.empty(longest, np.int64)
    starts_loose = np.empty(longest, np.int64)
    lex = _group_state(group_hide, longest + 1)
    again = _group_state(np.zeros(n_groups, np.bool_), 0)  # on a blanked copy: no spans kept
    counts = np.zeros(n_topics, np.int64)
    for d in range(len(doc_off) - 1):
        a = doc_off[d]
        b = doc_off[d + 1]
        _count_groups(cps, a, b, tries, lex, starts_exact, starts_loose)
        count, spans, n_spans = lex[0], lex[5], lex[6][0]
        counts[:] = 0
        for g in range(n_groups):
            if not group_hide[g]:
                counts[group_topic[g]] += count[g]
        for topic in range(n_topics):
            blanked = False
            for m in range(n_spans):
                if group_topic[spans[m, 0]] == topic:
                    if not blanked:
                        for q in range(a, b):
                            buf[q - a] = cps[q]
                        blanked = True
                    for q in range(spans[m, 1], spans[m, 2]):
                        buf[q - a] = _SPACE
            if blanked:
                _count_groups(buf, 0, b - a, tries, again, starts_exact, starts_loose)
                counts[topic] = 0
                for g in range(n_groups):
                    if group_topic[g] == topic and not group_hide[g]:
                        counts[topic] += again[0][g]
        for topic in range(n_topics):
            if counts[topic]:
                v = math.log1p(counts[topic])
                for t in range(k):
                    out[d, t] += v * coef_t[topic, t]
