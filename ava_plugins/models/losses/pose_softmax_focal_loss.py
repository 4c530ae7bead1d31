"""Pose-softmax focal loss (Three Branches report, §3 "Training Loss").

Report "Three Branches: Detecting Actions With Richer Features", https://arxiv.org/abs/1908.04519
§3: "one person could have one and only one pose action. For these pose classes, we use
Softmax-based loss instead of Sigmoid-based loss ... Taking the unbalance nature of action class
into account, we adopt focal loss". As in AlphAction (same lab; ``ActionLossComputation``), the
pose group gets a softmax focal term and every other class a sigmoid focal term, with ``gamma =
2`` by default:

* pose group, person ``i`` with pose label ``t``: ``-(1 - p_it)^gamma * log p_it``, ``p_i`` the
  softmax over the pose columns. With several pose labels (annotation noise) the target is the
  normalised label vector ``q_i`` and the term is ``-sum_k q_ik (1 - p_ik)^gamma log p_ik``.
* other classes: ``-a_ic (1 - p_ic^t)^gamma log p_ic^t`` with ``p_ic^t = p_ic`` for a positive
  and ``1 - p_ic`` for a negative (``p = sigmoid``), and ``a_ic = alpha`` / ``1 - alpha`` for a
  positive / negative (Lin et al.'s alpha-balancing; ``alpha=None`` disables it, AlphAction's
  ``ALPHA < 0``). The pose term has no negatives and is never alpha-weighted.

**Persons without a pose label** (possible with ``custom_classes`` or incomplete annotations)
get no pose term: their pose columns receive no gradient. The alternatives are worse: AlphAction
takes ``argmax`` of the all-zero pose labels, silently training them as the first pose class,
and a softmax cannot make every pose probability 0 as a BCE target would ask.

Element layout: ``reduction='none'`` returns ``(N, C)``: sigmoid columns hold their terms, pose
column ``k`` holds ``q_ik (1 - p_ik)^gamma (-log p_ik)`` (zero where ``q_ik = 0``), so a row sums
to the person's pose term plus its sigmoid terms. ``'mean'`` divides the total by ``N * C``,
the reduction of mmaction2's ``BBoxHeadAVA`` and ``PoseSoftmaxBBoxHeadAVA`` (which take this
module as ``loss_cls`` and reduce its ``'none'`` output, by default to this mean). With ``gamma = 0`` and
``alpha = None`` the loss is softmax cross-entropy over the pose group plus binary
cross-entropy over the rest.

**Pose weight**: ``pose_weight`` multiplies every pose term (AlphAction's ``POSE_LOSS_WEIGHT``,
1.2 by default there; 1.0 here unless a config sets it). AlphAction's total, with its default
weights (object and person weights equal to their class counts, multiplied in by the trainer,
which undoes the per-box mean over those columns), is ``(pose_weight * sum of the pose terms +
sum of every sigmoid term) / number of boxes`` (the box count averaged over processes):
``reduction='none'`` with ``PoseSoftmaxBBoxHeadAVA(loss_normalizer='rois',
global_roi_mean=True)`` gives exactly that.
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor

from .pose_softmax_loss import pose_class_mask, pose_softmax_activation


def _check(logits: Tensor, targets: Tensor, pose_mask: Tensor, gamma: float,
           alpha: Optional[float]) -> Tensor:
    if logits.dim() != 2:
        raise ValueError(f'logits must be (N, C), got shape {tuple(logits.shape)}')
    if targets.shape != logits.shape:
        raise ValueError(f'targets shape {tuple(targets.shape)} != logits shape '
                         f'{tuple(logits.shape)}')
    pose_mask = pose_mask.to(device=logits.device, dtype=torch.bool)
    if pose_mask.shape != (logits.shape[1], ):
        raise ValueError(f'pose_mask has {pose_mask.numel()} entries but logits have '
                         f'{logits.shape[1]} classes')
    if gamma < 0:
        raise ValueError(f'gamma must be >= 0, got {gamma}')
    if alpha is not None and not 0 <= alpha <= 1:
        raise ValueError(f'alpha must lie in [0, 1] or be None, got {alpha}')
    return pose_mask


def pose_softmax_focal_loss(logits: Tensor,
                            targets: Tensor,
                            pose_mask: Tensor,
                            gamma: float = 2.0,
                            alpha: Optional[float] = None,
                            reduction: str = 'mean',
                            pose_weight: float = 1.0) -> Tensor:
    """Softmax focal loss over the pose columns, sigmoid focal loss over the others.

    Args:
        logits: ``(N, C)`` raw scores.
        targets: ``(N, C)`` binary labels.
        pose_mask: bool ``(C,)``, True for the pose columns.
        gamma: focusing parameter (0: plain cross-entropy).
        alpha: positive weight of the sigmoid terms (negatives ``1 - alpha``); None: unweighted.
        reduction: ``'none'`` (``(N, C)``, layout in the module docstring), ``'mean'`` (total
            over ``N * C``) or ``'sum'``.
        pose_weight: multiplier of the pose terms (AlphAction's ``POSE_LOSS_WEIGHT``).

    Returns:
        Tensor: the loss, ``(N, C)`` or a scalar.
    """
    pose_mask = _check(logits, targets, pose_mask, gamma, alpha)
    targets = targets.to(logits.dtype)

    # sigmoid focal terms on every column (pose columns are overwritten below)
    prob = logits.sigmoid()
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction='none')
    p_t = prob * targets + (1 - prob) * (1 - targets)
    loss = ce * (1 - p_t).pow(gamma)
    if alpha is not None:
        loss = loss * (alpha * targets + (1 - alpha) * (1 - targets))

    if pose_mask.any():
        pose_logits = logits[:, pose_mask]
        pose_targets = targets[:, pose_mask]
        log_p = pose_logits.log_softmax(dim=1)
        count = pose_targets.sum(dim=1, keepdim=True)
        # normalised pose target; rows without a pose label stay 0 (no pose term)
        q = pose_targets / count.clamp(min=1)
        pose_loss = pose_weight * q * (1 - log_p.exp()).pow(gamma) * -log_p
        pose_full = torch.zeros_like(loss)
        pose_full[:, pose_mask] = pose_loss
        loss = torch.where(pose_mask, pose_full, loss)

    if reduction == 'none':
        return loss
    if reduction == 'mean':
        return loss.mean() if loss.numel() else loss.sum()
    if reduction == 'sum':
        return loss.sum()
    raise ValueError(f"reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


@MODELS.register_module()
class PoseSoftmaxFocalLoss(nn.Module):
    """:func:`pose_softmax_focal_loss` as a loss module, e.g. the ``loss_cls`` of
    ``PoseSoftmaxBBoxHeadAVA``.

    Args:
        class_ids: AVA id of each score column it receives (background excluded), e.g. the
            config's ``custom_classes``.
        pose_id_range: inclusive AVA id range of the pose classes. Defaults to ``(1, 14)``.
        gamma: focusing parameter. Defaults to 2.0 (AlphAction).
        alpha: alpha-balancing of the sigmoid terms; None (default) disables it.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight: multiplier of the loss.
        pose_weight: multiplier of the pose terms only (AlphAction's ``POSE_LOSS_WEIGHT``,
            1.2 there). Defaults to 1.0.
    """

    def __init__(self,
                 class_ids: Sequence[int],
                 pose_id_range: Sequence[int] = (1, 14),
                 gamma: float = 2.0,
                 alpha: Optional[float] = None,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 pose_weight: float = 1.0) -> None:
        super().__init__()
        self.register_buffer('pose_mask',
                             pose_class_mask(class_ids, pose_id_range),
                             persistent=False)
        _check(torch.zeros(0, len(self.pose_mask)), torch.zeros(0, len(self.pose_mask)),
               self.pose_mask, gamma, alpha)
        self.gamma = float(gamma)
        self.alpha = alpha
        self.reduction = reduction
        self.loss_weight = loss_weight
        if pose_weight < 0:
            raise ValueError(f'pose_weight must be >= 0, got {pose_weight}')
        self.pose_weight = float(pose_weight)

    def activation(self, logits: Tensor) -> Tensor:
        """Probabilities ``(N, C)`` of ``logits`` ``(N, C)``: pose softmax, other sigmoid."""
        return pose_softmax_activation(logits, self.pose_mask)

    def forward(self,
                logits: Tensor,
                targets: Tensor,
                reduction_override: Optional[str] = None) -> Tensor:
        """Loss of ``logits`` ``(N, C)`` against binary ``targets`` ``(N, C)``."""
        reduction = reduction_override or self.reduction
        return self.loss_weight * pose_softmax_focal_loss(logits, targets, self.pose_mask,
                                                          self.gamma, self.alpha, reduction,
                                                          self.pose_weight)
