"""ACARHead / HR2ONL against an independent per-clip reference of the official math.

``OfficialACARHead`` below re-states the official ``ACARHead`` of github.com/Siyu-C/ACAR-Net
(``models/heads/acar.py``) the straightforward way: a Python loop over clips, torchvision's
``roi_align`` (aligned=False, adaptive sampling) on boxes normalised to [0, 1] of the padded
frame and multiplied by the feature size, conv1 on the concatenation [V_crop; tile(A_i)], and
the all-pairs softmax over the actors of one clip. Its parameter names are the official ones,
so its ``state_dict`` is an official head checkpoint (used by tests/test_convert_acar.py).
"""
import math

import pytest
import torch
import torch.nn as nn
import torchvision

from ava_plugins.models import ACARHead, HR2ONL

torch.set_num_threads(2)


class OfficialHR2ONL(nn.Module):
    """Per-clip HR2O_NL: all actors given are of one clip."""

    def __init__(self, d, kernel_size=3, mlp_1x1=False):
        super().__init__()
        p = kernel_size // 2
        self.d = d
        self.conv_q = nn.Conv2d(d, d, kernel_size, padding=p, bias=False)
        self.conv_k = nn.Conv2d(d, d, kernel_size, padding=p, bias=False)
        self.conv_v = nn.Conv2d(d, d, kernel_size, padding=p, bias=False)
        self.conv = nn.Conv2d(d, d, 1 if mlp_1x1 else kernel_size, padding=0 if mlp_1x1 else p,
                              bias=False)
        self.norm = nn.GroupNorm(1, d)
        self.dp = nn.Dropout(0.2)

    def forward(self, x):
        q = self.conv_q(x)
        k = self.conv_k(x)
        v = self.conv_v(x)
        n = x.shape[0]
        att = torch.stack([torch.stack([(q[i] * k[j]).sum(0) for j in range(n)])
                           for i in range(n)]) / math.sqrt(self.d)  # (n, n, h, w)
        att = att.softmax(dim=1)
        out = torch.stack([sum(att[i, j] * v[j] for j in range(n)) for i in range(n)])
        out = self.dp(self.conv(torch.relu(self.norm(out))))
        return x + out


class OfficialACARHead(nn.Module):
    """The official head's math; ``forward`` takes V, normalised rois and pad fractions."""

    def __init__(self, width, reduce_dim, hidden_dim, num_classes, depth=2, mlp_1x1=False,
                 downsample=True):
        super().__init__()
        self.conv_reduce = nn.Conv2d(width, reduce_dim, 1, bias=False)
        self.conv1 = nn.Conv2d(2 * reduce_dim, hidden_dim, 1, bias=False)
        self.conv2 = nn.Conv2d(hidden_dim, hidden_dim, 3, bias=False)
        self.downsample = nn.MaxPool2d(3, 2, 1) if downsample else nn.Identity()
        self.hr2o = nn.Sequential(*[OfficialHR2ONL(hidden_dim, 3, mlp_1x1) for _ in range(depth)])
        self.fc1 = nn.Linear(reduce_dim, hidden_dim, bias=False)
        self.fc2 = nn.Linear(2 * hidden_dim, num_classes, bias=False)

    def features(self, feats, rois01, sizes_before_padding):
        """feats: list of (B, C_p, T_p, H, W); rois01: (n, 5) normalised; -> (n, 2 * hidden)."""
        h, w = feats[0].shape[3:]
        v = torch.cat([f.mean(dim=2) for f in feats], dim=1)
        v = self.conv_reduce(v)
        rois = rois01.clone()
        rois[:, [1, 3]] *= w
        rois[:, [2, 4]] *= h
        a = torchvision.ops.roi_align(v, rois, (7, 7), spatial_scale=1., sampling_ratio=-1,
                                      aligned=False)
        a = a.amax(dim=(2, 3))
        high = []
        for b in range(v.shape[0]):
            idx = (rois01[:, 0] == b).nonzero()[:, 0]
            if len(idx) == 0:
                continue
            eff_h = math.ceil(h * sizes_before_padding[b][1])
            eff_w = math.ceil(w * sizes_before_padding[b][0])
            bg = v[b][:, :eff_h, :eff_w].unsqueeze(0).repeat(len(idx), 1, 1, 1)
            tiled = a[idx][:, :, None, None].expand_as(bg)
            f = torch.relu(self.conv1(torch.cat([bg, tiled], dim=1)))
            f = torch.relu(self.conv2(f))
            f = self.hr2o(self.downsample(f))
            high.append(f.mean(dim=(2, 3)))
        high = torch.cat(high) if high else a.new_zeros(0, self.fc1.out_features)
        return torch.cat([torch.relu(self.fc1(a)), high], dim=1)


