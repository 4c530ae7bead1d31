"""Bbox heads for mmaction2's ``AVARoIHead`` (registered in mmdet's ``MODELS``)."""
from .pose_softmax_bbox_head import PoseSoftmaxBBoxHeadAVA

__all__ = ['PoseSoftmaxBBoxHeadAVA']
