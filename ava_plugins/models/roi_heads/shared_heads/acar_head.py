"""ACAR-Net head (Actor-Context-Actor Relation), batched over clips, as an AVA shared head.

Implements §1.1-1.2 of the ACAR-Net report (https://arxiv.org/abs/2006.07976;
Pan et al., CVPR 2021) with the math of the official ``ACARHead``
(``models/heads/acar.py``, github.com/Siyu-C/ACAR-Net):

1. V: each SlowFast pathway average-pooled over time and concatenated (done by mmaction2's
   ``SingleRoIExtractor3D`` with ``with_temporal_pool=True``, which hands V to this head as
   ``feat``), then ``conv_reduce`` (1x1, no bias) to ``reduce_channels``.
2. Actor features A_i: RoIAlign 7x7 on the reduced map, spatial max pool.
3. First-order maps: ``conv1`` (1x1, no bias) on [V_crop; tile(A_i)] + ReLU, ``conv2`` (3x3, no
   padding, no bias) + ReLU, MaxPool(3, 2, 1). V_crop is the clip's context cropped to its
   unpadded area, ``ceil(H * h / H_pad)`` x ``ceil(W * w / W_pad)``.
4. ``depth`` HR2O_NL blocks (:mod:`.hr2o`), then global average pooling.
5. Output ``[ReLU(fc1(A_i)); gap(H_i)]``; ``fc2`` is the ``fc_cls`` of the bbox head.

Two exact rewrites make it faster than the official per-clip loop (outputs equal up to float
rounding): conv1 is linear over the concatenation, conv1([V; tile(A_i)]) = W_V V + W_A A_i, so
the context term is computed once per clip and the actor term is a vector; and every clip of the
mini-batch goes through conv2/HR2O together, with the attention restricted to actors of the same
clip, so any number of clips per GPU gives the per-clip result.

Geometry (the "official" preset): boxes ``rois`` are in pixels of the network input; as in the
official code, they are normalised by the padded input size and multiplied by the feature map's
width/height, then RoIAlign runs with ``aligned=False`` and adaptive sampling
(``sampling_ratio=0``). Per clip the head needs ``img_metas[i]['img_shape']`` = (h, w) of the
real (unpadded) content, and optionally ``'pad_shape'`` = (h, w) after zero padding; the padded
input size is the largest of those over the batch (mmengine's ``stack_batch`` pads every clip to
the largest one, at the bottom/right).
"""
import math
from typing import List, Optional, Sequence, Tuple

import mmcv.ops
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor

from .hr2o import HR2ONL

#: RoIAlign settings of the official code (torchvision ``roi_align``, ``aligned=False``,
#: adaptive sampling, boxes scaled by feature size / padded input size).
OFFICIAL_ROI_LAYER = dict(type='RoIAlign', output_size=7, sampling_ratio=0, aligned=False)


def _hw(shape, key: str, index: int) -> Tuple[int, int]:
    try:
        h, w = (int(v) for v in tuple(shape)[:2])
    except (TypeError, ValueError):
        raise ValueError(f"img_metas[{index}]['{key}'] must be (h, w, ...), got {shape!r}")
    if h <= 0 or w <= 0:
        raise ValueError(f"img_metas[{index}]['{key}'] must be positive, got {shape!r}")
    return h, w


