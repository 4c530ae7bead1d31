"""structures of ava_plugins: the feature-bank storage, its extraction loop and tube linking."""
from .bank_extraction import assign_videos, extract_bank
from .feature_bank import BankWindow, FeatureBank, FeatureBankError
from .tube_linking import (DEFAULT_MAX_GAP, batched_iou, bridge_gaps, check_linking_params,
                           group_by_video, link_tubes, link_video, tube_offsets,
                           tube_slot_counts)

__all__ = [
    'DEFAULT_MAX_GAP', 'BankWindow', 'FeatureBank', 'FeatureBankError', 'assign_videos',
    'batched_iou', 'bridge_gaps', 'check_linking_params', 'extract_bank', 'group_by_video',
    'link_tubes', 'link_video', 'tube_offsets', 'tube_slot_counts'
]
