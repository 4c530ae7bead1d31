"""Readers and writer for the AVA evaluation files, with the error and skip rules.

Formats (ActivityNet AVA challenge, ``Evaluation/get_ava_performance.py``):

* ground truth CSV: ``video_id,timestamp,x1,y1,x2,y2,action_id[,person_id]``;
* detection CSV: ``video_id,timestamp,x1,y1,x2,y2,action_id,score``;
* label map: pbtxt (``item { name: "..." id: N }``) or mmaction2's txt (``N: name``);
* excluded timestamps: ``video_id,timestamp``.

Files are read as the official evaluator reads them: Python's ``csv`` module (quoted fields,
commas inside quotes, ids of any length), ``float``/``int`` of each field. Rules applied here:

* a missing, gzipped or non-UTF-8 file, a wrong column count or a non-numeric field raises
  :class:`AVAInputError` naming the file and line, as do non-finite numbers;
* boxes are used as given, as the official evaluator uses them: coordinates outside [0, 1]
  and ground-truth boxes of zero area or with x2 < x1 or y2 < y1 are recorded per kind
  (``AVATable.box_rows``) and counted in one warning each by the evaluator (detection boxes
  with x2 <= x1 or y2 <= y1 are dropped there, as the official evaluator drops them);
* ``strict=True`` keeps the earlier checks instead: a coordinate outside [0, 1] by less than
  ``CLIP_TOLERANCE`` is clipped and counted (``AVATable.num_clipped``), further outside
  raises, a ground-truth box with x2 <= x1 or y2 <= y1 raises, and every row has the first
  row's column count;
* ground-truth rows repeating an earlier row exactly are kept, as the official evaluator keeps
  them, and counted in a warning (each is a ground truth no detection can match);
* timestamps are integers and form the keyframe key ``(video_id, int(timestamp))`` as the
  official ``make_image_key`` does (``0902`` and ``902`` are the same keyframe).
"""
import csv
import os
import os.path as osp
import re
import warnings
from dataclasses import dataclass, field
from itertools import islice
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from .atomic_io import atomic_open
from .csv_parser import parse_numeric_csv
from .errors import InputError

CLIP_TOLERANCE = 1e-3
PathLike = Union[str, os.PathLike]


class AVAInputError(InputError):
    """Bad AVA evaluation input; the message names the file, line and what was expected."""


