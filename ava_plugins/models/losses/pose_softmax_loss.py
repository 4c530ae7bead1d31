"""Pose-softmax activation and binary cross-entropy (ACAR-Net report, §2.1 "Training").

AVA's pose classes (AVA ids 1-14: bend/bow, crouch/kneel, ..., walk) are mutually exclusive:
"since one person should only have one pose label, ... we apply a softmax function instead of
sigmoid to the logits corresponding to pose classes" (report 002, §2.1, following Three
Branches, report 001). The remaining classes keep a sigmoid and the loss is the per-class
binary cross-entropy on the resulting probabilities, as in the official ACAR-Net code
(``losses.py``: ``F.binary_cross_entropy`` on the clamped probabilities, mean over all
elements). Here the log-probabilities are computed in log space (``log_softmax``,
``logsigmoid``, a leave-one-out ``logsumexp`` for ``log(1 - p)`` of pose classes), which equals
the official value wherever it is finite and stays finite for saturated logits; like
``F.binary_cross_entropy`` each log term is clamped at -100.
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor

_LOG_CLAMP = -100.


def pose_class_mask(class_ids: Sequence[int], pose_id_range: Sequence[int] = (1, 14)) -> Tensor:
    """Boolean mask over ``class_ids`` marking the pose classes.

    Args:
        class_ids: the AVA id of each score column (background column excluded).
        pose_id_range: inclusive ``(first, last)`` AVA ids of the pose classes.

    Returns:
        Tensor: bool ``(len(class_ids),)``.
    """
    if len(pose_id_range) != 2 or pose_id_range[0] > pose_id_range[1]:
        raise ValueError(f'pose_id_range must be (first, last) with first <= last, '
                         f'got {pose_id_range!r}')
    ids = torch.as_tensor(list(class_ids), dtype=torch.long)
    return (ids >= pose_id_range[0]) & (ids <= pose_id_range[1])


def _check(logits: Tensor, pose_mask: Tensor) -> Tensor:
    if logits.dim() != 2:
        raise ValueError(f'logits must be (N, C), got shape {tuple(logits.shape)}')
    pose_mask = pose_mask.to(device=logits.device, dtype=torch.bool)
    if pose_mask.shape != (logits.shape[1], ):
        raise ValueError(f'pose_mask has {pose_mask.numel()} entries but logits have '
                         f'{logits.shape[1]} classes')
    return pose_mask


def pose_softmax_activation(logits: Tensor, pose_mask: Tensor) -> Tensor:
    """Softmax over the pose columns, sigmoid over the others.

    Args:
        logits: ``(N, C)`` raw scores.
        pose_mask: bool ``(C,)``, True for pose columns.

    Returns:
        Tensor: ``(N, C)`` probabilities in [0, 1].
    """
    pose_mask = _check(logits, pose_mask)
    probs = logits.sigmoid()
    if pose_mask.any():
        probs = probs.clone()
        probs[:, pose_mask] = logits[:, pose_mask].softmax(dim=1)
    return probs


def pose_softmax_log_probs(logits: Tensor, pose_mask: Tensor) -> tuple:
    """``(log p, log(1 - p))`` of :func:`pose_softmax_activation`, computed stably.

    Returns:
        tuple[Tensor, Tensor]: both ``(N, C)``, clamped below at -100.
    """
    pose_mask = _check(logits, pose_mask)
    log_p = F.logsigmoid(logits)
    log_q = F.logsigmoid(-logits)
    if pose_mask.any():
        pose = logits[:, pose_mask]
        k = pose.shape[1]
        lse = torch.logsumexp(pose, dim=1, keepdim=True)
        log_p = log_p.clone()
        log_q = log_q.clone()
        log_p[:, pose_mask] = pose - lse
        if k == 1:  # a single pose class has p = 1, log(1 - p) = -inf (clamped below)
            log_q[:, pose_mask] = torch.full_like(pose, _LOG_CLAMP)
        else:  # log(1 - p_i) = logsumexp_{j != i} x_j - logsumexp_j x_j
            others = pose.unsqueeze(1).expand(-1, k, -1).masked_fill(
                torch.eye(k, dtype=torch.bool, device=logits.device), float('-inf'))
            log_q[:, pose_mask] = torch.logsumexp(others, dim=2) - lse
    return log_p.clamp(min=_LOG_CLAMP), log_q.clamp(min=_LOG_CLAMP)


def pose_softmax_bce(logits: Tensor,
                     targets: Tensor,
                     pose_mask: Tensor,
                     reduction: str = 'mean') -> Tensor:
    """Binary cross-entropy on pose-softmax probabilities.

    Args:
        logits: ``(N, C)`` raw scores.
        targets: ``(N, C)`` in [0, 1].
        pose_mask: bool ``(C,)``.
        reduction: ``'none'`` (``(N, C)``), ``'mean'`` (over all N x C elements, as the
            official code) or ``'sum'``.
    """
    if targets.shape != logits.shape:
        raise ValueError(f'targets shape {tuple(targets.shape)} != logits shape '
                         f'{tuple(logits.shape)}')
    log_p, log_q = pose_softmax_log_probs(logits, pose_mask)
    targets = targets.to(logits.dtype)
    loss = -(targets * log_p + (1. - targets) * log_q)
    if reduction == 'none':
        return loss
    if reduction == 'mean':
        return loss.mean()
    if reduction == 'sum':
        return loss.sum()
    raise ValueError(f"reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


@MODELS.register_module()
class PoseSoftmaxBCELoss(nn.Module):
    """Pose-softmax binary cross-entropy as a loss module.

    Args:
        class_ids: AVA id of each score column it receives (background excluded).
        pose_id_range: inclusive AVA id range of the pose classes. Defaults to ``(1, 14)``.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight: multiplier of the loss.
    """

    def __init__(self,
                 class_ids: Sequence[int],
                 pose_id_range: Sequence[int] = (1, 14),
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.register_buffer('pose_mask', pose_class_mask(class_ids, pose_id_range),
                             persistent=False)
        self.reduction = reduction
        self.loss_weight = loss_weight

    def activation(self, logits: Tensor) -> Tensor:
        """Probabilities ``(N, C)`` of ``logits`` ``(N, C)``."""
        return pose_softmax_activation(logits, self.pose_mask)

    def forward(self, logits: Tensor, targets: Tensor,
                reduction_override: Optional[str] = None) -> Tensor:
        """Loss of ``logits`` ``(N, C)`` against ``targets`` ``(N, C)``."""
        reduction = reduction_override or self.reduction
        return self.loss_weight * pose_softmax_bce(logits, targets, self.pose_mask, reduction)
