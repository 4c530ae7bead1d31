"""Mask non-local (Qiniu 2018 report §3, Eqs. 4-6, Table 5) and the ResNet3d that hosts it."""
import itertools
from pathlib import Path

import numpy as np
import pytest
import torch
from mmcv.cnn import NonLocal3d

import ava_plugins  # noqa: F401
from ava_plugins.models.recognition import MaskNonLocal3d, ResNet3dRelation
from ava_plugins.models.recognition.neighbourhood import axis_reach, key_radius
from mmaction.models.backbones.resnet3d import ResNet3d

REPO = Path(__file__).resolve().parents[1]


def report_reach(delta, size):
    """The report's δ of one axis in whole input positions (None: +inf)."""
    if delta is None or delta == float('inf'):
        return None
    return delta if isinstance(delta, int) else int(np.floor(delta * size + 1e-9))


def brute_force(block: MaskNonLocal3d, x: torch.Tensor) -> torch.Tensor:
    """Eq. (4) pair by pair: an explicit (THW x T'H'W') 0/1 mask, numpy softmax. Key cell ``k``
    (max-pooled input positions ``s k .. s k + s - 1``) is attended by query ``q`` when it pools
    a position of ``D_q``; a query past the last key cell with none in reach takes the last."""
    theta = block.theta(x).detach().numpy()
    phi = block.phi(x).detach().numpy()
    g = block.g(x).detach().numpy()
    n, c, t, h, w = theta.shape
    kt, kh, kw = phi.shape[2:]
    stride = block.key_stride
    reach = [report_reach(d, size) for d, size in zip(block.delta, (t, h, w))]

    def attended(q, k, s, d, size):
        if d is None:
            return True
        pooled = range(s * k, s * k + s)
        if any(abs(j - q) <= d for j in pooled):
            return True
        return k == size - 1 and all(abs(j - q) > d for j in range(s * size))

    queries = list(itertools.product(range(t), range(h), range(w)))
    keys = list(itertools.product(range(kt), range(kh), range(kw)))
    mask = np.zeros((len(queries), len(keys)), dtype=bool)
    for qi, q in enumerate(queries):
        for ki, k in enumerate(keys):
            mask[qi, ki] = all(
                attended(qq, kk, s, d, size)
                for qq, kk, s, d, size in zip(q, k, stride, reach, (kt, kh, kw)))
    scale = c**-0.5 if block.use_scale else 1.0
    y = np.zeros((n, c, t * h * w))
    for b in range(n):
        logits = theta[b].reshape(c, -1).T @ phi[b].reshape(c, -1) * scale
        logits = np.where(mask, logits, -np.inf)
        att = np.exp(logits - logits.max(1, keepdims=True))
        att /= att.sum(1, keepdims=True)
        y[b] = (att @ g[b].reshape(c, -1).T).T
    y = torch.from_numpy(y.reshape(n, c, t, h, w)).float()
    return x + block.conv_out(y)


@pytest.mark.parametrize('sub_sample', [False, True])
@pytest.mark.parametrize('impl', ['dense', 'window'])
def test_unrestricted_equals_mmcv_non_local(sub_sample, impl):
    torch.manual_seed(0)
    x = torch.randn(2, 8, 4, 6, 6)
    ref = NonLocal3d(8, sub_sample=sub_sample, use_scale=True, zeros_init=False,
                     norm_cfg=dict(type='BN3d')).eval()
    with torch.no_grad():
        ref.conv_out.norm.weight.uniform_(0.5, 1.5)
    block = MaskNonLocal3d(8, delta=(None, float('inf'), 1.0), impl=impl, sub_sample=sub_sample,
                           norm_cfg=dict(type='BN3d')).eval()
    block.load_state_dict(ref.state_dict())
    out, expected = block(x), ref(x)
    assert (expected - x).abs().max() > 1e-3  # the block does something
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('sub_sample,shape', [(False, (1, 4, 3, 5, 4)), (True, (1, 4, 3, 6, 4)),
                                              (True, (1, 4, 2, 5, 7))])
@pytest.mark.parametrize('delta', [(1, 1, 1), (0, 2, None), (None, 3 / 7, 3 / 7),
                                   (0.5, 3 / 28, 3 / 28), (0, 0, 0)])