@dataclass
class AVATable:
    """The rows of an AVA CSV file in columnar form.

    Attributes:
        video_names: (V,) str, the distinct video ids.
        video_codes: (N,) int64, index of each row's video in ``video_names``.
        timestamps: (N,) int64 keyframe timestamps in seconds.
        boxes: (N, 4) float64 ``x1, y1, x2, y2`` normalised to [0, 1] (possibly a
            column-major view of the parsed file).
        labels: (N,) int64 action ids.
        scores: (N,) float64 detection scores; for ground truth the person id of an 8-column
            file, else 1.0 (the official reader keeps that column as the row's "score" and
            orders a keyframe's ground truth by it, which decides ties of the IoU argmax).
        source: the file the rows came from, or ``'<memory>'``.
        num_clipped: rows whose coordinates were clipped into [0, 1] (``strict=True``).
        num_columns: columns of the file (7 or 8; 0 for a table built in memory or a
            ground-truth file mixing 7- and 8-column rows, which the official reader accepts).
        box_rows: ``{kind: (K,) int64 rows}`` of the boxes the official evaluator uses as
            given (``strict=False``): ``'outside'`` (a coordinate outside [0, 1]), and for
            ground truth ``'zero_area'`` (x2 == x1 or y2 == y1) and ``'inverted'`` (x2 < x1 or
            y2 < y1); kinds without rows are absent.
    """
    video_names: np.ndarray
    video_codes: np.ndarray
    timestamps: np.ndarray
    boxes: np.ndarray
    labels: np.ndarray
    scores: np.ndarray
    source: str = '<memory>'
    num_clipped: int = 0
    num_columns: int = 0
    box_rows: Dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.labels)

    def where(self, row: int) -> str:
        """``'file, line L'`` (or ``'<memory>, row R'``) of row ``row``, for messages."""
        if self.source == '<memory>':
            return f'<memory>, row {row}'
        return f'{self.source}, line {_line_of_row(self.source, row)}'

    @classmethod
    def from_arrays(cls,
                    video_ids: Sequence[str],
                    timestamps: Sequence[int],
                    boxes: np.ndarray,
                    labels: Sequence[int],
                    scores: Optional[Sequence[float]] = None,
                    is_gt: bool = False,
                    strict: bool = False) -> 'AVATable':
        """Builds a validated table from in-memory columns (same rules as the files).

        Args:
            video_ids: (N,) video ids.
            timestamps: (N,) integer timestamps.
            boxes: (N, 4) normalised ``x1, y1, x2, y2``.
            labels: (N,) action ids.
            scores: (N,) scores; None means 1.0 (ground truth).
            is_gt: the rows are ground truth (for the box rules).
            strict: the earlier box checks (see the module docstring).
        """
        n = len(labels)
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        ts = np.asarray(timestamps)
        if ts.size and not np.issubdtype(ts.dtype, np.integer):
            if not np.all(np.mod(ts.astype(np.float64), 1) == 0):
                raise AVAInputError('<memory>: timestamps must be integers')
        names, codes = np.unique(np.asarray(video_ids, dtype=str), return_inverse=True)
        table = cls(
            video_names=names,
            video_codes=codes.astype(np.int64).reshape(-1),
            timestamps=ts.astype(np.int64).reshape(-1),
            boxes=boxes,
            labels=np.asarray(labels, dtype=np.int64).reshape(-1),
            scores=(np.ones(n) if scores is None else np.asarray(scores, np.float64).reshape(-1)))
        if not (len(table.video_codes) == len(table.timestamps) == len(table.boxes) == n ==
                len(table.scores)):
            raise AVAInputError('<memory>: video_ids, timestamps, boxes, labels and scores '
                                'must have the same length')
        _check_boxes(table, is_gt, strict)
        return table


def _is_blank(row: List[str]) -> bool:
    """An empty line (or one of spaces only): not a row, here and in line numbers."""
    return not row or (len(row) == 1 and not row[0].strip())


def _csv_rows(path: str):
    """``(line, row)`` of the non-blank rows of ``path`` as Python's ``csv`` module reads them
    (the official reader); ``line`` is the 1-based line the row ends on."""
    with open(path, 'r', encoding='utf-8', newline='') as f:
        reader = csv.reader(f)
        for row in reader:
            if not _is_blank(row):
                yield reader.line_num, row


def _line_of_row(path: str, row: int) -> int:
    """1-based line of data row ``row`` (blank lines are not rows), read only for messages."""
    for seen, (lineno, _) in enumerate(_csv_rows(path)):
        if seen == row:
            return lineno
    return row + 1


def _check_file(path: PathLike, what: str) -> str:
    path = os.fspath(path)
    if not osp.isfile(path):
        raise AVAInputError(f'{path}: {what} file not found')
    return path


def _not_gzip(path: str, what: str) -> None:
    with open(path, 'rb') as f:
        if f.read(2) == b'\x1f\x8b':
            raise AVAInputError(f'{path}: the {what} file is gzip-compressed; decompress it '
                                'first (the official evaluator reads plain CSV)')


def _encoding_error(path: str, what: str) -> AVAInputError:
    """The error for a file that is not UTF-8 text, naming its first such line."""
    with open(path, 'rb') as f:
        for lineno, line in enumerate(f, 1):
            try:
                line.decode('utf-8')
            except UnicodeDecodeError as err:
                return AVAInputError(f'{path}, line {lineno}: not UTF-8 text ({err.reason}); '
                                     f'the {what} file must be a UTF-8 CSV')
    return AVAInputError(f'{path}: not UTF-8 text; the {what} file must be a UTF-8 CSV')


def _first_row_width(path: str) -> Optional[int]:
    for _, row in _csv_rows(path):
        return len(row)
    return None


