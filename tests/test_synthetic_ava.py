"""Synthetic AVA: determinism, validity through mmaction2, label rules, proposal
statistics and a short real training run of the tiny linear config."""
import filecmp
import os
import os.path as osp
import pickle

import numpy as np
import pytest

from ava_plugins.datasets.synthetic import (SYNTHETIC_CLASSES, SyntheticAVAConfig,
                                            capability_groups, generate_synthetic_ava,
                                            pose_class_ids, proposal_recall, read_person_boxes,
                                            recall_at_iou)
from ava_plugins.datasets.synthetic.figure import figure_boxes, figure_points
from ava_plugins.datasets.synthetic.proposals import make_proposals
from ava_plugins.structures.boxes import elementwise_iou
from ava_plugins.datasets.synthetic.render import render_frames
from ava_plugins.datasets.synthetic.scene import JUMP, SIT, STAND, WALK, VideoScript

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY = dict(train_videos=2, val_videos=1, seconds=12, fps=10, size=64)


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('synthetic_ava'))
    return generate_synthetic_ava(out, seed=3, **TINY)


def _tree(root):
    return sorted(osp.relpath(osp.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    small = dict(train_videos=1, val_videos=1, seconds=8, fps=5, size=48)
    a = generate_synthetic_ava(str(tmp_path / 'a'), seed=7, **small)
    b = generate_synthetic_ava(str(tmp_path / 'b'), seed=7, **small)
    c = generate_synthetic_ava(str(tmp_path / 'c'), seed=8, **small)
    files = _tree(a['root'])
    assert files == _tree(b['root'])
    assert len(files) == 2 * 8 * 5 + 11  # frames + 11 annotation/meta files
    _, mismatch, errors = filecmp.cmpfiles(a['root'], b['root'], files, shallow=False)
    assert mismatch == [] and errors == []
    assert not filecmp.cmp(a['train_csv'], c['train_csv'], shallow=False)
    assert not filecmp.cmp(osp.join(a['rawframes'], 'train_000', 'img_00001.jpg'),
                           osp.join(c['rawframes'], 'train_000', 'img_00001.jpg'),
                           shallow=False)


def test_frames_follow_ava_layout(tiny):
    import cv2
    for vid in ('train_000', 'train_001', 'val_000'):
        names = sorted(os.listdir(osp.join(tiny['rawframes'], vid)))
        assert names == [f'img_{k:05d}.jpg' for k in range(1, 12 * 10 + 1)]
    img = cv2.imread(osp.join(tiny['rawframes'], 'val_000', 'img_00120.jpg'))
    assert img.shape == (64, 114, 3)


def test_annotations_are_valid(tiny):
    from mmaction.evaluation import read_labelmap
    with open(tiny['label_map']) as f:
        labelmap, ids = read_labelmap(f)
    assert labelmap == [{'id': c.id, 'name': c.name} for c in SYNTHETIC_CLASSES]
    with open(tiny['label_map_txt']) as f:
        assert f.read().splitlines()[0] == '1: stand'
    poses = set(pose_class_ids())
    for split in ('train', 'val'):
        rows = np.loadtxt(tiny[f'{split}_csv'], delimiter=',', dtype=str, ndmin=2)
        boxes = rows[:, 2:6].astype(float)
        assert (boxes >= 0).all() and (boxes <= 1).all()
        assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()
        assert (boxes[:, 1] >= 0.2).all(), 'a person box reaches the screen (top 20 %)'
        assert set(rows[:, 6].astype(int)) <= ids
        assert all(len(t) == 4 for t in rows[:, 1])
        stamps = rows[:, 1].astype(int)
        assert stamps.min() >= 902 and stamps.max() <= 900 + 12 - 2
        excluded = np.loadtxt(tiny[f'{split}_excluded'], delimiter=',', dtype=str, ndmin=2)
        excluded = {tuple(e) for e in excluded.reshape(-1, 2)}
        assert not excluded & {(r[0], r[1]) for r in rows}
        # Every person (video, timestamp, person id) has exactly one pose label.
        person = np.char.add(np.char.add(rows[:, 0], rows[:, 1]), np.char.add('_', rows[:, 7]))
        is_pose = np.isin(rows[:, 6].astype(int), list(poses))
        _, counts = np.unique(person[is_pose], return_counts=True)
        assert len(np.unique(person)) == len(counts) and (counts == 1).all()
        # Every kept keyframe lists the same actors (every actor is annotated every second).
        per_video = {}
        for v, t, p in np.unique(rows[:, [0, 1, 7]], axis=0):
            per_video.setdefault(v, {}).setdefault(t, set()).add(p)
        for stamps_of_video in per_video.values():
            assert len({frozenset(s) for s in stamps_of_video.values()}) == 1


def test_loads_through_mmaction_avadataset_and_training_pipeline(tiny):
    import ava_plugins  # noqa: F401  (compat fixes, registration)
    from mmaction.datasets import AVADataset
    from mmaction.datasets.transforms import SampleAVAFrames
    from mmaction.registry import DATASETS
    from mmaction.utils import register_all_modules
    from mmengine.config import Config
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO, 'configs/synthetic/linear_slowfast_tiny.py'))
    ds_cfg = cfg.train_dataloader.dataset
    ds_cfg.update(_paths(tiny, 'train'), timestamp_end=912)
    ds = DATASETS.build(ds_cfg)
    assert isinstance(ds, AVADataset)
    gt = read_person_boxes(tiny['train_csv'])
    assert len(ds) == len(gt)
    with open(tiny['train_proposals'], 'rb') as f:
        proposals = pickle.load(f)
    np.random.seed(0)
    for idx in (0, len(ds) - 1):
        info = ds.get_data_info(idx)
        key = info['img_key']
        np.testing.assert_allclose(np.sort(info['gt_bboxes'], 0), np.sort(gt[key], 0))
        kept = proposals[key][proposals[key][:, 4] >= min(0.9, proposals[key][:, 4].max())]
        np.testing.assert_allclose(info['proposals'], kept[:, :4])
        # The clip SampleAVAFrames takes lies inside the second the label describes.
        clip = SampleAVAFrames(clip_len=8, frame_interval=1, test_mode=True)(dict(info))
        frame_time = 900 + (clip['frame_inds'] - 1) / 10  # img_00001 shows second 900.0
        assert (np.abs(frame_time - info['timestamp']) < 0.5).all()
        sample = ds[idx]
        inputs = sample['inputs']
        width = inputs.shape[3]
        assert tuple(inputs.shape[:3]) == (3, 8, 80) and abs(width - 114 * 80 / 64) <= 1
        boxes = sample['data_samples'].gt_instances.bboxes.numpy()
        np.testing.assert_allclose(boxes, info['gt_bboxes'] * [width, 80, width, 80], atol=0.2)
        labels = sample['data_samples'].gt_instances.labels.numpy()
        assert labels.shape[1] == 12 and (labels[:, 0] == 0).all()
        assert (labels[:, 1:5].sum(1) == 1).all()


