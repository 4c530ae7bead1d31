"""Tests of the AVA ensembles (ava_plugins.ensemble, tools/ensemble.py).

Hand-worked cases (box fusion, per-class weights from AP, class replacement), invariances (a
model ensembled with itself is the model, with any weights and through the tool, evaluated by
the project's evaluator), dump/CSV equivalence with ``AVAFrameMetric``, round trips and errors.
"""
import os.path as osp
import pickle

import numpy as np
import pytest
import torch

from ava_plugins.ensemble import (combine_results, fit_class_weights, fuse_boxes,
                                  load_results, load_weights, replacement_weights, save_weights,
                                  uniform_weights)
from ava_plugins.evaluation import (AVAFrameMetric, AVAInputError, AVATable, evaluate_ava,
                                    read_ava_csv, write_ava_csv)

from third_party_data import EVAL_DIR
from tool_runs import assert_one_error_line, printed_map, run_ok, run_tool

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
GT, PRED, LABELS = (osp.join(EVAL_DIR, n) for n in ('gt.csv', 'pred.csv', 'action_list.txt'))


def rows(table: AVATable):
    """Sorted (video, timestamp, box, label, score) rows for order-free comparison."""
    names = table.video_names[table.video_codes]
    out = [(v, t, *np.round(b, 9), a, s)
           for v, t, b, a, s in zip(names.tolist(), table.timestamps.tolist(), table.boxes,
                                    table.labels.tolist(), table.scores.tolist())]
    return sorted(out, key=lambda r: r[:7])


def assert_same(a: AVATable, b: AVATable):
    ra, rb = rows(a), rows(b)
    assert len(ra) == len(rb)
    assert [r[:2] + (r[6], ) for r in ra] == [r[:2] + (r[6], ) for r in rb]
    np.testing.assert_allclose([r[2:6] for r in ra], [r[2:6] for r in rb], atol=1e-12)
    np.testing.assert_allclose([r[7] for r in ra], [r[7] for r in rb], rtol=1e-12)


