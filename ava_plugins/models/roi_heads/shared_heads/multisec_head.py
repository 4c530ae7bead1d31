"""Stage-2 multi-second head of ByteDance AI Lab's AVA 2019 model.

Report ByteDance AI Lab AVA Challenge 2019 Technical Report,
https://research.google.com/ava/challenge.html, Sec. 1.2: "We uniformly sample 5 clips centered at
key frames from T seconds and use average pooling or max pooling to reduce the temporal dimension
of feature volumes of each clip into 1 and stack them together into a feature volume V_m in
R^{5x256x7x7}. Similarly, an additional 2-layer ConvNet is used to aggregate stacked feature
volume into a compact representation." (Table 2: mean pooling 25.83, max 25.3.)

Each clip's feature volume is the stage-1 V (:class:`MultiSecBaselineHead.volume`: temporal
average to ``temporal_size`` frames, point-wise conv to 256), so the reduction is initialised
from the stage-1 model by name; V is then pooled over time to 1 (``temporal_pool``: 'avg' or
'max'), the ``num_clips`` pooled maps of a proposal are stacked along the time axis into V_m and
the 2-layer 3D ConvNet (same names and shapes as stage 1's, also loaded from it) aggregates them.
"""
from typing import Optional

from mmdet.registry import MODELS
from torch import Tensor

from .multisec_baseline_head import MultiSecBaselineHead


@MODELS.register_module()
class MultiSecHead(MultiSecBaselineHead):
    """Per-clip RoI volumes of a proposal's tube -> V_m -> 2-layer 3D ConvNet.

    Args:
        num_clips: clips per proposal (5 in the report).
        temporal_pool: 'avg' (the report's best, 25.83) or 'max' (25.3) over each clip's V.
        in_channels, channels, temporal_size, num_convs, kernel_size: as
            :class:`MultiSecBaselineHead`.

    Shapes: ``(N * num_clips, in_channels, T, S, S)`` RoI features in, ordered proposal-major
    (the clips of proposal 0, then proposal 1, ...); ``(N, channels, num_clips, S, S)`` out.
    """

    def __init__(self,
                 in_channels: int,
                 num_clips: int = 5,
                 temporal_pool: str = 'avg',
                 channels: int = 256,
                 temporal_size: Optional[int] = 4,
                 num_convs: int = 2,
                 kernel_size: int = 3,
                 init_cfg=None) -> None:
        super().__init__(in_channels, channels, temporal_size, num_convs, kernel_size, init_cfg)
        if temporal_pool not in ('avg', 'max'):
            raise ValueError(f"temporal_pool must be 'avg' or 'max', got {temporal_pool!r}")
        if num_clips < 1:
            raise ValueError(f'num_clips must be >= 1, got {num_clips}')
        self.num_clips = num_clips
        self.temporal_pool = temporal_pool

    def stacked_volume(self, x: Tensor) -> Tensor:
        """V_m: ``(N * K, C, T, S, S)`` -> ``(N, channels, K, S, S)``."""
        if x.dim() != 5 or x.shape[0] % self.num_clips:
            raise ValueError(f'{type(self).__name__} expects (N * {self.num_clips}, C, T, S, S) '
                             f'RoI features, got {tuple(x.shape)}')
        v = self.volume(x)
        v = v.mean(dim=2) if self.temporal_pool == 'avg' else v.amax(dim=2)  # (N*K, C', S, S)
        n = v.shape[0] // self.num_clips
        return v.view(n, self.num_clips, *v.shape[1:]).transpose(1, 2)

    def forward(self, x: Tensor, feat=None, rois=None, img_metas=None, **kwargs) -> Tensor:
        return self.convs(self.stacked_volume(x))
