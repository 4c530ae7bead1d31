"""Exact, vectorised AVA frame-mAP (ActivityNet AVA challenge protocol).

Implements the evaluation of ActivityNet's ``Evaluation/get_ava_performance.py`` with the
TensorFlow object-detection code it calls (``per_image_evaluation.
_compute_tp_fp_for_single_class``, ``metrics.compute_precision_recall`` /
``compute_average_precision``): PASCAL VOC all-point AP at IoU 0.5 per class, mean over the
classes that have ground truth. The technical reports this project follows
(e.g. ACAR-Net 2020 Sec. 4 and the SJTU 2019 report Sec. 4) all report
this frame-mAP on AVA v2.2's 60 classes.

Rules, each as in the official code:

* per keyframe and class, detections in order (descending score) are assigned to the
  ground-truth box of largest IoU (``argmax``, taken or not); a detection is a true positive
  if that IoU >= 0.5 and that box was not taken before;
* a class with ground truth and no detection has AP 0 and counts in the mean; a class with
  detections and no ground truth has no AP (``None``) and is left out;
* detections on keyframes without ground truth are false positives (``ignore_empty_frames``
  skips them, as mmaction2's ``ava_eval`` does by default);
* detection boxes with x2 <= x1 or y2 <= y1 are dropped (after the top-50 selection);
* boxes are used as given: coordinates outside [0, 1] enter the IoU unchanged, a ground-truth
  box of zero area counts and is never matched; a ground-truth box with x2 < x1 or y2 < y1
  counts and is never matched where no detection of its class lies on its keyframe, and is
  an error where one does (the official ``np_box_list.BoxList`` raises "Invalid box data"
  there); each kind is counted in one warning naming the first line (``strict=True``: the
  earlier checks, see ``ava_io``);
* ``official=True`` keeps, per keyframe, the 50 (box, class) rows the official reader's
  bounded heap keeps; the default keeps all rows (PySlowFast, MMAction2).

Ties between equal scores decide the AP, and are broken as the official code breaks them:
within a keyframe rows are ordered by descending score, equal scores in the order of the
reader's list (file order; with ``official=True`` the array order of its ``heapq`` heap);
per class the keyframes are concatenated in the order they first appear in the detection
file and ranked with ``np.argsort(scores)[::-1]`` on that float64 array. Ground truth of a
keyframe is ordered the same way by its "score" column (the person id of 8-column files),
which decides ties of the IoU argmax.

Everything is vectorised numpy: rows are put in evaluation order by one stable sort of a
composite (class, keyframe rank, score rank) key; pairs (detection, ground truth of the same
keyframe and class) come from per-(class, keyframe) counts; the greedy assignment reduces to
"the first candidate (IoU >= 0.5) detection, in order, whose argmax is a given box is its
true positive". The only Python loops run over classes, and, with ``official=True``, over the
few keyframes whose order inside the official heap matters (equal scores of one class, or
an IoU argmax tie): there the heap is replayed with ``heapq`` itself.
"""
import dataclasses
import heapq
import os
import warnings
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Tuple, Union

import numpy as np

from .ava_io import (AVAInputError, AVATable, PathLike, _check_boxes, exclusion_pairs,
                     read_ava_csv, read_label_map)

#: The three AVA action groups: (first id, last id) inclusive.
AVA_GROUPS = {
    'person_movement': (1, 14),
    'object_manipulation': (15, 63),
    'person_interaction': (64, 80),
}
OFFICIAL_TOP_K = 50


class AVAEvalWarning(UserWarning):
    """Rows skipped or changed under a documented rule, or a suspicious input."""


