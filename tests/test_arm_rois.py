"""Arm-region RoIs (Fujitsu 2020): box geometry on hand-made keypoints, alignment with the
proposal pickle, replace/add modes, GT keypoints, and the transform in mmaction2's AVADataset
pipeline on the synthetic dataset."""
import os.path as osp
import pickle

import cv2
import numpy as np
import pytest

import ava_plugins  # noqa: F401  (registers ArmRoIs)
from ava_plugins.datasets.transforms.arm_rois import ArmRoIs, arm_boxes, match_gt_to_proposals

W, H = 100.0, 80.0


def load(path):
    with open(path, 'rb') as f:
        return pickle.load(f)


def dump(obj, path):
    with open(path, 'wb') as f:
        pickle.dump(obj, f)


def person(left=None, right=None, score=0.9):
    """(17, 3) keypoints; ``left``/``right`` = (shoulder, elbow, wrist) xy, others far away."""
    kp = np.zeros((17, 3))
    kp[:, :2] = -50  # outside the image
    kp[:, 2] = score
    for idx, arm in ((np.array([5, 7, 9]), left), (np.array([6, 8, 10]), right)):
        if arm is not None:
            kp[idx, :2] = np.asarray(arm, float)
    return kp


def test_registered_when_ava_plugins_is_imported():
    from mmaction.registry import TRANSFORMS

    import ava_plugins.datasets.transforms as transforms
    assert 'ArmRoIs' in transforms.__all__ and TRANSFORMS.get('ArmRoIs') is ArmRoIs


def test_box_encloses_shoulder_elbow_wrist_enlarged_about_centre():
    kp = person(left=[(10, 10), (20, 30), (40, 30)])
    boxes, valid = arm_boxes(kp[None], (W, H), score_thr=0.3, scale=1.5, min_side_ratio=0.0)
    # enclosing box 10..40 x 10..30, centre (25, 20), size 30 x 20 -> 45 x 30
    assert valid.tolist() == [[True, False]]
    np.testing.assert_allclose(boxes[0, 0], [2.5, 5.0, 47.5, 35.0])
    np.testing.assert_array_equal(boxes[0, 1], 0)
    boxes1, _ = arm_boxes(kp[None], (W, H), scale=1.0, min_side_ratio=0.0)
    np.testing.assert_allclose(boxes1[0, 0], [10, 10, 40, 30])


def test_left_and_right_arms_come_from_their_own_coco_keypoints():
    kp = person(left=[(10, 10), (10, 20), (10, 30)], right=[(60, 10), (70, 20), (80, 20)])
    boxes, valid = arm_boxes(kp[None], (W, H), scale=1.0, min_side_ratio=0.0)
    assert valid.tolist() == [[False, True]]  # left arm: zero width, no box
    np.testing.assert_allclose(boxes[0, 1], [60, 10, 80, 20])
    boxes, valid = arm_boxes(kp[None], (W, H), scale=1.0, min_side_ratio=0.5)
    assert valid.tolist() == [[True, True]]  # widened to half its height
    np.testing.assert_allclose(boxes[0, 0], [5, 10, 15, 30])
    np.testing.assert_allclose(boxes[0, 1], [60, 10, 80, 20])  # 20 x 10: already >= half


def test_elbow_or_wrist_outside_the_image_or_unsure_invalidates_the_arm():
    arm = [(10, 10), (20, 30), (40, 30)]
    kps = np.stack([
        person(left=[(10, 10), (20, 30), (101, 30)]),  # wrist right of the image
        person(left=[(10, 10), (20, -1), (40, 30)]),  # elbow above it
        person(left=arm),
        person(left=arm),
        person(left=[(-20, 10), (20, 30), (40, 30)]),  # shoulder outside: not required
    ])
    kps[2, 7, 2] = 0.29  # left elbow below the threshold
    kps[3, 5, 2] = 0.1  # left shoulder unsure: box from elbow and wrist only
    boxes, valid = arm_boxes(kps, (W, H), score_thr=0.3, scale=1.0, min_side_ratio=0.5)
    assert valid[:, 0].tolist() == [False, False, False, True, True]
    assert not valid[:, 1].any()
    # elbow (20, 30) and wrist (40, 30) only: 20 x 0, widened to 20 x 10
    np.testing.assert_allclose(boxes[3, 0], [20, 25, 40, 35])
    np.testing.assert_allclose(boxes[4, 0], [20, 25, 40, 35])
    # a box of zero height is no box
    _, valid = arm_boxes(kps, (W, H), score_thr=0.3, scale=1.0, min_side_ratio=0.0)
    assert not valid[:, 0].any()
    # requiring the shoulder: person 3 (unsure shoulder) and 4 (outside) lose their arm
    _, valid = arm_boxes(kps, (W, H), score_thr=0.3, required=('shoulder', 'elbow', 'wrist'))
    assert valid[:, 0].tolist() == [False, False, False, False, False]
    _, valid = arm_boxes(kps, (W, H), score_thr=0.05)
    assert valid[:, 0].tolist() == [False, False, True, True, True]


