"""Tests of the vectorised AVA frame-mAP evaluator (ava_eval.frame_ap).

References: (1) an independent loop-based implementation of the official rules (below:
ActivityNet ``get_ava_performance.py`` + the TF object-detection per-image evaluation and
metrics), compared exactly, ties, the top-50 heap, boxes outside [0, 1] or of zero area and
the CSV dialect (quoting, long ids) included; (2) mmaction2's ``ava_eval`` on every case
where it is right (the fixture and randomised tie-free cases); (3) hand-worked tiny cases;
(4) explicit tests of the cases where mmaction2 is wrong.
"""
import csv
import heapq
import os.path as osp
import warnings
from collections import defaultdict

import numpy as np
import pytest

from ava_eval import AVAEvalWarning, AVAInputError, evaluate_ava
from ava_eval.frame_ap import _replay_heap, _top_k_mask

from third_party_data import EVAL_DIR
# mmaction2's ava_eval averages empty AVA groups (np.nanmean of []).
pytestmark = pytest.mark.filterwarnings('ignore:Mean of empty slice:RuntimeWarning')

def _read(rows, whitelist, capacity):
    entries = {}
    for row in rows:
        key = (row[0], int(row[1]))
        x1, y1, x2, y2 = (float(v) for v in row[2:6])
        label = int(row[6])
        if label not in whitelist:
            continue
        score = float(row[7]) if len(row) == 8 else 1.0
        item = (score, label, y1, x1, y2, x2)
        heap = entries.setdefault(key, [])
        if capacity < 1 or len(heap) < capacity:
            heapq.heappush(heap, item)
        elif score > heap[0][0]:
            heapq.heapreplace(heap, item)
    return {key: sorted(items, key=lambda t: -t[0]) for key, items in entries.items()}


def _read_in_file_order(rows, whitelist):
    """mmaction2's reader: no heap, a stable sort of the file order by descending score."""
    entries = {}
    for row in rows:
        label = int(row[6])
        if label not in whitelist:
            continue
        score = float(row[7]) if len(row) == 8 else 1.0
        x1, y1, x2, y2 = (float(v) for v in row[2:6])
        entries.setdefault((row[0], int(row[1])), []).append((score, label, y1, x1, y2, x2))
    return {key: sorted(items, key=lambda t: -t[0]) for key, items in entries.items()}


def _iou(a, b):
    """IoU of two (…, y1, x1, y2, x2) items, with the official operation order."""
    h = max(0.0, min(a[4], b[4]) - max(a[2], b[2]))
    w = max(0.0, min(a[5], b[5]) - max(a[3], b[3]))
    inter = h * w
    area_a = (a[4] - a[2]) * (a[5] - a[3])
    area_b = (b[4] - b[2]) * (b[5] - b[3])
    return inter / (area_a + area_b - inter)


def _ap(scores, tps, num_gt):
    if not scores:
        return 0.0
    order = np.argsort(np.array(scores, dtype=float))[::-1]
    labels = np.array(tps, dtype=int)[order]
    precision, recall = [], []
    tp = fp = 0
    for lab in labels:
        tp += lab
        fp += 1 - lab
        precision.append(tp / (tp + fp))
        recall.append(tp / num_gt)
    recall = [0.0] + recall + [1.0]
    precision = [0.0] + precision + [0.0]
    for i in range(len(precision) - 2, -1, -1):
        precision[i] = max(precision[i], precision[i + 1])
    total = []
    for i in range(1, len(recall)):
        if recall[i] != recall[i - 1]:
            total.append((recall[i] - recall[i - 1]) * precision[i])
    return float(np.sum(np.array(total)))