def _diagnose(path: str, ncols: Tuple[int, ...], what: str):
    """Finds the first malformed line of ``path`` and raises an error naming it.

    Columns 2 and 7 (timestamp, action id) must be integers (``int``), 3-6 and 8 (score, or
    a ground truth's person id) numbers (``float``), as the official reader converts them.
    """
    expected = ' or '.join(str(c) for c in ncols)
    int_cols = (1, 6)
    for lineno, row in _csv_rows(path):
        if len(row) not in ncols:
            raise AVAInputError(f'{path}, line {lineno}: expected {expected} columns '
                                f'({what}), got {len(row)}: {",".join(row)!r}')
        for col in range(1, len(row)):
            try:
                (int if col in int_cols else float)(row[col])
            except ValueError:
                kind = 'an integer' if col in int_cols else 'a number'
                raise AVAInputError(f'{path}, line {lineno}, column {col + 1}: expected '
                                    f'{kind}, got {row[col]!r}') from None


_CHUNK = 100_000


def _read_with_csv(path: str, allowed: Tuple[int, ...], layout: str):
    """The general reader: Python's ``csv`` module and ``int``/``float`` of each field, row
    for row as the official ``read_csv``. Returns ``(names, codes, values, width)``: distinct
    ids (str, in order of appearance), (N,) their index per row, (7, N) float64 of columns
    2-8 (1.0 as the 8th of a 7-column row, as the official reader scores it), and the common
    column count (0 if 7- and 8-column rows are mixed)."""
    index: Dict[str, int] = {}
    codes, columns, widths = [], [[] for _ in range(7)], set()
    rows = (row for _, row in _csv_rows(path))
    while True:
        chunk = list(islice(rows, _CHUNK))
        if not chunk:
            break
        lengths = set(map(len, chunk))
        widths |= lengths
        if not lengths <= set(allowed):
            _diagnose(path, allowed, layout)
        if lengths == {7, 8}:
            chunk = [row if len(row) == 8 else row + ['1.0'] for row in chunk]
        fields = list(zip(*chunk))
        del chunk
        try:
            codes.append(np.fromiter((index.setdefault(v, len(index)) for v in fields[0]),
                                     np.int64, len(fields[0])))
            for c in range(1, len(fields)):
                convert = int if c in (1, 6) else float
                columns[c - 1].append(np.fromiter(map(convert, fields[c]), np.float64,
                                                  len(fields[c])))
            if len(fields) == 7:
                columns[6].append(np.ones(len(fields[0])))
        except ValueError:
            _diagnose(path, allowed, layout)
            raise
    if not codes:
        return [], np.zeros(0, np.int64), np.zeros((7, 0)), 0
    values = np.stack([np.concatenate(col) for col in columns])
    width = widths.pop() if len(widths) == 1 else 0
    return list(index), np.concatenate(codes), values, width


def read_ava_csv(path: PathLike, is_gt: bool, strict: bool = False) -> AVATable:
    """Reads an AVA ground-truth (``is_gt``) or detection CSV into a validated table.

    Ground truth has 7 or 8 columns (the 8th is the person id; every row is one instance);
    detections have 8 (the 8th is the score). ``strict``: the earlier checks (module doc).
    """
    what = 'ground truth' if is_gt else 'detection'
    path = _check_file(path, what)
    allowed = (7, 8) if is_gt else (8, )
    layout = 'video_id,timestamp,x1,y1,x2,y2,action_id' + (
        '[,person_id]' if is_gt else ',score')
    _not_gzip(path, what)
    try:
        return _read_table(path, is_gt, strict, allowed, layout)
    except UnicodeDecodeError:
        raise _encoding_error(path, what) from None
    except csv.Error as err:  # e.g. a field over the csv module's size limit: not a CSV
        raise AVAInputError(f'{path}: not a CSV text file ({err})') from None