def random_model(seed, num_frames=6, persons=3, classes=(1, 2, 5, 9)):
    """A detector's table: per keyframe random person boxes, every class scored (some
    dropped as below threshold), as AVAFrameMetric writes them."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 0.5, (num_frames, persons, 2))
    wh = rng.uniform(0.1, 0.5, (num_frames, persons, 2))
    boxes = np.concatenate([xy, xy + wh], -1).reshape(-1, 1, 4)
    boxes = np.broadcast_to(boxes, (num_frames * persons, len(classes), 4)).reshape(-1, 4)
    frame = np.repeat(np.arange(num_frames), persons * len(classes))
    labels = np.tile(classes, num_frames * persons)
    scores = rng.uniform(0, 1, len(labels))
    keep = scores > 0.2
    vids = np.where(frame < num_frames // 2, 'vidA', 'vidB')
    return AVATable.from_arrays(vids[keep], 900 + frame[keep], boxes[keep], labels[keep],
                                scores[keep])


def test_fuse_boxes_hand_made():
    """Model 0 has 2 boxes on frame 0; model 1 a box overlapping the first (IoU 0.9), a box
    overlapping nothing, and a box on another frame; model 2 two boxes both overlapping box 0
    (only the better one joins the cluster)."""
    f = [np.array([0, 0]), np.array([0, 0, 1]), np.array([0, 0])]
    b = [
        np.array([[0, 0, .5, .5], [.6, .6, .9, .9]]),
        np.array([[.05, 0, .5, .5], [0, .6, .2, .9], [0, 0, .5, .5]]),
        np.array([[0, 0, .5, .45], [0, 0, .5, .5]])
    ]
    cluster_of, c_frame, c_box = fuse_boxes(f, b, iou_thr=0.5)
    np.testing.assert_array_equal(cluster_of[0], [0, 1])
    np.testing.assert_array_equal(cluster_of[1], [0, 2, 3])
    # model 2's second box (IoU .95 with the cluster mean [.025, 0, .5, .5]) beats its first
    # (IoU .21375 / .27375 = .78), which therefore starts a new cluster
    np.testing.assert_array_equal(cluster_of[2], [4, 0])
    np.testing.assert_array_equal(c_frame, [0, 0, 0, 1, 0])
    np.testing.assert_allclose(c_box[0], [(0 + .05 + 0) / 3, 0, .5, .5])
    np.testing.assert_allclose(c_box[1:4], [[.6, .6, .9, .9], [0, .6, .2, .9], [0, 0, .5, .5]])


def test_box_fusion_scores_hand_made():
    """ByteDance fusion: positions averaged, scores 0.75 * s_A + 0.25 * s_B (0 if missing)."""
    a = AVATable.from_arrays(['v'], [902], [[0, 0, .5, .5]], [1], [0.8])
    b = AVATable.from_arrays(['v', 'v', 'v'], [902, 902, 902],
                             [[.05, 0, .5, .5], [.05, 0, .5, .5], [.6, .6, .9, .9]], [1, 2, 1],
                             [0.4, 0.6, 0.5])
    out = combine_results([a, b], uniform_weights(['a', 'b'], [1, 2], [3, 1]), iou_thr=0.5)
    got = rows(out)
    expected = [('v', 902, .025, 0, .5, .5, 1, .75 * .8 + .25 * .4),
                ('v', 902, .025, 0, .5, .5, 2, .25 * .6), ('v', 902, .6, .6, .9, .9, 1, .25 * .5)]
    assert [r[:2] + (r[6], ) for r in got] == [r[:2] + (r[6], ) for r in expected]
    np.testing.assert_allclose([r[2:6] + (r[7], ) for r in got],
                               [r[2:6] + (r[7], ) for r in expected],
                               atol=1e-12)
    # a stricter threshold keeps the two detectors' boxes apart (IoU 0.9 < 0.95)
    apart = combine_results([a, b], uniform_weights(['a', 'b'], [1, 2], [3, 1]), iou_thr=0.95)
    assert len(apart) == 4
    np.testing.assert_allclose(sorted(apart.scores),
                               sorted([.75 * .8, .25 * .4, .25 * .6, .25 * .5]))


def test_per_class_weights_from_ap_hand_worked():
    aps = [{1: 0.6, 2: 0.0, 3: None, 4: 0.3}, {1: 0.2, 2: 0.0, 3: 0.5, 4: 0.1}]
    w = fit_class_weights(['a', 'b'], aps)
    np.testing.assert_array_equal(w.class_ids, [1, 2, 3, 4])
    np.testing.assert_allclose(w.weights, [[.75, .5, 0, .75], [.25, .5, 1, .25]])
    w2 = fit_class_weights(['a', 'b'], aps, power=2)
    np.testing.assert_allclose(w2.weights[:, 0], [.36 / .40, .04 / .40])
    # unknown classes get equal weights; order of the requested ids is kept
    np.testing.assert_allclose(w.for_classes([4, 7, 1]), [[.75, .5, .75], [.25, .5, .25]])
    # applied: class 1 score = .75 s_a + .25 s_b on the same box
    a = AVATable.from_arrays(['v', 'v'], [1, 1], [[0, 0, .5, .5]] * 2, [1, 3], [0.8, 0.9])
    b = AVATable.from_arrays(['v', 'v'], [1, 1], [[0, 0, .5, .5]] * 2, [1, 3], [0.4, 0.3])
    out = combine_results([a, b], w)
    np.testing.assert_allclose(out.scores, [.75 * .8 + .25 * .4, .3])
    np.testing.assert_array_equal(out.labels, [1, 3])


def test_weights_save_load_round_trip(tmp_path):
    w = fit_class_weights(['a', 'b', 'c'], [{1: .1, 5: .2}, {1: .3, 5: 0}, {1: .6, 5: .2}])
    path = tmp_path / 'w.json'
    save_weights(path, w)
    back = load_weights(path, num_models=3)
    assert back.models == ['a', 'b', 'c']
    np.testing.assert_array_equal(back.class_ids, w.class_ids)
    np.testing.assert_allclose(back.weights, w.weights)
    with pytest.raises(AVAInputError, match=r'w\.json: weights were fitted for 3 models'):
        load_weights(path, num_models=2)
    (tmp_path / 'bad.json').write_text('{"models": ["a"], "class_ids": [1, 2], '
                                       '"weights": [[1.0]]}')
    with pytest.raises(AVAInputError, match=r'bad\.json: weights must be 1 x 2'):
        load_weights(tmp_path / 'bad.json')


def test_class_subset_replacement():
    """Fujitsu merge: class 2 from the arm model (index 1), the rest from model 0."""
    a = random_model(0)
    b = random_model(0)
    b.scores = b.scores[::-1].copy()
    w = replacement_weights(['a', 'arm'], [1, 2, 5, 9], {2: 1})
    out = combine_results([a, b], w)
    keep_a, keep_b = a.labels != 2, b.labels == 2
    expected = AVATable.from_arrays(
        np.concatenate(
            [a.video_names[a.video_codes][keep_a], b.video_names[b.video_codes][keep_b]]),
        np.concatenate([a.timestamps[keep_a], b.timestamps[keep_b]]),
        np.concatenate([a.boxes[keep_a], b.boxes[keep_b]]),
        np.concatenate([a.labels[keep_a], b.labels[keep_b]]),
        np.concatenate([a.scores[keep_a], b.scores[keep_b]]))
    assert_same(out, expected)


def test_replacement_keeps_main_scores_of_persons_the_arm_model_did_not_score():
    """Hand-worked arm merge, class 2 from the arm model (index 1): person A, scored by both,
    takes the arm score; person B, scored by the arm model but not for class 2 (below its
    threshold), gets no class-2 row; person C, absent from the arm model's results (no valid
    arm), keeps the main model's class-2 score. The mean is unaffected (C: half its score)."""
    A, B, C = [0.1, 0.1, 0.3, 0.5], [0.4, 0.1, 0.6, 0.6], [0.7, 0.2, 0.9, 0.8]

    def table(rows):
        boxes, labels, scores = zip(*rows)
        return AVATable.from_arrays(['v'] * len(rows), [902] * len(rows), np.array(boxes),
                                    np.array(labels), np.array(scores))

    main = table([(A, 1, 0.9), (A, 2, 0.3), (B, 1, 0.8), (B, 2, 0.6), (C, 1, 0.7),
                  (C, 2, 0.5)])
    arm = table([(A, 1, 0.1), (A, 2, 0.8), (B, 9, 0.4)])
    out = combine_results([main, arm], replacement_weights(['main', 'arm'], [1, 2, 9], {2: 1}))
    assert_same(out, table([(A, 1, 0.9), (A, 2, 0.8), (B, 1, 0.8), (C, 1, 0.7), (C, 2, 0.5)]))
    mean = combine_results([main, arm])
    assert_same(mean, table([(A, 1, 0.5), (A, 2, 0.55), (B, 1, 0.4), (B, 2, 0.3), (B, 9, 0.2),
                             (C, 1, 0.35), (C, 2, 0.25)]))