def test_enlarged_box_is_clipped_to_the_image():
    kp = person(right=[(90, 60), (95, 70), (99, 79)])
    boxes, valid = arm_boxes(kp[None], (W, H), scale=3.0, min_side_ratio=0.0)
    # enclosing 90..99 x 60..79, centre (94.5, 69.5), 27 x 57 -> clipped to the image
    assert valid[0, 1]
    np.testing.assert_allclose(boxes[0, 1], [81.0, 41.0, 100.0, 80.0])


def test_gt_takes_the_keypoints_of_its_best_iou_proposal():
    props = np.array([[0.0, 0.0, 0.5, 0.5], [0.5, 0.5, 1.0, 1.0], [0.1, 0.0, 0.6, 0.5]])
    gt = np.array([[0.12, 0.0, 0.6, 0.5], [0.5, 0.45, 1.0, 1.0], [0.0, 0.9, 0.1, 1.0]])
    assert match_gt_to_proposals(gt, props, 0.5).tolist() == [2, 1, -1]
    assert match_gt_to_proposals(gt, props[:0], 0.5).tolist() == [-1, -1, -1]


@pytest.fixture
def key_files(tmp_path):
    """One keyframe with 3 proposals: person 0 with a left arm, 1 without arm, 2 with both."""
    props = np.array([[0.0, 0.0, 0.4, 0.9, 0.95], [0.4, 0.1, 0.6, 0.9, 0.5],
                      [0.6, 0.0, 1.0, 1.0, 0.92]], np.float32)
    kps = np.stack([
        person(left=[(10, 10), (20, 30), (30, 40)]),
        person(left=[(50, 10), (55, 30), (60, 40)], score=0.1),
        person(left=[(70, 10), (72, 30), (80, 40)], right=[(90, 10), (92, 30), (95, 50)]),
    ])
    kps[..., 0] /= W
    kps[..., 1] /= H
    pfile, kfile = tmp_path / 'props.pkl', tmp_path / 'kps.pkl'
    dump({'vid,0902': props, 'other,0902': props[:1]}, pfile)
    dump({'vid,0902': kps.astype(np.float32), 'other,0902': kps[:1]}, kfile)
    return dict(props=props, kps=kps, proposal_file=str(pfile), keypoint_file=str(kfile))


def sample(props, gt=None, labels=None):
    """What AVADataset + RawFrameDecode give: pixel boxes of the kept proposals."""
    scale = np.array([W, H, W, H])
    r = dict(img_key='vid,0902', img_shape=(int(H), int(W)),
             proposals=(props[:, :4] * scale).astype(np.float32), scores=props[:, 4])
    if gt is not None:
        r.update(gt_bboxes=(gt * scale).astype(np.float32), gt_labels=labels,
                 entity_ids=np.arange(len(gt)))
    return r


def expected_arms(kps, rows, **kw):
    kp = kps[rows] * [W, H, 1]
    return arm_boxes(kp, (W, H), **kw)