def reference_ava(gt_rows, det_rows, class_ids, excluded=(), official=False,
                  ignore_empty_frames=False):
    """Per-class AP ``{id: AP or None}`` and mAP by the official rules, one row at a time.

    ``official=False`` reads as mmaction2 does (all rows, file order for equal scores);
    ``official=True`` as the challenge script (heap of 50 per keyframe).
    """
    whitelist = set(class_ids)
    if official:
        gt = _read(gt_rows, whitelist, 0)
        det = _read(det_rows, whitelist, 50)
    else:
        gt = _read_in_file_order(gt_rows, whitelist)
        det = _read_in_file_order(det_rows, whitelist)
    excluded = {(v, int(t)) for v, t in excluded}
    num_gt = defaultdict(int)
    for key, items in gt.items():
        if key not in excluded:
            for item in items:
                num_gt[item[1]] += 1
    scores, tps = defaultdict(list), defaultdict(list)
    frames = gt.keys() if ignore_empty_frames else det.keys()
    for key in frames:
        if key in excluded:
            continue
        dets = [d for d in det.get(key, []) if d[2] < d[4] and d[3] < d[5]]
        gts = gt.get(key, [])
        for c in sorted({d[1] for d in dets}):
            class_gts = [g for g in gts if g[1] == c]
            if any(g[2] > g[4] or g[3] > g[5] for g in class_gts):
                raise ValueError('Invalid box data')  # np_box_list.BoxList of the class's GT
            taken = [False] * len(class_gts)
            for d in (d for d in dets if d[1] == c):
                best, best_j = -1.0, -1
                for j, g in enumerate(class_gts):
                    overlap = _iou(d, g)
                    if overlap > best:
                        best, best_j = overlap, j
                is_tp = best_j >= 0 and best >= 0.5 and not taken[best_j]
                if is_tp:
                    taken[best_j] = True
                scores[c].append(d[0])
                tps[c].append(is_tp)
    per_class = {}
    for c in sorted(whitelist):
        per_class[c] = _ap(scores[c], tps[c], num_gt[c]) if num_gt[c] else None
    valid = [v for v in per_class.values() if v is not None]
    return per_class, float(np.mean(valid))


def random_case(seed, n_frames=25, class_ids=(1, 2, 3, 5, 8), grid=0.05, score_levels=None,
                dets_per_frame=(5, 90), outside_ids=(99, ), degenerate=0.03, only_det_frames=4,
                with_person_id=True, wild=False):
    """Random GT / detection rows on a coarse box grid, so that equal scores, equal IoUs,
    IoU exactly 0.5, duplicate boxes and the top-50 boundary all occur. ``wild``: boxes also
    reach outside [0, 1] (x2 = 1.024 and the like, in GT and detections) and some GT boxes
    have zero area."""
    rng = np.random.default_rng(seed)
    videos = ['vidA', 'vid_B', '-Cc0']
    frames = list(dict.fromkeys(
        (videos[rng.integers(3)], int(rng.integers(900, 960))) for _ in range(n_frames)))

    def box():
        x1, y1 = rng.integers(0, int(0.6 / grid), 2) * grid
        w, h = rng.integers(2, int(0.4 / grid) + 1, 2) * grid
        return [round(x1, 4), round(y1, 4), round(min(x1 + w, 1.0), 4),
                round(min(y1 + h, 1.0), 4)]

    def wild_box():
        b = box()
        if rng.random() < 0.3:  # past the right or bottom edge, or before the left edge
            b[2 + rng.integers(2)] = 1.024 + rng.integers(0, 3) * grid / 2
        if rng.random() < 0.15:
            b[rng.integers(2)] = -0.01 - rng.integers(0, 2) * grid / 2
        if rng.random() < 0.08:  # zero width or height
            k = rng.integers(2)
            b[k + 2] = b[k]
        return [round(v, 4) for v in b]

    gt, det, persons = [], [], {}
    for f in frames:
        ps = [(wild_box() if wild else box()) for _ in range(rng.integers(1, 4))]
        if rng.random() < 0.2:
            ps.append(list(ps[0]))
        persons[f] = ps
        for pid, b in enumerate(ps):
            for c in rng.choice(list(class_ids) + list(outside_ids), rng.integers(1, 3),
                                replace=False):
                gt.append([f[0], '%04d' % f[1], *b, int(c)] + ([pid] if with_person_id else []))
    extra = [(videos[rng.integers(3)], int(rng.integers(961, 990)))
             for _ in range(only_det_frames)]
    for f in frames + extra:
        ps = persons.get(f) or [box() for _ in range(2)]
        for _ in range(rng.integers(*dets_per_frame)):
            b = list(ps[rng.integers(len(ps))])
            lo, hi = (-0.05, 1.05) if wild else (0.0, 1.0)
            b = [round(min(max(v + rng.integers(-2, 3) * grid / 2, lo), hi), 4) for v in b]
            if rng.random() < degenerate:
                b[2] = b[0]
            c = int(rng.choice(list(class_ids) + list(outside_ids)))
            s = (float(rng.choice(score_levels)) if score_levels is not None else
                 round(float(rng.random()), 3))
            det.append([f[0], str(f[1]), *b, c, s])
    # Keyframes slightly interleaved, as concatenated result files may be.
    order = np.argsort(np.arange(len(det)) + rng.integers(0, 8, len(det)), kind='stable')
    det = [det[i] for i in order]
    return gt, det, frames, extra