def clip_geometry(img_metas: Sequence[dict], feat_hw: Tuple[int, int]) -> Tuple[Tensor, Tensor]:
    """Per-clip valid feature size and box scale, from the data samples' metainfo.

    Args:
        img_metas: one dict per clip with ``img_shape`` (unpadded h, w) and optionally
            ``pad_shape`` (padded h, w).
        feat_hw: ``(H, W)`` of the context feature map.

    Returns:
        tuple: ``valid_hw`` long ``(B, 2)``: ``ceil(H * h / H_pad)``, ``ceil(W * w / W_pad)``
        computed as the official code does (``ceil(H * (1 / (H_pad / h)))``); ``box_scale``
        float ``(2,)``: ``(W / W_pad, H / H_pad)``, the factor from input pixels to feature
        cells.
    """
    if img_metas is None or len(img_metas) == 0:
        raise ValueError('ACARHead needs img_metas (one dict per clip with img_shape)')
    shapes, padded = [], []
    for i, meta in enumerate(img_metas):
        if 'img_shape' not in meta:
            raise ValueError(f"img_metas[{i}] has no 'img_shape' (keys: {sorted(meta)}); "
                             'add it to PackActionInputs meta_keys')
        shapes.append(_hw(meta['img_shape'], 'img_shape', i))
        padded.append(_hw(meta['pad_shape'], 'pad_shape', i) if 'pad_shape' in meta
                      else shapes[-1])
    pad_h = max(p[0] for p in padded)
    pad_w = max(p[1] for p in padded)
    feat_h, feat_w = feat_hw
    valid = [(math.ceil(feat_h * (1. / (pad_h / h))), math.ceil(feat_w * (1. / (pad_w / w))))
             for h, w in shapes]
    return (torch.tensor(valid, dtype=torch.long),
            torch.tensor([feat_w / pad_w, feat_h / pad_h], dtype=torch.float64))