def _paths(paths, split):
    return dict(ann_file=paths[f'{split}_csv'], exclude_file=paths[f'{split}_excluded'],
                label_file=paths['label_map'], proposal_file=paths[f'{split}_proposals'],
                data_prefix=dict(img=paths['rawframes']))


def test_keypoints_align_with_proposals(tiny):
    with open(tiny['val_proposals'], 'rb') as f:
        proposals = pickle.load(f)
    with open(tiny['val_keypoints'], 'rb') as f:
        keypoints = pickle.load(f)
    assert list(proposals) == list(keypoints)
    for key, props in proposals.items():
        kp = keypoints[key]
        assert kp.dtype == np.float32 and kp.shape == (len(props), 17, 3)
        assert (kp >= 0).all() and (kp <= 1).all()
        assert (np.diff(props[:, 4]) <= 0).all()
        lo, hi = props[:, None, :2] - 0.05, props[:, None, 2:4] + 0.05
        inside = ((kp[..., :2] >= lo) & (kp[..., :2] <= hi)).all(-1)
        confident = props[:, 4] > 0.9
        assert inside[confident].mean() > 0.95


def test_capability_groups_partition_the_classes():
    groups = capability_groups()
    ids = sorted(i for g in groups.values() for i in g)
    assert ids == [c.id for c in SYNTHETIC_CLASSES] == list(range(1, 12))
    assert groups['pose'] == [1, 2, 3, 4] == pose_class_ids()
    assert set(groups) == {'pose', 'actor', 'interaction', 'scene', 'long_term', 'arm'}