@dataclass
class AVAResult:
    """AVA frame-mAP result as plain Python numbers.

    Attributes:
        mAP: mean AP over the label-map classes with ground truth.
        per_class: ``{class_id: AP or None}`` for every label-map class (None: no GT).
        class_names: ``{class_id: name}``.
        groups: ``{group: mean AP of its classes with an AP, or None}`` (see AVA_GROUPS).
        num_gt: ``{class_id: ground-truth instances evaluated}``.
        num_det: ``{class_id: detections evaluated}``.
        skipped: counts of rows skipped or changed, by rule.
        official: whether the official top-50 rule was applied.
    """
    mAP: float
    per_class: Dict[int, Optional[float]]
    class_names: Dict[int, str]
    groups: Dict[str, Optional[float]]
    num_gt: Dict[int, int]
    num_det: Dict[int, int]
    skipped: Dict[str, int] = field(default_factory=dict)
    official: bool = False

    def to_dict(self) -> dict:
        """``{"mAP": float, "per_class": {"<id>": float or None}, "groups": {...}}``."""
        return {
            'mAP': self.mAP,
            'per_class': {str(k): v for k, v in self.per_class.items()},
            'groups': dict(self.groups),
        }

    def table(self) -> str:
        """The per-class AP table followed by the group means and the mAP, as text."""
        width = max([len(n) for n in self.class_names.values()] + [10])
        lines = [f'{"id":>3}  {"action":<{width}}  {"AP":>7}  {"#GT":>7}  {"#det":>8}']
        for cid, ap in self.per_class.items():
            text = 'n/a' if ap is None else f'{100 * ap:.2f}'
            lines.append(f'{cid:>3}  {self.class_names[cid]:<{width}}  {text:>7}  '
                         f'{self.num_gt[cid]:>7}  {self.num_det[cid]:>8}')
        for name, value in self.groups.items():
            text = 'n/a' if value is None else f'{100 * value:.2f}'
            lines.append(f'{name + " mAP":<{width + 5}}  {text:>7}')
        lines.append(f'{"frame-mAP@0.5":<{width + 5}}  {100 * self.mAP:.2f}')
        return '\n'.join(lines)


def _as_table(data, is_gt: bool, strict: bool) -> AVATable:
    if isinstance(data, AVATable):
        if strict and data.box_rows:  # read without strict: check (and clip) a copy
            data = dataclasses.replace(data, boxes=data.boxes.copy(), box_rows={})
            _check_boxes(data, is_gt, strict=True)
        return data
    if isinstance(data, (str, os.PathLike)):
        return read_ava_csv(data, is_gt, strict)
    if isinstance(data, Mapping):
        missing = [k for k in ('video_id', 'timestamp', 'boxes', 'label') if k not in data]
        if missing or (not is_gt and 'score' not in data):
            raise AVAInputError(f'{"ground truth" if is_gt else "detections"}: the dict of '
                                f'arrays lacks {missing or ["score"]} (keys: video_id, '
                                'timestamp, boxes, label, and score or person_id)')
        return AVATable.from_arrays(
            data['video_id'], data['timestamp'], data['boxes'], data['label'],
            data.get('score', data.get('person_id')), is_gt=is_gt, strict=strict)
    raise AVAInputError(f'{"ground truth" if is_gt else "detections"}: expected a CSV path, an '
                        f'AVATable or a dict of arrays, got {type(data).__name__}')


def _as_label_map(label_map) -> Dict[int, str]:
    if isinstance(label_map, (str, os.PathLike)):
        return read_label_map(label_map)
    if isinstance(label_map, Mapping):
        return {int(k): str(v) for k, v in label_map.items()}
    return {int(k): str(k) for k in label_map}


def _replay_heap(rows: np.ndarray, scores: np.ndarray, labels: np.ndarray, boxes: np.ndarray,
                 capacity: int) -> List[int]:
    """Rows in the array order of the official reader's heap (``read_csv``) for one keyframe.

    The heap holds ``(score, action_id, y1, x1, y2, x2)``; ``row`` is appended as the last
    element, which only ever orders rows of identical content (and the newest row last, as
    the official comparisons leave it), so the content at every position is the official one.
    """
    heap: List[tuple] = []
    items = zip(scores.tolist(), labels.tolist(), boxes[:, 1].tolist(), boxes[:, 0].tolist(),
                boxes[:, 3].tolist(), boxes[:, 2].tolist(), rows.tolist())
    for item in items:
        if capacity < 1 or len(heap) < capacity:
            heapq.heappush(heap, item)
        elif item[0] > heap[0][0]:
            heapq.heapreplace(heap, item)
    return [item[-1] for item in heap]


