"""structures of ava_plugins: boxes (IoU), the feature-bank store and tube linking."""
from .boxes import elementwise_iou, pairwise_iou
from .feature_bank import BankWindow, FeatureBank, FeatureBankError
from .tube_linking import (DEFAULT_MAX_GAP, bridge_gaps, check_linking_params,
                           group_by_video, link_tubes, link_video, tube_offsets,
                           tube_slot_counts)

#: The former name of :func:`pairwise_iou`.
batched_iou = pairwise_iou

__all__ = [
    'DEFAULT_MAX_GAP', 'BankWindow', 'FeatureBank', 'FeatureBankError',
    'batched_iou', 'bridge_gaps', 'check_linking_params', 'elementwise_iou',
    'group_by_video', 'link_tubes', 'link_video', 'pairwise_iou', 'tube_offsets',
    'tube_slot_counts'
]