@pytest.mark.parametrize('method', ['mean', 'per-class', 'box-fusion'])
def test_model_with_itself_is_the_model(method):
    model = random_model(3)
    if method == 'per-class':
        w = fit_class_weights(['m', 'm'], [{
            1: .3,
            2: .1,
            5: .7,
            9: .2
        }, {
            1: .6,
            2: .4,
            5: .1,
            9: .9
        }])
    else:
        w = uniform_weights(['m', 'm'], model.labels, [0.3, 0.7])
    out = combine_results([model, model], w, iou_thr=0.5 if method == 'box-fusion' else 0.99)
    assert_same(out, model)


def test_ensemble_average_independent_reference():
    """Mean of two models on the same boxes = a dict-based average (missing = 0)."""
    a, b = random_model(1), random_model(1)
    b.scores = np.random.default_rng(7).uniform(0.2, 1, len(b)) * (b.labels != 5)
    b = AVATable.from_arrays(b.video_names[b.video_codes], b.timestamps, b.boxes, b.labels,
                             b.scores)
    ref = {}
    for t in (a, b):
        for v, ts, box, lab, s in zip(t.video_names[t.video_codes], t.timestamps, t.boxes,
                                      t.labels, t.scores):
            key = (v, ts, tuple(box), lab)
            ref[key] = ref.get(key, 0.0) + s / 2
    out = combine_results([a, b])
    got = {
        (v, ts, tuple(box), lab): s
        for v, ts, box, lab, s in zip(out.video_names[out.video_codes], out.timestamps, out.boxes,
                                      out.labels, out.scores)
    }
    assert got.keys() == ref.keys()
    np.testing.assert_allclose([got[k] for k in ref], list(ref.values()), rtol=1e-12)


