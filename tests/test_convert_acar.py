"""tools/convert_acar_checkpoint.py: official ACAR-Net checkpoints onto this project's modules."""
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from mmdet.registry import MODELS

import ava_plugins  # noqa: F401
import ava_plugins.models.acar_checkpoint as convert
from test_acar_head import SMALL, OfficialACARHead, random_batch, run_ours

REPO = Path(__file__).resolve().parents[1]


class RoIHeadParts(nn.Module):
    """The ``roi_head.shared_head`` / ``roi_head.bbox_head`` part of an mmaction2 detector."""

    def __init__(self, depth, mlp_1x1, num_classes):
        super().__init__()
        self.roi_head = nn.Module()
        self.roi_head.shared_head = MODELS.build(dict(
            type='ACARHead', _scope_='mmdet', in_channels=SMALL['width'],
            reduce_channels=SMALL['reduce_dim'], hidden_channels=SMALL['hidden_dim'], depth=depth,
            mlp_1x1=mlp_1x1))
        self.roi_head.bbox_head = MODELS.build(dict(
            type='PoseSoftmaxBBoxHeadAVA', _scope_='mmdet', in_channels=2 * SMALL['hidden_dim'],
            num_classes=num_classes + 1, class_ids=list(range(1, num_classes + 1)), topk=(1, )))


def official_checkpoint(depth, mlp_1x1, num_classes=5, seed=0):
    torch.manual_seed(seed)
    ref = OfficialACARHead(SMALL['width'], SMALL['reduce_dim'], SMALL['hidden_dim'], num_classes,
                           depth, mlp_1x1).eval()
    for p in ref.parameters():  # GroupNorm starts at (1, 0): make the affine part count too
        nn.init.normal_(p, std=0.3)
    state = {f'module.head.module.{k}': v for k, v in ref.state_dict().items()}
    return ref, dict(state_dict=state, epoch=6)


