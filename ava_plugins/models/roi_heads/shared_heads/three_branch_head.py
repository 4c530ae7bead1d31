"""Three Branches shared head: short-term person, long-term and global features, fused.

Report "Three Branches: Detecting Actions With Richer Features", https://arxiv.org/abs/1908.04519
§3 and Figure 1 ("The person features, the LFB features and the global features are concatenated
and passed to the final classifier"):

* short-term: 3D RoI features (mmaction2's ``SingleRoIExtractor3D``: 2D RoIAlign replicated
  along time; its temporal average pooling commutes with RoIAlign, which is linear), temporal
  average pooling and spatial max pooling -> ``(n, C)``;
* long-term: :class:`~.lfb_branch.LFBBranch` on the short-term feature and the clip's bank
  window -> ``(n, latent)``, fused with the short-term feature by concatenation (default; the
  report finds it better) or by sum, where a linear layer first maps the LFB output to ``C``;
* global: :class:`~.global_branch.GlobalSceneBranch` on the clip features; its pooled feature
  ``(B, C)`` is concatenated to every RoI of the clip, its scene logits feed the global loss.
  With ``global_channels`` the pooled feature is first projected to that width, and
  ``global_loss=False`` drops the scene classifier (Fujitsu's 256-d global pooling feature).

The output ``(n, out_channels, 1, 1, 1)`` goes to the bbox head, whose dropout (0.5 in the
configs) precedes the final classifier. Either branch can be switched off for the ablations.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmdet.registry import MODELS
from torch import Tensor

from .global_branch import GlobalSceneBranch
from .lfb_branch import LFBBranch


@MODELS.register_module()
class ThreeBranchHead(nn.Module):
    """Shared head of ``ThreeBranchRoIHead``.

    Args:
        in_channels: channels ``C`` of the RoI and clip features (2304 for SlowFast).
        num_scene_classes: classes of the scene classifier (the foreground action classes).
        with_global: use the global branch (feature and loss). Defaults to True.
        with_lfb: use the long-term branch. Defaults to True.
        fusion: ``'concat'`` or ``'sum'`` of the short-term and LFB features.
        lfb: keyword arguments of :class:`LFBBranch` (``st_channels`` is ``in_channels``).
        global_dropout_ratio: dropout before the scene classifier. Defaults to 0.5.
        global_loss_weight: weight of the global loss. Defaults to 1.0.
        global_channels: width of the global feature given to the RoIs (a linear projection
            of the pooled clip feature); None (default): the pooled ``C`` channels.
        global_loss: build the scene classifier and its global loss. Defaults to True.
    """

    def __init__(self,
                 in_channels: int = 2304,
                 num_scene_classes: int = 80,
                 with_global: bool = True,
                 with_lfb: bool = True,
                 fusion: str = 'concat',
                 lfb: Optional[dict] = None,
                 global_dropout_ratio: float = 0.5,
                 global_loss_weight: float = 1.0,
                 global_channels: Optional[int] = None,
                 global_loss: bool = True) -> None:
        super().__init__()
        if fusion not in ('concat', 'sum'):
            raise ValueError(f"fusion must be 'concat' or 'sum', got {fusion!r}")
        self.in_channels = in_channels
        self.with_global = with_global
        self.with_lfb = with_lfb
        self.fusion = fusion
        if with_lfb:
            lfb = dict(lfb or {})
            lfb.setdefault('lt_channels', in_channels)
            self.lfb = LFBBranch(st_channels=in_channels, **lfb)
            if fusion == 'sum':
                self.lfb_proj = nn.Linear(self.lfb.out_channels, in_channels)
        if with_global:
            self.global_branch = GlobalSceneBranch(in_channels,
                                                   num_scene_classes if global_loss else 0,
                                                   global_dropout_ratio, global_loss_weight,
                                                   out_channels=global_channels)

    @property
    def out_channels(self) -> int:
        """Width of the fused feature: ``C`` (+ latent with concat LFB) (+ the global
        feature's, ``C`` or ``global_channels``)."""
        width = self.in_channels
        if self.with_lfb and self.fusion == 'concat':
            width += self.lfb.out_channels
        if self.with_global:
            width += self.global_branch.out_channels
        return width

    def init_weights(self) -> None:
        if self.with_lfb:
            self.lfb.init_weights()
            if self.fusion == 'sum':
                nn.init.kaiming_normal_(self.lfb_proj.weight, mode='fan_out', nonlinearity='relu')
                nn.init.zeros_(self.lfb_proj.bias)
        if self.with_global:
            self.global_branch.init_weights()

    @staticmethod
    def short_term(x: Tensor) -> Tensor:
        """Temporal average then spatial max pooling: ``(n, C, T, h, w)`` -> ``(n, C)``."""
        if x.dim() != 5:
            raise ValueError(f'RoI features must be (n, C, T, h, w), got {tuple(x.shape)}')
        return x.mean(dim=2).amax(dim=(2, 3))

    def forward(self,
                x: Tensor,
                feat: Tensor,
                rois: Tensor,
                lt_feat: Optional[Tensor] = None,
                lt_mask: Optional[Tensor] = None) -> Tuple[Tensor, Optional[Tensor]]:
        """Fused person features and scene logits.

        Args:
            x: ``(n, C, T, h, w)`` RoI features.
            feat: ``(B, C, T', H, W)`` clip features (from ``SingleRoIExtractor3D``).
            rois: ``(n, 5)`` ``[clip, x1, y1, x2, y2]``.
            lt_feat: ``(B, L, lt_channels)`` bank window of each clip (``with_lfb``).
            lt_mask: bool ``(B, L)``, True where a slot holds a feature.

        Returns:
            tuple: ``(n, out_channels, 1, 1, 1)`` fused features and ``(B, K)`` scene logits
            (None without the global branch or its loss).
        """
        if x.shape[1] != self.in_channels:
            raise ValueError(f'ThreeBranchHead expects {self.in_channels}-channel RoI features, '
                             f'got {tuple(x.shape)}')
        clip_ids = rois[:, 0].long()
        person = self.short_term(x)
        parts = [person]
        if self.with_lfb:
            if lt_feat is None or lt_mask is None:
                raise ValueError('ThreeBranchHead(with_lfb=True) needs the bank window of each '
                                 'clip (lt_feat, lt_mask): add LoadLFBWindow to the pipeline')
            if lt_feat.shape[0] != feat.shape[0]:
                raise ValueError(f'got {lt_feat.shape[0]} bank windows for {feat.shape[0]} clips')
            long_term = self.lfb(person, lt_feat, lt_mask, clip_ids)
            if self.fusion == 'concat':
                parts.append(long_term)
            else:
                parts[0] = person + self.lfb_proj(long_term)
        scene_logits = None
        if self.with_global:
            pooled, scene_logits = self.global_branch(feat)
            parts.append(pooled[clip_ids])
        fused = torch.cat(parts, dim=1)
        return fused[:, :, None, None, None], scene_logits
