"""The documented ACFB flow, end to end, on 16:9 video with the real configs' padding.

Bank extraction with ``--feature acar`` (``extract_bank_from_config``, what
``tools/extract_bank.py`` runs) with a tiny ACAR model (train and val banks, GT boxes for
training), then training the tiny ACFB config (whose training pipeline pads the 16:9 frames to
a square, as ``acfb_slowfast_r101.py``) for one epoch with the tools' runner, then testing it,
on a generated synthetic set of 48 x 85 frames (80 x 142 after the configs'
resize). The ACAR checkpoint is randomly initialised: the flow, not the accuracy, is tested.
"""
import os

import numpy as np
import pytest
import torch
from mmaction.registry import MODELS as MMACTION_MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

import ava_plugins  # noqa: F401
from ava_plugins.benchmarks.synthetic_runs import ensure_synthetic_data, point_config_at_data
from ava_plugins.engine import build_runner
from ava_plugins.engine.bank_features import check_acar_geometry, extract_bank_from_config
from ava_plugins.structures.feature_bank import FeatureBank

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


NO_POOL = {'model.roi_head.shared_head.downsample': 'none'}


def extract(config, ckpt, out, **kwargs):
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(NO_POOL)
    return extract_bank_from_config(cfg, ckpt, out, feature='acar', **kwargs)


def run(config, work_dir, mode, **options):
    """Train or test ``config`` as ``tools/train.py`` / ``tools/test.py`` do (their runner)."""
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    cfg.work_dir, cfg.launcher = work_dir, 'none'
    runner = build_runner(cfg)
    return runner.train() if mode == 'train' else runner.test()


def local_config(name, data, tmp_path, extra=None):
    cfg = Config.fromfile(os.path.join(REPO, 'configs/synthetic', name))
    point_config_at_data(cfg, data, extra)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].update(num_workers=0, persistent_workers=False)
    cfg.default_hooks.checkpoint.interval = 1
    path = str(tmp_path / name)
    cfg.dump(path)
    return path


def test_documented_acfb_flow_on_padded_16_9_video(tmp_path):
    """Would have caught: ``ValueError: bank maps (3, 7) smaller than the clip maps (4, 7)`` in
    ACFBHead on every square-padded training clip (the raw 142 x 142 square gave a ceil context
    of 6 rows at training against 5 at extraction); and a too-small ``--canvas`` failing without
    naming the config and the canvas."""
    data = str(tmp_path / 'data')
    ensure_synthetic_data(data, 0, verbose=False, train_videos=1, val_videos=1, seconds=10,
                          fps=10, size=48)
    bank_dir = str(tmp_path / 'acfb')
    acar = local_config('acar_slowfast_tiny.py', data, tmp_path)
    acfb = local_config('acfb_slowfast_tiny.py', data, tmp_path,
                        {'data/synthetic_ava/acfb': bank_dir})
    steps = Config.fromfile(acfb).train_dataloader.dataset.pipeline
    assert 'PadToSquare' in [s['type'] for s in steps]

    init_default_scope('mmaction')
    torch.manual_seed(0)
    model = MMACTION_MODELS.build(Config.fromfile(acar).model)
    ckpt = str(tmp_path / 'acar.pth')
    torch.save(dict(state_dict=model.state_dict()), ckpt)

    extract(acar, ckpt, bank_dir, split='train', boxes='gt')
    extract(acar, ckpt, bank_dir, split='val')
    with pytest.raises(ValueError, match=r'acar_slowfast_tiny\.py.*--canvas 2 7\).*--canvas 3 7'):
        extract(acar, ckpt, str(tmp_path / 'small'), split='val', canvas=(2, 7))
    bank = FeatureBank(bank_dir)
    assert bank.item_shape == (64, 3, 7)  # context 5 x 9 cells (80 x 144 / 16) after conv2
    assert len(bank.videos()) == 2

    work = str(tmp_path / 'work')
    run(acfb, work, 'train', **{'load_from': ckpt, 'train_cfg.max_epochs': 1})
    metrics = run(acfb, work, 'test', load_from=os.path.join(work, 'epoch_1.pth'))
    assert any('mAP' in k for k in metrics), metrics
    assert np.isfinite(bank.read_items(bank.videos()[0], bank.timestamps(bank.videos()[0])[0])[0]
                       .astype(np.float32)).all()


def test_extraction_refuses_configs_whose_training_maps_differ():
    """``extract_bank.py --feature acar`` on a config that pads training clips to a square
    without the stride-16 divisor, or resizes differently at training: an error naming the
    config. Would have caught: such configs writing a bank whose maps do not match training."""
    cfg = Config.fromfile(os.path.join(REPO, 'configs/synthetic/acfb_slowfast_tiny.py'))
    check_acar_geometry(cfg)  # the shipped config passes
    cfg.model.data_preprocessor.pad_size_divisor = 1
    with pytest.raises(ValueError, match=r'acfb_slowfast_tiny\.py.*PadToSquare.*divisor=1'):
        check_acar_geometry(cfg)
    cfg = Config.fromfile(os.path.join(REPO, 'configs/synthetic/acfb_slowfast_tiny.py'))
    cfg.train_dataloader.dataset.pipeline[2].scale = (-1, 96)
    with pytest.raises(ValueError, match=r'acfb_slowfast_tiny\.py.*resizes'):
        check_acar_geometry(cfg)
