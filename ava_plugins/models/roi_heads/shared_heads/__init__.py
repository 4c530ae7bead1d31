"""Shared heads for mmaction2's ``AVARoIHead`` (registered in mmdet's ``MODELS``)."""
from .acar_head import OFFICIAL_ROI_LAYER, ACARHead
from .global_branch import GlobalSceneBranch, scene_labels
from .hr2o import HR2ONL
from .lfb_branch import LFBBranch, MaskedNonLocalBlock
from .three_branch_head import ThreeBranchHead

__all__ = [
    'ACARHead', 'GlobalSceneBranch', 'HR2ONL', 'LFBBranch', 'MaskedNonLocalBlock',
    'OFFICIAL_ROI_LAYER', 'ThreeBranchHead', 'scene_labels'
]
