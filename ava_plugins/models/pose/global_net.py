"""GlobalNet of the Cascaded Pyramid Network (Chen et al., "Cascaded Pyramid Network for
Multi-Person Pose Estimation", CVPR 2018, §3.2).

A feature pyramid over ResNet's C2-C5: a 1x1 lateral conv (BN, ReLU) to 256 channels per level
and a top-down pathway that upsamples the coarser pyramid level bilinearly, passes it through a
1x1 conv ("different from FPN, we apply 1x1 convolutional kernel before each element-wise sum")
and adds it to the lateral. Every pyramid level predicts K heatmaps with a 1x1 conv (BN, ReLU)
and a 3x3 conv (BN), upsampled to the output resolution, and is supervised with an L2 loss.
Layer by layer this is the official ``create_global_net`` (github.com/chenyilun95/tf-cpn,
``models/COCO.res50.256x192.CPN/network.py``): lateral and predictor convs inside
``resnet_arg_scope`` (BN), the merge conv outside it (bias, no BN, no activation). The per-level
predictor is mmpose's ``PredictHeatmap`` (its MSPN port of the same Megvii layers), reused.
"""
from typing import List, Sequence, Tuple

import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpose.models.heads.heatmap_heads.mspn_head import PredictHeatmap
from torch import Tensor, nn


class CPNGlobalNet(BaseModule):
    """Pyramid over C2-C5 with a heatmap prediction at every level.

    Args:
        in_channels: channels of the backbone levels, fine to coarse (ResNet-50: 256, 512,
            1024, 2048).
        out_channels: number of keypoints K.
        out_shape: ``(H, W)`` of the predicted heatmaps (the codec's heatmap size).
        channels: width of the pyramid (256 in the paper).
        norm_cfg: norm layer of the lateral and predictor convs.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 out_channels: int,
                 out_shape: Tuple[int, int],
                 channels: int = 256,
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg=None):
        super().__init__(init_cfg)
        if len(in_channels) < 1:
            raise ValueError('CPNGlobalNet needs at least one input level, got in_channels=[]')
        self.in_channels = tuple(in_channels)
        self.channels = channels
        self.laterals = nn.ModuleList(
            ConvModule(c, channels, 1, norm_cfg=norm_cfg, inplace=False) for c in in_channels)
        self.merges = nn.ModuleList(
            ConvModule(channels, channels, 1, act_cfg=None) for _ in in_channels[:-1])
        self.predictors = nn.ModuleList(
            PredictHeatmap(channels, out_channels, tuple(out_shape), norm_cfg=norm_cfg)
            for _ in in_channels)

    def pyramid(self, feats: Sequence[Tensor]) -> List[Tensor]:
        """Top-down pyramid.

        Args:
            feats: backbone levels, fine to coarse, ``(B, in_channels[i], H_i, W_i)``.

        Returns:
            list[Tensor]: pyramid levels, fine to coarse, ``(B, channels, H_i, W_i)``.
        """
        if len(feats) != len(self.in_channels):
            raise ValueError(f'CPNGlobalNet expects {len(self.in_channels)} backbone levels '
                             f'(in_channels={list(self.in_channels)}), got {len(feats)}: set '
                             f'the backbone\'s out_indices to one index per level')
        got = [f.shape[1] for f in feats]
        if got != list(self.in_channels):
            raise ValueError(f'CPNGlobalNet in_channels={list(self.in_channels)} but the backbone '
                             f'levels have {got} channels')
        top = self.laterals[-1](feats[-1])
        levels = [top]
        for i in range(len(feats) - 2, -1, -1):
            lateral = self.laterals[i](feats[i])
            up = F.interpolate(top, size=lateral.shape[-2:], mode='bilinear', align_corners=True)
            top = lateral + self.merges[i](up)
            levels.append(top)
        return levels[::-1]

    def forward(self, feats: Sequence[Tensor]) -> Tuple[List[Tensor], List[Tensor]]:
        """Pyramid and per-level heatmaps.

        Args:
            feats: backbone levels, fine to coarse, ``(B, in_channels[i], H_i, W_i)``.

        Returns:
            tuple: the pyramid (fine to coarse, ``(B, channels, H_i, W_i)``) and its heatmaps
            (fine to coarse, each ``(B, K, H, W)`` at ``out_shape``).
        """
        levels = self.pyramid(feats)
        return levels, [p(x) for p, x in zip(self.predictors, levels)]
