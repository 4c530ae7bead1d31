"""Stage-2 detector of the multi-second model: cached res4 volumes in, res5 + RoI head on top.

ByteDance AI Lab AVA Challenge 2019 Technical Report
(https://research.google.com/ava/challenge.html, Sec. 1.2): res4 feature volumes are precomputed
(``tools/extract_bank.py --feature res4``) and only res5 and the head are fine-tuned, initialised
from the stage-1 model. The detector keeps the full SlowFast backbone (its parameter names are the
stage-1 checkpoint's, so ``load_from`` the stage-1 checkpoint initialises res5 and the head);
res1-4 are never run, so they receive no gradient (the configs also freeze them,
``frozen_stages=3``, so distributed training sees no unused trainable parameter).
"""
from typing import Optional, Sequence

from mmdet.models.detectors import FastRCNN
from mmdet.registry import MODELS
from torch import Tensor

from .slowfast_res4 import slowfast_res5, unpack_res4, unpool_res4


@MODELS.register_module()
class MultiSecFastRCNN(FastRCNN):
    """``FastRCNN`` whose inputs are the packed res4 volumes of ``K`` keyframe clips per sample.

    Inputs ``(B, K, P, h, w)`` (``LoadTubeRes4``; packing: :mod:`.slowfast_res4`); features out
    for the ``B * K`` clips, sample-major (clip ``k`` of sample ``b`` at ``b * K + k``), which
    ``MultiSecRoIHead`` indexes with each proposal's tube.

    Args:
        res4_stride: 1 for the full cache (``--feature res4``); 2 for the pooled layout
            (``--feature res4_stride2``), expanded back to ``res4_shape`` by nearest neighbour
            before res5 (:func:`.slowfast_res4.unpool_res4`).
        res4_shape: ``(h, w)`` of the full res4 map (``ceil(H / 16), ceil(W / 16)`` of the
            cache's frame size); required when ``res4_stride > 1``.
        **kwargs: ``FastRCNN``'s.
    """

    def __init__(self, res4_stride: int = 1, res4_shape: Optional[Sequence[int]] = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if res4_stride < 1 or (res4_stride > 1 and res4_shape is None):
            raise ValueError(f'MultiSecFastRCNN: res4_stride must be >= 1, with res4_shape '
                             f'(h, w) when > 1; got {res4_stride}, {res4_shape}')
        self.res4_stride = int(res4_stride)
        self.res4_shape = None if res4_shape is None else tuple(int(v) for v in res4_shape)

    def extract_feat(self, batch_inputs: Tensor) -> tuple:
        if batch_inputs.dim() != 5:
            raise ValueError(f'{type(self).__name__} takes packed res4 volumes (B, K, P, h, w) '
                             f'from LoadTubeRes4, got inputs of shape {tuple(batch_inputs.shape)}')
        packed = batch_inputs.flatten(0, 1)
        if self.res4_stride > 1:
            packed = unpool_res4(packed, self.res4_stride, self.res4_shape)
        x = slowfast_res5(self.backbone, *unpack_res4(packed, self.backbone))
        if self.with_neck:
            x = self.neck(x)
        return x