def test_replace_aligns_kept_proposals_with_their_keypoint_rows(key_files):
    t = ArmRoIs(key_files['keypoint_file'], key_files['proposal_file'], score_thr=0.3,
                test_mode=True)
    # AVADataset dropped proposal 1 (score < its threshold): rows 0 and 2 are kept
    kept = key_files['props'][[0, 2]]
    out = t(sample(kept))
    boxes, valid = expected_arms(key_files['kps'], [0, 2], score_thr=0.3, scale=1.5,
                                 min_side_ratio=0.5)
    assert valid.tolist() == [[True, False], [True, True]]
    np.testing.assert_allclose(out['proposals'], boxes[valid], rtol=1e-6)
    assert out['arm_person_index'].tolist() == [0, 1, 1]
    assert out['arm_side'].tolist() == [0, 0, 1]
    np.testing.assert_allclose(out['arm_person_bboxes'], kept[:, :4], rtol=1e-6)
    np.testing.assert_allclose(out['scores'], kept[[0, 1, 1], 4])
    assert out['proposals'].dtype == np.float32
    # all three kept: the middle one (scores 0.1) has no arm and no RoI
    out = ArmRoIs(key_files['keypoint_file'], key_files['proposal_file'],
                  test_mode=True)(sample(key_files['props']))
    assert out['arm_person_index'].tolist() == [0, 2, 2]


def test_add_keeps_body_boxes_first(key_files):
    t = ArmRoIs(key_files['keypoint_file'], key_files['proposal_file'], mode='add',
                test_mode=True)
    out = t(sample(key_files['props']))
    assert out['arm_person_index'].tolist() == [0, 1, 2, 0, 2, 2]
    assert out['arm_side'].tolist() == [-1, -1, -1, 0, 0, 1]
    np.testing.assert_allclose(out['proposals'][:3], key_files['props'][:, :4] * [W, H, W, H],
                               rtol=1e-6)
    assert t.stats == dict(samples=1, persons=3, persons_without_arm=1, arm_rois=3)


def test_gt_arm_rois_carry_the_persons_labels_and_armless_samples_are_dropped(key_files):
    t = ArmRoIs(key_files['keypoint_file'], key_files['proposal_file'])
    gt = np.array([[0.6, 0.02, 1.0, 1.0], [0.0, 0.0, 0.38, 0.9], [0.4, 0.1, 0.6, 0.9]])
    labels = np.eye(4, dtype=np.float32)[[1, 2, 3]]
    out = t(sample(key_files['props'], gt, labels))
    boxes, valid = expected_arms(key_files['kps'], [2, 0, 1], score_thr=0.3, scale=1.5,
                                 min_side_ratio=0.5)
    np.testing.assert_allclose(out['gt_bboxes'], boxes[valid], rtol=1e-6)
    np.testing.assert_array_equal(out['gt_labels'], labels[[0, 0, 1]])
    assert out['entity_ids'].tolist() == [0, 0, 1]
    assert t.stats['persons'] == 3 and t.stats['persons_without_arm'] == 1
    # only the armless person annotated: nothing to learn in training, kept in test mode
    only = sample(key_files['props'], gt[2:], labels[2:])
    assert t(dict(only)) is None
    kept = ArmRoIs(key_files['keypoint_file'], key_files['proposal_file'],
                   test_mode=True)(dict(only))
    assert kept is not None and len(kept['gt_bboxes']) == 0


def test_bad_keypoint_files_are_named(key_files, tmp_path):
    bad = tmp_path / 'bad.pkl'
    dump({'vid,0902': key_files['kps'][:2], 'other,0902': key_files['kps'][:1]}, bad)
    with pytest.raises(ValueError, match="bad.pkl: key 'vid,0902' has 2 keypoint rows but .*props"
                       ".pkl has 3 boxes"):
        ArmRoIs(str(bad), key_files['proposal_file'])(sample(key_files['props']))
    with pytest.raises(ValueError, match='not in .*props.pkl'):
        ArmRoIs(key_files['keypoint_file'], key_files['proposal_file'])(
            sample(key_files['props'] + 0.01))
    with pytest.raises(ValueError, match='not found'):
        ArmRoIs(str(tmp_path / 'missing.pkl'), key_files['proposal_file'])(
            sample(key_files['props']))
    with pytest.raises(ValueError, match='after RawFrameDecode'):
        ArmRoIs(key_files['keypoint_file'], key_files['proposal_file'])(
            dict(img_key='vid,0902', proposals=np.zeros((0, 4))))
    with pytest.raises(ValueError, match="set the dataset's proposal_file"):
        ArmRoIs(key_files['keypoint_file'], key_files['proposal_file'])(
            dict(img_key='vid,0902', img_shape=(80, 100)))
    with pytest.raises(ValueError, match="mode must be 'replace' or 'add'"):
        ArmRoIs(key_files['keypoint_file'], key_files['proposal_file'], mode='swap')
    for thr in (0, 1.3):  # 0 would pass a joint of no evidence; 1.3 is on CPN's raw scale
        with pytest.raises(ValueError, match=r'score_thr must be in \(0, 1\]'):
            ArmRoIs(key_files['keypoint_file'], key_files['proposal_file'], score_thr=thr)