def test_matches_brute_force_mask(sub_sample, shape, delta):
    torch.manual_seed(1)
    x = torch.randn(*shape)
    outs = {}
    for impl in ('auto', 'dense', 'window'):
        block = MaskNonLocal3d(4, delta=delta, impl=impl, sub_sample=sub_sample,
                               zeros_init=False).eval()
        if impl == 'auto':
            state = block.state_dict()
        block.load_state_dict(state)
        if impl == 'window' and shape[3] % 2 and sub_sample:
            with pytest.raises(ValueError, match='not aligned'):
                block(x)
            continue
        outs[impl] = block(x)
    expected = brute_force(block, x)
    for impl, out in outs.items():
        torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5, msg=impl)


def _averaging_block(delta, sub_sample=False):
    """θ = φ = 0 (uniform attention over D_i), g = channel 0, conv_out writes y to channel 0."""
    block = MaskNonLocal3d(2, delta=delta, sub_sample=sub_sample, impl='window')
    g = block.g[0] if sub_sample else block.g
    with torch.no_grad():
        for m in (block.theta.conv, block.phi[0].conv if sub_sample else block.phi.conv):
            m.weight.zero_()
            m.bias.zero_()
        g.conv.weight.zero_()
        g.conv.weight[0, 0] = 1
        g.conv.bias.zero_()
        block.conv_out.conv.weight.zero_()
        block.conv_out.conv.weight[0, 0] = 1
        block.conv_out.conv.bias.zero_()
    return block


def test_hand_checked_neighbourhood():
    x = torch.zeros(1, 2, 1, 3, 4)
    x[0, 0, 0] = torch.arange(12.).view(3, 4)  # rows 0 1 2 3 / 4 5 6 7 / 8 9 10 11
    y = (_averaging_block((0, 1, 1))(x) - x)[0, 0, 0].detach()
    assert y[0, 0] == pytest.approx((0 + 1 + 4 + 5) / 4)
    assert y[1, 2] == pytest.approx((1 + 2 + 3 + 5 + 6 + 7 + 9 + 10 + 11) / 9)
    assert y[2, 3] == pytest.approx((6 + 7 + 10 + 11) / 4)
    # δw = 0: a vertical strip only
    y = (_averaging_block((0, None, 0))(x) - x)[0, 0, 0].detach()
    assert y[0, 1] == pytest.approx((1 + 5 + 9) / 3)
    # sub-sampled keys: 2x2 max-pooled cells of a 4x4 map, query (h, w) -> cell (h//2, w//2)
    x = torch.zeros(1, 2, 1, 4, 4)
    x[0, 0, 0] = torch.arange(16.).view(4, 4)  # cell maxima: 5 7 / 13 15
    y = (_averaging_block((0, 0, None), sub_sample=True)(x) - x)[0, 0, 0].detach()
    assert y[0, 3] == pytest.approx((5 + 7) / 2)  # own cell row only
    assert y[3, 0] == pytest.approx((13 + 15) / 2)


def test_delta_as_fraction_of_table5():
    # res4 of a 224-pixel I3D: 14 x 14; res3: 28 x 28 (report Table 5)
    # floor(δ) in positions of the block's input grid
    assert axis_reach(3 / 7, 14, 14, 1) == 6
    assert axis_reach(3 / 28, 14, 14, 1) == 1
    assert axis_reach(3 / 28, 28, 28, 1) == 3
    assert axis_reach(1 / 2, 4, 4, 1) == 2
    assert axis_reach(3 / 7, 14, 7, 2) == 6  # sub-sampled keys: still input positions
    assert axis_reach(None, 14, 14, 1) is None
    assert axis_reach(float('inf'), 14, 14, 1) is None
    assert axis_reach(13, 14, 14, 1) is None  # reaches every key
    assert axis_reach(12, 14, 7, 2) is None  # every query's span is every key cell
    assert axis_reach(11, 14, 7, 2) == 11  # query 13 does not reach key cell 0 (rows 0, 1)
    assert axis_reach(2, 14, 14, 1) == 2
    # window radius in 2x2 key cells: d = 3 reaches 2 cells (rows q - 3 or q + 3)
    assert [key_radius(d, 2) for d in (0, 1, 2, 3, 6, 12)] == [0, 1, 1, 2, 3, 6]
    for bad in (-1, 'half', True):
        with pytest.raises(ValueError, match='delta'):
            MaskNonLocal3d(4, delta=(bad, None, None))
    with pytest.raises(ValueError, match='embedded_gaussian'):
        MaskNonLocal3d(4, mode='dot_product')