def _script(pose, facing, x, talk, screen_on, clap_second, screen_x=10.0, **states):
    pose = np.asarray(pose)
    A, T = pose.shape
    zeros = np.zeros((A, T), bool)
    return VideoScript(
        video_id='v', fps=10, background=np.zeros((96, 128, 3), np.uint8),
        screen=np.array([screen_x - 5, 3.0, screen_x + 5, 19.0]),
        screen_on=np.asarray(screen_on, bool), screen_colors=np.full((4 * T, 3), 200),
        height=np.full(A, 40.0), foot_y=np.full(A, 90.0),
        colors=np.tile(np.array([[200, 50, 50], [50, 50, 50], [90, 140, 200]]), (A, 1, 1)),
        clap_second=np.asarray(clap_second), pose=pose, facing=np.asarray(facing),
        x=np.asarray(x, float), velocity=np.zeros((A, T)), talk=np.asarray(talk, bool),
        wave=states.get('wave', zeros), arm_forward=states.get('arm_forward', zeros),
        tap=states.get('tap', zeros), long_term_gap=(6, 20))


def test_label_rules_hand_worked():
    # Actor 0 at x=30 faces right towards actor 1 (x=90); actor 2 at x=60 faces left.
    T = 30
    talk = np.zeros((3, T), bool)
    talk[1, :2] = True  # seconds 0-1: actor 1 talks
    talk[0, 2] = True   # second 2: actor 0 talks
    s = _script(pose=np.array([[STAND] * T, [WALK] * T, [SIT] * T]),
                facing=np.array([[1] * T, [-1] * T, [-1] * T]),
                x=np.array([[30] * T, [90] * T, [60] * T]), talk=talk,
                screen_on=[True] * 4 + [False] * (T - 4), clap_second=[0, 5, 29],
                screen_x=10.0)
    y = s.labels()
    assert (y[..., :4].sum(-1) == 1).all()
    assert y[0, 0, 0] and y[1, 0, 1] and y[2, 0, 3]
    # listen: actor 0 faces actor 1 who talks (s = 0, 1); actor 2 faces left, away from 1.
    assert y[:, 0, 7].tolist() == [True, False, False]
    # s = 2: actor 0 talks; actor 1 (facing left) and actor 2 (facing left) both face it.
    assert y[:, 2, 7].tolist() == [False, True, True]
    assert not y[:, 3:, 7].any()
    # watch screen (screen at x=10 on the left, on for s < 4): facing left and still: actor 2.
    assert y[:, :4, 8].tolist() == [[False] * 4, [False] * 4, [True] * 4]
    assert not y[:, 4:, 8].any()
    # clapped 6-20 s ago.
    assert np.flatnonzero(y[0, :, 9]).tolist() == list(range(6, 21))
    assert np.flatnonzero(y[1, :, 9]).tolist() == list(range(11, 26))
    assert not y[2, :, 9].any()
    assert np.flatnonzero(y[:, :, 6].ravel()).tolist() == [0, T + 5, 2 * T + 29]


def test_box_encloses_drawn_figure_tightly():
    T = 3
    for pose, extra in ((STAND, {}), (JUMP, {}), (SIT, {'arm_forward': np.ones((1, T), bool)}),
                        (STAND, {'wave': np.ones((1, T), bool)})):
        s = _script(pose=[[pose] * T], facing=[[1] * T], x=[[64] * T], talk=np.ones((1, T)),
                    screen_on=[False] * T, clap_second=[2], **extra)
        for tau in (0.9, 1.0, 1.3):
            frame = render_frames(s, [tau])[0].astype(int)
            empty = render_frames(_script(pose=[[pose] * T], facing=[[1] * T], x=[[-500] * T],
                                          talk=np.zeros((1, T)), screen_on=[False] * T,
                                          clap_second=[2]), [tau])[0].astype(int)
            ys, xs = np.nonzero(np.abs(frame - empty).sum(-1) > 30)
            box = figure_boxes(figure_points(s, np.array([tau])), s.height)[0, 0]
            assert xs.min() >= box[0] - 1 and xs.max() <= box[2] + 1
            assert ys.min() >= box[1] - 1 and ys.max() <= box[3] + 1
            assert xs.min() <= box[0] + 2.5 and xs.max() >= box[2] - 2.5
            assert ys.min() <= box[1] + 2.5 and ys.max() >= box[3] - 2.5