SMALL = dict(width=24, reduce_dim=16, hidden_dim=8)


def make_pair(depth=2, mlp_1x1=False, downsample=True, seed=0):
    """An official reference with random weights and our head loaded from it."""
    torch.manual_seed(seed)
    ref = OfficialACARHead(SMALL['width'], SMALL['reduce_dim'], SMALL['hidden_dim'], 5, depth,
                           mlp_1x1, downsample).eval()
    ours = ACARHead(in_channels=SMALL['width'], reduce_channels=SMALL['reduce_dim'],
                    hidden_channels=SMALL['hidden_dim'], depth=depth, mlp_1x1=mlp_1x1,
                    downsample='max2x2' if downsample else 'none').eval()
    state = {k: v for k, v in ref.state_dict().items() if not k.startswith('fc2')}
    missing, unexpected = ours.load_state_dict(state, strict=True)
    assert not missing and not unexpected
    return ref, ours


def random_batch(counts, content_hw, pad_hw, feat_hw, seed=0, slow_t=2, fast_t=8):
    """SlowFast-like features, pixel rois, metas; and the official's normalised view of them."""
    g = torch.Generator().manual_seed(seed)
    b = len(counts)
    slow = torch.randn(b, SMALL['width'] - 8, slow_t, *feat_hw, generator=g)
    fast = torch.randn(b, 8, fast_t, *feat_hw, generator=g)
    rois, metas, sizes = [], [], []
    for i, n in enumerate(counts):
        ch, cw = content_hw[i]
        xy1 = torch.rand(n, 2, generator=g) * torch.tensor([cw, ch]) * 0.7
        wh = torch.rand(n, 2, generator=g) * torch.tensor([cw, ch]) * 0.3 + 4
        boxes = torch.cat([xy1, torch.minimum(xy1 + wh, torch.tensor([cw, ch]).float())], 1)
        rois.append(torch.cat([torch.full((n, 1), float(i)), boxes], 1))
        metas.append(dict(img_shape=(ch, cw), pad_shape=pad_hw))
        # official: pad_ratio = padded / unpadded; sizes_before_padding = 1 / pad_ratio
        sizes.append([1. / (pad_hw[1] / cw), 1. / (pad_hw[0] / ch)])
    rois = torch.cat(rois) if rois else torch.zeros(0, 5)
    rois01 = rois.clone()
    rois01[:, [1, 3]] /= pad_hw[1]
    rois01[:, [2, 4]] /= pad_hw[0]
    return (slow, fast), rois, metas, rois01, sizes


def run_ours(head, feats, rois, metas):
    """What AVARoIHead's SingleRoIExtractor3D hands the shared head as ``feat``."""
    slow, fast = feats
    slow_up = nn.functional.interpolate(slow, (fast.shape[2], ) + slow.shape[3:])
    feat = torch.cat([slow_up.mean(2, keepdim=True), fast.mean(2, keepdim=True)], dim=1)
    return head(None, feat=feat, rois=rois, img_metas=metas).flatten(1)


RANDOM_COUNTS = torch.randint(0, 7, (6, ), generator=torch.Generator().manual_seed(42)).tolist()


