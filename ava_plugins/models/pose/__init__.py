"""Pose models (mmpose 1.x registry): CPN (Chen et al., CVPR 2018) for arm-region RoIs."""
from .cpn_head import CPNHead
from .global_net import CPNGlobalNet
from .refine_net import CPNRefineNet

__all__ = ['CPNGlobalNet', 'CPNHead', 'CPNRefineNet']
