"""Shared fixtures: paths, and a tiny AVA-format dataset built from mmaction2's own fixture
(``tests/data/mmaction2``, shipped with the repository)."""
import contextlib
import csv
import shutil
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

from third_party_data import AVA_DATASET_DIR

REPO = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def _kept_default_scope():
    """Restore mmengine's default scope (e.g. switched to ``mmpose`` by ``init_model``) on exit."""
    from mmengine.registry import DefaultScope
    saved = OrderedDict(DefaultScope._instance_dict)
    try:
        yield
    finally:
        DefaultScope._instance_dict.clear()
        DefaultScope._instance_dict.update(saved)


@pytest.fixture(autouse=True, scope='module')
def _module_default_scope():
    """A test module's fixtures do not leak their default scope into the next module."""
    with _kept_default_scope():
        yield


@pytest.fixture(autouse=True)
def _test_default_scope():
    """A test does not leak its default scope into the next test."""
    with _kept_default_scope():
        yield


@pytest.fixture(scope='session')
def repo_root() -> Path:
    return REPO


def write_random_frames(frame_dir: Path, num_frames: int, size: int, seed: int) -> None:
    """Write ``img_00001.jpg`` ... with random content, as mmaction2's rawframes layout."""
    import cv2
    frame_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(1, num_frames + 1):
        img = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        cv2.imwrite(str(frame_dir / f'img_{i:05d}.jpg'), img)


@pytest.fixture(scope='session')
def tiny_ava(tmp_path_factory) -> dict:
    """mmaction2's AVA test annotations (2 videos, keyframes 902-903) with random 32 px frames.

    Frames cover what ``SampleAVAFrames(clip_len=8, frame_interval=2)`` reads around those
    keyframes at AVA's 30 fps with ``timestamp_start=900``.
    """
    src = AVA_DATASET_DIR
    root = tmp_path_factory.mktemp('tiny_ava')
    for name in ('ava_sample.csv', 'action_list.txt', 'ava_proposals_sample.pkl'):
        shutil.copy(src / name, root / name)
    with open(src / 'ava_sample.csv') as f:
        videos = sorted({row[0] for row in csv.reader(f)})
    for k, vid in enumerate(videos):
        write_random_frames(root / 'rawframes' / vid, num_frames=110, size=32, seed=k)
    return dict(root=root, ann_file=root / 'ava_sample.csv', label_file=root / 'action_list.txt',
                proposal_file=root / 'ava_proposals_sample.pkl', frames=root / 'rawframes')


@pytest.fixture(scope='session')
def synthetic(tmp_path_factory):
    """A 12 s synthetic AVA set (1 train, 1 val video) for the multi-sec tests."""
    from ava_plugins.datasets.synthetic import generate_synthetic_ava
    root = tmp_path_factory.mktemp('multisec_synthetic')
    return generate_synthetic_ava(str(root / 'data'), seed=0, train_videos=1, val_videos=1,
                                  seconds=12, size=48)


@pytest.fixture(scope='session')
def res4_bank(synthetic, tmp_path_factory):
    """A random stage-1 tiny model and the val res4 bank the tool extracts with it."""
    import torch
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from ava_plugins.engine.bank_features import extract_bank_from_config
    from multisec_support import CACHE_CONFIG, synthetic_options
    init_default_scope('mmaction')
    cfg = Config.fromfile(CACHE_CONFIG)
    cfg.merge_from_dict(synthetic_options(synthetic))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    work = tmp_path_factory.mktemp('res4')
    ckpt = work / 'stage1.pth'
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    bank_dir = work / 'bank'
    result = extract_bank_from_config(cfg.copy(), str(ckpt), str(bank_dir), split='val',
                                      feature='res4', max_per_second=1)
    return dict(cfg=cfg, ckpt=ckpt, bank_dir=bank_dir, result=result)