def _top_k_mask(frame: np.ndarray, scores: np.ndarray, labels: np.ndarray, boxes: np.ndarray,
                k: int) -> np.ndarray:
    """Rows the official bounded heap (capacity ``k``, ``read_csv``) keeps, per keyframe.

    For a keyframe with more than ``k`` rows let m be its k-th highest score. The heap keeps
    every row scoring above m and none below. Rows scoring exactly m enter until the first
    time the heap holds k rows scoring >= m (the k-th such row in file order); later ones are
    refused (``score > heap[0][0]`` fails), and each later row scoring above m evicts the
    smallest ``(m, action_id, y1, x1, y2, x2)`` tuple. So of the tied rows among the first k
    rows scoring >= m, the largest tuples survive, as many as the k slots above-m rows leave.
    """
    n = len(frame)
    keep = np.ones(n, dtype=bool)
    if not n:
        return keep
    order = np.lexsort((-scores, frame))
    sf = frame[order]
    starts = np.flatnonzero(np.r_[True, sf[1:] != sf[:-1]])
    counts = np.diff(np.r_[starts, n])
    big = counts > k
    if not big.any():
        return keep
    threshold = np.full(len(starts), -np.inf)
    threshold[big] = scores[order[starts[big] + k - 1]]
    group = np.repeat(np.arange(len(starts)), counts)
    m = np.empty(n)
    m[order] = threshold[group]
    m_frame_group = np.empty(n, dtype=np.int64)
    m_frame_group[order] = group
    keep = scores > m
    at_least = np.flatnonzero(scores >= m)  # file order
    g = m_frame_group[at_least]
    by_group = np.argsort(g, kind='stable')
    gs = g[by_group]
    gstart = np.flatnonzero(np.r_[True, gs[1:] != gs[:-1]])
    rank = np.arange(len(gs)) - np.repeat(gstart, np.diff(np.r_[gstart, len(gs)]))
    first_k = np.zeros(n, dtype=bool)
    first_k[at_least[by_group[rank < k]]] = True
    tied = np.flatnonzero(first_k & (scores == m))
    above = np.bincount(m_frame_group[keep], minlength=len(starts))
    slots = k - above
    # Largest tuples first within each keyframe group.
    b = boxes[tied]
    tg = m_frame_group[tied]
    t_order = np.lexsort((-b[:, 2], -b[:, 3], -b[:, 0], -b[:, 1], -labels[tied], tg))
    tgs = tg[t_order]
    tstart = np.flatnonzero(np.r_[True, tgs[1:] != tgs[:-1]])
    trank = np.arange(len(tgs)) - np.repeat(tstart, np.diff(np.r_[tstart, len(tgs)]))
    keep[tied[t_order[trank < slots[tgs]]]] = True
    return keep


def _iou_pairs(det_boxes: np.ndarray, gt_boxes: np.ndarray) -> np.ndarray:
    """IoU of paired boxes (x1, y1, x2, y2), with the operations of the official
    ``np_box_list_ops.iou`` in the same order (plain areas, no +1), so values match bitwise."""
    dy1, dx1, dy2, dx2 = det_boxes[:, 1], det_boxes[:, 0], det_boxes[:, 3], det_boxes[:, 2]
    gy1, gx1, gy2, gx2 = gt_boxes[:, 1], gt_boxes[:, 0], gt_boxes[:, 3], gt_boxes[:, 2]
    heights = np.maximum(0.0, np.minimum(dy2, gy2) - np.maximum(dy1, gy1))
    widths = np.maximum(0.0, np.minimum(dx2, gx2) - np.maximum(dx1, gx1))
    inter = heights * widths
    union = (dy2 - dy1) * (dx2 - dx1) + (gy2 - gy1) * (gx2 - gx1) - inter
    return inter / union


def average_precision(scores: np.ndarray, tp: np.ndarray, num_gt: int) -> float:
    """VOC all-point AP of one class, as ``metrics.compute_precision_recall`` +
    ``compute_average_precision`` compute it (ranking by ``np.argsort(scores)[::-1]``).

    Args:
        scores: (D,) float64 scores in the official concatenation order.
        tp: (D,) bool true-positive flags.
        num_gt: number of ground-truth instances (> 0).
    """
    if not len(scores):
        return 0.0
    ranked = tp[np.argsort(scores)[::-1]].astype(int)
    cum_tp = np.cumsum(ranked)
    cum_fp = np.cumsum(1 - ranked)
    precision = cum_tp.astype(float) / (cum_tp + cum_fp)
    recall = cum_tp.astype(float) / num_gt
    recall = np.concatenate([[0], recall, [1]])
    precision = np.concatenate([[0], precision, [0]])
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    indices = np.where(recall[1:] != recall[:-1])[0] + 1
    return float(np.sum((recall[indices] - recall[indices - 1]) * precision[indices]))