@pytest.mark.parametrize('counts', [[3, 1, 0, 5], [1], [0, 2], [4, 4, 4], [0, 0], RANDOM_COUNTS])
def test_batched_equals_per_clip(counts):
    ref, ours = make_pair()
    feats, rois, metas, rois01, sizes = random_batch(counts, [(128, 128)] * len(counts),
                                                     (128, 128), (8, 8), seed=len(counts))
    with torch.no_grad():
        expected = ref.features(list(feats), rois01, sizes)
        got = run_ours(ours, feats, rois, metas)
    assert got.shape == (sum(counts), 2 * SMALL['hidden_dim'])
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('depth,mlp_1x1,downsample', [(1, True, True), (2, False, False),
                                                       (0, False, True)])
def test_variants_equal_per_clip(depth, mlp_1x1, downsample):
    ref, ours = make_pair(depth, mlp_1x1, downsample, seed=3)
    feats, rois, metas, rois01, sizes = random_batch([2, 3], [(128, 128)] * 2, (128, 128),
                                                     (8, 8), seed=7)
    with torch.no_grad():
        torch.testing.assert_close(run_ours(ours, feats, rois, metas),
                                   ref.features(list(feats), rois01, sizes), rtol=1e-5,
                                   atol=1e-5)


@pytest.mark.parametrize('feat_hw', [(9, 9), (10, 11)])
def test_mixed_padding_equals_per_clip(feat_hw):
    """Clips zero-padded differently: cropped contexts of different sizes share one batch."""
    ref, ours = make_pair(seed=1)
    pad = (144, 176)
    content = [(144, 176), (81, 176), (144, 100), (100, 60)]
    feats, rois, metas, rois01, sizes = random_batch([2, 3, 1, 2], content, pad, feat_hw,
                                                     seed=11)
    with torch.no_grad():
        torch.testing.assert_close(run_ours(ours, feats, rois, metas),
                                   ref.features(list(feats), rois01, sizes), rtol=1e-5,
                                   atol=1e-5)


def test_geometry_from_batch_padding_without_pad_shape():
    """No ``pad_shape``: the padded size is the batch's largest ``img_shape`` (stack_batch)."""
    ref, ours = make_pair(seed=2)
    feats, rois, metas, rois01, sizes = random_batch([2, 2], [(128, 96), (128, 128)],
                                                     (128, 128), (8, 8), seed=5)
    for m in metas:
        del m['pad_shape']
    with torch.no_grad():
        torch.testing.assert_close(run_ours(ours, feats, rois, metas),
                                   ref.features(list(feats), rois01, sizes), rtol=1e-5,
                                   atol=1e-5)


def test_attention_never_crosses_clips():
    """Changing another clip's actors (boxes, count) leaves a clip's outputs unchanged."""
    _, ours = make_pair(seed=4)
    feats, rois, metas, _, _ = random_batch([3, 4], [(128, 128)] * 2, (128, 128), (8, 8),
                                            seed=2)
    with torch.no_grad():
        base = run_ours(ours, feats, rois, metas)
        moved = rois.clone()
        moved[3:, 1:] = moved[3:, 1:] * 0.5 + 10.
        changed = run_ours(ours, feats, moved, metas)
        fewer = run_ours(ours, feats, rois[:5], metas)
    torch.testing.assert_close(changed[:3], base[:3], rtol=0, atol=0)
    torch.testing.assert_close(fewer[:3], base[:3], rtol=0, atol=0)
    assert not torch.allclose(changed[3:], base[3:])


def test_attention_is_within_clip_softmax():
    """Hand case: one location, two clips; out_i = sum_j softmax_j(q_i.k_j / sqrt d) v_j."""
    from ava_plugins.models.roi_heads.shared_heads.hr2o import same_clip_attention
    q = torch.tensor([[1., 0.], [0., 1.], [1., 1.]]).view(3, 2, 1, 1)
    k = torch.tensor([[2., 0.], [0., 2.], [5., 5.]]).view(3, 2, 1, 1)
    v = torch.tensor([[1., 0.], [0., 1.], [7., 7.]]).view(3, 2, 1, 1)
    out = same_clip_attention(q, k, v, torch.tensor([0, 0, 1]), 1 / math.sqrt(2))
    w = math.exp(2 / math.sqrt(2))
    p = w / (w + 1)  # actor 0: scores (2, 0)/sqrt 2; actor 1: (0, 2)/sqrt 2
    expected = torch.tensor([[p, 1 - p], [1 - p, p], [7., 7.]]).view(3, 2, 1, 1)
    torch.testing.assert_close(out, expected)


