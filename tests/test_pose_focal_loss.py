"""Pose-softmax focal loss (Three Branches §3) against hand computations."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmdet.models.task_modules import AssignResult, SamplingResult
from mmdet.registry import MODELS
from mmengine.config import ConfigDict

import ava_plugins  # noqa: F401
import ava_plugins.models.losses.pose_softmax_focal_loss  # noqa: F401  (registers)
from ava_plugins.models.losses.pose_softmax_focal_loss import pose_softmax_focal_loss


def build(cfg):
    """Build in mmdet's scope, whatever default scope other tests left."""
    return MODELS.build(dict(_scope_='mmdet', **cfg))


MASK = torch.tensor([True, True, True, False, False])  # 3 pose columns, 2 sigmoid columns


def softmax_probs(row):
    z = sum(math.exp(v) for v in row)
    return [math.exp(v) / z for v in row]


def sig(v):
    return 1 / (1 + math.exp(-v))


def hand_focal(logits, targets, gamma, alpha=None):
    """Element-wise loss written out with math, one person at a time."""
    out = []
    for x, y in zip(logits, targets):
        p = softmax_probs(x[:3])
        n_pose = sum(y[:3])
        row = [(y[k] / n_pose) * (1 - p[k])**gamma * -math.log(p[k]) if n_pose else 0.
               for k in range(3)]
        for c in (3, 4):
            s = sig(x[c])
            pt = s if y[c] else 1 - s
            a = 1. if alpha is None else (alpha if y[c] else 1 - alpha)
            row.append(a * (1 - pt)**gamma * -math.log(pt))
        out.append(row)
    return torch.tensor(out)


LOGITS = [[2., 0., -1., 1., -2.], [0.5, 1.5, -0.5, -1., 3.], [1., 1., 1., 0.3, -0.7]]
TARGETS = [[1., 0., 0., 1., 0.], [0., 0., 0., 0., 1.], [0., 1., 0., 1., 1.]]


@pytest.mark.parametrize('gamma,alpha', [(2., None), (0., None), (1.5, 0.25), (2., 0.75)])
def test_matches_hand_computation(gamma, alpha):
    """Row 0 has a pose label, row 1 has none (no pose term), row 2 another pose."""
    logits, targets = torch.tensor(LOGITS), torch.tensor(TARGETS)
    got = pose_softmax_focal_loss(logits, targets, MASK, gamma, alpha, reduction='none')
    expected = hand_focal(LOGITS, TARGETS, gamma, alpha)
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-7)
    assert got[1, :3].tolist() == [0., 0., 0.]  # no pose label: no pose term
    torch.testing.assert_close(pose_softmax_focal_loss(logits, targets, MASK, gamma, alpha),
                               expected.sum() / expected.numel(),
                               rtol=1e-6,
                               atol=1e-7)
    torch.testing.assert_close(pose_softmax_focal_loss(logits,
                                                       targets,
                                                       MASK,
                                                       gamma,
                                                       alpha,
                                                       reduction='sum'),
                               expected.sum(),
                               rtol=1e-6,
                               atol=1e-6)


def test_first_person_by_hand():
    """Person 0 written out in full with gamma = 2: pose 0 of 3, sigmoid labels (1, 0)."""
    z = math.exp(2) + 1 + math.exp(-1)
    p0 = math.exp(2) / z
    s3, s4 = sig(1.), sig(-2.)
    pose = (1 - p0)**2 * -math.log(p0)
    sig_terms = (1 - s3)**2 * -math.log(s3) + s4**2 * -math.log(1 - s4)
    got = pose_softmax_focal_loss(torch.tensor(LOGITS[:1]),
                                  torch.tensor(TARGETS[:1]),
                                  MASK,
                                  2.0,
                                  reduction='sum')
    assert got.item() == pytest.approx(pose + sig_terms, rel=1e-6)


def test_gamma_zero_is_softmax_and_sigmoid_cross_entropy():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 5, generator=g) * 3
    targets = (torch.rand(6, 5, generator=g) > 0.6).float()
    targets[:, :3] = 0
    pose = torch.tensor([0, 2, 1, 1, 0, 2])
    targets[torch.arange(6), pose] = 1  # exactly one pose each
    loss = pose_softmax_focal_loss(logits, targets, MASK, gamma=0., reduction='none')
    torch.testing.assert_close(loss[:, :3].sum(1),
                               F.cross_entropy(logits[:, :3], pose, reduction='none'))
    torch.testing.assert_close(
        loss[:, 3:],
        F.binary_cross_entropy_with_logits(logits[:, 3:], targets[:, 3:], reduction='none'))