def write_rows(path, rows):
    with open(path, 'w') as f:
        for r in rows:
            f.write(','.join(str(v) for v in r) + '\n')
    return str(path)


def read_rows(path):
    """The rows as the official reader sees them: Python's csv module."""
    with open(path, newline='') as f:
        return [row for row in csv.reader(f) if row]


CASES = [(seed, levels, grid) for seed in range(6)
         for levels, grid in (((None, 0.05)), ((0.1, 0.2, 0.3, 0.5, 0.9), 0.125))]


@pytest.mark.parametrize('seed,levels,grid', CASES)
def test_equals_official_reference_with_ties(tmp_path, seed, levels, grid):
    """Exact equality (==) with the loop reference in every mode, ties and top-50 included."""
    ids = (1, 2, 3, 5, 8)
    gt, det, frames, extra = random_case(seed, score_levels=levels, grid=grid,
                                         with_person_id=seed % 2 == 0)
    gt_csv = write_rows(tmp_path / 'gt.csv', gt)
    det_csv = write_rows(tmp_path / 'det.csv', det)
    gt_rows, det_rows = read_rows(gt_csv), read_rows(det_csv)
    excluded = [frames[0], extra[0]]
    label_map = {i: f'a{i}' for i in ids}
    for official in (False, True):
        for ignore in (False, True):
            ref, ref_map = reference_ava(gt_rows, det_rows, ids, excluded, official, ignore)
            with warnings.catch_warnings():
                warnings.simplefilter('ignore', AVAEvalWarning)
                res = evaluate_ava(gt_csv, det_csv, label_map, excluded, official, ignore)
            assert res.per_class == ref, (official, ignore)
            assert res.mAP == ref_map


def test_ties_and_heap_order_matter(tmp_path):
    """The data above has ties that the order rules decide: breaking ties in plain file order
    in official mode gives different APs, so the exact equality above is meaningful."""
    ids = (1, 2, 3, 5, 8)
    gt, det, _, _ = random_case(19, score_levels=(0.1, 0.2, 0.3, 0.5, 0.9), grid=0.125)
    gt_rows, det_rows = read_rows(write_rows(tmp_path / 'g.csv', gt)), read_rows(
        write_rows(tmp_path / 'd.csv', det))
    official, _ = reference_ava(gt_rows, det_rows, ids, official=True)
    # The same top-50 rows, but equal scores in file order instead of heap order.
    whitelist = set(ids)
    kept = {k: v for k, v in _read(det_rows, whitelist, 50).items()}
    rows_in_file_order = [r for r in det_rows if int(r[6]) in whitelist and any(
        (float(r[7]), int(r[6]), float(r[3]), float(r[2]), float(r[5]), float(r[4])) == t
        for t in kept.get((r[0], int(r[1])), []))]
    file_order, _ = reference_ava(gt_rows, rows_in_file_order, ids, official=False)
    assert official != file_order


WILD = [(seed, levels) for seed in range(4) for levels in (None, (0.1, 0.3, 0.5, 0.9))]


