"""A fast, exact, vectorised reader of numeric CSV tables such as AVA's.

AVA result files have millions of rows (about 4.6M at AVA-val scale), and ``np.loadtxt``
spends about 5 s on them. This module parses the usual layout (one text column first, then
plain decimal numbers such as ``0.123``, ``1798`` or ``-0.001``)
with numpy byte arithmetic on blocks of the file: fields are located from the positions of
commas and newlines; a column whose fields share one layout in the block (as result files
are written: ``0.123``, ``0902``) is read a byte column at a time (up to 15 digits), the
others with each number's digits read as one little-endian 64-bit word and converted with
SWAR (SIMD-within-a-register) arithmetic; blocks are parsed on two threads (numpy releases
the GIL in its loops). A value is ``mantissa / 10**k`` computed in float64 from exact
integers; IEEE division rounds once, so every value equals Python's ``float(text)`` bit for
bit, as the official AVA evaluator reads it.

The text column may be quoted as a whole (``"id"``, as pandas and ``csv.writer`` quote
text); it is then read without its quotes, as Python's ``csv`` module (the official reader)
reads it. Anything outside that layout (exponents, numbers over 8 characters in a column of
mixed layouts, blank lines, spaces, other quotes, a lone CR, a wrong column count, text in a
number) makes :func:`parse_numeric_csv`
return ``None`` so the caller can fall back to a general reader that also reports the
offending line.
"""
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import List, Optional, Tuple

import numpy as np

_BLOCK = 1 << 18  # 256 KB: the per-block arrays stay in cache (faster than 1 MB here)
_ASCII_ZERO = np.uint64(0x3030303030303030)
_HIGH_NIBBLES = np.uint64(0xF0F0F0F0F0F0F0F0)
_PLUS_SIX = np.uint64(0x0606060606060606)
_M8 = np.uint64(0x00FF00FF00FF00FF)
_M16 = np.uint64(0x0000FFFF0000FFFF)
_M32 = np.uint64(0x00000000FFFFFFFF)
# _ZERO_PAD[k]: ASCII '0' in the 8 - k low bytes (the leading zeros of a k-digit number).
_ZERO_PAD = np.array([0x3030303030303030 >> (8 * k) for k in range(9)], dtype=np.uint64)
# _LOW_MASK[k]: the k low bytes set.
_LOW_MASK = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=np.uint64)
_POW10 = 10.0**np.arange(9)
_DOTS = np.uint64(0x2E2E2E2E2E2E2E2E)
_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_ONE = np.uint64(1)
_BYTE_INDEX = np.uint64(0x0706050403020100)


def _swar_digits(words: np.ndarray, ndigits: np.ndarray) -> Optional[np.ndarray]:
    """Integer value of the ``ndigits`` (0..8) ASCII digits at the low end of each word.

    Returns None if any of those bytes is not a digit.
    """
    shift = (8 * (8 - ndigits)).astype(np.uint64)
    half = shift >> np.uint64(1)
    w = ((words << half) << (shift - half)) | _ZERO_PAD[ndigits]
    ok = ((w & _HIGH_NIBBLES) == _ASCII_ZERO) & (((w + _PLUS_SIX) & _HIGH_NIBBLES) == _ASCII_ZERO)
    if not ok.all():
        return None
    v = w - _ASCII_ZERO
    v = (v * np.uint64(10) + (v >> np.uint64(8))) & _M8
    v = (v * np.uint64(100) + (v >> np.uint64(16))) & _M16
    v = (v * np.uint64(10000) + (v >> np.uint64(32))) & _M32
    return v