@MODELS.register_module()
class ACARHead(nn.Module):
    """ACAR-Net shared head for mmaction2's ``AVARoIHead``.

    Args:
        in_channels: channels of V (2304 for SlowFast R50/R101 with channel ratio 8).
        reduce_channels: channels after ``conv_reduce``. Defaults to 1024.
        hidden_channels: channels ``d`` of the relation maps. Defaults to 512.
        depth: number of HR2O_NL blocks. Defaults to 2.
        kernel_size: kernel of the HR2O_NL convolutions. Defaults to 3.
        mlp_1x1: 1x1 output convolution in HR2O_NL (official R101 config). Defaults to False.
        downsample: ``'max2x2'`` (MaxPool 3, stride 2, padding 1) or ``'none'``.
        hr2o_dropout: dropout inside HR2O_NL. Defaults to 0.2 (official).
        roi_layer: mmcv.ops RoI layer config; defaults to :data:`OFFICIAL_ROI_LAYER`.
        box_scale: ``'feature'`` (official: feature size / padded input size) or ``'stride'``
            (mmaction2's ``1 / featmap_stride``).
        featmap_stride: stride used when ``box_scale='stride'``. Defaults to 16.

    Shapes: ``forward(x, feat, rois, img_metas)`` takes ``feat`` ``(B, in_channels, T, H, W)``
    (T is averaged) and ``rois`` ``(n, 5)`` ``[clip, x1, y1, x2, y2]`` in input pixels, and
    returns ``(n, 2 * hidden_channels, 1, 1, 1)`` for the bbox head.
    """

    def __init__(self,
                 in_channels: int = 2304,
                 reduce_channels: int = 1024,
                 hidden_channels: int = 512,
                 depth: int = 2,
                 kernel_size: int = 3,
                 mlp_1x1: bool = False,
                 downsample: str = 'max2x2',
                 hr2o_dropout: float = 0.2,
                 roi_layer: Optional[dict] = None,
                 box_scale: str = 'feature',
                 featmap_stride: int = 16) -> None:
        super().__init__()
        if downsample not in ('max2x2', 'none'):
            raise ValueError(f"downsample must be 'max2x2' or 'none', got {downsample!r}")
        if box_scale not in ('feature', 'stride'):
            raise ValueError(f"box_scale must be 'feature' or 'stride', got {box_scale!r}")
        self.in_channels = in_channels
        self.reduce_channels = reduce_channels
        self.hidden_channels = hidden_channels
        self.box_scale = box_scale
        self.featmap_stride = featmap_stride

        roi_cfg = dict(OFFICIAL_ROI_LAYER if roi_layer is None else roi_layer)
        layer_type = roi_cfg.pop('type')
        self.roi_layer = getattr(mmcv.ops, layer_type)(spatial_scale=1., **roi_cfg)

        self.conv_reduce = nn.Conv2d(in_channels, reduce_channels, 1, bias=False)
        self.conv1 = nn.Conv2d(reduce_channels * 2, hidden_channels, 1, bias=False)
        self.conv2 = nn.Conv2d(hidden_channels, hidden_channels, 3, bias=False)
        self.downsample = (nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
                           if downsample == 'max2x2' else nn.Identity())
        self.hr2o = nn.ModuleList(
            HR2ONL(hidden_channels, kernel_size, mlp_1x1, hr2o_dropout) for _ in range(depth))
        self.fc1 = nn.Linear(reduce_channels, hidden_channels, bias=False)

    @property
    def out_channels(self) -> int:
        """Channels of the output vector: ``hidden_channels`` (fc1) + ``hidden_channels``."""
        return 2 * self.hidden_channels

    def init_weights(self) -> None:
        """PyTorch's default initialisation, as the official head (nothing to do)."""

    # ------------------------------------------------------------------ parts
    def context(self, feat: Tensor) -> Tensor:
        """Reduced context map: ``(B, C, T, H, W)`` -> ``(B, reduce_channels, H, W)``."""
        if feat.dim() == 5:
            feat = feat.mean(dim=2)
        if feat.dim() != 4 or feat.shape[1] != self.in_channels:
            raise ValueError(f'ACARHead expects context features (B, {self.in_channels}, T, H, '
                             f'W), got shape {tuple(feat.shape)}')
        return self.conv_reduce(feat)

    def actor_features(self, context: Tensor, rois: Tensor, box_scale: Tensor) -> Tensor:
        """A_i: RoIAlign on the reduced map and spatial max pool.

        Args:
            context: ``(B, R, H, W)``; rois: ``(n, 5)`` in input pixels;
            box_scale: ``(2,)`` (x, y) factor from pixels to feature cells.

        Returns:
            Tensor: ``(n, R)``.
        """
        rois = rois.detach().clone()
        if self.box_scale == 'feature':
            scale = box_scale.to(rois)
            rois[:, 1::2] *= scale[0]
            rois[:, 2::2] *= scale[1]
        else:
            rois[:, 1:] /= self.featmap_stride
        return self.roi_layer(context, rois).amax(dim=(2, 3))

    def first_order(self, context: Tensor, actors: Tensor, clip_ids: Tensor,
                    valid_hw: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
        """First-order actor-context maps F_i (after conv2 and downsampling).

        Args:
            context: ``(B, R, H, W)``; actors: ``(n, R)``; clip_ids: ``(n,)``;
            valid_hw: long ``(B, 2)`` unpadded context size of each clip.

        Returns:
            tuple: maps ``(n, d, H', W')`` (zero outside each actor's valid area) and the
            float valid mask ``(n, 1, H', W')``, or None when all clips share one size.
        """
        valid_hw = valid_hw[clip_ids.cpu()]
        canvas_h, canvas_w = (int(v) for v in valid_hw.max(dim=0).values)
        if min(canvas_h, canvas_w, int(valid_hw.min())) < 3:
            raise ValueError(f'ACARHead: unpadded context maps must be at least 3x3 for conv2, '
                             f'got sizes {valid_hw.tolist()}')
        w_ctx, w_act = self.conv1.weight.flatten(1).split(self.reduce_channels, dim=1)
        ctx_term = F.conv2d(context[:, :, :canvas_h, :canvas_w], w_ctx[:, :, None, None])
        act_term = actors @ w_act.t()
        maps = F.relu(ctx_term[clip_ids] + act_term[:, :, None, None])
        maps = F.relu(self.conv2(maps))

        uniform = bool((valid_hw == valid_hw[0]).all())
        if not uniform:  # zero outside valid so that max pooling ignores it (maps >= 0)
            maps = maps * self._mask(valid_hw - 2, maps.shape[-2:], maps)
        maps = self.downsample(maps)
        if uniform:
            return maps, None
        valid = self._mask(self.map_size(valid_hw), maps.shape[-2:], maps)
        return maps * valid, valid

    def map_size(self, hw: Tensor) -> Tensor:
        """Size of the first-order maps of a context of size ``hw`` (long ``(..., 2)``):
        ``hw - 2`` after conv2, then ``ceil(/ 2)`` after the max pool."""
        hw = hw - 2
        if isinstance(self.downsample, nn.MaxPool2d):
            hw = torch.div(hw + 1, 2, rounding_mode='floor')
        return hw

    @staticmethod
    def _mask(valid_hw: Tensor, canvas_hw, like: Tensor) -> Tensor:
        """Float mask ``(n, 1, H, W)``: 1 where ``y < valid_h`` and ``x < valid_w``."""
        ys = torch.arange(canvas_hw[0], device=like.device)
        xs = torch.arange(canvas_hw[1], device=like.device)
        vh = valid_hw[:, 0].to(like.device)
        vw = valid_hw[:, 1].to(like.device)
        mask = (ys[None, :, None] < vh[:, None, None]) & (xs[None, None, :] < vw[:, None, None])
        return mask[:, None].to(like.dtype)

    def high_order(self,
                   maps: Tensor,
                   clip_ids: Tensor,
                   valid: Optional[Tensor],
                   memory: Optional[Tensor] = None,
                   memory_clip_ids: Optional[Tensor] = None) -> Tensor:
        """HR2O_NL blocks and global average pooling: ``(n, d, H', W')`` -> ``(n, d)``.

        With ``memory`` ``(m, d, H', W')`` (and its ``memory_clip_ids``) the blocks attend to
        those maps of the same clip instead of the clip's actors (ACFB)."""
        for block in self.hr2o:
            maps = block(maps, clip_ids, valid, memory, memory_clip_ids)
        if valid is None:
            return maps.mean(dim=(2, 3))
        return maps.sum(dim=(2, 3)) / valid.sum(dim=(2, 3))

    def relate(self, maps: Tensor, clip_ids: Tensor, valid: Optional[Tensor],
               valid_hw: Tensor, img_metas: Sequence[dict]) -> Tensor:
        """Relation reasoning on the first-order maps, ``(n, d, H', W')`` -> ``(n, d)``: the
        HR2O_NL blocks among the actors of each clip (subclasses attend elsewhere)."""
        return self.high_order(maps, clip_ids, valid)

    # ---------------------------------------------------------------- forward
    def forward(self,
                x: Optional[Tensor] = None,
                feat: Optional[Tensor] = None,
                rois: Optional[Tensor] = None,
                img_metas: Optional[List[dict]] = None,
                **kwargs) -> Tensor:
        """Relation features of every RoI.

        Args:
            x: RoI features of the RoI extractor (unused: the head pools its own A_i on the
                reduced map, as the official code).
            feat: ``(B, in_channels, T, H, W)`` context V from ``SingleRoIExtractor3D``.
            rois: ``(n, 5)`` ``[clip, x1, y1, x2, y2]`` in input pixels, in any order.
            img_metas: per-clip metainfo with ``img_shape`` (and optionally ``pad_shape``).

        Returns:
            Tensor: ``(n, 2 * hidden_channels, 1, 1, 1)``: ``[ReLU(fc1(A_i)); gap(H_i)]``,
            the input of the bbox head's ``fc_cls`` (the official ``fc2``).
        """
        if feat is None or rois is None:
            raise ValueError('ACARHead needs the context feature `feat` and the `rois`')
        if rois.dim() != 2 or rois.shape[1] != 5:
            raise ValueError(f'rois must be (n, 5), got shape {tuple(rois.shape)}')
        context = self.context(feat)
        if rois.shape[0] and not 0 <= int(rois[:, 0].min()) <= int(rois[:, 0].max()) < len(
                context):
            raise ValueError(f'rois[:, 0] must index the {len(context)} clips, got '
                             f'{rois[:, 0].unique().tolist()}')
        if len(img_metas or ()) != context.shape[0]:
            raise ValueError(f'ACARHead got {len(img_metas or ())} img_metas for '
                             f'{context.shape[0]} clips')
        valid_hw, box_scale = clip_geometry(img_metas, tuple(context.shape[-2:]))
        actors = self.actor_features(context, rois, box_scale)
        if rois.shape[0] == 0:
            high = actors.new_zeros(0, self.hidden_channels)
        else:
            clip_ids = rois[:, 0].long()
            maps, valid = self.first_order(context, actors, clip_ids, valid_hw)
            high = self.relate(maps, clip_ids, valid, valid_hw, img_metas)
        out = torch.cat([F.relu(self.fc1(actors)), high], dim=1)
        return out[:, :, None, None, None]
