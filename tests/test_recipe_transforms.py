"""ACAR-Net recipe transform PadToSquare (padding geometry, and ACARHead on a padded clip equals
it on the unpadded clip). The recipe's box jitter: tests/test_acar_training_rois.py.
"""
import numpy as np
import pytest
import torch
from mmaction.registry import TRANSFORMS

import ava_plugins  # noqa: F401
from ava_plugins.models import ACARHead


def test_pad_to_square_geometry():
    """PadToSquare only requests the square (``pad_shape``); the data preprocessor pads."""
    frames = [np.full((4, 6, 3), i + 1, np.uint8) for i in range(2)]
    out = TRANSFORMS.build(dict(type='PadToSquare'))(dict(imgs=frames, img_shape=(4, 6)))
    assert out['pad_shape'] == (6, 6) and out['img_shape'] == (4, 6)
    assert np.stack(out['imgs']).shape == (2, 4, 6, 3)
    tall = TRANSFORMS.build(dict(type='PadToSquare', size=8))(
        dict(imgs=[np.ones((8, 5, 3))], img_shape=(8, 5)))
    assert tall['pad_shape'] == (8, 8)
    with pytest.raises(ValueError, match='larger'):
        TRANSFORMS.build(dict(type='PadToSquare', size=7))(
            dict(imgs=[np.ones((8, 5, 3))], img_shape=(8, 5)))


def test_recipe_pipeline_records_the_unpadded_size():
    """Resize -> Flip -> PadToSquare -> FormatShape -> PackActionInputs, as the configs."""
    results = dict(imgs=[np.random.rand(30, 40, 3).astype(np.float32) for _ in range(2)],
                   img_shape=(30, 40), modality='RGB', num_clips=1, clip_len=2,
                   gt_bboxes=np.array([[4., 3., 20., 27.]]), gt_labels=np.zeros((1, 3)), proposals=np.array([[4., 3., 20., 27.]]))
    for cfg in (dict(type='Resize', scale=(-1, 60)), dict(type='Flip', flip_ratio=1.),
                dict(type='PadToSquare'), dict(type='FormatShape', input_format='NCTHW'),
                dict(type='PackActionInputs', meta_keys=('img_shape', 'pad_shape', 'flip'))):
        results = TRANSFORMS.build(cfg)(results)
    meta = results['data_samples'].metainfo
    assert meta['img_shape'] == (60, 80) and meta['pad_shape'] == (80, 80) and meta['flip']
    assert results['inputs'].shape[-2:] == (60, 80)
    torch.testing.assert_close(results['data_samples'].proposals.bboxes,
                               torch.tensor([[40., 6., 72., 54.]]), check_dtype=False)


def test_acar_head_on_a_padded_clip_equals_the_unpadded_clip():
    """Context 6x8 cells (96x128 px) vs the same context with garbage below
    (128x128 px, 8x8 cells): the head crops to the unpadded area and scales boxes alike."""
    torch.manual_seed(0)
    head = ACARHead(in_channels=8, reduce_channels=6, hidden_channels=4).eval()
    feat = torch.randn(1, 8, 2, 6, 8)
    padded = torch.randn(1, 8, 2, 8, 8) * 5
    padded[..., :6, :] = feat
    rois = torch.tensor([[0, 4., 4., 60., 70.], [0, 50., 10., 120., 78.], [0, 0., 30., 40., 80.]])
    with torch.no_grad():
        plain = head(None, feat, rois, [dict(img_shape=(96, 128))])
        pad = head(None, padded, rois, [dict(img_shape=(96, 128), pad_shape=(128, 128))])
        ignored = head(None, padded, rois, [dict(img_shape=(128, 128))])
    torch.testing.assert_close(pad, plain, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(ignored, plain, atol=1e-3)  # without the crop the garbage counts
