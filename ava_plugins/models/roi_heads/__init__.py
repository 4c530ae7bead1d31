"""RoI-head parts of ava_plugins: shared heads and bbox heads for ``AVARoIHead``."""
from .acfb_roi_head import ACFBRoIHead
from .arm_roi_head import ArmRoIHead
from .bbox_heads import BBoxHeadAVAWithNegatives, PoseSoftmaxBBoxHeadAVA
from .box_jitter_roi_head import BoxJitterRoIHead, jitter_rois
from .multisec_detector import MultiSecFastRCNN
from .multisec_roi_head import MultiSecRoIHead
from .shared_heads import (OFFICIAL_ROI_LAYER, ACARHead, ACFBHead, GlobalSceneBranch, HR2ONL,
                           LFBBranch, ThreeBranchHead)
from .three_branch_roi_head import ThreeBranchRoIHead

__all__ = [
    'ACARHead', 'ACFBHead', 'ACFBRoIHead', 'GlobalSceneBranch', 'HR2ONL', 'LFBBranch', 'OFFICIAL_ROI_LAYER',
    'ArmRoIHead', 'BBoxHeadAVAWithNegatives', 'BoxJitterRoIHead', 'PoseSoftmaxBBoxHeadAVA',
    'ThreeBranchHead', 'ThreeBranchRoIHead',
    'MultiSecFastRCNN', 'MultiSecRoIHead', 'jitter_rois'
]