def test_tap_moves_the_wrist_only_and_has_zero_mean():
    T = 3
    base = dict(pose=[[STAND] * T], facing=[[1] * T], x=[[64] * T], talk=np.zeros((1, T)),
                screen_on=[False] * T, clap_second=[2], arm_forward=np.ones((1, T), bool))
    still = _script(**base)
    tap = _script(tap=np.ones((1, T), bool), **base)
    tau = 0.5 + np.arange(10) / 10  # one second of frames (4 Hz: 4 whole periods)
    p_still, p_tap = figure_points(still, tau)[0], figure_points(tap, tau)[0]
    moved = np.abs(p_tap - p_still).max(axis=(0, 2)) > 1e-9
    assert np.flatnonzero(moved).tolist() == [9]  # front wrist (COCO left when facing right)
    np.testing.assert_allclose(p_tap[:, 9].mean(0), p_still[:, 9].mean(0), atol=1e-9)
    b_still = figure_boxes(figure_points(still, tau), still.height)
    b_tap = figure_boxes(figure_points(tap, tau), tap.height)
    assert np.abs(b_tap - b_still).max() < 0.05 * 40


def test_long_term_positives_never_see_the_clap_in_the_clip(tiny):
    from ava_plugins.datasets.synthetic.scene import sample_video
    cfg = SyntheticAVAConfig(**TINY)
    for seed in range(20):
        s = sample_video(np.random.default_rng(seed), cfg, 'v')
        y = s.labels()
        a, t = np.nonzero(y[..., 9])
        assert (t - s.clap_second[a] >= 6).all()
        assert (y[..., :4].sum(-1) == 1).all()
        assert not (y[..., 10] & ~((s.pose == STAND) | (s.pose == SIT))).any()


def _synthetic_persons(rng, n_keys, per_key):
    w = rng.uniform(0.1, 0.25, (n_keys, per_key))
    h = rng.uniform(0.35, 0.5, (n_keys, per_key))
    x1 = rng.uniform(0, 0.75, (n_keys, per_key))
    y1 = rng.uniform(0.2, 0.5, (n_keys, per_key))
    boxes = np.stack([x1, y1, x1 + w, y1 + h], -1).reshape(-1, 4)
    kps = boxes[:, None, :2] + rng.random((len(boxes), 17, 2)) * (boxes[:, None, 2:]
                                                                  - boxes[:, None, :2])
    key_index = np.repeat(np.arange(n_keys), per_key)
    return [f'v,{900 + k:04d}' for k in range(n_keys)], key_index, boxes, kps


@pytest.mark.parametrize('miss_rate', [0.05, 0.3])
def test_proposal_recall_and_scores_behave_like_a_detector(miss_rate):
    rng = np.random.default_rng(0)
    keys, key_index, boxes, kps = _synthetic_persons(rng, 1000, 3)
    cfg = SyntheticAVAConfig(miss_rate=miss_rate)
    props, kp = make_proposals(rng, cfg, keys, key_index, boxes, kps, np.zeros(len(boxes)))
    gt = {k: boxes[key_index == i] for i, k in enumerate(keys)}
    recall = recall_at_iou(props, gt)
    # Expected: (1 - miss_rate) found; of those, loose boxes (sigma 0.06) fall below IoU 0.5
    # with probability < 1 %.
    assert 1 - miss_rate - 0.02 <= recall <= 1 - miss_rate + 0.015
    rows = np.concatenate([props[k] for k in props])
    best = np.concatenate([elementwise_iou(props[k][:, None, :4], gt[k][None]).max(1) for k in props])
    assert np.corrcoef(rows[:, 4], best)[0, 1] > 0.7
    tp, fp = rows[best >= 0.5, 4], rows[best < 0.1, 4]
    assert np.median(tp) > 0.95 and np.median(fp) < 0.3
    assert 0.01 < (fp >= 0.9).mean() < 0.1  # a few confident false positives
    expected_rows = len(boxes) * (1 - miss_rate) * (1 + cfg.duplicate_rate) + len(
        keys) * cfg.fp_per_frame
    assert abs(len(rows) / expected_rows - 1) < 0.04
    assert all(kp[k].shape == (len(props[k]), 17, 3) for k in props)


def test_generated_proposal_recall_in_configured_range(tiny):
    for split in ('train', 'val'):
        assert 0.85 <= proposal_recall(tiny[f'{split}_csv'], tiny[f'{split}_proposals']) <= 1.0


