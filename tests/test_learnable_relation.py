"""Learnable relation block (Qiniu 2018 report §3, Eq. 7) and its mask-non-local initialisation."""
import pytest
import torch

import ava_plugins  # noqa: F401
from ava_plugins.models.recognition import LearnableRelation3d, MaskNonLocal3d, ResNet3dRelation
from ava_plugins.models.recognition.neighbourhood import window_offsets


def _randomise_nin(block, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in block.relation_nin.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)


@pytest.mark.parametrize('neighbourhood', [(1, 2, 2), (0, 1, 3)])
@pytest.mark.parametrize('sub_sample', [False, True])
def test_init_from_trained_mask_non_local_is_exact(sub_sample, neighbourhood):
    """Also odd δ with sub-sampled keys, where a query's span depends on its row's parity: would
    catch the relation block's window and mask drifting from the mask non-local's."""
    torch.manual_seed(0)
    x = torch.randn(2, 8, 4, 6, 6)
    mask = MaskNonLocal3d(8, delta=neighbourhood, sub_sample=sub_sample, zeros_init=False,
                          std=0.3).eval()
    relation = LearnableRelation3d(8, neighbourhood=neighbourhood, relation_field=(2, 3, 3),
                                   sub_sample=sub_sample).eval()
    before = relation(x)
    relation.init_from_mask_non_local(mask)
    expected = mask(x)
    assert (expected - before).abs().max() > 1e-3
    torch.testing.assert_close(relation(x), expected, rtol=1e-5, atol=1e-6)
    _randomise_nin(relation)  # training moves the relations away from the mask non-local
    assert (relation(x) - expected).abs().max() > 1e-3
    with pytest.raises(ValueError, match='differs from neighbourhood'):
        relation.init_from_mask_non_local(MaskNonLocal3d(8, delta=(1, 1, 1),
                                                         sub_sample=sub_sample))


def test_hand_checked_relations_and_output():
    block = LearnableRelation3d(2, neighbourhood=(0, 1, 1), relation_field=(0, 1, 1)).eval()
    with torch.no_grad():  # θ = φ = 0 and NiN = 0: r^(i) uniform over D_i inside the map
        for m in (block.theta.conv, block.phi.conv):
            m.weight.zero_()
            m.bias.zero_()
        block.g.conv.weight.zero_()
        block.g.conv.weight[0, 0] = 1
        block.g.conv.bias.zero_()
        block.conv_out.conv.weight.zero_()
        block.conv_out.conv.weight[0, 0] = 1
        block.conv_out.conv.bias.zero_()
    x = torch.zeros(1, 2, 1, 3, 4)
    x[0, 0, 0] = torch.arange(12.).view(3, 4)
    r = block.relations(x)[0, :, 0].detach()  # (9, 3, 4), offsets (dt, dh, dw) row-major
    offsets = window_offsets((0, 1, 1))
    assert offsets[4] == (0, 0, 0) and offsets[0] == (0, -1, -1)
    corner = {o: float(r[k, 0, 0]) for k, o in enumerate(offsets)}
    assert corner == {(0, a, b): (0.25 if a >= 0 and b >= 0 else 0.0)
                      for a in (-1, 0, 1) for b in (-1, 0, 1)}
    torch.testing.assert_close(r[:, 1, 2], torch.full((9, ), 1 / 9))
    y = (block(x) - x)[0, 0, 0].detach()
    assert y[0, 0] == pytest.approx((0 + 1 + 4 + 5) / 4)
    assert y[1, 2] == pytest.approx(6.0)
    # Eq. (7) with a learnt (non-uniform) r: y_i = Σ_j r_j g(x_j), checked at one position
    _randomise_nin(block)
    r = block.relations(x)[0, :, 0].detach()
    y = (block(x) - x)[0, 0, 0].detach()
    g = x[0, 0, 0]
    manual = sum(float(r[k, 1, 1]) * float(g[1 + a, 1 + b]) for k, (_, a, b) in enumerate(offsets))
    assert y[1, 1] == pytest.approx(manual, rel=1e-5)
    torch.testing.assert_close(r.sum(0), torch.ones(3, 4))