def _read_table(path: str, is_gt: bool, strict: bool, allowed: Tuple[int, ...],
                layout: str) -> AVATable:
    width = _first_row_width(path)
    if width is None:
        table = AVATable.from_arrays([], [], np.zeros((0, 4)), [], None, is_gt)
        table.source = path
        return table
    if width not in allowed:
        _diagnose(path, allowed, layout)
    parsed = parse_numeric_csv(path, width, (1, 6))
    if parsed is not None:
        raw_names, codes, values = parsed
        names = np.array([v.decode('utf-8') for v in raw_names], dtype=str)
    else:
        # Exact everywhere, slower: quoted numbers, ids longer than 64 characters, exponents,
        # more than 8 characters in a number, spaces, mixed 7- and 8-column rows.
        names, codes, values, width = _read_with_csv(path, (width, ) if strict else allowed,
                                                     layout)
        names = np.array(names, dtype=str)
    n = values.shape[1]
    table = AVATable(
        video_names=names,
        video_codes=codes.reshape(-1).astype(np.int64, copy=False),
        timestamps=values[0].astype(np.int64),
        boxes=values[1:5].T,
        labels=values[5].astype(np.int64),
        scores=(values[6] if values.shape[0] == 7 else np.ones(n)),
        source=path,
        num_columns=width)
    _check_boxes(table, is_gt, strict)
    if is_gt:
        _warn_duplicates(table)
    return table


def _warn_duplicates(table: AVATable) -> None:
    """Counts ground-truth rows equal to an earlier row (keyframe, box, action, person id) in
    an ``AVAEvalWarning``: the official protocol keeps each as a box of its own, which no
    detection can match twice, so every duplicate is a missed ground truth."""
    from .frame_ap import AVAEvalWarning  # frame_ap imports this module
    rows = np.column_stack([table.video_codes, table.timestamps, table.boxes + 0.0,
                            table.labels, table.scores]).astype(np.float64)
    keys = np.ascontiguousarray(rows).view(np.dtype((np.void, rows.itemsize * rows.shape[1])))
    _, first = np.unique(keys.ravel(), return_index=True)
    if len(first) < len(table):
        dup = np.ones(len(table), dtype=bool)
        dup[first] = False
        warnings.warn(f'{table.where(int(np.argmax(dup)))}: {len(table) - len(first)} '
                      'ground-truth rows repeat an earlier row (same keyframe, box, action and '
                      'person id); as in the official evaluator each counts as a box of its own, '
                      'which no detection can match twice', AVAEvalWarning, stacklevel=3)


def _check_boxes(table: AVATable, is_gt: bool, strict: bool = False):
    """Non-finite numbers raise. Default: records the boxes the official evaluator uses as
    given (``table.box_rows``). ``strict``: clips coordinates within ``CLIP_TOLERANCE`` of
    [0, 1] and raises on worse boxes (the earlier checks)."""
    boxes, scores = table.boxes, table.scores
    finite = np.isfinite(boxes).all(axis=1) & np.isfinite(scores)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        raise AVAInputError(f'{table.where(row)}: box and score must be finite numbers, got '
                            f'{boxes[row].tolist()} score {scores[row]}')
    outside = ((boxes < 0) | (boxes > 1)).any(axis=1)
    if not strict:
        kinds = {'outside': outside}
        if is_gt:
            inverted = (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
            kinds['inverted'] = inverted
            kinds['zero_area'] = ~inverted & ((boxes[:, 2] == boxes[:, 0]) |
                                              (boxes[:, 3] == boxes[:, 1]))
        table.box_rows = {k: np.flatnonzero(v) for k, v in kinds.items() if v.any()}
        return
    if outside.any():
        far = ((boxes < -CLIP_TOLERANCE) | (boxes > 1 + CLIP_TOLERANCE)).any(axis=1)
        if far.any():
            row = int(np.flatnonzero(far)[0])
            raise AVAInputError(f'{table.where(row)}: box coordinates must be normalised to '
                                f'[0, 1], got x1,y1,x2,y2 = {boxes[row].tolist()} (strict; '
                                'without it they are used as given, as the official evaluator '
                                'uses them)')
        np.clip(boxes, 0.0, 1.0, out=boxes)
        table.num_clipped = int(outside.sum())
    if is_gt:
        bad = (boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1])
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise AVAInputError(f'{table.where(row)}: ground-truth box needs x2 > x1 and '
                                f'y2 > y1, got x1,y1,x2,y2 = {boxes[row].tolist()} (strict)')


