"""The multi-sec res4 cache: SlowFast split after res4, packing, and the bank round trip.

``tools/extract_bank.py --feature res4`` writes one packed res4 volume per keyframe from a
stage-1 model; running res5 and the RoI head on the cached volume must give the stage-1 model's
own predictions on the frames (up to the bank's fp16 rounding, and exactly with it).
"""
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

import ava_plugins  # noqa: F401
from ava_plugins.models.roi_heads.slowfast_res4 import (pack_res4, pool_res4, res4_channels,
                                                         res4_item_bytes, slowfast_res4,
                                                         slowfast_res5, unpack_res4, unpool_res4)
from ava_plugins.structures import FeatureBank
from multisec_support import CACHE_CONFIG


def tiny_slowfast(lateral=True):
    from mmaction.registry import MODELS
    cfg = Config.fromfile(CACHE_CONFIG).model.backbone
    cfg.slow_pathway.update(base_channels=4, stage_blocks=(1, 1, 1, 1), lateral=lateral)
    cfg.fast_pathway.update(base_channels=2, stage_blocks=(1, 1, 1, 1))
    cfg.channel_ratio = 2
    torch.manual_seed(0)
    backbone = MODELS.build(cfg).eval()
    backbone.init_weights()
    return backbone


@pytest.mark.parametrize('lateral', [True, False])
def test_res4_then_res5_is_the_backbone(lateral):
    backbone = tiny_slowfast(lateral)
    x = torch.randn(2, 3, 8, 40, 56)
    with torch.no_grad():
        slow, fast = backbone(x)
        slow4, fast4 = slowfast_res4(backbone, x)
        slow5, fast5 = slowfast_res5(backbone, slow4, fast4)
    assert slow4.shape == (2, 16, 2, 3, 4) and fast4.shape == (2, 8, 8, 3, 4)
    assert res4_channels(backbone) == (16, 8)
    torch.testing.assert_close(slow5, slow, rtol=0, atol=0)
    torch.testing.assert_close(fast5, fast, rtol=0, atol=0)


def test_pack_unpack_round_trip_and_bad_width():
    backbone = tiny_slowfast()
    slow, fast = torch.randn(3, 16, 2, 3, 4), torch.randn(3, 8, 8, 3, 4)
    packed = pack_res4(slow, fast)
    assert packed.shape == (3, 16 * 2 + 8 * 8, 3, 4)
    # slow channel 1, frame 0 is packed row 2 (channel-major over time)
    torch.testing.assert_close(packed[:, 2], slow[:, 1, 0])
    torch.testing.assert_close(packed[:, 32 + 8 + 3], fast[:, 1, 3])
    s, f = unpack_res4(packed, backbone)
    assert torch.equal(s, slow) and torch.equal(f, fast)
    with pytest.raises(ValueError, match='do not fit this backbone'):
        unpack_res4(packed[:, :-1], backbone)


def test_bank_holds_one_packed_volume_per_keyframe(res4_bank):
    bank = FeatureBank(str(res4_bank['bank_dir']))
    assert res4_bank['result']['computed'] == ['val_000']
    # tiny R18 SlowFast: slow res4 64 ch x 2 frames, fast 8 ch x 8 frames; 80 x 142 px -> 5 x 9
    assert bank.item_shape == (64 * 2 + 8 * 8, 5, 9)
    stamps = bank.timestamps('val_000')
    np.testing.assert_array_equal(stamps, np.unique(stamps))  # exactly one item per keyframe
    assert len(stamps) >= 5


