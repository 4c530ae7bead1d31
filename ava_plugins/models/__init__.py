"""models of ava_plugins; importing it registers its modules (into mmdet's ``MODELS``)."""
from .losses import PoseSoftmaxBCELoss, PoseSoftmaxFocalLoss
from .roi_heads import (OFFICIAL_ROI_LAYER, ACARHead, GlobalSceneBranch, HR2ONL, LFBBranch,
                        PoseSoftmaxBBoxHeadAVA, ThreeBranchHead, ThreeBranchRoIHead)
from .tta import AVATTAModel, ava_tta_pipeline

__all__ = [
    'AVATTAModel', 'ava_tta_pipeline', 'ACARHead', 'GlobalSceneBranch', 'HR2ONL', 'LFBBranch',
    'OFFICIAL_ROI_LAYER', 'PoseSoftmaxBBoxHeadAVA', 'PoseSoftmaxBCELoss', 'PoseSoftmaxFocalLoss',
    'ThreeBranchHead', 'ThreeBranchRoIHead'
]
