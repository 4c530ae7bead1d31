"""Stage-1 ("baseline") RoI head of ByteDance AI Lab's multi-second model.

Report ByteDance AI Lab AVA Challenge 2019 Technical Report,
https://research.google.com/ava/challenge.html, Sec. 1.1: "we replicate region proposals along the
temporal axis to generate feature volume V in R^{4x256x7x7} with 2D ROI-pooling. We utilize
additional point-wise 2d Convolution layer to reduce the channel dimension into 256. The output
feature volume V is further forwarded into an additional 2-layer 3D ConvNet to generate a compact
representation."

In mmaction2 terms: ``SingleRoIExtractor3D(with_temporal_pool=False, output_size=7)`` gives the
replicated 2D RoIAlign of every frame (both SlowFast pathways at the fast pathway's frame rate,
concatenated); this head averages that volume in time to ``temporal_size`` frames (4, the
report's V; it does not say how its 4 frames arise), applies the point-wise convolution to
``channels`` (256) and the 2-layer 3D ConvNet; mmaction2's ``BBoxHeadAVA`` then pools and
classifies (sigmoid BCE: the report names no other loss).
"""
from typing import Optional

import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmdet.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor, nn


def conv3d_stack(channels: int, num_layers: int, kernel_size: int = 3) -> nn.Sequential:
    """``num_layers`` x (3D conv ``kernel_size``^3 with 'same' padding, BN, ReLU), width kept.

    The "additional 2-layer 3D ConvNet" of the report (Sec. 1.1 and 1.2), which specifies
    neither kernels nor normalisation; 3x3x3 with BN and ReLU is the usual choice.
    """
    return nn.Sequential(*[
        ConvModule(channels, channels, kernel_size, padding=kernel_size // 2,
                   conv_cfg=dict(type='Conv3d'), norm_cfg=dict(type='BN3d'),
                   act_cfg=dict(type='ReLU')) for _ in range(num_layers)
    ])


@MODELS.register_module()
class MultiSecBaselineHead(BaseModule):
    """RoI volume -> temporal pooling -> point-wise conv to 256 -> 2-layer 3D ConvNet.

    Args:
        in_channels: channels of the RoI features (2304 for SlowFast R50).
        channels: width after the point-wise reduction (256 in the report).
        temporal_size: frames of the volume V (4 in the report); the RoI volume is averaged in
            time to this many frames (adaptive average pooling). ``None`` keeps every frame.
        num_convs: layers of the 3D ConvNet (2).
        kernel_size: kernel of its convolutions (3).

    Shapes: ``(N, in_channels, T, S, S)`` RoI features in, ``(N, channels, temporal_size, S,
    S)`` out (``BBoxHeadAVA`` with ``in_channels=channels`` pools and classifies them).
    """

    def __init__(self,
                 in_channels: int,
                 channels: int = 256,
                 temporal_size: Optional[int] = 4,
                 num_convs: int = 2,
                 kernel_size: int = 3,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if temporal_size is not None and temporal_size < 1:
            raise ValueError(f'temporal_size must be >= 1 or None, got {temporal_size}')
        self.in_channels = in_channels
        self.channels = channels
        self.temporal_size = temporal_size
        self.reduce = nn.Conv3d(in_channels, channels, 1)
        self.convs = conv3d_stack(channels, num_convs, kernel_size)

    def volume(self, x: Tensor) -> Tensor:
        """The report's V: ``(N, C, T, S, S)`` -> ``(N, channels, temporal_size, S, S)``."""
        if x.dim() != 5 or x.shape[1] != self.in_channels:
            raise ValueError(f'{type(self).__name__} expects RoI features (N, {self.in_channels}, '
                             f'T, S, S), got {tuple(x.shape)}')
        if self.temporal_size is not None and x.shape[2] != self.temporal_size:
            x = F.adaptive_avg_pool3d(x, (self.temporal_size, ) + tuple(x.shape[3:]))
        return self.reduce(x)

    def forward(self, x: Tensor, feat=None, rois=None, img_metas=None, **kwargs) -> Tensor:
        """``AVARoIHead``'s shared-head call; only the RoI features are used."""
        return self.convs(self.volume(x))