def test_focal_gradient_of_pose_group():
    """d/dx of -(1-p_t)^2 log p_t matches the closed form and ignores unlabelled persons."""
    x = torch.tensor([[0.3, -1.2, 0.8, 0., 0.], [2., 1., 0., 0., 0.]], requires_grad=True)
    y = torch.tensor([[0., 0., 1., 0., 0.], [0., 0., 0., 0., 0.]])
    pose_softmax_focal_loss(x, y, MASK, 2.0, reduction='sum').backward()
    p = x.detach()[0, :3].softmax(0)
    pt = p[2]
    # dL/dx_k = [(1-pt)^2 - 2 (1-pt) pt log pt] (p_k - [k = t])
    factor = (1 - pt)**2 - 2 * (1 - pt) * pt * torch.log(pt)
    expected = factor * (p - torch.tensor([0., 0., 1.]))
    torch.testing.assert_close(x.grad[0, :3], expected, rtol=1e-5, atol=1e-6)
    assert x.grad[1, :3].abs().sum() == 0


def test_saturated_logits_stay_finite():
    x = torch.tensor([[80., -80., 0., 120., -120.]], requires_grad=True)
    y = torch.tensor([[0., 1., 0., 0., 1.]])
    loss = pose_softmax_focal_loss(x, y, MASK, 2.0, reduction='sum')
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(x.grad).all()
    assert loss.item() == pytest.approx(160 + 120 + 120, rel=1e-3)


def test_module_pose_indices_from_class_list():
    """Pose columns come from the configured ids, wherever they sit: permuting the columns
    (pose ids 1, 3, 14 at positions 1, 3, 4) gives the loss of the unpermuted layout."""
    loss = build(
        dict(type='PoseSoftmaxFocalLoss', class_ids=[20, 3, 80, 1, 14], gamma=2.0,
             loss_weight=0.5))
    assert loss.pose_mask.tolist() == [False, True, False, True, True]
    cols = [3, 1, 4, 0, 2]
    logits, targets = torch.tensor(LOGITS)[:, cols], torch.tensor(TARGETS)[:, cols]
    expected = pose_softmax_focal_loss(torch.tensor(LOGITS), torch.tensor(TARGETS), MASK, 2.0)
    torch.testing.assert_close(loss(logits, targets), 0.5 * expected)
    probs = loss.activation(logits)
    torch.testing.assert_close(probs[:, [1, 3, 4]].sum(1), torch.ones(3))


@pytest.mark.parametrize('kwargs,match', [(dict(gamma=-1.), 'gamma'), (dict(alpha=1.5), 'alpha')])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build(dict(type='PoseSoftmaxFocalLoss', class_ids=[1, 2, 15], **kwargs))
    with pytest.raises(ValueError, match='targets shape'):
        pose_softmax_focal_loss(torch.zeros(2, 5), torch.zeros(2, 4), MASK)


def test_as_loss_of_pose_softmax_bbox_head():
    """As ``PoseSoftmaxBBoxHeadAVA``'s loss_cls: the action loss is the mean over the positive
    RoIs' elements of the hand-computed focal loss (the bbox head adds no focal factor)."""
    ids = [1, 2, 3, 15, 20]
    head = build(
        dict(type='PoseSoftmaxBBoxHeadAVA',
             in_channels=4,
             num_classes=6,
             class_ids=ids,
             loss_cls=dict(type='PoseSoftmaxFocalLoss', gamma=2.0)))
    assert head.loss_cls.pose_mask.tolist() == [True, True, True, False, False]
    labels = torch.cat([torch.zeros(3, 1), torch.tensor(TARGETS)], dim=1)
    cls_score = torch.cat([torch.zeros(3, 1), torch.tensor(LOGITS)], dim=1)
    boxes = torch.tensor([[0., 0., 10., 10.], [5., 5., 20., 20.], [1., 2., 9., 9.]])
    assign = AssignResult(3, torch.arange(1, 4), torch.ones(3), labels=labels)
    sampling = SamplingResult(torch.arange(3), torch.zeros(0, dtype=torch.long), boxes, boxes,
                              assign, torch.ones(3, dtype=torch.uint8))
    got = head.loss_and_target(cls_score, None, [sampling],
                               ConfigDict(pos_weight=1.0))['loss_bbox']['loss_action_cls']
    expected = hand_focal(LOGITS, TARGETS, 2.0).mean()
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-7)
