"""The documented ACFB flow, end to end, on 16:9 video with the real configs' padding.

``tools/extract_bank.py --feature acar`` with a tiny ACAR model (train and val banks, GT boxes
for training), then ``tools/train.py`` of the tiny ACFB config (whose training pipeline pads
the 16:9 frames to a square, as ``acfb_slowfast_r101.py``) for one epoch, then
``tools/test.py``, on a generated synthetic set of 48 x 85 frames (80 x 142 after the configs'
resize). The ACAR checkpoint is randomly initialised: the flow, not the accuracy, is tested.
"""
import importlib.util
import os

import numpy as np
import pytest
import torch
from mmaction.registry import MODELS as MMACTION_MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

import ava_plugins  # noqa: F401
from ava_plugins.engine.synthetic_runs import ensure_synthetic_data, point_config_at_data
from ava_plugins.structures.feature_bank import FeatureBank

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tool(name, *argv):
    """``python tools/NAME.py ARGV``, in this process (saves importing the stack 4 times)."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(REPO, 'tools', name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main([str(a) for a in argv])


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

    no_pool = ['--cfg-options', 'model.roi_head.shared_head.downsample=none']
    tool('extract_bank.py', acar, ckpt, '--feature', 'acar', '--out', bank_dir,
         '--split', 'train', '--boxes', 'gt', *no_pool)
    tool('extract_bank.py', acar, ckpt, '--feature', 'acar', '--out', bank_dir,
         '--split', 'val', *no_pool)
    with pytest.raises(ValueError, match=r'acar_slowfast_tiny\.py.*--canvas 2 7\).*--canvas 3 7'):
        tool('extract_bank.py', acar, ckpt, '--feature', 'acar', '--out', str(tmp_path / 'small'),
             '--split', 'val', '--canvas', '2', '7', *no_pool)
    bank = FeatureBank(bank_dir)
    assert bank.item_shape == (64, 3, 7)  # context 5 x 9 cells (80 x 144 / 16) after conv2
    assert len(bank.videos()) == 2

    work = str(tmp_path / 'work')
    tool('train.py', acfb, '--work-dir', work, '--cfg-options', f'load_from={ckpt}',
         'train_cfg.max_epochs=1')
    metrics = tool('test.py', acfb, os.path.join(work, 'epoch_1.pth'), '--work-dir', work)
    assert any('mAP' in k for k in metrics), metrics
    assert np.isfinite(bank.read_items(bank.videos()[0], bank.timestamps(bank.videos()[0])[0])[0]
                       .astype(np.float32)).all()


def test_extraction_refuses_configs_whose_training_maps_differ():
    """``extract_bank.py --feature acar`` on a config that pads training clips to a square
    without the stride-16 divisor, or resizes differently at training: an error naming the
    config. Would have caught: such configs writing a bank whose maps do not match training."""
    spec = importlib.util.spec_from_file_location(
        'extract_bank', os.path.join(REPO, 'tools', 'extract_bank.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cfg = Config.fromfile(os.path.join(REPO, 'configs/synthetic/acfb_slowfast_tiny.py'))
    module.check_acar_geometry(cfg)  # the shipped config passes
    cfg.model.data_preprocessor.pad_size_divisor = 1
    with pytest.raises(ValueError, match=r'acfb_slowfast_tiny\.py.*PadToSquare.*divisor=1'):
        module.check_acar_geometry(cfg)
    cfg = Config.fromfile(os.path.join(REPO, 'configs/synthetic/acfb_slowfast_tiny.py'))
    cfg.train_dataloader.dataset.pipeline[2].scale = (-1, 96)
    with pytest.raises(ValueError, match=r'acfb_slowfast_tiny\.py.*resizes'):
        module.check_acar_geometry(cfg)