def quarter_keypoints(props):
    """Keypoints whose arm boxes are known by hand: for each proposal ``(x1, y1, x2, y2)`` the
    left arm's shoulder, elbow, wrist are its top-left, top-middle and centre points (box: the
    top-left quarter), the right arm's its centre, middle-right and bottom-right points (the
    bottom-right quarter); the left wrist scores 0.1 for boxes centred in the frame's left
    half (no left arm), every other arm joint 1, the other joints 0."""
    out = {}
    for key, rows in props.items():
        x1, y1, x2, y2 = (rows[:, i] for i in range(4))
        xm, ym = (x1 + x2) / 2, (y1 + y2) / 2
        kp = np.zeros((len(rows), 17, 3), np.float32)
        kp[:, :, :2] = np.stack([xm, ym], -1)[:, None]
        for j, (x, y) in zip((5, 7, 9, 6, 8, 10),
                             ((x1, y1), (xm, y1), (xm, ym), (xm, ym), (x2, ym), (x2, y2))):
            kp[:, j] = np.stack([x, y, np.ones_like(x)], -1)
        kp[:, 9, 2] = np.where(xm < 0.5, 0.1, 1.0)
        out[key] = kp
    return out


def test_in_avadataset_pipeline_on_synthetic_data(tmp_path):
    """mmaction2's AVADataset, SampleAVAFrames, RawFrameDecode and Resize with ArmRoIs on the
    synthetic set and keypoints whose arm boxes are quarters of their proposal: the output RoIs
    are, person by person in the dataset's order, the top-left quarter (for persons right of
    the frame's centre) and the bottom-right quarter of the persons' boxes as the same pipeline
    without ArmRoIs gives them, resized. Would catch a kept proposal paired with another row's
    keypoints (AVADataset filters and reorders proposals), a pixel/normalised mix-up, a score
    test on the wrong joint, or boxes not following Resize."""
    from mmaction.registry import DATASETS
    from mmengine.registry import init_default_scope

    from ava_plugins.datasets import generate_synthetic_ava
    init_default_scope('mmaction')
    files = generate_synthetic_ava(str(tmp_path), seed=1, train_videos=1, val_videos=1,
                                   seconds=8, fps=4, size=64)
    kp_file = str(tmp_path / 'quarters.pkl')
    dump(quarter_keypoints(load(files['val_proposals'])), kp_file)
    arm = dict(type='ArmRoIs', test_mode=True, keypoint_file=kp_file,
               proposal_file=files['val_proposals'], score_thr=0.3, scale=1.0,
               min_side_ratio=0.0)

    def build(with_arms):
        return DATASETS.build(
            dict(type='AVADataset', ann_file=files['val_csv'], label_file=files['label_map'],
                 proposal_file=files['val_proposals'],
                 data_prefix=dict(img=files['rawframes']), timestamp_start=900,
                 timestamp_end=908, fps=4, num_classes=12, test_mode=True,
                 pipeline=[
                     dict(type='SampleAVAFrames', clip_len=2, frame_interval=1, test_mode=True),
                     dict(type='RawFrameDecode'),
                     *([arm] if with_arms else []),
                     dict(type='Resize', scale=(-1, 32)),
                 ]))

    persons_ds, arms_ds = build(False), build(True)
    lefts = rights = 0
    for i in range(len(arms_ds)):
        persons, out = persons_ds[i]['proposals'], arms_ds[i]
        nh, nw = out['img_shape']
        expected, index = [], []
        for p, (x1, y1, x2, y2) in enumerate(persons):
            xm, ym = (x1 + x2) / 2, (y1 + y2) / 2
            if xm >= nw / 2:
                expected.append([x1, y1, xm, ym])
                index.append(p)
                lefts += 1
            expected.append([xm, ym, x2, y2])
            index.append(p)
            rights += 1
        np.testing.assert_allclose(out['proposals'], np.reshape(expected, (-1, 4)), rtol=1e-5,
                                   atol=1e-3)
        assert out['arm_person_index'].tolist() == index
        np.testing.assert_allclose(out['arm_person_bboxes'] * [nw, nh, nw, nh], persons,
                                   rtol=1e-5, atol=1e-3)
    assert lefts > 0 and rights > lefts  # both cases happen


