"""models of ava_plugins; importing it registers its modules (RoI heads, bbox heads and losses into
mmdet's ``MODELS``; backbones, data preprocessors and recognition modules into mmaction2's; CPN
into mmpose's)."""
from .backbones import ResNet3dSlowFastFullSpan
from .data_preprocessors import MeanPadDataPreprocessor
from .losses import PoseSoftmaxBCELoss, PoseSoftmaxFocalLoss
from .pose import CPNGlobalNet, CPNHead, CPNRefineNet
from .recognition import (AudioEmbeddingMLP, LearnableRelation3d, MaskNonLocal3d,
                          ResNet3dRelation, SEResNetAudio, VGGishHead)
from .roi_heads import (OFFICIAL_ROI_LAYER, ACARHead, ACFBHead, BoxJitterRoIHead,
                        GlobalSceneBranch, HR2ONL, LFBBranch, PoseSoftmaxBBoxHeadAVA,
                        ThreeBranchHead, ThreeBranchRoIHead)
from .tta import AVATTAModel, ava_tta_pipeline

__all__ = [
    'CPNGlobalNet', 'CPNHead', 'CPNRefineNet',
    'AudioEmbeddingMLP', 'LearnableRelation3d', 'MaskNonLocal3d', 'ResNet3dRelation',
    'SEResNetAudio', 'VGGishHead',
    'AVATTAModel', 'ava_tta_pipeline', 'ACARHead', 'ACFBHead', 'BoxJitterRoIHead',
    'GlobalSceneBranch', 'HR2ONL', 'LFBBranch', 'MeanPadDataPreprocessor',
    'OFFICIAL_ROI_LAYER', 'PoseSoftmaxBBoxHeadAVA', 'PoseSoftmaxBCELoss', 'PoseSoftmaxFocalLoss',
    'ResNet3dSlowFastFullSpan', 'ThreeBranchHead', 'ThreeBranchRoIHead'
]
