"""Losses of ava_plugins (registered in mmdet's ``MODELS``)."""
from .pose_softmax_focal_loss import PoseSoftmaxFocalLoss, pose_softmax_focal_loss
from .pose_softmax_loss import (PoseSoftmaxBCELoss, pose_class_mask, pose_softmax_activation,
                                pose_softmax_bce)

__all__ = [
    'PoseSoftmaxBCELoss', 'PoseSoftmaxFocalLoss', 'pose_class_mask', 'pose_softmax_activation',
    'pose_softmax_bce', 'pose_softmax_focal_loss'
]