def _within_frame_rank(frame: np.ndarray, scores: np.ndarray, tie: np.ndarray) -> np.ndarray:
    """Position of each row in its keyframe's list ordered by (-score, tie)."""
    order = np.lexsort((tie, -scores, frame))
    sf = frame[order]
    starts = np.flatnonzero(np.r_[True, sf[1:] != sf[:-1]])
    rank = np.empty(len(frame), dtype=np.int64)
    rank[order] = np.arange(len(frame)) - np.repeat(starts, np.diff(np.r_[starts, len(frame)]))
    return rank


def _runs(keys: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Starts and lengths of the runs of equal consecutive values (files are grouped by
    keyframe, so per-keyframe work is done per run, not per row)."""
    if not len(keys):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    heads = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return heads, np.diff(np.r_[heads, len(keys)])


def _dense(keys: np.ndarray, universe: np.ndarray) -> np.ndarray:
    """Index of each key in the sorted ``universe``, looked up once per run."""
    heads, lengths = _runs(keys)
    return np.repeat(np.searchsorted(universe, keys[heads]), lengths)


def _class_index(labels: np.ndarray, class_ids: np.ndarray) -> np.ndarray:
    """Position of each label in the sorted ``class_ids``; -1 outside the label map."""
    lo, hi = int(class_ids[0]), int(class_ids[-1])
    lut = np.full(hi - lo + 1, -1, dtype=np.int64)
    lut[class_ids - lo] = np.arange(len(class_ids))
    inside = (labels >= lo) & (labels <= hi)
    return np.where(inside, lut[np.clip(labels - lo, 0, hi - lo)], -1)


def _first_appearance_rank(fid: np.ndarray, num_frames: int) -> np.ndarray:
    """(F,) rank of each keyframe by its first row in ``fid`` (file order); unseen: last."""
    heads, _ = _runs(fid)
    uniq, first = np.unique(fid[heads], return_index=True)
    rank = np.full(num_frames, num_frames, dtype=np.int64)
    rank[uniq[np.argsort(heads[first], kind='stable')]] = np.arange(len(uniq))
    return rank


def _descending_score_rank(scores: np.ndarray) -> Tuple[np.ndarray, int]:
    """(N,) int64 rank of each score among the distinct values, 0 for the highest, and the
    number of ranks; equal scores (-0.0 and 0.0 too) share one. Scores that are all exact
    multiples of 10**-k (k = 3, 4: the decimals result files are written with) are ranked
    by their integer numerator, without a search."""
    for k in (3, 4):
        q = np.rint(scores * 10.0**k)
        if len(q) and np.array_equal(q / 10.0**k, scores) and q.max() - q.min() < 2**20:
            top = q.max()
            return (top - q).astype(np.int64), int(top - q.min()) + 1
    distinct = np.unique(scores)
    return len(distinct) - 1 - np.searchsorted(distinct, scores), max(len(distinct), 1)


def _evaluation_order(cls: np.ndarray, frame_rank: np.ndarray, scores: np.ndarray,
                      num_frames: int) -> np.ndarray:
    """Stable order by (class, keyframe rank, descending score): equal scores keep the
    order of the input rows.

    Scores become their descending rank among the distinct values; where (class, keyframe
    rank, score rank, row) fits in 63 bits, the order is one value sort of that packed int64
    (numpy's SIMD sort, about 20x faster here than a stable argsort) with the row, unique,
    in the low bits, so that equal keys keep the row order.
    """
    n = len(scores)
    dense, levels = _descending_score_rank(scores)
    row_bits = max(int(n).bit_length(), 1)
    high = (int(cls.max(initial=0)) + 1) * (num_frames + 1) * levels
    if high.bit_length() + row_bits <= 63:
        key = cls * np.int64(num_frames + 1)
        key += frame_rank
        key *= levels
        key += dense
        del dense
        key <<= row_bits
        key |= np.arange(n, dtype=np.int64)
        key.sort()
        key &= np.int64((1 << row_bits) - 1)
        return key
    return np.lexsort((dense, frame_rank, cls))


def evaluate_ava(gt: Union[PathLike, AVATable, Mapping],
                 detections: Union[PathLike, AVATable, Mapping],
                 label_map: Union[PathLike, Mapping[int, str], Iterable[int]],
                 excluded: Union[None, PathLike, Iterable[Tuple[str, int]]] = None,
                 official: bool = False,
                 ignore_empty_frames: bool = False,
                 iou_threshold: float = 0.5,
                 strict: bool = False) -> AVAResult:
    """AVA frame-mAP of ``detections`` against ``gt`` (see the module docstring for the rules).

    Args:
        gt: ground-truth CSV path, :class:`AVATable`, or dict with keys ``video_id``,
            ``timestamp``, ``boxes`` (N, 4) x1y1x2y2, ``label`` [, ``person_id``].
        detections: detection CSV path, :class:`AVATable`, or dict as above with ``score``.
        label_map: label map path (pbtxt or ``id: name`` txt), ``{id: name}`` or ids.
        excluded: excluded-timestamps CSV path or (video_id, timestamp) pairs.
        official: keep only the 50 rows per keyframe the official script keeps.
        ignore_empty_frames: skip detections on keyframes without ground truth, and
            concatenate keyframes in ground-truth order (mmaction2's ``ava_eval`` default).
        iou_threshold: IoU for a true positive (0.5 in the challenge).
        strict: refuse boxes outside [0, 1] (beyond a 1e-3 tolerance, clipped within it) and
            ground-truth boxes with x2 <= x1 or y2 <= y1, instead of using them as given as
            the official evaluator does.

    Returns:
        :class:`AVAResult`.
    """
    names = _as_label_map(label_map)
    if not names:
        raise AVAInputError('the label map has no classes')
    class_ids = np.array(sorted(names), dtype=np.int64)
    n_cls = len(class_ids)
    gt_t = _as_table(gt, True, strict)
    det_t = _as_table(detections, False, strict)
    skipped: Dict[str, int] = {}

    def note(key: str, count: int, message: str):
        skipped[key] = int(count)
        if count:
            warnings.warn(message.format(count), AVAEvalWarning, stacklevel=3)

    def note_rows(key: str, table: AVATable, rows, message: str):
        """Counts ``rows`` of ``table`` in one warning naming the first one's line."""
        rows = np.asarray(rows if rows is not None else [], dtype=np.int64)
        skipped[key] = len(rows)
        if len(rows):
            warnings.warn(f'{table.where(int(rows.min()))}: {message.format(len(rows))}',
                          AVAEvalWarning, stacklevel=3)

    for table, who, key in ((gt_t, 'ground-truth', 'gt'), (det_t, 'detection', 'det')):
        note_rows(f'{key}_outside_unit_box', table, table.box_rows.get('outside'),
                  f'{{}} {who} rows have box coordinates outside [0, 1]; they are used as '
                  'given, as the official evaluator uses them (strict=True refuses them)')
    note_rows('gt_zero_area', gt_t, gt_t.box_rows.get('zero_area'),
              '{} ground-truth boxes have zero area (x2 == x1 or y2 == y1); as in the official '
              'evaluator each counts as a ground truth no detection matches')

    note('gt_clipped', gt_t.num_clipped,
         f'{gt_t.source}: {{}} ground-truth rows had coordinates outside [0, 1] by less than '
         'the tolerance and were clipped')
    note('det_clipped', det_t.num_clipped,
         f'{det_t.source}: {{}} detection rows had coordinates outside [0, 1] by less than '
         'the tolerance and were clipped')

    # Keyframes: (video, timestamp) -> int64 key -> dense id in [0, F).
    videos = np.union1d(gt_t.video_names, det_t.video_names)
    t0 = int(min(gt_t.timestamps.min(initial=0), det_t.timestamps.min(initial=0)))
    span = int(max(gt_t.timestamps.max(initial=0), det_t.timestamps.max(initial=0))) - t0 + 1
    g_key = (np.searchsorted(videos, gt_t.video_names)[gt_t.video_codes] * span +
             (gt_t.timestamps - t0))
    d_key = (np.searchsorted(videos, det_t.video_names)[det_t.video_codes] * span +
             (det_t.timestamps - t0))
    g_heads, _ = _runs(g_key)
    d_heads, _ = _runs(d_key)
    frames = np.unique(np.r_[g_key[g_heads], d_key[d_heads]])
    n_frames = len(frames)
    g_fid = _dense(g_key, frames)
    d_fid = _dense(d_key, frames)
    del g_key, d_key
    excluded_frame = np.zeros(n_frames, dtype=bool)
    for video, ts in exclusion_pairs(excluded):
        pos = np.searchsorted(videos, video)
        if pos < len(videos) and videos[pos] == video:
            i = np.searchsorted(frames, pos * span + (ts - t0))
            if i < n_frames and frames[i] == pos * span + (ts - t0):
                excluded_frame[i] = True

    # Ground truth: label-map classes, not excluded.
    g_cls = _class_index(gt_t.labels, class_ids)
    g_in = g_cls >= 0
    note('gt_outside_label_map', (~g_in).sum(),
         f'{gt_t.source}: {{}} ground-truth rows have action ids outside the label map and '
         'are skipped (as the official evaluator does)')
    g_excl = g_in & excluded_frame[g_fid]
    skipped['gt_excluded'] = int(g_excl.sum())
    g_rows = np.flatnonzero(g_in & ~g_excl)
    if not len(g_rows):
        raise AVAInputError(f'{gt_t.source}: no ground-truth rows of the label-map classes '
                            '(after exclusions); the mAP is undefined')
    g_fid, g_cls = g_fid[g_rows], g_cls[g_rows]
    gt_frame = np.zeros(n_frames, dtype=bool)
    gt_frame[g_fid] = True

    # Detections: label-map classes, [top-50], not excluded, valid boxes, [on GT keyframes].
    d_cls = _class_index(det_t.labels, class_ids)
    d_in = d_cls >= 0
    n_out = int((~d_in).sum())
    note('det_outside_label_map', n_out,
         f'{det_t.source}: {{}} detection rows have action ids outside the label map and '
         'are skipped (as the official evaluator does)')
    keep = d_in.copy()
    if official:
        in_rows = np.flatnonzero(d_in) if n_out else slice(None)
        top = _top_k_mask(d_fid[in_rows], det_t.scores[in_rows], det_t.labels[in_rows],
                          det_t.boxes[in_rows], OFFICIAL_TOP_K)
        skipped['det_beyond_top50'] = int((~top).sum())
        keep[in_rows] = top
    d_excl = keep & excluded_frame[d_fid]
    skipped['det_excluded'] = int(d_excl.sum())
    keep &= ~d_excl
    b = det_t.boxes
    degenerate = keep & ((b[:, 2] <= b[:, 0]) | (b[:, 3] <= b[:, 1]))
    note_rows('det_degenerate', det_t, np.flatnonzero(degenerate),
              '{} detection boxes have x2 <= x1 or y2 <= y1 and are dropped (as the official '
              'evaluator does)')
    keep &= ~degenerate
    on_gt = gt_frame[d_fid]
    if ignore_empty_frames:
        skipped['det_on_frames_without_gt'] = int((keep & ~on_gt).sum())
        keep &= on_gt
    if len(det_t) == 0:
        warnings.warn(f'{det_t.source}: the detection file is empty: every AP is 0',
                      AVAEvalWarning, stacklevel=2)
    elif not (keep & on_gt).any():
        warnings.warn(f'{det_t.source}: no detection lies on a ground-truth keyframe of '
                      f'{gt_t.source} (check video ids and timestamps): every AP is 0',
                      AVAEvalWarning, stacklevel=2)

    # Keyframe order of the per-class concatenation: first appearance in the detection file
    # (the official reader's dict), or in the ground truth with ignore_empty_frames.
    if ignore_empty_frames:
        frame_rank = _first_appearance_rank(g_fid, n_frames)
    else:
        frame_rank = _first_appearance_rank(d_fid[d_in] if n_out else d_fid, n_frames)

    rows = np.flatnonzero(keep)
    del keep, on_gt, degenerate, d_excl, d_in
    fid, cls, score = d_fid[rows], d_cls[rows], det_t.scores[rows]
    _check_inverted_gt(gt_t, g_rows, g_fid, g_cls, fid, cls, n_frames, class_ids)
    note_rows('gt_inverted', gt_t, gt_t.box_rows.get('inverted'),
              '{} ground-truth boxes have x2 < x1 or y2 < y1; no detection of their action lies '
              'on their keyframe, so each counts as a missed ground truth, as in the official '
              'evaluator (which stops on such a box where one does)')
    order = _evaluation_order(cls, frame_rank[fid], score, n_frames)
    if official:
        f, c, sc = fid[order], cls[order], score[order]
        tie = _official_det_order(rows[order], f, c, sc, d_cls, d_fid, det_t)
        if tie is not None:  # re-order runs of equal (class, keyframe, score) by the heap
            run = np.cumsum(np.r_[True, (f[1:] != f[:-1]) | (c[1:] != c[:-1]) |
                                  (sc[1:] != sc[:-1])])
            order = order[np.lexsort((tie, run))]
        del f, c, sc
    rows, fid, cls, score = rows[order], fid[order], cls[order], score[order]
    del order

    # Ground truth of each keyframe in the reader's order: by descending "score" (person id),
    # equal ones in file order; officially in heap order where an argmax tie needs it.
    g_pos = _within_frame_rank(g_fid, gt_t.scores[g_rows], np.arange(len(g_rows)))
    g_group = g_cls * n_frames + g_fid
    d_group = cls * np.int64(n_frames)
    d_group += fid
    g_boxes = gt_t.boxes[g_rows]
    tp, ties = _true_positives(d_group, rows, det_t.boxes, g_group, g_pos, g_boxes,
                               n_cls * n_frames, iou_threshold)
    if official and ties.any():
        g_pos = _official_gt_positions(np.unique(fid[ties]), g_fid, g_rows, g_pos, gt_t)
        tp, _ = _true_positives(d_group, rows, det_t.boxes, g_group, g_pos, g_boxes,
                                n_cls * n_frames, iou_threshold)

    num_gt = np.bincount(g_cls, minlength=n_cls)
    num_det = np.bincount(cls, minlength=n_cls)
    bounds = np.r_[0, np.cumsum(num_det)]
    per_class: Dict[int, Optional[float]] = {}
    for c, cid in enumerate(class_ids.tolist()):
        if num_gt[c] == 0:
            per_class[cid] = None
            continue
        sl = slice(bounds[c], bounds[c + 1])
        per_class[cid] = average_precision(score[sl], tp[sl], int(num_gt[c]))
    valid = [v for v in per_class.values() if v is not None]
    groups = {}
    for group, (lo, hi) in AVA_GROUPS.items():
        values = [v for k, v in per_class.items() if lo <= k <= hi and v is not None]
        groups[group] = float(np.mean(values)) if values else None
    return AVAResult(
        mAP=float(np.mean(valid)),
        per_class=per_class,
        class_names={int(k): names[int(k)] for k in class_ids.tolist()},
        groups=groups,
        num_gt={int(k): int(v) for k, v in zip(class_ids, num_gt)},
        num_det={int(k): int(v) for k, v in zip(class_ids, num_det)},
        skipped=skipped,
        official=official)


def _check_inverted_gt(gt_t, g_rows, g_fid, g_cls, d_fid, d_cls, n_frames, class_ids):
    """Raises where the official evaluator raises: on an evaluated ground-truth box with
    x2 < x1 or y2 < y1 whose (class, keyframe) has a kept detection (the official per-class
    matching builds a ``BoxList`` of that class's boxes, which refuses it)."""
    inverted = gt_t.box_rows.get('inverted')
    if inverted is None:
        return
    sel = np.flatnonzero(np.isin(g_rows, inverted))
    if not len(sel):
        return
    hit = np.isin(g_cls[sel] * np.int64(n_frames) + g_fid[sel],
                  d_cls * np.int64(n_frames) + d_fid)
    if hit.any():
        i = sel[np.flatnonzero(hit)[0]]
        row = int(g_rows[i])
        raise AVAInputError(
            f'{gt_t.where(row)}: ground-truth box x1,y1,x2,y2 = {gt_t.boxes[row].tolist()} has '
            f'x2 < x1 or y2 < y1 and detections of action {int(class_ids[g_cls[i]])} lie on '
            'its keyframe, where the official evaluator stops ("Invalid box data"); fix the box')


def _true_positives(d_group, d_rows, det_boxes, g_group, g_pos, g_boxes, n_groups, threshold):
    """TP flags of detections (in evaluation order; ``det_boxes[d_rows]`` their boxes) by the
    official greedy rule.

    Returns ``(tp, ties)``: ``ties`` marks detections whose IoU argmax (>= threshold) is
    shared by several ground-truth boxes, where the keyframe's ground-truth order decides.
    """
    g_order = np.lexsort((g_pos, g_group))
    gs = g_group[g_order]
    if n_groups <= 50_000_000:
        per_group = np.bincount(gs, minlength=n_groups)
        starts = np.cumsum(per_group) - per_group
        lo, counts = starts[d_group], per_group[d_group]
    else:
        lo = np.searchsorted(gs, d_group, side='left')
        counts = np.searchsorted(gs, d_group, side='right') - lo
    nd = len(d_group)
    tp = np.zeros(nd, dtype=bool)
    ties = np.zeros(nd, dtype=bool)
    has = np.flatnonzero(counts)
    if not len(has):
        return tp, ties
    c = counts[has]
    offsets = np.r_[0, np.cumsum(c)[:-1]]
    pair_det = np.repeat(has, c)
    pair_gt = g_order[np.repeat(lo[has] - offsets, c) + np.arange(int(c.sum()))]
    iou = _iou_pairs(det_boxes[d_rows[pair_det]], g_boxes[pair_gt])
    best = np.maximum.reduceat(iou, offsets)
    is_best = iou == np.repeat(best, c)
    # argmax: the first box in the keyframe's order among those reaching the maximum.
    big = np.int64(len(g_pos) + 1)
    key = np.where(is_best, g_pos[pair_gt] * big + pair_gt, np.iinfo(np.int64).max)
    chosen = np.minimum.reduceat(key, offsets) % big
    candidate = best >= threshold
    ties[has] = candidate & (np.add.reduceat(is_best.astype(np.int64), offsets) > 1)
    cand = np.flatnonzero(candidate)
    _, first = np.unique(chosen[cand], return_index=True)
    tp[has[cand[first]]] = True
    return tp, ties


def _official_det_order(rows, fid, cls, score, all_cls, all_fid, det_t) -> Optional[np.ndarray]:
    """Tie-break key (per kept row, in the given evaluation order) from the official heap's
    array order, for the keyframes where two kept rows of one class have equal scores (rows
    given sorted by class, keyframe, descending score); None if there is no such keyframe."""
    same = (fid[1:] == fid[:-1]) & (cls[1:] == cls[:-1]) & (score[1:] == score[:-1])
    flagged = np.unique(fid[1:][same])
    if not len(flagged):
        return None
    tie = rows.copy()  # file order elsewhere
    position = np.full(len(det_t), -1, dtype=np.int64)
    position[rows] = np.arange(len(rows))
    cand = np.flatnonzero((all_cls >= 0) & np.isin(all_fid, flagged))
    cand = cand[np.argsort(all_fid[cand], kind='stable')]
    offset = len(det_t)
    for frame_rows in np.split(cand, np.flatnonzero(np.diff(all_fid[cand])) + 1):
        heap_rows = np.asarray(
            _replay_heap(frame_rows, det_t.scores[frame_rows], det_t.labels[frame_rows],
                         det_t.boxes[frame_rows], OFFICIAL_TOP_K), dtype=np.int64)
        heap_rows = heap_rows[position[heap_rows] >= 0]
        tie[position[heap_rows]] = offset + np.arange(len(heap_rows))
        offset += len(heap_rows)
    return tie


def _official_gt_positions(flagged, g_fid, g_rows, g_pos, gt_t) -> np.ndarray:
    """Ground-truth positions from the official heap's array order in the ``flagged``
    keyframes, where an IoU argmax tie makes that order matter."""
    pos = g_pos.copy()
    sel = np.flatnonzero(np.isin(g_fid, flagged))
    sel = sel[np.argsort(g_fid[sel], kind='stable')]
    for idx in np.split(sel, np.flatnonzero(np.diff(g_fid[sel])) + 1):
        src = g_rows[idx]
        heap_rows = np.asarray(
            _replay_heap(idx, gt_t.scores[src], gt_t.labels[src], gt_t.boxes[src], 0),
            dtype=np.int64)
        heap_pos = np.empty(len(g_rows), dtype=np.int64)
        heap_pos[heap_rows] = np.arange(len(heap_rows))
        local = np.lexsort((heap_pos[idx], -gt_t.scores[src]))
        pos[idx[local]] = np.arange(len(idx))
    return pos