def _parse_block(buf: np.ndarray, ncols: int, int_cols: Tuple[int, ...]):
    """Parses one block that ends with a newline: ``(names, values)``, values (ncols - 1, n)
    float64; None if the block is not in the fast layout."""
    nl = np.flatnonzero(buf == 10)
    n = len(nl)
    starts = np.empty(n, dtype=np.int64)
    starts[0] = 0
    starts[1:] = nl[:-1] + 1
    ends = nl.copy()
    crlf = buf[np.maximum(nl - 1, 0)] == 13
    ends[crlf] -= 1  # CRLF line endings
    if np.count_nonzero(buf == 13) != np.count_nonzero(crlf):
        return None  # a lone CR ends a row for Python's csv module
    commas = np.flatnonzero(buf == 44)
    if len(commas) != n * (ncols - 1):
        return None
    commas = commas.reshape(n, ncols - 1)
    if not ((commas[:, 0] > starts).all() and (commas[:, -1] < ends).all()):
        return None
    fs = np.empty((n, ncols), dtype=np.int64)
    fe = np.empty((n, ncols), dtype=np.int64)
    fs[:, 0] = starts
    fs[:, 1:] = commas + 1
    fe[:, :-1] = commas
    fe[:, -1] = ends

    # Text column: a field quoted as a whole ("id", as pandas and csv.writer quote text) is
    # read without its quotes, as Python's csv module reads it; any other quote is declined.
    quotes = np.flatnonzero(buf == 34)
    if len(quotes):
        if len(quotes) != 2 * n:
            return None
        quotes = quotes.reshape(n, 2)
        if not ((quotes[:, 0] == starts).all() and (quotes[:, 1] == fe[:, 0] - 1).all()):
            return None
        starts = starts + 1
        fe[:, 0] -= 1
    padded = np.zeros(len(buf) + 72, dtype=np.uint8)
    padded[:len(buf)] = buf
    # Text column: gathered into a fixed-width bytes array.
    name_len = fe[:, 0] - starts
    width = int(name_len.max())
    if width > 64:
        return None
    # Unaligned little-endian 64-bit word starting at every byte.
    word_at = np.ndarray(shape=(len(padded) - 7, ), dtype='<u8', buffer=padded, strides=(1, ))
    if width <= 16:
        halves = np.empty((n, 2), dtype=np.uint64)
        halves[:, 0] = word_at[starts] & _LOW_MASK[np.minimum(name_len, 8)]
        halves[:, 1] = word_at[starts + 8] & _LOW_MASK[np.clip(name_len - 8, 0, 8)]
        names = halves.view('S16').ravel()
    else:
        cols = np.arange(width)
        names = padded[starts[:, None] + cols]
        names[cols >= name_len[:, None]] = 0
        names = np.ascontiguousarray(names).view(f'S{width}').ravel()

    # Numeric columns. One whose fields all share a layout in this block (length, place of
    # the decimal point, no sign: "0.123", "0902") is read a byte column at a time; the
    # others with one 64-bit word per field (at most 8 characters).
    values = np.empty((ncols - 1, n))  # column-major, as the caller stores them
    generic = []
    for c in range(1, ncols):
        column = _fixed_layout_column(padded, fs[:, c], fe[:, c], c in int_cols)
        if column is None:
            generic.append(c)
        else:
            values[c - 1] = column
    if generic:
        parsed = _parse_words(padded, fs[:, generic].ravel(), fe[:, generic].ravel())
        if parsed is None:
            return None
        parsed, has_dot = parsed[0].reshape(n, -1), parsed[1].reshape(n, -1)
        for i, c in enumerate(generic):
            if c in int_cols and has_dot[:, i].any():
                return None
            values[c - 1] = parsed[:, i]
    return names, values


def _fixed_layout_column(padded: np.ndarray, start: np.ndarray, end: np.ndarray,
                         integer: bool) -> Optional[np.ndarray]:
    """Values of one column whose fields (``padded[start:end]`` each) all have the same
    length, digits elsewhere and the decimal point (none for ``integer``) at the same place;
    None otherwise (the general path then decides). At most 15 digits, so that the integer
    mantissa and the power of ten are exact and the one division rounds once."""
    length = end - start
    width = int(length[0])
    if width < 1 or width > 16 or not (length == width).all():
        return None
    chars = padded[start[:, None] + np.arange(width)]
    dots = chars == 46
    dot = np.flatnonzero(dots[0])
    if len(dot) > 1 or (len(dot) and (integer or width == 1)) or (dots != dots[0]).any():
        return None
    places = np.flatnonzero(~dots[0])
    if len(places) > 15:
        return None
    digits = chars[:, places]
    if (digits < 48).any() or (digits > 57).any():
        return None
    weights = 10**np.arange(len(places) - 1, -1, -1, dtype=np.int64)
    mantissa = (digits.astype(np.int64) - 48) @ weights
    frac = width - 1 - int(dot[0]) if len(dot) else 0
    return mantissa.astype(np.float64) / 10.0**frac


