"""mmaction2's ``BBoxHeadAVA`` with the pose-softmax activation and loss.

ACAR-Net report (https://arxiv.org/abs/2006.07976) §2.1 "Training": softmax over the
pose classes (a person has exactly one pose), sigmoid over the other classes, binary
cross-entropy on the probabilities (:mod:`ava_plugins.models.losses.pose_softmax_loss`); the same
activation gives the scores at inference. Used by the ACAR head (its ``fc_cls`` is the official
``fc2``) and by the Linear baseline (per-pathway pooled RoI features, dropout, linear).

Which columns are pose classes is derived from the class list, never from positions: column
``k`` (after the background column 0 when ``background_class``) holds AVA id ``class_ids[k]``.
``class_ids`` defaults to ``1 .. num_classes - 1`` (mmaction2's layout without
``custom_classes``); with ``custom_classes`` in the dataset, pass the same list here.

Loss normalisation: the loss is the mean over the positive RoIs (x classes) of the process's
mini-batch, as ``BBoxHeadAVA``. With ``global_roi_mean=True`` it is the mean over the RoIs of the
whole distributed batch, as the official ACAR-Net ``main.py`` computes it
(``loss * num_rois / tot_rois * world_size``, ``tot_rois`` all-reduced): each process scales its
mean by ``n_local * world_size / n_total``, so after DDP's gradient averaging (a mean over
processes) the gradient is that of the global mean; processes with more RoIs weigh more.

``loss_normalizer`` says what the mean is over: ``'elements'`` (default, ``BBoxHeadAVA``'s and
ACAR-Net's: the ``n x C`` loss elements of the positive RoIs) or ``'rois'`` (each RoI's loss
summed over its classes, then the mean over the ``n`` RoIs: AlphAction's
``ActionLossComputation`` with its default weights, github.com/MVIG-SJTU/AlphAction, whose
``avg_box_num`` is the RoI count averaged over processes, i.e. ``global_roi_mean=True``). The
two differ by the factor ``C``.
"""
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
from mmaction.models.roi_heads.bbox_heads.bbox_head import BBoxHeadAVA
from mmdet.registry import MODELS
from mmengine.dist import all_reduce, get_world_size
from mmengine.structures import InstanceData
from torch import Tensor

from ...losses.pose_softmax_loss import (PoseSoftmaxBCELoss, pose_class_mask,
                                         pose_softmax_activation)