@pytest.mark.parametrize('seed,levels', WILD)
def test_boxes_as_given_equal_official_reference(tmp_path, seed, levels):
    """Boxes outside [0, 1] (x2 = 1.024, x1 = -0.01, ...) and zero-area ground truth are
    scored as the official evaluator scores them: APs equal to the reference to 1e-9 in every
    mode; each kind is counted in one warning naming the file and first line."""
    ids = (1, 2, 3, 5, 8)
    gt, det, frames, extra = random_case(seed, score_levels=levels, wild=True)
    gt_csv = write_rows(tmp_path / 'gt.csv', gt)
    det_csv = write_rows(tmp_path / 'det.csv', det)
    gt_rows, det_rows = read_rows(gt_csv), read_rows(det_csv)
    assert any(float(v) > 1 or float(v) < 0 for r in gt_rows for v in r[2:6])
    assert any(float(r[2]) == float(r[4]) or float(r[3]) == float(r[5]) for r in gt_rows)
    excluded = [frames[0], extra[0]]
    label_map = {i: f'a{i}' for i in ids}
    for official in (False, True):
        for ignore in (False, True):
            ref, ref_map = reference_ava(gt_rows, det_rows, ids, excluded, official, ignore)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter('always', AVAEvalWarning)
                res = evaluate_ava(gt_csv, det_csv, label_map, excluded, official, ignore)
            assert res.per_class.keys() == ref.keys()
            for c, value in ref.items():
                assert (value is None) == (res.per_class[c] is None)
                assert value is None or abs(res.per_class[c] - value) <= 1e-9, (c, official)
            assert abs(res.mAP - ref_map) <= 1e-9
            text = [str(w.message) for w in caught]
            first_gt = 1 + next(i for i, r in enumerate(gt_rows)
                                if any(float(v) < 0 or float(v) > 1 for v in r[2:6]))
            assert any(t.startswith(f'{gt_csv}, line {first_gt}: ') and
                       'ground-truth rows have box coordinates outside [0, 1]' in t
                       for t in text), text
            assert any('ground-truth boxes have zero area' in t for t in text)
            assert any('detection rows have box coordinates outside [0, 1]' in t for t in text)
    with pytest.raises(AVAInputError, match=r'gt\.csv, line \d+: box coordinates must be norm'):
        evaluate_ava(gt_csv, det_csv, label_map, strict=True)


def test_inverted_ground_truth_box_as_official(tmp_path):
    """A GT box with x2 < x1 counts as a missed GT where no detection of its class is on its
    keyframe (the official evaluator never builds its box list there) and is an error naming
    the line where one is (the official ``BoxList`` raises)."""
    a, inv = [0.1, 0.1, 0.4, 0.4], [0.6, 0.1, 0.5, 0.4]
    gt_rows = [['v', '1000', *a, 1, 0], ['v', '1000', *inv, 2, 1]]
    gt = write_rows(tmp_path / 'gt.csv', gt_rows)
    det_ok = write_rows(tmp_path / 'd1.csv', [['v', '1000', *a, 1, 0.9],
                                              ['w', '1000', *a, 2, 0.5]])
    ref, ref_map = reference_ava(read_rows(gt), read_rows(det_ok), [1, 2])
    with pytest.warns(AVAEvalWarning, match=r'gt\.csv, line 2: 1 ground-truth boxes have x2 < x1'):
        res = evaluate_ava(gt, det_ok, [1, 2])
    assert res.per_class == ref == {1: 1.0, 2: 0.0} and res.mAP == ref_map
    det_bad = write_rows(tmp_path / 'd2.csv', [['v', '1000', *a, 2, 0.9]])
    with pytest.raises(ValueError, match='Invalid box data'):
        reference_ava(read_rows(gt), read_rows(det_bad), [1, 2])
    with pytest.raises(AVAInputError, match=r'gt\.csv, line 2: ground-truth box .* detections '
                       'of action 2 lie on its keyframe'):
        evaluate_ava(gt, det_bad, [1, 2])
    with pytest.raises(AVAInputError, match=r'gt\.csv, line 2: ground-truth box needs x2 > x1'):
        evaluate_ava(gt, det_ok, [1, 2], strict=True)


def _typed(row):
    """A detection row as pandas holds it (numbers as numbers) for csv.writer."""
    return [row[0], int(row[1]), *(float(v) for v in row[2:6]), int(row[6]), float(row[7])]