def test_dump_equals_metric_rows(tmp_path):
    """A --dump pickle reads to the rows AVAFrameMetric makes from the same predictions."""
    rng = np.random.default_rng(0)
    samples = []
    for i in range(4):
        n = int(rng.integers(1, 4))  # AVAFrameMetric.process fails on 0 boxes (reported)
        xy = rng.uniform(0, .5, (n, 2))
        gen = torch.Generator().manual_seed(i)
        samples.append(
            dict(video_id=f'v{i % 2}',
                 timestamp=900 + i,
                 img_shape=(32, 32),
                 pred_instances=dict(bboxes=torch.from_numpy(np.hstack([xy, xy + .3])).float(),
                                     scores=torch.rand(n, 6, generator=gen))))
    path = tmp_path / 'preds.pkl'
    with open(path, 'wb') as f:
        pickle.dump(samples, f)
    table = load_results(path, action_thr=0.3)
    metric = AVAFrameMetric(ann_file=GT,
                            exclude_file=None,
                            label_file=LABELS,
                            num_classes=6,
                            action_thr=0.3)
    metric.process(None, samples)
    r = metric.results
    ref = AVATable.from_arrays(
        np.repeat([x['video_id'] for x in r], [len(x['labels']) for x in r]),
        np.repeat([x['timestamp'] for x in r], [len(x['labels']) for x in r]),
        np.concatenate([x['boxes'] for x in r]), np.concatenate([x['labels'] for x in r]),
        np.concatenate([x['scores'] for x in r]))
    assert len(ref) > 5
    assert_same(table, ref)
    custom = load_results(path, action_thr=0.3, custom_classes=[10, 20, 30, 40, 50])
    np.testing.assert_array_equal(np.sort(custom.labels), np.sort(table.labels * 10))


def test_bad_inputs(tmp_path):
    with pytest.raises(AVAInputError, match='nope.csv: result file not found'):
        load_results(tmp_path / 'nope.csv')
    (tmp_path / 'r.txt').write_text('x')
    with pytest.raises(AVAInputError, match=r'r\.txt: expected an AVA result \.csv'):
        load_results(tmp_path / 'r.txt')
    with open(tmp_path / 'bad.pkl', 'wb') as f:
        pickle.dump([dict(video_id='v', timestamp=1)], f)
    with pytest.raises(AVAInputError, match=r'bad\.pkl, item 0: expected video_id'):
        load_results(tmp_path / 'bad.pkl')
    with open(tmp_path / 'shape.pkl', 'wb') as f:
        pickle.dump([
            dict(video_id='v',
                 timestamp=1,
                 pred_instances=dict(bboxes=np.zeros((2, 4)), scores=np.zeros((3, 5))))
        ], f)
    with pytest.raises(AVAInputError, match=r'shape\.pkl, item 0: pred_instances\.scores'):
        load_results(tmp_path / 'shape.pkl')
    with pytest.raises(ValueError, match='2 weight rows for 1 result tables'):
        combine_results([random_model(0)], uniform_weights(['a', 'b'], [1]))


def test_tool_self_ensemble_keeps_map(tmp_path):
    """tools/ensemble.py on mmaction2's fixture with itself writes the same CSV and mAP."""
    out = tmp_path / 'ens.csv'
    stdout = run_ok(['tools/ensemble.py', PRED, PRED, '--out', out, '--gt', GT, '--label-map',
                     LABELS, '--decimals', '3'])
    assert_same(read_ava_csv(out, False), read_ava_csv(PRED, False))
    assert printed_map(stdout) == pytest.approx(evaluate_ava(GT, PRED, LABELS).mAP, abs=1e-12)


