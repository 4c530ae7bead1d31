"""Pose-softmax activation, loss and bbox head against hand computations and the official code."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmdet.models.task_modules import AssignResult, SamplingResult
from mmdet.registry import MODELS
from mmengine.config import ConfigDict

import ava_plugins  # noqa: F401
from ava_plugins.models.losses import pose_class_mask, pose_softmax_activation, pose_softmax_bce

AVA60 = [1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 20, 22, 24, 26, 27, 28, 29, 30, 34,
         36, 37, 38, 41, 43, 45, 46, 47, 48, 49, 51, 52, 54, 56, 57, 58, 59, 60, 61, 62, 63, 64,
         65, 66, 67, 68, 69, 70, 72, 73, 74, 76, 77, 78, 79, 80]


def official_loss(logits, targets):
    """The official ``ava_pose_softmax_criterion`` (losses.py): 13 pose columns first."""
    probs = torch.cat([logits[:, :13].softmax(dim=1), logits[:, 13:].sigmoid()], dim=1)
    return F.binary_cross_entropy(probs.clamp(0., 1.), targets)


def test_pose_mask_from_class_list():
    mask = pose_class_mask(AVA60)
    assert mask.sum() == 13 and mask[:13].all() and not mask[13:].any()
    assert pose_class_mask([15, 1, 80, 14, 2]).tolist() == [False, True, False, True, True]
    assert pose_class_mask([5, 1, 3], pose_id_range=(1, 4)).tolist() == [False, True, True]
    with pytest.raises(ValueError, match='pose_id_range'):
        pose_class_mask(AVA60, (14, 1))


def test_loss_by_hand():
    logits = torch.tensor([[2., 0., -1., 1., -2.]])
    targets = torch.tensor([[1., 0., 0., 1., 0.]])
    mask = torch.tensor([True, True, True, False, False])
    z = math.exp(2) + 1 + math.exp(-1)
    p = [math.exp(2) / z, 1 / z, math.exp(-1) / z, 1 / (1 + math.exp(-1)), 1 / (1 + math.exp(2))]
    expected = [-math.log(p[0]), -math.log(1 - p[1]), -math.log(1 - p[2]), -math.log(p[3]),
                -math.log(1 - p[4])]
    got = pose_softmax_bce(logits, targets, mask, reduction='none')
    torch.testing.assert_close(got, torch.tensor([expected]), rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(pose_softmax_bce(logits, targets, mask),
                               torch.tensor(sum(expected) / 5), rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(pose_softmax_activation(logits, mask), torch.tensor([p]))


def test_equals_official_criterion():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(7, 60, generator=g) * 3
    targets = (torch.rand(7, 60, generator=g) > 0.8).float()
    mask = pose_class_mask(AVA60)
    torch.testing.assert_close(pose_softmax_bce(logits, targets, mask),
                               official_loss(logits, targets), rtol=1e-5, atol=1e-6)


def test_pose_columns_found_anywhere():
    """Pose columns interleaved with others: same loss as the official order after permuting."""
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(4, 60, generator=g)
    targets = (torch.rand(4, 60, generator=g) > 0.7).float()
    perm = torch.randperm(60, generator=g)
    ids = [AVA60[i] for i in perm]
    got = pose_softmax_bce(logits[:, perm], targets[:, perm], pose_class_mask(ids))
    torch.testing.assert_close(got, official_loss(logits, targets), rtol=1e-5, atol=1e-6)


def test_saturated_logits_stay_finite_and_match_clamped_bce():
    logits = torch.tensor([[200., -200., 0., 150., -150.]], requires_grad=True)
    targets = torch.tensor([[0., 1., 0., 0., 1.]])
    mask = torch.tensor([True, True, True, False, False])
    loss = pose_softmax_bce(logits, targets, mask, reduction='none')
    # F.binary_cross_entropy clamps each log at -100
    torch.testing.assert_close(loss, torch.tensor([[100., 100., 0., 100., 100.]]))
    loss.sum().backward()
    assert torch.isfinite(logits.grad).all()


def make_head(**kwargs):
    cfg = dict(type='PoseSoftmaxBBoxHeadAVA', _scope_='mmdet', in_channels=6,
               num_classes=len(AVA60) + 1, class_ids=AVA60, topk=(3, ), dropout_ratio=0.)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def sampling_results(labels_per_clip):
    """Real mmdet SamplingResults with every gt box as a positive prior."""
    results = []
    for labels in labels_per_clip:
        n = labels.shape[0]
        boxes = torch.rand(n, 2) * 50
        boxes = torch.cat([boxes, boxes + 20], 1)
        assign = AssignResult(n, torch.arange(1, n + 1), torch.ones(n), labels=labels)
        results.append(SamplingResult(torch.arange(n), torch.zeros(0, dtype=torch.long), boxes,
                                      boxes, assign, torch.ones(n, dtype=torch.uint8)))
    return results


def test_bbox_head_loss_is_pose_softmax_bce():
    head = make_head()
    assert head.pose_mask.sum() == 13 and not head.pose_mask[0]
    g = torch.Generator().manual_seed(2)
    labels = (torch.rand(5, 61, generator=g) > 0.8).float()
    labels[:, 0] = 0
    labels[2, 1:] = 0  # no positive label: dropped, as BBoxHeadAVA does
    labels[0, 1:] = 0
    labels[0, 5] = 1
    cls_score = torch.randn(5, 61, generator=g)
    res = head.loss_and_target(cls_score, None, sampling_results([labels[:3], labels[3:]]),
                               ConfigDict(pos_weight=1.0))
    keep = torch.tensor([0, 1, 3, 4])
    expected = official_loss(cls_score[keep, 1:], labels[keep, 1:])
    torch.testing.assert_close(res['loss_bbox']['loss_action_cls'], expected, rtol=1e-5,
                               atol=1e-6)


def test_bbox_head_focal_weighting():
    head = make_head(focal_alpha=2., focal_gamma=1.)
    labels = torch.zeros(1, 61)
    labels[0, 1] = 1
    cls_score = torch.linspace(-2, 2, 61)[None]
    loss = head.loss_and_target(cls_score, None, sampling_results([labels]),
                                ConfigDict(pos_weight=1.0))['loss_bbox']['loss_action_cls']
    bce = pose_softmax_bce(cls_score[:, 1:], labels[:, 1:], pose_class_mask(AVA60), 'none')
    expected = (2. * (1 - torch.exp(-bce)) * bce).mean()
    torch.testing.assert_close(loss, expected)


def test_bbox_head_predict_uses_pose_softmax():
    head = make_head().eval()
    g = torch.Generator().manual_seed(3)
    score = torch.randn(3, 61, generator=g)
    rois = torch.tensor([[0, 10., 20., 50., 60.], [0, 0., 0., 100., 80.], [0, 5., 5., 6., 7.]])
    meta = dict(img_shape=(80, 100))
    res = head.predict_by_feat((rois.clone(), ), (score, ), [meta])[0]  # decodes in place
    assert torch.allclose(res.scores[:, 1:14].sum(1), torch.ones(3))
    torch.testing.assert_close(res.scores[:, 1:14], score[:, 1:14].softmax(1))
    torch.testing.assert_close(res.scores[:, 14:], score[:, 14:].sigmoid())
    torch.testing.assert_close(res.bboxes, rois[:, 1:] / torch.tensor([100., 80., 100., 80.]))


def test_bbox_head_default_class_ids_and_bias():
    head = make_head(num_classes=81, class_ids=None, cls_bias=True)
    assert head.pose_mask[1:15].all() and head.pose_mask.sum() == 14
    assert head.fc_cls.bias is not None
    assert make_head().fc_cls.bias is None
    with pytest.raises(ValueError, match='class_ids has 3 ids'):
        make_head(class_ids=[1, 2, 3])


def test_bbox_head_custom_loss_config():
    head = make_head(loss_cls=dict(type='PoseSoftmaxBCELoss', loss_weight=2.))
    assert head.loss_cls.loss_weight == 2. and head.loss_cls.pose_mask.sum() == 13
