"""Bbox heads for mmaction2's ``AVARoIHead`` (registered in mmdet's ``MODELS``)."""
from .bbox_head_with_negatives import BBoxHeadAVAWithNegatives
from .pose_softmax_bbox_head import PoseSoftmaxBBoxHeadAVA

__all__ = ['BBoxHeadAVAWithNegatives', 'PoseSoftmaxBBoxHeadAVA']