def test_cached_res4_plus_res5_gives_the_stage1_predictions(res4_bank):
    from mmaction.registry import DATASETS
    from mmdet.registry import MODELS
    from mmengine.runner import load_checkpoint
    cfg = res4_bank['cfg']
    model = MODELS.build(cfg.model).eval()
    load_checkpoint(model, str(res4_bank['ckpt']), map_location='cpu')
    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    bank = FeatureBank(str(res4_bank['bank_dir']))
    checked = 0
    for idx in (0, len(dataset) // 2, len(dataset) - 1):
        info = dataset.get_data_info(idx)
        with torch.no_grad():
            data = model.data_preprocessor(pseudo_collate([dataset[idx]]), False)
            full = model.predict(data['inputs'], data['data_samples'])[0].pred_instances.scores
            packed = pack_res4(*slowfast_res4(model.backbone, data['inputs']))
            cached = torch.from_numpy(bank.read_items(info['video_id'],
                                                      info['timestamp'])[0][:1].astype(np.float32))
            # the bank stores fp16: exactly the rounded volume
            torch.testing.assert_close(cached, packed.half().float(), rtol=0, atol=0)
            feats = slowfast_res5(model.backbone, *unpack_res4(cached, model.backbone))
            samples = model.data_preprocessor(pseudo_collate([dataset[idx]]), False)
            props = [s.proposals for s in samples['data_samples']]
            out = model.roi_head.predict(feats, props, samples['data_samples'])[0].scores
        assert full.shape == out.shape and full.shape[0] == len(info['proposals'])
        torch.testing.assert_close(out, full, rtol=0, atol=2e-3)
        checked += 1
    assert checked == 3


# ------------------------------------------------------------------ cache size, stride-2 layout
def test_item_bytes_match_the_bank_and_the_r50_figure(res4_bank):
    """``res4_item_bytes`` equals a real bank item's size (tiny model) and, for the stage-1 R50
    at 32 frames and 300 x 533, the hand count 12288 x 19 x 34 x 2 bytes (and 12288 x 10 x 17 x
    2 at stride 2), which the README's 3.3 TB for AVA train comes from.

    Would have caught a cache size stated (or a smaller layout offered) without a checked
    figure; the pooled bank feature must have the stride-2 size.
    """
    from mmaction.registry import DATASETS
    from mmaction.registry import MODELS as ACTION_MODELS
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint

    from ava_plugins.engine.bank_features import BANK_FEATURES
    from multisec_support import REPO
    cfg = res4_bank['cfg']
    bank = FeatureBank(str(res4_bank['bank_dir']))
    model = MODELS.build(cfg.model).eval()
    item = int(np.prod(bank.item_shape)) * np.dtype(bank.dtype).itemsize
    assert res4_item_bytes(model.backbone, 8, (80, 142)) == item
    init_default_scope('mmaction')
    r50 = ACTION_MODELS.build(Config.fromfile(
        f'{REPO}/configs/multisec_baseline_slowfast_r50.py').model.backbone)
    assert res4_item_bytes(r50, 32, (300, 533)) == (1024 * 8 + 128 * 32) * 19 * 34 * 2
    assert res4_item_bytes(r50, 32, (300, 533), stride=2) == 12288 * 10 * 17 * 2
    load_checkpoint(model, str(res4_bank['ckpt']), map_location='cpu')
    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    with torch.no_grad():
        data = model.data_preprocessor(pseudo_collate([dataset[0]]), False)
        pooled = BANK_FEATURES['res4_stride2'](model, data)
    assert pooled.shape[1:] == (bank.item_shape[0], 3, 5)  # 5 x 9 cells at stride 2
    assert pooled[0].numel() * 2 == res4_item_bytes(model.backbone, 8, (80, 142), stride=2)


def test_pool_res4_block_means_by_hand():
    """2 x 2 block means of a 3 x 3 map, border blocks over their cells inside the map."""
    x = torch.arange(9.).view(1, 1, 3, 3)
    torch.testing.assert_close(pool_res4(x, 2), torch.tensor([[[[2., 3.5], [6.5, 8.]]]]))
    up = unpool_res4(pool_res4(x, 2), 2, (3, 3))
    torch.testing.assert_close(up[0, 0], torch.tensor([[2., 2., 3.5], [2., 2., 3.5],
                                                      [6.5, 6.5, 8.]]))


def test_stride2_cache_is_exact_where_res4_is_constant_per_block():
    """Stage 2 on the pooled cache (``MultiSecFastRCNN(res4_stride=2)``) gives the features of
    the full cache exactly when each 2 x 2 block of res4 is constant, and differs otherwise.

    Would have caught a smaller layout whose expansion puts cells in the wrong place or
    at the wrong size for res5 (the lossless case must be bit-equal).
    """
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    from multisec_support import REPO
    init_default_scope('mmdet')
    cfg = Config.fromfile(f'{REPO}/configs/synthetic/multisec_t5_slowfast_tiny.py').model
    cfg.init_cfg = None
    torch.manual_seed(0)
    full_model = MODELS.build(cfg).eval()
    cfg.update(res4_stride=2, res4_shape=(5, 9))
    pooled_model = MODELS.build(cfg).eval()
    pooled_model.load_state_dict(full_model.state_dict())
    blocks = torch.randn(1, 5, 192, 3, 5)  # B, K clips, packed channels, 3 x 5 blocks
    full = unpool_res4(blocks.flatten(0, 1), 2, (5, 9)).view(1, 5, 192, 5, 9).relu()
    with torch.no_grad():
        ref = full_model.extract_feat(full)
        out = pooled_model.extract_feat(pool_res4(full.flatten(0, 1), 2).view(1, 5, 192, 3, 5))
        noisy = full + 0.1 * torch.randn_like(full).relu()
        lossy = pooled_model.extract_feat(pool_res4(noisy.flatten(0, 1), 2).view(1, 5, 192, 3, 5))
        exact = full_model.extract_feat(noisy)
    for a, b in zip(out, ref):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert any(not torch.equal(a, b) for a, b in zip(lossy, exact))