_TXT_LINE = re.compile(r'^\s*(\d+)\s*:\s*(.*?)\s*$')
_PB_ITEM = re.compile(r'item\s*\{(.*?)\}', re.S)
_PB_NAME = re.compile(r'\b(?:display_)?name\s*:\s*"([^"]*)"')
_PB_ID = re.compile(r'\b(?:label_)?id\s*:\s*(-?\d+)')


def read_label_map(path: PathLike) -> Dict[int, str]:
    """Reads a label map: pbtxt ``item { name: "..." id: N }`` or txt ``N: name`` lines.

    Returns ``{action_id: name}`` in file order; raises on malformed or duplicate entries.
    """
    path = _check_file(path, 'label map')
    with open(path, 'r', encoding='utf-8') as f:
        text = f.read()
    label_map: Dict[int, str] = {}

    def add(cid: int, name: str, where: str):
        if cid in label_map:
            raise AVAInputError(f'{where}: duplicate action id {cid} in the label map')
        if cid < 1:
            raise AVAInputError(f'{where}: action ids must be >= 1, got {cid}')
        label_map[cid] = name

    if re.search(r'\bitem\s*\{', text):
        for match in _PB_ITEM.finditer(text):
            line = text.count('\n', 0, match.start()) + 1
            name, cid = _PB_NAME.search(match.group(1)), _PB_ID.search(match.group(1))
            if cid is None:
                raise AVAInputError(f'{path}, line {line}: label map item without an id')
            add(int(cid.group(1)), name.group(1) if name else str(cid.group(1)),
                f'{path}, line {line}')
    else:
        for line_no, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            match = _TXT_LINE.match(line)
            if match is None:
                raise AVAInputError(f'{path}, line {line_no}: expected "id: name" or a pbtxt '
                                    f'item, got {line!r}')
            add(int(match.group(1)), match.group(2), f'{path}, line {line_no}')
    if not label_map:
        raise AVAInputError(f'{path}: the label map has no classes')
    return label_map


def read_exclusions(path: PathLike) -> List[Tuple[str, int]]:
    """Reads the excluded-timestamps CSV (``video_id,timestamp``) into (video, second) pairs."""
    path = _check_file(path, 'excluded timestamps')
    keys = []
    with open(path, 'r', newline='') as f:
        for lineno, row in enumerate(csv.reader(f), 1):
            if not row or not ''.join(row).strip():
                continue
            if len(row) != 2:
                raise AVAInputError(f'{path}, line {lineno}: expected 2 columns '
                                    f'(video_id,timestamp), got {len(row)}: {",".join(row)!r}')
            try:
                keys.append((row[0], int(row[1])))
            except ValueError:
                raise AVAInputError(f'{path}, line {lineno}, column 2: expected an integer '
                                    f'timestamp, got {row[1]!r}') from None
    return keys


def write_ava_csv(path: PathLike, table: AVATable, decimals: int = 3) -> None:
    """Writes a detection table as an AVA result CSV, atomically.

    Boxes and scores get ``decimals`` decimals (3 in the challenge's result files, 4 in
    mmaction2's ``results2csv``); timestamps are written as ``%04d``.
    """
    with atomic_open(path, 'w') as f:
        names = table.video_names[table.video_codes]
        rows = zip(names.tolist(), table.timestamps.tolist(), table.boxes.tolist(),
                   table.labels.tolist(), table.scores.tolist())
        d = int(decimals)
        f.writelines(f'{v},{t:04d},{b[0]:.{d}f},{b[1]:.{d}f},{b[2]:.{d}f},{b[3]:.{d}f},{a},'
                     f'{s:.{d}f}\n' for v, t, b, a, s in rows)


def exclusion_pairs(excluded: Union[None, PathLike, Iterable[Tuple[str, int]]]
                    ) -> List[Tuple[str, int]]:
    """Excluded keyframes from a file path, an iterable of (video, timestamp), or None."""
    if excluded is None:
        return []
    if isinstance(excluded, (str, os.PathLike)):
        return read_exclusions(excluded)
    return [(str(v), int(t)) for v, t in excluded]
