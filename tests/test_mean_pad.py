"""Padding of the ACAR recipe: in normalised space, and the same geometry at train and test.

Through the configs' own pipeline steps, data preprocessor and (tiny) backbone on a 256 x 455
clip, where the old raw-pixel square padding made ``ceil`` inexact.
"""
import os

import numpy as np
import torch
from mmaction.registry import MODELS as MMACTION_MODELS
from mmaction.registry import TRANSFORMS
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

import ava_plugins  # noqa: F401
from ava_plugins.models.roi_heads.shared_heads.acar_head import clip_geometry

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
META_KEYS = ('img_shape', 'pad_shape')


def packed(frames, boxes, train):
    """The configs' steps after Resize: (Flip off) PadToSquare at training, FormatShape, Pack."""
    results = dict(imgs=list(frames), img_shape=frames.shape[1:3], modality='RGB', num_clips=1,
                   clip_len=len(frames), gt_bboxes=boxes.copy(), proposals=boxes.copy(),
                   gt_labels=np.zeros((len(boxes), 3), np.float32))
    steps = ([dict(type='PadToSquare')] if train else []) + [
        dict(type='FormatShape', input_format='NCTHW', collapse=True),
        dict(type='PackActionInputs', meta_keys=META_KEYS)]
    for step in steps:
        results = TRANSFORMS.build(step)(results)
    return results


def clip_256x455(seed=0, t=8):
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (t, 256, 455, 3), dtype=np.uint8)
    boxes = np.array([[10., 20., 200., 250.], [300., 5., 454., 255.]], np.float32)
    return frames, boxes


def test_padding_is_the_mean_after_normalisation():
    """The ACAR config's preprocessor on a train clip (square) and a smaller test-size clip in
    one batch: every padded value is exactly 0 after normalisation (the official ``batch_pad``
    pads normalised tensors with 0) and the content is ``(x - mean) / std``. Would have caught:
    PadToSquare padding raw pixels with 0 and mmaction2's stack_batch padding raw clips with 0,
    i.e. black, about -2 sigma after normalisation."""
    init_default_scope('mmaction')
    cfg = Config.fromfile(os.path.join(REPO, 'configs/acar_slowfast_r50.py'))
    pre = MMACTION_MODELS.build(cfg.model.data_preprocessor)
    frames, boxes = clip_256x455()
    small = frames[:, :200, :300]
    batch = pseudo_collate([packed(frames, boxes, True), packed(small, boxes[:1], False)])
    out = pre(batch, True)
    x = out['inputs']
    assert x.shape == (2, 3, 8, 464, 464)  # 455 -> square 455 -> multiple of 16
    mean = torch.tensor(cfg.model.data_preprocessor.mean).view(3, 1, 1, 1)
    std = torch.tensor(cfg.model.data_preprocessor.std).view(3, 1, 1, 1)
    real = torch.from_numpy(frames).permute(3, 0, 1, 2).float()
    torch.testing.assert_close(x[0, :, :, :256, :455], (real - mean) / std)
    assert (x[0, :, :, 256:] == 0).all() and (x[0, :, :, :, 455:] == 0).all()
    assert (x[1, :, :, 200:] == 0).all() and (x[1, :, :, :, 300:] == 0).all()
    assert [s.metainfo['pad_shape'] for s in out['data_samples']] == [(464, 464)] * 2
    assert [s.metainfo['img_shape'] for s in out['data_samples']] == [(256, 455), (200, 300)]


def test_train_and_test_geometry_of_a_256x455_clip_agree():
    """The same 256 x 455 clip through the training steps (square padding) and the test steps,
    the config's data preprocessor and the tiny ACAR config's backbone (res5 stride 1, total
    stride 16, as the R50/R101 ones): ACARHead's context crop (rows, columns) and box scale
    are the same, so the boxes land on the same feature cells. Would have caught: a 455 x 455
    square giving 29 x 29 cells, a 17-row context (one row of padding) and a y scale of 29 / 455
    at training against 16 rows and 16 / 256 at test (2% apart)."""
    init_default_scope('mmaction')
    cfg = Config.fromfile(os.path.join(REPO, 'configs/synthetic/acar_slowfast_tiny.py'))
    torch.manual_seed(0)
    model = MMACTION_MODELS.build(cfg.model).eval()
    frames, boxes = clip_256x455()
    geometry = {}
    for train in (True, False):
        data = model.data_preprocessor(pseudo_collate([packed(frames, boxes, train)]), False)
        with torch.no_grad():
            feat_hw = tuple(model.extract_feat(data['inputs'])[0].shape[-2:])
        metas = [s.metainfo for s in data['data_samples']]
        valid, scale = clip_geometry(metas, feat_hw)
        geometry[train] = valid[0].tolist(), (torch.from_numpy(boxes).double() * scale.repeat(2))
    assert geometry[True][0] == geometry[False][0] == [16, 29]  # ceil(256/16), ceil(455/16)
    torch.testing.assert_close(geometry[True][1], geometry[False][1], rtol=0, atol=0)
    torch.testing.assert_close(geometry[False][1], torch.from_numpy(boxes).double() / 16)