def test_gradients():
    torch.manual_seed(2)
    block = MaskNonLocal3d(2, delta=(0, 1, 1), impl='dense', zeros_init=False).double()
    x = torch.randn(1, 2, 1, 3, 3, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(block, (x, ), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize('sub_sample', [False, True])
def test_window_gradients_equal_dense_gradients(sub_sample):
    torch.manual_seed(2)
    x = torch.randn(2, 4, 3, 4, 6)
    grads = {}
    for impl in ('dense', 'window'):
        block = MaskNonLocal3d(4, delta=(1, 1, 0.5), impl=impl, sub_sample=sub_sample,
                               zeros_init=False, std=0.5)
        if impl == 'dense':
            state = block.state_dict()
        block.load_state_dict(state)
        xi = x.clone().requires_grad_()
        (block(xi) * torch.linspace(-1, 1, xi.numel()).view_as(xi)).sum().backward()
        grads[impl] = dict(block.named_parameters(), x=xi)
    for name, p in grads['dense'].items():
        if name != 'phi.conv.bias' and not name.startswith('phi.0'):  # softmax-invariant
            assert p.grad.abs().sum() > 1e-2, name
        torch.testing.assert_close(grads['window'][name].grad, p.grad, rtol=1e-4,
                                   atol=1e-5 * max(1.0, float(p.grad.abs().max())), msg=name)


def test_window_path_never_builds_the_dense_matrix():
    # 16 x 64 x 64 positions: a dense (THW x THW) float32 matrix would take 17 GB
    block = MaskNonLocal3d(4, delta=(1, 1, 1), zeros_init=False).eval()
    x = torch.randn(1, 4, 16, 64, 64)
    assert block.use_window(x.shape[2:], x.shape[2:], block.radius(x.shape[2:], x.shape[2:]))
    with torch.no_grad():
        out = block(x)
    # compare a corner crop: positions whose neighbourhoods lie inside the crop are unaffected
    small = x[:, :, :4, :6, :6]
    with torch.no_grad():
        ref = block(small)
    torch.testing.assert_close(out[:, :, :3, :5, :5], ref[:, :, :3, :5, :5])


def _resnet_cfg(**kwargs):
    return dict(depth=18, pretrained=None, pretrained2d=False, base_channels=8,
                conv1_kernel=(1, 3, 3), non_local=((0, 0), (0, 1), (1, 0), (0, 0)), **kwargs)


def test_resnet3d_relation_loads_i3d_nl_weights():
    torch.manual_seed(3)
    nl_cfg = dict(sub_sample=True, use_scale=False, norm_cfg=dict(type='BN3d',
                                                                  requires_grad=True))
    ref = ResNet3d(**_resnet_cfg(non_local_cfg=dict(nl_cfg, mode='embedded_gaussian')))
    ref.init_weights()
    with torch.no_grad():  # make the non-local blocks matter
        for m in ref.modules():
            if isinstance(m, NonLocal3d):
                m.conv_out.norm.weight.fill_(1.0)
    ref.eval()
    model = ResNet3dRelation(**_resnet_cfg(non_local_cfg=dict(nl_cfg, type='MaskNonLocal3d')))
    assert set(model.state_dict()) == set(ref.state_dict())
    model.load_state_dict(ref.state_dict())
    model.eval()
    blocks = [m for m in model.modules() if isinstance(m, NonLocal3d)]
    assert len(blocks) == 2 and all(isinstance(b, MaskNonLocal3d) for b in blocks)
    x = torch.randn(1, 3, 4, 48, 48)
    torch.testing.assert_close(model(x), ref(x), rtol=1e-4, atol=1e-5)
    # a restricted neighbourhood changes the features
    masked = ResNet3dRelation(**_resnet_cfg(
        non_local_cfg=dict(nl_cfg, type='MaskNonLocal3d', delta=(0, 1, 1))))
    masked.load_state_dict(ref.state_dict())
    masked.eval()
    assert (masked(x) - ref(x)).abs().max() > 1e-4


def test_resnet3d_relation_init_keeps_zero_output():
    model = ResNet3dRelation(**_resnet_cfg(non_local_cfg=dict(
        type='MaskNonLocal3d', delta=(None, 3 / 7, 3 / 7), sub_sample=True,
        norm_cfg=dict(type='BN3d', requires_grad=True))))
    model.init_weights()
    blocks = [m for m in model.modules() if isinstance(m, MaskNonLocal3d)]
    assert blocks and all(float(b.conv_out.norm.weight.detach().abs().sum()) == 0 for b in blocks)
    with pytest.raises(ValueError, match='non_local_cfg.type'):
        ResNet3dRelation(**_resnet_cfg(non_local_cfg=dict(type='Nope')))


# ---- recognition configs (configs/recognition/i3d_nl, tsn, synthetic) ----------------------

CONFIGS = REPO / 'configs' / 'recognition'
TABLE5 = {  # report Table 5: (δt, δh, δw) as fractions, None = +inf
    'dt-inf_dhw-3of7': (None, 3 / 7, 3 / 7),
    'dt-inf_dhw-3of28': (None, 3 / 28, 3 / 28),
    'dt-half_dhw-3of7': (1 / 2, 3 / 7, 3 / 7),
    'dt-half_dhw-3of28': (1 / 2, 3 / 28, 3 / 28),
}


def _count(stages):
    return sum(sum(stage) for stage in stages)


@pytest.mark.parametrize('name,classes,depth', [
    ('i3d_r50_nl5_32x2x1_kinetics400', 400, 50), ('i3d_r101_nl5_32x2x1_kinetics400', 400, 101),
    ('i3d_r50_nl5_32x2x1_kinetics700', 700, 50), ('i3d_r101_nl5_32x2x1_kinetics700', 700, 101),
    ('i3d_r50_nl5_32x2x1_kinetics600', 600, 50), ('i3d_r101_nl5_32x2x1_kinetics600', 600, 101),
    ('i3d_r50_nl5_32x2x1_mit', 339, 50), ('i3d_r101_nl5_32x2x1_mit', 339, 101),
    ('i3d_r50_masknl5_d0-2-2_32x2x1_kinetics600', 600, 50),
    ('i3d_r50_relation5_32x2x1_kinetics600', 600, 50)] +
    [(f'i3d_r50_masknl5_{k}_32x2x1_kinetics{n}', n, 50) for k in TABLE5 for n in (400, 600)])
def test_i3d_configs(name, classes, depth):
    from mmengine.config import Config
    cfg = Config.fromfile(CONFIGS / 'i3d_nl' / f'{name}.py')
    backbone = cfg.model.backbone
    assert backbone.type == 'ResNet3dRelation' and backbone.depth == depth
    assert cfg.model.cls_head.num_classes == classes
    assert _count(backbone.non_local) == 5  # report §2.3: 5 non-local blocks
    assert [sum(s) for s in backbone.non_local] == [0, 2, 3, 0]
    assert [len(s) for s in backbone.inflate] == ([3, 4, 6, 3] if depth == 50 else [3, 4, 23, 3])
    nl = backbone.non_local_cfg
    assert nl.sub_sample and nl.mode == 'embedded_gaussian'
    pipeline = cfg.train_dataloader.dataset.pipeline
    sample = [t for t in pipeline if t.type == 'SampleFrames'][0]
    assert (sample.clip_len, sample.frame_interval) == (32, 2)  # 64 frames, every other one
    if 'masknl5' in name:
        assert nl.type == 'MaskNonLocal3d'
        key = name.split('masknl5_')[1].split('_32x2x1')[0]
        assert tuple(nl.delta) == TABLE5.get(key, (0, 2, 2))
    elif 'relation5' in name:
        assert nl.type == 'LearnableRelation3d'
        k400 = CONFIGS / 'i3d_nl' / (name.replace('kinetics600', 'kinetics400') + '.py')
        assert nl == Config.fromfile(k400).model.backbone.non_local_cfg
    else:
        assert nl.type == 'NonLocal3d'
    data = {400: 'kinetics400', 600: 'kinetics600', 700: 'kinetics700', 339: 'mit'}[classes]
    for split in ('train', 'val', 'test'):
        dataset = cfg[f'{split}_dataloader'].dataset
        assert data in dataset.ann_file and data in str(dataset.data_prefix.video)


def test_real_mask_config_builds_with_five_table5_blocks():
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmaction.registry import MODELS
    init_default_scope('mmaction')
    cfg = Config.fromfile(CONFIGS / 'i3d_nl' /
                          'i3d_r50_masknl5_dt-half_dhw-3of7_32x2x1_kinetics400.py')
    cfg.model.backbone.pretrained = None
    model = MODELS.build(cfg.model)
    blocks = [m for m in model.modules() if isinstance(m, NonLocal3d)]
    assert len(blocks) == 5 and all(isinstance(b, MaskNonLocal3d) for b in blocks)
    assert all(b.delta == (0.5, 3 / 7, 3 / 7) and b.sub_sample for b in blocks)
    # at a 224-pixel input res3 is 4 x 28 x 28 and res4 4 x 14 x 14 (keys 2x2 sub-sampled)
    assert blocks[0].radius((4, 28, 28), (4, 14, 14)) == (2, 6, 6)
    assert blocks[-1].radius((4, 14, 14), (4, 7, 7)) == (2, 3, 3)
    # at these sizes the dense path (BLAS logits + broadcast masks) is the cheaper one
    assert not blocks[0].use_window((4, 28, 28), (4, 14, 14), (2, 6, 6), batch=8)
    assert not blocks[0].use_window((4, 28, 28), (4, 14, 14), (2, 1, 1), batch=8)


# The report's D_i half-widths (positions of the block's input grid, None = +inf) of each
# Table 5 setting at res3 (4 x 28 x 28) and res4 (4 x 14 x 14) of a 32 x 224 x 224 I3D input:
# δt = T/2 = 2; δ = 3/7 H: 12 and 6; δ = 3/28 H: 3 and 1 (1.5, whole offsets only).
TABLE5_REACH = {
    'dt-inf_dhw-3of7': {28: (None, 12, 12), 14: (None, 6, 6)},
    'dt-inf_dhw-3of28': {28: (None, 3, 3), 14: (None, 1, 1)},
    'dt-half_dhw-3of7': {28: (2, 12, 12), 14: (2, 6, 6)},
    'dt-half_dhw-3of28': {28: (2, 3, 3), 14: (2, 1, 1)},
}


def _report_neighbourhood(i, j, reach, strides):
    """Whether input position ``j`` is in ``D_i`` rounded out to the 2x2 max-pooled key cells:
    some position pooled together with ``j`` (same ``j // s`` on each axis) is within the
    report's ``±δ`` of ``i``. With stride 1 that is ``|i - j| <= δ``, the report's ``D_i``."""
    def axis(q, p, d, s):
        if d is None:
            return np.ones(np.broadcast(q, p).shape, bool)
        cell = p // s
        return np.min([np.abs(q - (s * cell + o)) for o in range(s)], axis=0) <= d
    return np.logical_and.reduce([axis(q, p, d, s) for q, p, d, s in zip(i, j, reach, strides)])


def _influence(block, x, positions, batch=32):
    """``(len(positions), T, H, W)`` bool: which outputs change when the input at a position
    is perturbed (by a random vector large enough to change the max-pooled keys too)."""
    n, c = x.shape[:2]
    u = torch.randn(c, dtype=x.dtype) * 10
    out = []
    with torch.no_grad():
        base = block(x)
        for s in range(0, len(positions), batch):
            chunk = positions[s:s + batch]
            xb = x.repeat(len(chunk), 1, 1, 1, 1)
            for b, (t, h, w) in enumerate(chunk):
                xb[b, :, t, h, w] += u
            out.append((block(xb) - base).abs().amax(1) > 0)
    return torch.cat(out).numpy()


@pytest.mark.parametrize('size', [28, 14])
@pytest.mark.parametrize('setting', list(TABLE5_REACH))
def test_attended_positions_are_the_reports_neighbourhood(setting, size):
    """Every Table 5 config's block at res3 and res4: the input positions whose perturbation
    changes query ``i``'s output are exactly ``D_i`` of the report (±δ input positions),
    rounded out to the 2x2 max-pooled key cells (one pooled key mixes two rows: a finer set
    cannot be attended), for every query. Would have caught: with ``floor(δ / 2)`` key cells
    the 3/28 configs missed offsets ±3 at res3 and ±1 at res4 (the 3/7 ones were right).
    Perturbed: frames 0 and 3 (δt = 2 of T = 4 reaches 0..2 and 1..3); res4: rows x columns
    0, 1, 6, 7, 12, 13; res3: (row, column) pairs of both parities at the borders, the centre
    and the corners; each against all 4 x H x W queries."""
    from mmengine.config import Config
    cfg = Config.fromfile(CONFIGS / 'i3d_nl' / f'i3d_r50_masknl5_{setting}_32x2x1_kinetics400.py')
    nl = dict(cfg.model.backbone.non_local_cfg)
    assert nl.pop('type') == 'MaskNonLocal3d'
    torch.manual_seed(0)
    # logits O(1); float64, so that no attended position's effect rounds away
    block = MaskNonLocal3d(8, **dict(nl, zeros_init=False, std=0.3)).double().eval()
    assert block.key_stride == (1, 2, 2)
    x = torch.randn(1, 8, 4, size, size, dtype=torch.double)
    if size == 14:
        rows = (0, 1, 6, 7, 12, 13)
        cells = list(itertools.product(rows, rows))
    else:
        cells = [(0, 0), (1, 1), (13, 14), (14, 13), (26, 27), (27, 26), (0, 27), (27, 1)]
    positions = [(t, h, w) for t in (0, 3) for h, w in cells]
    measured = _influence(block, x, positions)
    i = np.stack(np.meshgrid(np.arange(4), np.arange(size), np.arange(size), indexing='ij'))
    for p, j in enumerate(positions):
        expected = _report_neighbourhood(i, np.array(j)[:, None, None, None],
                                         TABLE5_REACH[setting][size], block.key_stride)
        assert (measured[p] == expected).all(), (
            f'input position {j}: attended by {np.argwhere(measured[p]).tolist()[:5]}..., '
            f'missed by {np.argwhere(expected & ~measured[p]).tolist()[:5]}, wrongly '
            f'{np.argwhere(measured[p] & ~expected).tolist()[:5]}')


@pytest.mark.parametrize('name', ['i3d_r50_nl_tiny', 'i3d_r50_masknl_tiny',
                                  'i3d_r50_relation_tiny', 'tsn_r18_tiny'])
def test_tiny_variants_train_and_predict(name):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmaction.registry import MODELS
    from mmaction.structures import ActionDataSample
    init_default_scope('mmaction')
    torch.manual_seed(0)
    cfg = Config.fromfile(CONFIGS / 'synthetic' / f'{name}.py')
    model = MODELS.build(cfg.model)
    model.init_weights()
    if name.startswith('i3d'):
        kind = {'nl': NonLocal3d, 'masknl': MaskNonLocal3d}.get(name.split('_')[2])
        blocks = [m for m in model.modules() if isinstance(m, NonLocal3d)]
        assert len(blocks) == 2
        if kind is not None:
            assert all(type(b) is kind for b in blocks)
        else:
            assert all(type(b).__name__ == 'LearnableRelation3d' for b in blocks)
        inputs = torch.randint(0, 255, (2, 1, 3, 8, 64, 64)).float()
    else:
        inputs = torch.randint(0, 255, (2, 3, 3, 32, 32)).float()
    samples = [ActionDataSample().set_gt_label(lab) for lab in (1, 3)]
    data = model.data_preprocessor(dict(inputs=list(inputs), data_samples=samples), True)
    optim = torch.optim.SGD(model.parameters(), lr=0.01)
    loss = model(**data, mode='loss')['loss_cls']
    optim.zero_grad()
    loss.backward()
    optim.step()
    assert torch.isfinite(loss)
    model.eval()
    with torch.no_grad():
        preds = model(**model.data_preprocessor(dict(inputs=list(inputs), data_samples=samples)),
                      mode='predict')
    scores = torch.stack([p.pred_score for p in preds])
    assert scores.shape == (2, 5)
    torch.testing.assert_close(scores.sum(1), torch.ones(2))  # average_clips='prob'