@pytest.mark.parametrize('dialect', ['nonnumeric', 'all', 'comma_ids', 'long_ids'])
def test_csv_dialects_give_the_official_result(tmp_path, dialect):
    """Quoted ids (pandas' QUOTE_NONNUMERIC), every field quoted (QUOTE_ALL), quoted ids with
    a comma, and ids longer than 128 characters sharing their first 128: read as Python's csv
    module reads them (the official reader), scored as the official reference scores them."""
    ids = (1, 2, 3, 5, 8)
    gt, det, frames, _ = random_case(7)
    rename = {'comma_ids': {'vidA': 'vid,A', 'vid_B': 'vid,B', '-Cc0': '-Cc0'},
              'long_ids': {v: 'p' * 128 + v for v in ('vidA', 'vid_B', '-Cc0')}}.get(
                  dialect, {})
    gt = [[rename.get(r[0], r[0])] + r[1:] for r in gt]
    det = [[rename.get(r[0], r[0])] + r[1:] for r in det]
    quoting = {'nonnumeric': csv.QUOTE_NONNUMERIC, 'all': csv.QUOTE_ALL}.get(
        dialect, csv.QUOTE_MINIMAL)
    gt_csv, det_csv = str(tmp_path / 'gt.csv'), str(tmp_path / 'det.csv')
    with open(gt_csv, 'w', newline='') as f:
        csv.writer(f, lineterminator='\n').writerows(gt)
    with open(det_csv, 'w', newline='') as f:
        csv.writer(f, quoting=quoting, lineterminator='\n').writerows(_typed(r) for r in det)
    plain = write_rows(tmp_path / 'plain.csv', det)
    gt_rows, det_rows = read_rows(gt_csv), read_rows(det_csv)
    assert len({r[0] for r in det_rows}) == 3
    excluded = [(rename.get(frames[0][0], frames[0][0]), frames[0][1])]
    for official in (False, True):
        ref, ref_map = reference_ava(gt_rows, det_rows, ids, excluded, official)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', AVAEvalWarning)
            res = evaluate_ava(gt_csv, det_csv, ids, excluded, official)
        assert res.per_class == ref and res.mAP == ref_map and ref_map > 0.1
        if dialect in ('nonnumeric', 'all'):
            with warnings.catch_warnings():
                warnings.simplefilter('ignore', AVAEvalWarning)
                assert evaluate_ava(gt_csv, plain, ids, excluded, official).mAP == ref_map


def test_top_k_mask_matches_heap_replay():
    """The vectorised top-50 selection keeps exactly the rows the official heap keeps."""
    rng = np.random.default_rng(0)
    n = 4000
    frame = rng.integers(0, 30, n)
    scores = rng.choice([0.1, 0.2, 0.3, 0.4], n)
    labels = rng.integers(1, 4, n)
    boxes = rng.integers(0, 3, (n, 4)) / 4.0
    keep = _top_k_mask(frame, scores, labels, boxes, 50)
    for f in range(30):
        rows = np.flatnonzero(frame == f)
        heap = _replay_heap(rows, scores[rows], labels[rows], boxes[rows], 50)

        def content(r):
            return sorted((scores[i], labels[i], *boxes[i]) for i in r)

        assert content(heap) == content(rows[keep[rows]])
    assert keep.sum() == 30 * 50


def _one_frame(tmp_path, gt_boxes, dets, gt_label=1, name='x'):
    gt = [['v', '1000', *b, gt_label, i] for i, b in enumerate(gt_boxes)]
    det = [['v', '1000', *b, c, s] for b, c, s in dets]
    return (write_rows(tmp_path / f'gt_{name}.csv', gt),
            write_rows(tmp_path / f'det_{name}.csv', det))


def test_hand_computed_ap(tmp_path):
    """TP, FP, TP over 2 GT: precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1 -> AP 5/6."""
    a, b = [0.0, 0.0, 0.5, 0.5], [0.5, 0.5, 1.0, 1.0]
    far = [0.0, 0.6, 0.3, 0.9]
    gt, det = _one_frame(tmp_path, [a, b], [(a, 1, 0.9), (far, 1, 0.8), (b, 1, 0.7)])
    res = evaluate_ava(gt, det, {1: 'one', 2: 'two'})
    assert res.per_class[1] == pytest.approx(0.5 * 1 + 0.5 * (2 / 3), abs=1e-12)
    assert res.per_class[2] is None
    assert res.mAP == res.per_class[1]
    assert res.groups['person_movement'] == res.mAP
    assert res.groups['object_manipulation'] is None


