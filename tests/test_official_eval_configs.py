"""configs/acar_slowfast_r{50,101}_official_eval.py run a converted official checkpoint as the
official code (github.com/Siyu-C/ACAR-Net) does: same input normalisation, frames, lateral
fusion and geometry, so the class logits equal the official backbone + head on the same clip.

The official backbone and head are restated in tests/test_convert_acar.py and
tests/test_acar_head.py (official parameter names, so their state dicts are official
checkpoints); stages have one block each to stay fast (R50 and R101 differ only in block
counts). The restated backbone samples the slow pathway as each official config: every 4th frame
(R101), ``slow_full_span`` (R50).
"""
import os

import pytest
import torch
import torch.nn as nn
from mmaction.registry import MODELS as MMACTION_MODELS
from mmaction.structures import ActionDataSample
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

import ava_plugins  # noqa: F401
from test_acar_head import OfficialACARHead
from test_convert_acar import OfficialSlowFast, convert

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Official eval configs (configs/AVA/eval_*.yaml): ToTensor(norm_value) then Normalize.
OFFICIAL = {
    'r50': dict(config='acar_slowfast_r50_official_eval.py', fuse_only_conv=False, kernel=7,
                slow_full_span=True, depth=2, mlp_1x1=False, norm_value=255., mean=[0.45] * 3,
                std=[0.225] * 3),
    'r101': dict(config='acar_slowfast_r101_official_eval.py', fuse_only_conv=True, kernel=5,
                 slow_full_span=False, depth=1, mlp_1x1=True, norm_value=1.,
                 mean=[110.63666788, 103.16065604, 96.29023126],
                 std=[38.7568578, 37.88248729, 40.02898126]),
}


@pytest.mark.parametrize('arch', ['r50', 'r101'])
def test_converted_official_checkpoint_gives_the_official_logits(arch, tmp_path):
    """Would have caught: no config running the converter's output as the official model
    (mmaction2's mean/std, fusion kernel 7 without lateral BN for R101, 16-pixel padding
    changing the box scale of a frame whose side is not a multiple of 16; R50: the slow pathway
    on every 4th frame, frames 0 and 4 of this 8-frame clip, not the official 0 and 7)."""
    o = OFFICIAL[arch]
    blocks = (1, 1, 1, 1)
    torch.manual_seed(0)
    backbone = OfficialSlowFast(blocks, o['fuse_only_conv'], o['kernel'],
                                o['slow_full_span']).eval()
    for m in backbone.modules():
        if isinstance(m, nn.BatchNorm3d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
    head = OfficialACARHead(2304, 1024, 512, 60, o['depth'], o['mlp_1x1']).eval()
    for block in head.hr2o:
        nn.init.normal_(block.norm.weight)
        nn.init.normal_(block.norm.bias)
    state = {f'module.backbone.module.{k}': v for k, v in backbone.state_dict().items()}
    state.update({f'module.head.module.{k}': v for k, v in head.state_dict().items()})
    src, dst = tmp_path / 'official.pth.tar', tmp_path / 'converted.pth'
    torch.save(dict(state_dict=state, epoch=5), src)
    convert.convert_checkpoint(str(src), str(dst))

    init_default_scope('mmaction')
    cfg = Config.fromfile(os.path.join(REPO, 'configs', o['config']))
    for path in ('slow_pathway', 'fast_pathway'):
        cfg.model.backbone[path].stage_blocks = blocks
    model = MMACTION_MODELS.build(cfg.model).eval()
    result = model.load_state_dict(torch.load(dst, weights_only=True)['state_dict'], strict=True)
    assert not result.missing_keys and not result.unexpected_keys

    g = torch.Generator().manual_seed(1)
    h, w = 64, 100  # not multiples of 16: feature maps 4 x 7, as the official code gets
    clip = torch.randint(0, 256, (3, 8, h, w), generator=g, dtype=torch.uint8)
    boxes = torch.tensor([[4., 2., 50., 60.], [40., 10., 98., 63.], [10., 20., 70., 50.]])
    sample = ActionDataSample()
    sample.set_metainfo(dict(img_shape=(h, w)))
    sample.proposals = InstanceData(bboxes=boxes)
    logits = []
    hook = model.roi_head.bbox_head.register_forward_hook(
        lambda module, args, out: logits.append(out[0] if isinstance(out, tuple) else out))
    with torch.no_grad():
        model(**model.data_preprocessor(dict(inputs=[clip], data_samples=[sample]), False),
              mode='predict')
    hook.remove()

    x = clip.float()[None] / o['norm_value']
    x = (x - torch.tensor(o['mean']).view(1, 3, 1, 1, 1)) / torch.tensor(o['std']).view(
        1, 3, 1, 1, 1)
    rois01 = torch.cat([torch.zeros(3, 1), boxes / torch.tensor([w, h, w, h])], 1)
    with torch.no_grad():
        expected = head.fc2(head.features(list(backbone(x)), rois01, [[1., 1.]]))
    got = logits[0].flatten(1)
    assert got.shape == (3, 61)
    torch.testing.assert_close(got[:, 1:], expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('rate,frames,slow', [
    (4, 32, [0, 4, 8, 13, 17, 22, 26, 31]),  # i * 31 / 7 truncated
    (4, 16, [0, 5, 10, 15]),  # i * 15 / 3
    (8, 16, [0, 15]),  # i * 15 / 1
])
def test_slow_full_span_feeds_the_official_frames(rate, frames, slow):
    """``ResNet3dSlowFastFullSpan`` gives the slow pathway the official R50 frames (hand-worked
    ``linspace(0, T - 1, T // alpha)`` truncated) and the fast pathway every frame. Would have
    caught: mmaction2's every alpha-th frame (0, 4, ..., 28) and rounding instead of truncating
    (9, 18, 27 in place of 8, 17, 26 for T = 32)."""
    init_default_scope('mmaction')
    cfg = Config.fromfile(os.path.join(REPO, 'configs/synthetic/linear_slowfast_tiny.py'))
    cfg = cfg.model.backbone
    cfg.update(type='ResNet3dSlowFastFullSpan', slow_full_span=True, resample_rate=rate,
               speed_ratio=rate, pretrained=None)
    model = MMACTION_MODELS.build(cfg).eval()
    seen = {}
    for name in ('slow_path', 'fast_path'):
        getattr(model, name).conv1.register_forward_hook(
            lambda module, args, out, name=name: seen.update({name: args[0]}))
    with torch.no_grad():
        clip = torch.arange(frames, dtype=torch.float32).view(1, 1, frames, 1, 1).expand(
            1, 3, frames, 32, 32)
        model(clip)
    assert seen['slow_path'][0, :, :, 0, 0].tolist() == [slow] * 3
    torch.testing.assert_close(seen['fast_path'], clip, rtol=0, atol=0)
