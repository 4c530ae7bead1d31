"""structures of ava_plugins: the feature-bank storage, its extraction loop and tube linking."""
from .bank_extraction import assign_videos, extract_bank
from .feature_bank import BankWindow, FeatureBank, FeatureBankError
from .tube_linking import (batched_iou, check_linking_params, group_by_video, link_tubes,
                           link_video, tube_offsets)

__all__ = [
    'BankWindow', 'FeatureBank', 'FeatureBankError', 'assign_videos', 'batched_iou',
    'check_linking_params', 'extract_bank', 'group_by_video', 'link_tubes', 'link_video',
    'tube_offsets'
]