def test_greedy_argmax_rule_not_any_free_box(tmp_path):
    """A detection whose best box is taken is a FP even if another free box has IoU >= 0.5
    (the TF rule): AP 0.5 here, where 'match to any free box' would give 1.0."""
    a, b = [0.0, 0.0, 0.5, 0.5], [0.125, 0.0, 0.625, 0.5]
    d2 = [0.03125, 0.0, 0.53125, 0.5]  # IoU 0.882 with a (taken), 0.684 with b
    gt, det = _one_frame(tmp_path, [a, b], [(a, 1, 0.9), (d2, 1, 0.8)])
    res = evaluate_ava(gt, det, [1])
    assert res.per_class[1] == 0.5


def test_iou_exactly_half_is_a_true_positive(tmp_path):
    """IoU >= 0.5 (not >): [0, .5] x [0, 1] vs [0, 1] x [0, 1] -> IoU exactly 0.5."""
    gt, det = _one_frame(tmp_path, [[0.0, 0.0, 1.0, 1.0]], [([0.0, 0.0, 0.5, 1.0], 1, 0.5)])
    assert evaluate_ava(gt, det, [1]).per_class[1] == 1.0


def test_official_ground_truth_order_is_the_heap_order(tmp_path):
    """Two GT boxes tie as the argmax of a detection; a 7-column GT file gives every row the
    score 1.0, so the official reader orders them by its heap: B then A in the file, A first
    in the heap. The first detection takes A officially (the second, which only overlaps B,
    is then a TP) and B in file order (mmaction2; the second is then a FP)."""
    a, b = [0.125, 0.125, 0.5, 0.5], [0.25, 0.125, 0.625, 0.5]
    d1 = [0.1875, 0.125, 0.5625, 0.5]   # IoU 7/9 with a and with b
    d2 = [0.25, 0.125, 0.625, 0.5]      # b itself
    gt = write_rows(tmp_path / 'gt.csv', [['v', '1000', *b, 1], ['v', '1000', *a, 1]])
    det = write_rows(tmp_path / 'det.csv', [['v', '1000', *d1, 1, 0.9], ['v', '1000', *d2, 1,
                                                                          0.8]])
    assert evaluate_ava(gt, det, [1], official=True).per_class[1] == 1.0
    assert evaluate_ava(gt, det, [1]).per_class[1] == 0.5
    ref_official, _ = reference_ava(read_rows(gt), read_rows(det), [1], official=True)
    ref_default, _ = reference_ava(read_rows(gt), read_rows(det), [1], official=False)
    assert ref_official[1] == 1.0 and ref_default[1] == 0.5


def test_top50_drops_rows_beyond_the_heap(tmp_path):
    """51 rows: 50 far FPs at 0.5 and a TP at 0.4. Default keeps it (AP = 1/51); the official
    top-50 drops it (AP 0)."""
    g = [0.1, 0.1, 0.4, 0.4]
    far = [[0.6, 0.6, 0.7 + i * 0.001, 0.9] for i in range(50)]
    dets = [(f, 1, 0.5) for f in far] + [(g, 1, 0.4)]
    gt, det = _one_frame(tmp_path, [g], dets)
    assert evaluate_ava(gt, det, [1]).per_class[1] == pytest.approx(1 / 51, abs=1e-12)
    res = evaluate_ava(gt, det, [1], official=True)
    assert res.per_class[1] == 0.0
    assert res.skipped['det_beyond_top50'] == 1


def test_top50_boundary_ties_follow_the_heap(tmp_path):
    """All 51 rows score 0.5: the heap refuses the 51st (equal, not greater); a later 0.9 row
    evicts the smallest (score, class, y1, x1, y2, x2) tuple among the tied ones."""
    g = [0.1, 0.1, 0.4, 0.4]
    far = [[0.6, 0.6, 0.7 + i * 0.001, 0.9] for i in range(50)]
    gt, det = _one_frame(tmp_path, [g], [(f, 1, 0.5) for f in far] + [(g, 1, 0.5)], name='a')
    assert evaluate_ava(gt, det, [1], official=True).per_class[1] == 0.0
    gt, det = _one_frame(tmp_path, [g], [(g, 1, 0.5)] + [(f, 1, 0.5) for f in far], name='b')
    assert evaluate_ava(gt, det, [1], official=True).per_class[1] > 0.0
    # TP first, then 49 far rows, then a 0.9 row: the TP has the smallest y1 -> evicted.
    dets = [(g, 1, 0.5)] + [(f, 1, 0.5) for f in far[:49]] + [(far[49], 1, 0.9)]
    gt, det = _one_frame(tmp_path, [g], dets, name='c')
    assert evaluate_ava(gt, det, [1], official=True).per_class[1] == 0.0
    assert evaluate_ava(gt, det, [1]).per_class[1] > 0.0
    ref, _ = reference_ava(read_rows(gt), read_rows(det), [1], official=True)
    assert ref[1] == 0.0


