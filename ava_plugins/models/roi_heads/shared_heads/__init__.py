"""Shared heads for mmaction2's ``AVARoIHead`` (registered in mmdet's ``MODELS``)."""
from .acar_head import OFFICIAL_ROI_LAYER, ACARHead
from .acfb_head import ACFBHead
from .global_branch import GlobalSceneBranch, scene_labels
from .hr2o import HR2ONL
from .lfb_branch import LFBBranch, MaskedNonLocalBlock
from .multisec_baseline_head import MultiSecBaselineHead
from .multisec_head import MultiSecHead
from .three_branch_head import ThreeBranchHead

__all__ = [
    'ACARHead', 'ACFBHead', 'GlobalSceneBranch', 'HR2ONL', 'LFBBranch', 'MaskedNonLocalBlock',
    'OFFICIAL_ROI_LAYER', 'ThreeBranchHead', 'scene_labels',
    'MultiSecBaselineHead', 'MultiSecHead'
]
