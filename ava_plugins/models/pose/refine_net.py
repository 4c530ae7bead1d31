"""RefineNet of the Cascaded Pyramid Network (Chen et al., "Cascaded Pyramid Network for
Multi-Person Pose Estimation", CVPR 2018, §3.2).

Each GlobalNet pyramid level goes through its own stack of bottleneck blocks, deeper for
coarser levels (0, 1, 2, 3 bottlenecks for the levels from fine to coarse), is upsampled to the
output resolution and concatenated; a final bottleneck and a 3x3 heatmap conv produce the
refined heatmaps, trained with online hard keypoint mining (see ``CPNHead``).
As the official ``create_refine_net`` (github.com/chenyilun95/tf-cpn): bottlenecks of 256
channels with a 128-channel middle (identity shortcut), the final one with a projection
shortcut from the concatenation, and BN without activation after the heatmap conv. The blocks
are mmpose's ResNet ``Bottleneck`` with ``expansion=2``.
"""
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule, ModuleList, Sequential
from mmpose.models.backbones.resnet import Bottleneck
from torch import Tensor, nn

# tf-cpn's bottlenecks: slim's variance_scaling_initializer (He, fan-in, normal). mmengine's
# containers let each block's own init_cfg run after the head's Xavier default.
_HE_INIT = dict(type='Kaiming', layer='Conv2d', mode='fan_in', distribution='normal')


class CPNRefineNet(BaseModule):
    """Per-level bottleneck stacks, upsample, concatenate, final bottleneck, heatmap conv.

    Args:
        num_blocks: bottlenecks per pyramid level, fine to coarse (paper: ``(0, 1, 2, 3)``).
        out_channels: number of keypoints K.
        out_shape: ``(H, W)`` of the output heatmaps.
        channels: width of the pyramid levels (256).
        norm_cfg: norm layer of every conv.
    """

    def __init__(self,
                 num_blocks: Sequence[int],
                 out_channels: int,
                 out_shape: Tuple[int, int],
                 channels: int = 256,
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg=None):
        super().__init__(init_cfg)
        if len(num_blocks) < 1 or min(num_blocks) < 0:
            raise ValueError(f'num_blocks must list a non-negative count per level, '
                             f'got {list(num_blocks)}')
        self.num_blocks = tuple(num_blocks)
        self.out_shape = tuple(out_shape)
        self.stacks = ModuleList(
            Sequential(*[
                Bottleneck(channels, channels, expansion=2, norm_cfg=norm_cfg, init_cfg=_HE_INIT)
                for _ in range(n)
            ]) for n in num_blocks)
        cat = channels * len(num_blocks)
        projection = nn.Sequential(build_conv_layer(None, cat, channels, 1, bias=False),
                                   build_norm_layer(norm_cfg, channels)[1])
        self.final = Bottleneck(cat,
                                channels,
                                expansion=2,
                                downsample=projection,
                                norm_cfg=norm_cfg,
                                init_cfg=_HE_INIT)
        # conv + BN, no activation (tf-cpn's ``refine_out``); a plain container so that the
        # head's Xavier init applies (a ConvModule would re-initialise itself with He)
        self.heatmap = nn.Sequential(
            build_conv_layer(None, channels, out_channels, 3, padding=1, bias=False),
            build_norm_layer(norm_cfg, out_channels)[1])

    def forward(self, levels: Sequence[Tensor]) -> Tensor:
        """Refined heatmaps.

        Args:
            levels: GlobalNet pyramid, fine to coarse, ``(B, channels, H_i, W_i)``.

        Returns:
            Tensor: ``(B, K, H, W)`` at ``out_shape``.
        """
        if len(levels) != len(self.num_blocks):
            raise ValueError(f'CPNRefineNet has stacks for {len(self.num_blocks)} levels '
                             f'(num_blocks={list(self.num_blocks)}), got {len(levels)} levels')
        up = [
            F.interpolate(stack(x), size=self.out_shape, mode='bilinear', align_corners=True)
            for stack, x in zip(self.stacks, levels)
        ]
        return self.heatmap(self.final(torch.cat(up, dim=1)))