# ---- mmaction2's ava_eval: equal where it is right, documented where it is wrong ----------

def _mmaction2_ava_eval(det_csv, label_file, gt_csv, exclude=None, ignore_empty_frames=True):
    from mmaction.evaluation.functional import ava_eval
    return ava_eval(det_csv, 'mAP', label_file, gt_csv, exclude, verbose=False,
                    ignore_empty_frames=ignore_empty_frames)


def _assert_same_as_mmaction2(ours, theirs):
    assert ours.mAP == pytest.approx(theirs['overall'], abs=1e-6)
    for group, value in ours.groups.items():
        if value is None:
            assert np.isnan(theirs[group])
        else:
            assert value == pytest.approx(theirs[group], abs=1e-6)


def test_fixture_equals_mmaction2():
    gt, det = osp.join(EVAL_DIR, 'gt.csv'), osp.join(EVAL_DIR, 'pred.csv')
    labels = osp.join(EVAL_DIR, 'action_list.txt')
    ours = evaluate_ava(gt, det, labels, ignore_empty_frames=True)
    _assert_same_as_mmaction2(ours, _mmaction2_ava_eval(det, labels, gt))
    # mmaction2's own test expects 0.09385522 for this fixture.
    assert ours.mAP == pytest.approx(0.09385522, abs=1e-8)
    assert evaluate_ava(gt, det, labels).mAP == ours.mAP  # every keyframe has GT


@pytest.mark.parametrize('seed', [0])
def test_random_cases_equal_mmaction2(tmp_path, seed):
    """Tie-free random cases (continuous coordinates, distinct scores), every class with GT,
    exclusions only on keyframes without GT, where mmaction2's rules are the official ones."""
    rng = np.random.default_rng(100 + seed)
    ids = [1, 4, 15, 64, 80]
    label_file = tmp_path / 'labels.pbtxt'
    label_file.write_text(''.join(f'item {{\n  name: "a{i}"\n  id: {i}\n}}\n' for i in ids))
    gt, det = [], []
    frames = [(f'vid{v}', 900 + t) for v in range(3) for t in range(12)]
    scores = iter(rng.permutation(40000) / 40000 + 1e-6)
    for v, t in frames:
        people = rng.random((rng.integers(1, 4), 4))
        people = np.c_[np.minimum(people[:, :2], 0.5), np.maximum(people[:, 2:], 0.55)]
        for p, b in enumerate(people):
            for c in rng.choice(ids, 2, replace=False):
                gt.append(f'{v},{t},{b[0]:.6f},{b[1]:.6f},{b[2]:.6f},{b[3]:.6f},{c},{p}')
            for c in ids:
                jitter = np.clip(b + rng.normal(0, 0.06, 4), 0, 1)
                jitter[2:] = np.maximum(jitter[2:], jitter[:2] + 0.01)
                det.append(f'{v},{t},' + ','.join(f'{x:.6f}' for x in jitter) +
                           f',{c},{next(scores):.6f}')
    for t in range(3):  # detections on keyframes without GT
        det.append(f'vid0,{990 + t},0.1,0.1,0.5,0.5,{ids[t]},{next(scores):.6f}')
    order = rng.permutation(len(det))
    (tmp_path / 'gt.csv').write_text('\n'.join(gt) + '\n')
    (tmp_path / 'det.csv').write_text('\n'.join(det[i] for i in order) + '\n')
    (tmp_path / 'excl.csv').write_text('vid0,0990\nvid1,0995\n')
    args = (str(tmp_path / 'gt.csv'), str(tmp_path / 'det.csv'), str(label_file))
    for ignore in (True, False):
        ours = evaluate_ava(*args, excluded=str(tmp_path / 'excl.csv'),
                            ignore_empty_frames=ignore)
        theirs = _mmaction2_ava_eval(args[1], args[2], args[0], str(tmp_path / 'excl.csv'),
                                     ignore_empty_frames=ignore)
        _assert_same_as_mmaction2(ours, theirs)