def test_bad_settings_name_the_setting(tmp_path):
    with pytest.raises(ValueError, match='fps'):
        generate_synthetic_ava(str(tmp_path), seed=0, fps=0)
    with pytest.raises(ValueError, match=r"unknown synthetic AVA setting\(s\) \['videoz'\]"):
        generate_synthetic_ava(str(tmp_path), seed=0, videoz=3)
    with pytest.raises(ValueError, match='seed'):
        generate_synthetic_ava(str(tmp_path), seed=-1)
    bad = tmp_path / 'bad.csv'
    bad.write_text('v,0902,0.1,0.2\n')
    with pytest.raises(ValueError, match=r'bad\.csv, line 1: expected (7 or 8|8) columns'):
        read_person_boxes(str(bad))


def test_cli_writes_the_dataset(tmp_path):
    import subprocess
    import sys
    out = tmp_path / 'd'
    run = subprocess.run([sys.executable, 'tools/make_synthetic_ava.py', '--out', str(out),
                          '--seed', '1', '--videos', '1', '--val-videos', '1', '--seconds', '8',
                          '--fps', '4', '--size', '48'], cwd=REPO, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert 'proposal_recall_iou50' in run.stdout
    assert len(os.listdir(out / 'rawframes' / 'val_000')) == 32
    bad = subprocess.run([sys.executable, 'tools/make_synthetic_ava.py', '--out', str(out),
                          '--size', '8'], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and bad.stderr.startswith('error:') and 'size' in bad.stderr


def test_tiny_linear_config_inherits_the_real_one():
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO, 'configs/synthetic/linear_slowfast_tiny.py'))
    real = Config.fromfile(osp.join(REPO, 'configs/linear_slowfast_r50.py'))
    assert cfg.model.init_cfg is None
    assert cfg.model.roi_head.bbox_roi_extractor == real.model.roi_head.bbox_roi_extractor
    assert cfg.model.train_cfg == real.model.train_cfg
    head, real_head = cfg.model.roi_head.bbox_head, real.model.roi_head.bbox_head
    assert head.num_classes == 12 and head.in_channels == 16 * 8 + 2 * 8
    assert tuple(head.get('pose_id_range', ())) == (min(pose_class_ids()), max(pose_class_ids()))
    changed = ('num_classes', 'in_channels', 'pose_id_range')
    assert {k: v for k, v in head.items() if k not in changed} == {
        k: v for k, v in real_head.items() if k not in changed}
    ds = cfg.train_dataloader.dataset
    assert ds.type == real.train_dataloader.dataset.type == 'ValidatedAVADataset'
    assert ds.ann_file == 'data/synthetic_ava/annotations/ava_train_synthetic.csv'
    assert (ds.timestamp_start, ds.timestamp_end, ds.fps) == (900, 940, 10)
    d = SyntheticAVAConfig()
    assert ds.timestamp_end == d.timestamp_end and ds.fps == d.fps
    assert cfg.val_evaluator.type == real.val_evaluator.type
    assert cfg.val_evaluator.num_classes == 12
    assert cfg.optim_wrapper.optimizer.type == real.optim_wrapper.optimizer.type


def test_tiny_linear_config_trains_and_loss_decreases(tiny, tmp_path):
    import ava_plugins  # noqa: F401
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(osp.join(REPO, 'configs/synthetic/linear_slowfast_tiny.py'))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.randomness = dict(seed=0)
    for loader, split in ((cfg.train_dataloader, 'train'), (cfg.val_dataloader, 'val')):
        loader.dataset.update(_paths(tiny, split), timestamp_end=912)
        loader.num_workers = 0
        loader.persistent_workers = False
    # One fixed batch of 6 keyframes, seen once per epoch: the loss of a learning model falls.
    cfg.train_dataloader.batch_size = 6
    cfg.train_dataloader.dataset.indices = 6
    resize = cfg.train_dataloader.dataset.pipeline[2]
    assert resize.type == 'Resize'
    resize.scale = (-1, 48)  # smaller than the demo's 80 px, to keep the test fast
    cfg.train_dataloader.sampler = dict(type='DefaultSampler', shuffle=False)
    epochs = 8
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=epochs, val_interval=epochs + 1)
    cfg.param_scheduler = []
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1, save_last=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    runner = Runner.from_cfg(cfg)
    runner.train()
    losses = np.array(runner.message_hub.get_scalar('train/loss').data[0])
    assert len(losses) == epochs and np.isfinite(losses).all()
    assert losses[-3:].mean() < 0.85 * losses[:3].mean(), losses