# --- merge: classes chosen by validation AP gain (report 003, Sec. 2.1) -------------------------

def test_select_classes_by_gain_hand_made():
    from ava_plugins.ensemble import select_classes_by_gain
    main = {1: 0.5, 2: 0.2, 3: 0.0, 4: 0.4, 5: None, 6: 0.3}
    spec = {1: 0.6, 2: 0.35, 3: 0.05, 4: 0.3, 5: 0.9, 7: 0.8}
    sel = select_classes_by_gain(main, spec)
    # gains 1: 0.1, 2: 0.15, 3: 0.05, 4: -0.1; 5 has no main AP, 6/7 only in one model
    assert sel.selected == [2, 1, 3]
    assert sorted(sel.gains) == [1, 2, 3, 4]
    np.testing.assert_allclose([sel.gains[c] for c in (1, 2, 3, 4)], [0.1, 0.15, 0.05, -0.1])
    assert select_classes_by_gain(main, spec, top_k=2).selected == [2, 1]
    assert select_classes_by_gain(main, spec, min_gain=0.1).selected == [2]
    rel = select_classes_by_gain(main, spec, gain='relative')
    assert rel.selected == [3, 2, 1]  # 3: 0 -> 0.05 is an infinite relative gain
    np.testing.assert_allclose([rel.gains[1], rel.gains[2]], [0.2, 0.75])
    assert np.isinf(rel.gains[3])
    tie = select_classes_by_gain({9: 0.1, 8: 0.1}, {9: 0.2, 8: 0.2})
    assert tie.selected == [8, 9]
    assert 'selected' in sel.table({2: 'hit'}).splitlines()[1] and 'hit' in sel.table({2: 'hit'})
    with pytest.raises(ValueError, match='gain must be'):
        select_classes_by_gain(main, spec, gain='ratio')


def _csv(path, rows):
    with open(path, 'w') as f:
        for box, label, score in rows:
            f.write('vid,0902,' + ','.join(f'{v:.3f}' for v in box) + f',{label},{score}\n')


def test_ensemble_tool_selects_and_replaces_classes_from_validation_ap(tmp_path):
    """Hand-worked APs: class 24 (cut) main 0.5 -> arm 1.0, 34 (hit) 1.0 -> 0.5, 43 (point to)
    2/3 -> 5/6; the arm model takes 24 and 43 (top-1: 24) and the merged mAP is
    (1 + 1 + 5/6) / 3."""
    import json

    from tool_runs import assert_one_error_line, printed_map, run_ok, run_tool
    A, B, C = [0.1, 0.1, 0.4, 0.9], [0.5, 0.1, 0.9, 0.9], [0.0, 0.0, 0.05, 0.05]
    gt, labels = tmp_path / 'gt.csv', tmp_path / 'labels.txt'
    with open(gt, 'w') as f:
        for box, label in ((A, 24), (B, 34), (A, 43), (B, 43)):
            f.write('vid,0902,' + ','.join(map(str, box)) + f',{label},1\n')
    labels.write_text('24: cut\n34: hit (an object)\n43: point to (an object)\n')
    main, arm = tmp_path / 'main.csv', tmp_path / 'arm.csv'
    _csv(main, [(A, 24, 0.3), (B, 24, 0.6), (B, 34, 0.8), (A, 34, 0.1), (C, 43, 0.9),
                (A, 43, 0.5), (B, 43, 0.4)])
    _csv(arm, [(A, 24, 0.9), (B, 24, 0.2), (A, 34, 0.7), (B, 34, 0.4), (A, 43, 0.9),
               (C, 43, 0.5), (B, 43, 0.4)])
    common = ['--method', 'replace', '--select-replace-from-val', str(main), str(arm), '--gt',
              str(gt), '--label-map', str(labels)]
    out, sel = tmp_path / 'merged.csv', tmp_path / 'sel.json'
    stdout = run_ok(['tools/ensemble.py', main, arm, *common, '--out', out, '--save-selection',
                     sel])
    saved = json.loads(sel.read_text())
    assert saved['selected'] == [24, 43]
    np.testing.assert_allclose([saved['ap_main'][c] for c in ('24', '34', '43')],
                               [0.5, 1.0, 2 / 3])
    np.testing.assert_allclose([saved['ap_spec'][c] for c in ('24', '34', '43')],
                               [1.0, 0.5, 5 / 6])
    np.testing.assert_allclose(printed_map(stdout), (1 + 1 + 5 / 6) / 3)
    stdout = run_ok(['tools/ensemble.py', main, arm, *common, '--select-top-k', '1', '--out',
                     out])
    np.testing.assert_allclose(printed_map(stdout), (1 + 1 + 2 / 3) / 3)
    assert_one_error_line(run_tool(['tools/ensemble.py', main, arm, *common, '--replace-classes',
                                    '24', '--out', out]), 'not both')