@MODELS.register_module()
class PoseSoftmaxBBoxHeadAVA(BBoxHeadAVA):
    """``BBoxHeadAVA`` whose activation and loss are pose softmax + BCE.

    Args:
        class_ids: AVA id of each non-background column, e.g. the config's ``custom_classes``.
            Defaults to ``range(1, num_classes)`` (with background) / ``range(1,
            num_classes + 1)`` (without).
        pose_id_range: inclusive AVA id range of the pose classes. Defaults to ``(1, 14)``.
        cls_bias: whether ``fc_cls`` has a bias; the official ACAR-Net and Linear heads have
            none. Defaults to False.
        loss_cls: config of the loss module, built with ``class_ids``, ``pose_id_range`` and
            ``reduction='none'`` and called as ``loss(logits, targets, reduction_override)``.
            Defaults to ``PoseSoftmaxBCELoss``.
        global_roi_mean: normalise the loss by the RoI count of the whole distributed batch
            (all-reduced) instead of the process's own (module docstring). Defaults to False.
        loss_normalizer: ``'elements'`` (mean over the ``n x C`` elements) or ``'rois'`` (sum
            over classes, mean over the ``n`` RoIs; module docstring). Defaults to
            ``'elements'``.
        **kwargs: the arguments of ``BBoxHeadAVA`` (``multilabel`` must stay True).
    """

    def __init__(self,
                 background_class: bool = True,
                 class_ids: Optional[Sequence[int]] = None,
                 pose_id_range: Sequence[int] = (1, 14),
                 cls_bias: bool = False,
                 loss_cls: Optional[dict] = None,
                 global_roi_mean: bool = False,
                 loss_normalizer: str = 'elements',
                 **kwargs) -> None:
        if loss_normalizer not in ('elements', 'rois'):
            raise ValueError(f"loss_normalizer must be 'elements' or 'rois', "
                             f'got {loss_normalizer!r}')
        if not kwargs.get('multilabel', True):
            raise ValueError('PoseSoftmaxBBoxHeadAVA is multi-label (multilabel=True)')
        if kwargs.get('mlp_head', False):
            raise ValueError('PoseSoftmaxBBoxHeadAVA does not support mlp_head')
        super().__init__(background_class=background_class, **kwargs)
        num_fg = self.num_classes - int(background_class)
        if class_ids is None:
            class_ids = list(range(1, num_fg + 1))
        class_ids = [int(c) for c in class_ids]
        if len(class_ids) != num_fg:
            raise ValueError(f'class_ids has {len(class_ids)} ids but the head has {num_fg} '
                             f'foreground columns (num_classes={self.num_classes}, '
                             f'background_class={background_class})')
        self.class_ids = class_ids
        self.pose_id_range = tuple(pose_id_range)
        mask = pose_class_mask(class_ids, pose_id_range)
        if background_class:
            mask = torch.cat([mask.new_zeros(1), mask])
        # pose mask over all columns (background column 0 never a pose class)
        self.register_buffer('pose_mask', mask, persistent=False)
        if loss_cls is None:
            self.loss_cls = PoseSoftmaxBCELoss(class_ids, pose_id_range, reduction='none')
        else:  # built in mmdet's scope whatever the caller's default scope is
            self.loss_cls = MODELS.build(
                dict(_scope_='mmdet', class_ids=class_ids, pose_id_range=pose_id_range,
                     reduction='none', **loss_cls))
        if not cls_bias:
            self.fc_cls = nn.Linear(self.in_channels, self.num_classes, bias=False)
        self.global_roi_mean = bool(global_roi_mean)
        self.loss_normalizer = loss_normalizer

    def init_weights(self) -> None:
        """Xavier-normal weights and zero bias, as ``BBoxHeadAVA`` (bias may be absent)."""
        nn.init.xavier_normal_(self.fc_cls.weight)
        if self.fc_cls.bias is not None:
            nn.init.constant_(self.fc_cls.bias, 0)

    def activation(self, cls_score: Tensor) -> Tensor:
        """Scores ``(N, num_classes)`` -> probabilities (pose softmax, other sigmoid)."""
        return pose_softmax_activation(cls_score, self.pose_mask)

    def topk_accuracy(self, pred: Tensor, target: Tensor, thr: float = 0.5) -> tuple:
        """Recall/precision logs of ``BBoxHeadAVA`` computed on pose-softmax probabilities."""
        probs = pose_softmax_activation(pred, self.pose_mask[int(self.background_class):])
        # the parent applies a sigmoid: hand it logit(probs)
        return super().topk_accuracy(torch.logit(probs, eps=1e-6), target, thr)

    def loss_and_target(self, cls_score: Tensor, rois: Tensor, sampling_results: List,
                        rcnn_train_cfg, **kwargs) -> dict:
        """The loss module on the positive RoIs, as ``BBoxHeadAVA`` selects them, normalised
        as ``loss_normalizer`` says.

        Args:
            cls_score: ``(n, num_classes)`` logits; rois: ``(n, 5)``.

        Returns:
            dict: ``loss_bbox`` (``loss_action_cls`` and the recall/precision logs) and
            ``bbox_targets``.
        """
        cls_targets = self.get_targets(sampling_results, rcnn_train_cfg)
        labels, _ = cls_targets
        losses = dict()
        if self.background_class:
            labels = labels[:, 1:]
            cls_score = cls_score[:, 1:]
        pos_inds = labels.sum(dim=-1) > 0
        cls_score = cls_score[pos_inds]
        labels = labels[pos_inds]

        recall_thr, prec_thr, recall_k, prec_k = self.topk_accuracy(cls_score, labels, thr=0.5)
        losses['recall@thr=0.5'] = recall_thr
        losses['prec@thr=0.5'] = prec_thr
        for i, k in enumerate(self.topk):
            losses[f'recall@top{k}'] = recall_k[i]
            losses[f'prec@top{k}'] = prec_k[i]

        loss = self.loss_cls(cls_score, labels, reduction_override='none')
        pt = torch.exp(-loss)
        focal = self.focal_alpha * (1 - pt)**self.focal_gamma * loss
        # no positive RoI: a zero loss that keeps the graph (the parent would give NaN)
        if not focal.numel():
            loss = cls_score.sum() * 0.
        elif self.loss_normalizer == 'rois':
            loss = focal.sum() / len(focal)
        else:
            loss = focal.mean()
        losses['loss_action_cls'] = loss * self.roi_count_scale(len(focal), cls_score.device)
        return dict(loss_bbox=losses, bbox_targets=cls_targets)

    def roi_count_scale(self, num_rois: int, device) -> float:
        """Factor from the local mean over ``num_rois`` RoIs to this process's share of the
        global mean: ``num_rois * world_size / total`` (1 unless ``global_roi_mean`` in a
        distributed run). Every process must call it (it all-reduces)."""
        world = get_world_size()
        if not self.global_roi_mean or world == 1:
            return 1.
        total = torch.tensor([float(num_rois)], device=device)
        all_reduce(total)  # sum over processes
        total = float(total.item())
        return num_rois * world / total if total > 0 else 0.

    def _predict_by_feat_single(self, roi: Tensor, cls_score, img_meta: dict,
                                rcnn_test_cfg=None, **kwargs) -> InstanceData:
        """``BBoxHeadAVA``'s box decoding with pose-softmax scores ``(n, num_classes)``."""
        if isinstance(cls_score, list):
            cls_score = sum(cls_score) / float(len(cls_score))
        results = super()._predict_by_feat_single(roi, cls_score, img_meta, rcnn_test_cfg,
                                                  **kwargs)
        results.scores = self.activation(cls_score)
        return results