def test_gradients_reach_every_parameter():
    _, ours = make_pair(seed=5)
    ours.train()
    feats, rois, metas, _, _ = random_batch([2, 0, 3], [(128, 128), (128, 128), (90, 128)],
                                            (128, 128), (8, 8), seed=3)
    slow, fast = feats
    slow.requires_grad_(True)
    out = run_ours(ours, (slow, fast), rois, metas)
    (out * torch.randn_like(out)).sum().backward()
    for name, p in ours.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert slow.grad.abs().sum() > 0


def test_dropout_in_hr2o_only_in_training():
    _, ours = make_pair(seed=6)
    feats, rois, metas, _, _ = random_batch([3], [(128, 128)], (128, 128), (8, 8), seed=1)
    with torch.no_grad():
        a = run_ours(ours.eval(), feats, rois, metas)
        b = run_ours(ours.eval(), feats, rois, metas)
        torch.manual_seed(0)
        c = run_ours(ours.train(), feats, rois, metas)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.allclose(a, c)


def test_hr2o_block_names_match_official():
    names = set(dict(HR2ONL(8).named_parameters()))
    assert names == {'conv_q.weight', 'conv_k.weight', 'conv_v.weight', 'conv.weight',
                     'norm.weight', 'norm.bias'}


def test_bad_input_errors_are_clear():
    _, ours = make_pair()
    feats, rois, metas, _, _ = random_batch([2], [(128, 128)], (128, 128), (8, 8))
    feat = torch.cat([f.mean(2, keepdim=True) for f in feats], 1)
    with pytest.raises(ValueError, match="img_shape"):
        ours(None, feat=feat, rois=rois, img_metas=[dict(pad_shape=(128, 128))])
    with pytest.raises(ValueError, match='img_metas'):
        ours(None, feat=feat, rois=rois, img_metas=metas * 2)
    with pytest.raises(ValueError, match=r'rois\[:, 0\]'):
        bad = rois.clone()
        bad[:, 0] = 3
        ours(None, feat=feat, rois=bad, img_metas=metas)
    with pytest.raises(ValueError, match='context features'):
        ours(None, feat=feat[:, :5], rois=rois, img_metas=metas)
    with pytest.raises(ValueError, match='3x3'):
        ours(None, feat=feat, rois=rois, img_metas=[dict(img_shape=(16, 128),
                                                         pad_shape=(128, 128))])


def test_mmcv_roi_align_preset_equals_torchvision():
    """The 'official' preset (mmcv RoIAlign, aligned=False, sampling 0) == torchvision's."""
    _, ours = make_pair()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 4, 9, 11, generator=g)
    boxes = torch.tensor([[0, 0.3, 1.2, 5.5, 8.1], [1, 2.0, 0.0, 10.7, 4.4],
                          [1, 3.3, 3.3, 3.9, 3.6]])
    expected = torchvision.ops.roi_align(x, boxes, (7, 7), 1., -1, False)
    torch.testing.assert_close(ours.roi_layer(x, boxes), expected, rtol=1e-5, atol=1e-6)


def test_roi_order_does_not_matter():
    """Actors of different clips interleaved: outputs follow the rois' order, values unchanged."""
    _, ours = make_pair(seed=8)
    feats, rois, metas, _, _ = random_batch([3, 2, 4], [(128, 128)] * 3, (128, 128), (8, 8),
                                            seed=9)
    perm = torch.randperm(len(rois), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        base = run_ours(ours, feats, rois, metas)
        shuffled = run_ours(ours, feats, rois[perm], metas)
    torch.testing.assert_close(shuffled, base[perm], rtol=1e-5, atol=1e-6)