def test_synthetic_arm_config_trains_on_arm_rois(tmp_path):
    """configs/synthetic/arm_slowfast_tiny.py: its training samples hold the arm boxes of the
    GT persons, and the tiny model's loss on them back-propagates."""
    import torch
    from mmaction.registry import DATASETS
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope

    from ava_plugins.datasets import generate_synthetic_ava
    files = generate_synthetic_ava(str(tmp_path), seed=2, train_videos=1, val_videos=1,
                                   seconds=8, fps=4, size=64)
    cfg = Config.fromfile('configs/synthetic/arm_slowfast_tiny.py')
    assert cfg.train_dataloader.dataset.custom_classes is None
    ds_cfg = cfg.train_dataloader.dataset
    ds_cfg.update(ann_file=files['train_csv'], exclude_file=files['train_excluded'],
                  label_file=files['label_map'], proposal_file=files['train_proposals'],
                  data_prefix=dict(img=files['rawframes']), timestamp_end=908, fps=4)
    arm_step = next(s for s in ds_cfg.pipeline if s['type'] == 'ArmRoIs')
    arm_step.update(keypoint_file=files['train_keypoints'], proposal_file=files['train_proposals'])
    ds_cfg.pipeline = [s for s in ds_cfg.pipeline if s['type'] != 'Flip']
    init_default_scope('mmaction')
    ds = DATASETS.build(ds_cfg)
    sample = ds[0]
    inst = sample['data_samples'].gt_instances
    assert inst.labels.shape[1] == 12 and len(inst.bboxes) >= 1
    # independent: the sample's GT arm boxes from the generator's keypoints
    info = ds.get_data_info(0)
    props = load(files['train_proposals'])[info['img_key']]
    kps = load(files['train_keypoints'])[info['img_key']]
    rows = match_gt_to_proposals(info['gt_bboxes'], props[:, :4], 0.5)
    h, w = cv2.imread(osp.join(files['rawframes'], info['video_id'], 'img_00001.jpg')).shape[:2]
    kp = np.where((rows >= 0)[:, None, None], kps[np.maximum(rows, 0)], 0) * [w, h, 1]
    boxes, valid = arm_boxes(kp, (w, h), score_thr=0.3, scale=1.5, min_side_ratio=0.5)
    valid &= (rows >= 0)[:, None]
    nh, nw = sample['data_samples'].metainfo['img_shape']
    np.testing.assert_allclose(inst.bboxes.numpy(), boxes[valid] * np.array([nw / w, nh / h] * 2),
                               rtol=1e-5, atol=1e-3)
    init_default_scope('mmdet')
    from mmdet.registry import MODELS
    model = MODELS.build(cfg.model)
    data = model.data_preprocessor(pseudo_collate([sample]), True)
    losses = model(**data, mode='loss')
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(loss) and loss > 0
    loss.backward()
    assert model.roi_head.bbox_head.fc_cls.weight.grad.abs().sum() > 0