@pytest.mark.parametrize('depth,mlp_1x1', [(2, False), (1, True)])
def test_head_round_trip(tmp_path, depth, mlp_1x1):
    ref, ckpt = official_checkpoint(depth, mlp_1x1)
    src, dst = tmp_path / 'official.pth.tar', tmp_path / 'converted.pth'
    torch.save(ckpt, src)
    convert.convert_checkpoint(str(src), str(dst))
    converted = torch.load(dst, weights_only=True)['state_dict']

    ours = RoIHeadParts(depth, mlp_1x1, num_classes=5).eval()
    result = ours.load_state_dict(converted, strict=True)
    assert not result.missing_keys and not result.unexpected_keys

    feats, rois, metas, rois01, sizes = random_batch([2, 0, 3], [(128, 128), (128, 128),
                                                                 (100, 128)], (128, 128), (8, 8))
    with torch.no_grad():
        expected = ref.fc2(ref.features(list(feats), rois01, sizes))
        shared = run_ours(ours.roi_head.shared_head, feats, rois, metas)
        logits = ours.roi_head.bbox_head(shared[:, :, None, None, None])
    assert logits.shape == (5, 6)
    torch.testing.assert_close(logits[:, 1:], expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(logits[:, 0], torch.zeros(5))


def test_linear_head_and_no_background():
    state = {'module.head.module.fc.weight': torch.randn(60, 2304)}
    out = convert.convert_state_dict(state, background=False)
    assert list(out) == ['roi_head.bbox_head.fc_cls.weight']
    assert torch.equal(out['roi_head.bbox_head.fc_cls.weight'],
                       state['module.head.module.fc.weight'])
    out = convert.convert_state_dict(state)
    assert out['roi_head.bbox_head.fc_cls.weight'].shape == (61, 2304)


@pytest.mark.parametrize('key,expected', [
    ('slow_conv1.weight', 'slow_path.conv1.conv.weight'),
    ('fast_bn1.running_var', 'fast_path.conv1.bn.running_var'),
    ('slow_res3.4.conv2.weight', 'slow_path.layer3.4.conv2.conv.weight'),
    ('fast_res1.0.bn3.num_batches_tracked', 'fast_path.layer1.0.conv3.bn.num_batches_tracked'),
    ('slow_res2.0.downsample.0.weight', 'slow_path.layer2.0.downsample.conv.weight'),
    ('fast_res4.0.downsample_bn.bias', 'fast_path.layer4.0.downsample.bn.bias'),
    ('Tconv1.weight', 'slow_path.conv1_lateral.conv.weight'),
    ('Tconv3.0.weight', 'slow_path.layer2_lateral.conv.weight'),
    ('Tconv4.1.running_mean', 'slow_path.layer3_lateral.bn.running_mean'),
])
def test_backbone_key_rules(key, expected):
    assert convert.convert_backbone_key(key) == expected


def test_unknown_keys_and_bad_files_fail_clearly(tmp_path):
    with pytest.raises(convert.ConversionError, match="module.neck.foo"):
        convert.convert_state_dict({'module.neck.foo': torch.zeros(1),
                                    'module.head.module.fc2.weight': torch.zeros(2, 2)})
    with pytest.raises(convert.ConversionError, match='no classifier'):
        convert.convert_state_dict({'module.head.module.fc1.weight': torch.zeros(2, 2)})
    bad = tmp_path / 'bad.pth'
    bad.write_text('not a checkpoint')
    with pytest.raises(convert.ConversionError, match='bad.pth'):
        convert.load_official(str(bad))


class OfficialBottleneck(nn.Module):
    """The official SlowFast bottleneck (models/backbones/slowfast.py), restated."""

    def __init__(self, inplanes, planes, stride=1, downsample=False, dilation=1, head_conv=1):
        super().__init__()
        t = 3 if head_conv == 3 else 1
        self.conv1 = nn.Conv3d(inplanes, planes, (t, 1, 1), padding=(t // 2, 0, 0), bias=False)
        self.bn1 = nn.BatchNorm3d(planes)
        self.conv2 = nn.Conv3d(planes, planes, (1, 3, 3), stride=(1, stride, stride),
                               padding=(0, dilation, dilation), dilation=(1, dilation, dilation),
                               bias=False)
        self.bn2 = nn.BatchNorm3d(planes)
        self.conv3 = nn.Conv3d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm3d(planes * 4)
        self.downsample = None
        if downsample:
            self.downsample = nn.Sequential(
                nn.Conv3d(inplanes, planes * 4, 1, stride=(1, stride, stride), bias=False))
            self.downsample_bn = nn.BatchNorm3d(planes * 4)

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = torch.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        res = x if self.downsample is None else self.downsample_bn(self.downsample(x))
        return torch.relu(out + res)


class OfficialSlowFast(nn.Module):
    """The official SlowFast backbone (alpha 4, beta 1/8, res5 dilation 2), restated;
    ``slow_full_span``: the slow pathway's ``T // alpha`` frames at ``linspace(0, T - 1)``
    truncated, as the official R50 config, instead of every alpha-th frame."""

    def __init__(self, layers, fuse_only_conv, fuse_kernel, slow_full_span=False):
        super().__init__()
        beta, self.alpha, self.slow_full_span = 8, 4, slow_full_span
        self.fast_conv1 = nn.Conv3d(3, 8, (5, 7, 7), (1, 2, 2), (2, 3, 3), bias=False)
        self.fast_bn1 = nn.BatchNorm3d(8)
        self.slow_conv1 = nn.Conv3d(3, 64, (1, 7, 7), (1, 2, 2), (0, 3, 3), bias=False)
        self.slow_bn1 = nn.BatchNorm3d(64)
        self.pool = nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1))
        fast_in, slow_in = 8, 64
        for k, (planes, n) in enumerate(zip((64, 128, 256, 512), layers), 1):
            stride, dil = (1 if k in (1, 4) else 2), (2 if k == 4 else 1)
            blocks = [OfficialBottleneck(fast_in, planes // beta, stride, True, dil, 3)]
            blocks += [OfficialBottleneck(planes // beta * 4, planes // beta, 1, False, dil, 3)
                       for _ in range(n - 1)]
            setattr(self, f'fast_res{k}', nn.Sequential(*blocks))
            fast_in = planes // beta * 4
            fused = slow_in + slow_in // beta * 2
            head = 3 if k >= 3 else 1
            blocks = [OfficialBottleneck(fused, planes, stride, True, dil, head)]
            blocks += [OfficialBottleneck(planes * 4, planes, 1, False, dil, head)
                       for _ in range(n - 1)]
            setattr(self, f'slow_res{k}', nn.Sequential(*blocks))
            slow_in = planes * 4
        for k, c in enumerate((8, 32, 64, 128), 1):
            conv = nn.Conv3d(c, 2 * c, (fuse_kernel, 1, 1), (4, 1, 1), (fuse_kernel // 2, 0, 0),
                             bias=False)
            setattr(self, f'Tconv{k}', conv if fuse_only_conv else nn.Sequential(
                conv, nn.BatchNorm3d(2 * c), nn.ReLU()))

    def forward(self, x):
        f = self.pool(torch.relu(self.fast_bn1(self.fast_conv1(x))))
        t = x.shape[2]
        slow = (x[:, :, torch.linspace(0, t - 1, t // self.alpha).long()] if self.slow_full_span
                else x[:, :, ::self.alpha])
        s = self.pool(torch.relu(self.slow_bn1(self.slow_conv1(slow))))
        for k in range(1, 5):
            s = getattr(self, f'slow_res{k}')(torch.cat([s, getattr(self, f'Tconv{k}')(f)], 1))
            f = getattr(self, f'fast_res{k}')(f)
        return s, f


def mmaction_slowfast(fusion_kernel, lateral_norm, stage_blocks):
    """mmaction2's ResNet3dSlowFast as configs/acar_slowfast_r50.py builds it."""
    from mmaction.models import ResNet3dSlowFast
    from mmengine.config import Config
    cfg = Config.fromfile(str(REPO / 'configs' / 'acar_slowfast_r50.py')).model.backbone
    cfg.slow_pathway.update(fusion_kernel=fusion_kernel, lateral_norm=lateral_norm,
                            stage_blocks=stage_blocks)
    cfg.fast_pathway.update(stage_blocks=stage_blocks)
    cfg.pop('type')
    return ResNet3dSlowFast(**cfg)


@pytest.mark.parametrize('fuse_only_conv,kernel', [(True, 5), (False, 7)])
def test_backbone_round_trip_reproduces_official_features(fuse_only_conv, kernel):
    """Official SlowFast (laterals of the R101 and of the R50 config; 2 blocks per stage to stay
    fast, R50/R101 differ only in block counts) -> mmaction2's backbone: every key maps with its
    shape, none is missing or unexpected, and the features are the same."""
    torch.manual_seed(0)
    blocks = (2, 2, 2, 2)
    official = OfficialSlowFast(blocks, fuse_only_conv, kernel).eval()
    for m in official.modules():  # non-trivial BN statistics
        if isinstance(m, nn.BatchNorm3d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
    state = {f'module.backbone.module.{k}': v for k, v in official.state_dict().items()}
    state['module.head.module.fc2.weight'] = torch.zeros(3, 4)
    converted = convert.convert_state_dict(state)
    backbone = {k[len('backbone.'):]: v for k, v in converted.items()
                if k.startswith('backbone.')}
    ours = mmaction_slowfast(kernel, not fuse_only_conv, blocks).eval()
    result = ours.load_state_dict(backbone, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    x = torch.randn(1, 3, 8, 64, 64)
    with torch.no_grad():
        ref = official(x)
        got = ours(x)
    assert got[0].shape == ref[0].shape == (1, 2048, 2, 4, 4)
    for a, b in zip(got, ref):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