def _parse_words(padded: np.ndarray, s: np.ndarray, e: np.ndarray):
    """Fields ``padded[s:e]`` of at most 8 characters (an optional '-', digits, at most one
    '.'), each read as one little-endian word: ``(values, has_dot)``, or None."""
    word_at = np.ndarray(shape=(len(padded) - 7, ), dtype='<u8', buffer=padded, strides=(1, ))
    neg = padded[s] == 45
    s = s + neg
    length = e - s
    if length.min() < 1 or length.max() > 8:
        return None
    words = word_at[s]
    # 0x80 in each byte of the field that is '.', exactly (no carries between bytes).
    x = words ^ _DOTS
    dot_bits = ~(((x & _LOW7) + _LOW7) | x | _LOW7) & _LOW_MASK[length]
    has_dot = dot_bits != 0
    if (dot_bits & (dot_bits - _ONE)).any():  # two dots in a field
        return None
    # Byte index k of the dot: (1 << 8k) * _BYTE_INDEX has 7 - k in its top byte.
    unit = dot_bits >> np.uint64(7)
    dot_at = 7 - ((unit * _BYTE_INDEX) >> np.uint64(56)).astype(np.int64)
    # Drop the dot: bytes above it move down by one (keep: the bytes below it; all without).
    keep = unit - _ONE
    words = (words & keep) | ((words >> np.uint64(8)) & ~keep)
    ndigits = length - has_dot
    frac = (length - 1 - dot_at) * has_dot
    if (ndigits < 1).any():
        return None
    mantissa = _swar_digits(words, ndigits)
    if mantissa is None:
        return None
    values = mantissa.astype(np.float64) / _POW10[frac]
    return np.where(neg, -values, values), has_dot


def _blocks(f):
    """Consecutive pieces of the open file ``f`` of about ``_BLOCK`` bytes, each ending with a
    newline (one is added to a last line without it), as uint8 arrays."""
    rest = b''
    while True:
        block = f.read(_BLOCK)
        if not block:
            if rest:
                yield np.frombuffer(rest if rest.endswith(b'\n') else rest + b'\n', np.uint8)
            return
        data = rest + block
        cut = data.rfind(b'\n') + 1
        rest = data[cut:]
        if cut:
            yield np.frombuffer(data[:cut], dtype=np.uint8)


def _count_lines(path: str) -> int:
    lines, last = 0, b'\n'
    with open(path, 'rb') as f:
        while True:
            block = f.read(_BLOCK * 8)
            if not block:
                break
            lines += block.count(b'\n')
            last = block[-1:]
    return lines + (last != b'\n')


class _Names:
    """Interns the text column: distinct names in order of appearance, one code per row."""

    def __init__(self):
        self.index = {}

    def codes(self, names: np.ndarray) -> np.ndarray:
        heads = np.flatnonzero(np.r_[True, names[1:] != names[:-1]])
        uniq, inverse = np.unique(names[heads], return_inverse=True)
        lut = np.array([self.index.setdefault(bytes(u), len(self.index)) for u in uniq],
                       dtype=np.int64)
        return np.repeat(lut[inverse.reshape(-1)], np.diff(np.r_[heads, len(names)]))


def parse_numeric_csv(path: str, ncols: int,
                      int_cols: Tuple[int, ...] = ()) -> Optional[Tuple[List[bytes], np.ndarray,
                                                                        np.ndarray]]:
    """Reads ``text,num,num,...`` rows of ``path`` exactly, or returns None (see module doc).

    Args:
        path: the CSV file (no header).
        ncols: the number of columns of every row.
        int_cols: columns (>= 1) that must be integers (no decimal point).

    Returns:
        ``(names, codes, values)``: ``names`` the distinct values of column 0 (bytes, in order
        of appearance), ``codes`` (N,) int64 index of each row's name, ``values``
        (ncols - 1, N) float64 of columns 1.. (column-major, so each column is contiguous);
        None when the file is outside the fast layout.
    """
    n = _count_lines(path)
    values = np.empty((ncols - 1, n))
    codes = np.empty(n, dtype=np.int64)
    names = _Names()
    done = 0
    # numpy releases the GIL in its loops: blocks are parsed on up to 2 threads, a few in
    # flight at a time (memory stays bounded), and stored in file order.
    with open(path, 'rb') as f, ThreadPoolExecutor(min(2, os.cpu_count() or 1)) as pool:
        pending: deque = deque()
        for block in _blocks(f):
            pending.append(pool.submit(_parse_block, block, ncols, int_cols))
            while pending and (len(pending) > 4 or pending[0].done()):
                parsed = pending.popleft().result()
                if parsed is None:
                    return None
                k = parsed[1].shape[1]
                values[:, done:done + k] = parsed[1]
                codes[done:done + k] = names.codes(parsed[0])
                done += k
        for future in pending:
            parsed = future.result()
            if parsed is None:
                return None
            k = parsed[1].shape[1]
            values[:, done:done + k] = parsed[1]
            codes[done:done + k] = names.codes(parsed[0])
            done += k
    if done != n:
        return None
    return list(names.index), codes, values