def test_tool_fit_save_apply(tmp_path):
    """Fit per-class weights on 'validation' results, save, apply to 'test' results."""
    good = read_ava_csv(PRED, False)
    noisy = AVATable.from_arrays(good.video_names[good.video_codes], good.timestamps, good.boxes,
                                 good.labels,
                                 np.random.default_rng(0).uniform(0, 1, len(good)))
    val_noisy = tmp_path / 'noisy.csv'
    write_ava_csv(val_noisy, noisy, decimals=6)
    wpath, out = tmp_path / 'w.json', tmp_path / 'val_ens.csv'
    run_ok(['tools/ensemble.py', PRED, val_noisy, '--method', 'per-class', '--fit', PRED,
            val_noisy, '--gt', GT, '--label-map', LABELS, '--save-weights', wpath, '--out', out])
    w = load_weights(wpath, num_models=2)
    ap = [evaluate_ava(GT, p, LABELS).per_class for p in (PRED, str(val_noisy))]
    np.testing.assert_allclose(w.weights, fit_class_weights(['a', 'b'], ap).weights)
    out2 = tmp_path / 'test_ens.csv'
    run_ok(['tools/ensemble.py', PRED, val_noisy, '--method', 'per-class', '--weights', wpath,
            '--out', out2, '--decimals', '6'])
    ens = read_ava_csv(out2, False)
    key = np.lexsort((good.labels, good.boxes[:, 1], good.boxes[:, 0], good.timestamps))
    k2 = np.lexsort((ens.labels, ens.boxes[:, 1], ens.boxes[:, 0], ens.timestamps))
    wg = w.for_classes(good.labels[key])
    expected = wg[0] * good.scores[key] + wg[1] * noisy.scores[key]
    np.testing.assert_array_equal(ens.labels[k2], good.labels[key])
    np.testing.assert_allclose(ens.scores[k2], expected, atol=1e-6)
    assert not np.allclose(w.weights, 0.5)  # the fitted weights are not the plain mean
    assert_one_error_line(run_tool(['tools/ensemble.py', PRED, PRED, '--method', 'per-class',
                                    '--out', out2]), '--method per-class needs --weights')


def test_unique_rows_equals_numpy():
    from ava_plugins.ensemble.combine import unique_rows
    rows = np.random.default_rng(0).integers(0, 3, (200, 3)).astype(np.float64)
    uniq, inverse = unique_rows(rows)
    ref, ref_inv = np.unique(rows, axis=0, return_inverse=True)
    np.testing.assert_array_equal(uniq, ref)
    np.testing.assert_array_equal(inverse, ref_inv.reshape(-1))


def test_tool_replace_and_box_fusion(tmp_path):
    """--method replace takes the listed classes from the last model; --method box-fusion with
    a model and a copy shifted by a few thousandths averages the positions."""
    good = read_ava_csv(PRED, False)
    other = AVATable.from_arrays(good.video_names[good.video_codes], good.timestamps, good.boxes,
                                 good.labels, good.scores[::-1].copy())
    other_csv, out = tmp_path / 'other.csv', tmp_path / 'rep.csv'
    write_ava_csv(other_csv, other, decimals=6)
    run_ok(['tools/ensemble.py', PRED, other_csv, '--method', 'replace', '--replace-classes',
            '2', '--out', out, '--decimals', '6'])
    rep = read_ava_csv(out, False)
    mix = np.where(good.labels == 2, other.scores, good.scores)
    expected = AVATable.from_arrays(good.video_names[good.video_codes], good.timestamps,
                                    good.boxes, good.labels, mix)
    assert_same(rep, expected)
    shifted = AVATable.from_arrays(good.video_names[good.video_codes], good.timestamps,
                                   np.clip(good.boxes + [0.004, 0, 0.004, 0], 0, 1), good.labels,
                                   good.scores)
    shifted_csv, fused = tmp_path / 'shifted.csv', tmp_path / 'fused.csv'
    write_ava_csv(shifted_csv, shifted, decimals=6)
    run_ok(['tools/ensemble.py', PRED, shifted_csv, '--method', 'box-fusion', '--model-weights',
            '1', '3', '--out', fused, '--decimals', '6'])
    ref = AVATable.from_arrays(good.video_names[good.video_codes], good.timestamps,
                               (good.boxes + shifted.boxes) / 2, good.labels, good.scores)
    got = read_ava_csv(fused, False)
    assert len(got) == len(good)
    ra, rb = rows(got), rows(ref)
    np.testing.assert_allclose([r[2:6] for r in ra], [r[2:6] for r in rb], atol=2e-6)
    np.testing.assert_allclose([r[7] for r in ra], [r[7] for r in rb], atol=2e-6)