def test_receptive_field_of_the_relation_network():
    """r^(i) depends on x_j exactly for |j - i| <= (t0, h0, w0) per axis (report §3)."""
    torch.manual_seed(1)
    block = LearnableRelation3d(4, neighbourhood=(0, 1, 1), relation_field=(1, 2, 2),
                                zeros_init=False, std=0.5).eval()
    _randomise_nin(block, seed=1)
    x = torch.randn(1, 4, 5, 9, 9)
    base = block.relations(x).detach()
    i = (2, 4, 4)
    for j, inside in [((2, 6, 4), True), ((2, 4, 2), True), ((3, 6, 6), True),
                      ((2, 7, 4), False), ((2, 4, 1), False), ((4, 4, 4), False),
                      ((0, 4, 4), False)]:
        xp = x.clone()
        xp[0, :, j[0], j[1], j[2]] += 3.0
        changed = (block.relations(xp).detach() - base)[0, :, i[0], i[1], i[2]].abs().max()
        assert (changed > 1e-6) == inside, (j, float(changed))


def test_gradients():
    torch.manual_seed(2)
    block = LearnableRelation3d(2, neighbourhood=(0, 1, 1), relation_field=(0, 2, 1),
                                hidden_channels=2, zeros_init=False, std=0.5)
    _randomise_nin(block)
    block.double()
    x = torch.randn(1, 2, 1, 3, 3, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(block, (x, ), eps=1e-6, atol=1e-5)
    # zero-initialised NiN still receives gradients (it can learn away from the mask init)
    fresh = LearnableRelation3d(2, neighbourhood=(0, 1, 1), relation_field=(1, 1, 1),
                                zeros_init=False, std=0.5)
    fresh(torch.randn(1, 2, 2, 3, 3)).pow(2).sum().backward()
    assert fresh.relation_nin[-1].conv.weight.grad.abs().sum() > 0


def test_validation():
    with pytest.raises(ValueError, match='relation_field'):
        LearnableRelation3d(4, neighbourhood=(1, 1, 1), relation_field=(0, 2, 2))
    with pytest.raises(ValueError, match='three ints'):
        LearnableRelation3d(4, neighbourhood=(1, 0.5, 1))
    block = LearnableRelation3d(4, sub_sample=True)
    with pytest.raises(ValueError, match='divisible'):
        block(torch.randn(1, 4, 2, 5, 4))


def _backbone(non_local_cfg):
    return ResNet3dRelation(depth=18, pretrained=None, pretrained2d=False, base_channels=8,
                            conv1_kernel=(1, 3, 3), non_local=((0, 0), (0, 1), (1, 0), (0, 0)),
                            non_local_cfg=non_local_cfg)


def test_backbone_from_mask_non_local_checkpoint():
    """The config route: ``load_from`` a mask-non-local model (strict=False) leaves only the NiN
    missing, and the relation backbone starts as that model."""
    torch.manual_seed(3)
    common = dict(sub_sample=True, use_scale=False, norm_cfg=dict(type='BN3d', requires_grad=True))
    mask = _backbone(dict(common, type='MaskNonLocal3d', delta=(1, 2, 2)))
    mask.init_weights()
    with torch.no_grad():
        for m in mask.modules():
            if isinstance(m, MaskNonLocal3d):
                m.conv_out.norm.weight.fill_(1.0)
    mask.eval()
    relation = _backbone(dict(common, type='LearnableRelation3d', neighbourhood=(1, 2, 2),
                              relation_field=(2, 3, 3)))
    relation.init_weights()
    missing, unexpected = relation.load_state_dict(mask.state_dict(), strict=False)
    assert not unexpected and missing and all('relation_nin' in k for k in missing)
    relation.eval()
    x = torch.randn(1, 3, 4, 64, 64)
    torch.testing.assert_close(relation(x), mask(x), rtol=1e-4, atol=1e-5)