def test_class_with_gt_but_no_detection_counts_as_zero(tmp_path):
    """mmaction2 leaves such a class out of the mean (reports 1.0 here); it has AP 0."""
    a = [0.1, 0.1, 0.4, 0.4]
    gt = write_rows(tmp_path / 'gt.csv', [['v', '1000', *a, 1, 0], ['v', '1000', *a, 2, 0]])
    det = write_rows(tmp_path / 'det.csv', [['v', '1000', *a, 1, 0.9]])
    labels = tmp_path / 'labels.txt'
    labels.write_text('1: one\n2: two\n')
    ours = evaluate_ava(gt, det, str(labels))
    assert ours.per_class == {1: 1.0, 2: 0.0}
    assert ours.mAP == 0.5
    pb = tmp_path / 'labels.pbtxt'
    pb.write_text('item {\n  name: "one"\n  id: 1\n}\nitem {\n  name: "two"\n  id: 2\n}\n')
    assert _mmaction2_ava_eval(det, str(pb), gt)['overall'] == 1.0


def test_class_with_detections_but_no_gt_has_no_ap(tmp_path):
    """mmaction2 crashes under numpy 2 (np.NAN); the class has no AP and is left out."""
    a = [0.1, 0.1, 0.4, 0.4]
    gt = write_rows(tmp_path / 'gt.csv', [['v', '1000', *a, 1, 0]])
    det = write_rows(tmp_path / 'det.csv', [['v', '1000', *a, 1, 0.9], ['v', '1000', *a, 2,
                                                                         0.8]])
    pb = tmp_path / 'labels.pbtxt'
    pb.write_text('item {\n  name: "one"\n  id: 1\n}\nitem {\n  name: "two"\n  id: 2\n}\n')
    ours = evaluate_ava(gt, det, str(pb))
    assert ours.per_class == {1: 1.0, 2: None}
    assert ours.mAP == 1.0
    assert ours.num_det == {1: 1, 2: 1}
    with pytest.raises(AttributeError, match='NAN'):
        _mmaction2_ava_eval(det, str(pb), gt)


def test_empty_detection_file_is_zero_with_a_warning(tmp_path):
    """mmaction2 returns nan; every class with GT has AP 0, and the user is warned."""
    gt = osp.join(EVAL_DIR, 'gt.csv')
    labels = osp.join(EVAL_DIR, 'action_list.txt')
    det = tmp_path / 'empty.csv'
    det.write_text('')
    with pytest.warns(AVAEvalWarning, match='empty'):
        ours = evaluate_ava(gt, str(det), labels)
    assert ours.per_class == {1: 0.0, 2: 0.0, 3: 0.0}
    assert ours.mAP == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', RuntimeWarning)
        assert np.isnan(_mmaction2_ava_eval(str(det), labels, gt)['overall'])


def test_in_memory_arrays_equal_files(tmp_path):
    ids = (1, 2, 3, 5, 8)
    gt, det, frames, _ = random_case(3)
    gt_csv = write_rows(tmp_path / 'gt.csv', gt)
    det_csv = write_rows(tmp_path / 'det.csv', det)
    gt_rows, det_rows = read_rows(gt_csv), read_rows(det_csv)

    def arrays(rows, key):
        return {
            'video_id': [r[0] for r in rows],
            'timestamp': [int(r[1]) for r in rows],
            'boxes': np.array([[float(v) for v in r[2:6]] for r in rows]),
            'label': [int(r[6]) for r in rows],
            key: [float(r[7]) for r in rows],
        }

    with warnings.catch_warnings():
        warnings.simplefilter('ignore', AVAEvalWarning)
        from_files = evaluate_ava(gt_csv, det_csv, ids, [frames[1]], official=True)
        from_arrays = evaluate_ava(arrays(gt_rows, 'person_id'), arrays(det_rows, 'score'), ids,
                                   [frames[1]], official=True)
    assert from_files.per_class == from_arrays.per_class
    assert from_files.to_dict() == from_arrays.to_dict()
