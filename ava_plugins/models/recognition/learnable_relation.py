"""Learnable relation block: a network-in-network predicts the weights over a neighbourhood.

Qiniu ActivityNet 2018 report (https://arxiv.org/abs/1806.04391), §3 "Learning
Relations in Video", Eq. (7)::

    D_i = [t ± t1] x [h ± h1] x [w ± w1]
    y_i = Σ_{j in D_i} r_j^(i) g(x_j),      r^(i) in R^{(2t1+1)(2h1+1)(2w1+1)}
    z = x + W_z y

where a network-in-network with a ``(2t0+1) x (2h0+1) x (2w0+1)`` receptive field
(``t1 <= t0``, ...) computes ``r^(i)`` at every position. The report's Figure 3 (the exact
network) is not in its text; this is the project's reading, chosen so that the report's note
("by using mask non-local's initialization, our network can get better results") is exact:

1. the embeddings of a mask non-local block, ``θ``, ``φ``, ``g`` (1x1x1 convs), give the
   neighbourhood correlations ``c_o(i) = θ(x_i)·φ(x_{i+o})`` for the ``K1`` offsets ``o`` of
   ``D_i``: a ``(N, K1, T, H, W)`` map (receptive field ``t1`` around ``i``);
2. the NiN, ``Conv3d(K1, hidden, (2(t0-t1)+1, 2(h0-h1)+1, 2(w0-w1)+1))`` -> norm -> ReLU ->
   ``Conv3d(hidden, K1, 1)``, reads that map and predicts a correction; its receptive field
   on ``x`` is then ``(2t0+1) x (2h0+1) x (2w0+1)``;
3. ``r^(i) = softmax_o(c(i) + NiN(c)(i))`` over the offsets inside the feature map.

Initialisation from a trained mask non-local (the report's note): the NiN's last convolution
starts at zero, so ``r^(i)`` starts as the mask non-local's attention. Parameter names ``g``,
``theta``, ``phi``, ``conv_out`` are those of :class:`MaskNonLocal3d` (and mmcv's
``NonLocal3d``): loading a trained mask-non-local checkpoint (``load_from`` in a config, or
:meth:`init_from_mask_non_local` for one block) with ``strict=False`` leaves only the NiN
missing, and the block then computes exactly what the mask non-local with
``delta = neighbourhood`` (integer δ) computed; training moves the relations on from there.
"""
from typing import Dict, Optional, Sequence

import torch.nn as nn
from mmaction.registry import MODELS
from mmcv.cnn import ConvModule, NonLocal3d
from mmengine.model import constant_init
from torch import Tensor

from .mask_non_local import MaskNonLocal3d
from .neighbourhood import key_radius, window_aggregate, window_bias, window_logits


def _triple(value, name: str):
    value = tuple(value)
    if len(value) != 3 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                                  for v in value):
        raise ValueError(f'LearnableRelation3d: {name} must be three ints >= 0 (t, h, w), '
                         f'got {value!r}')
    return value


@MODELS.register_module()
class LearnableRelation3d(NonLocal3d):
    """Relation block of report §3, Eq. (7); shapes ``(N, C, T, H, W) -> (N, C, T, H, W)``.

    Args:
        in_channels: input channels ``C``.
        neighbourhood: ``(t1, h1, w1)``: ``D_i``'s radius in positions of the input grid (with
            ``sub_sample`` the keys are pooled by ``(1, 2, 2)``: every key cell that pools a
            position of ``D_i``, as in :class:`MaskNonLocal3d`; the relation vector then has
            ``2 ceil(δ / 2) + 1`` entries on H, W, those outside a query's span held at 0).
        relation_field: ``(t0, h0, w0) >= neighbourhood``: half-size of the NiN's receptive field.
        hidden_channels: NiN width (default ``K1``, the relation vector's size).
        sub_sample, reduction, use_scale, conv_cfg, norm_cfg: as mmcv's ``NonLocal3d``; the NiN's
            hidden layer uses ``norm_cfg`` too.
    """

    def __init__(self,
                 in_channels: int,
                 neighbourhood: Sequence[int] = (1, 1, 1),
                 relation_field: Sequence[int] = (2, 2, 2),
                 hidden_channels: Optional[int] = None,
                 sub_sample: bool = False,
                 conv_cfg: Dict = dict(type='Conv3d'),
                 norm_cfg: Optional[Dict] = None,
                 mode: str = 'embedded_gaussian',
                 **kwargs) -> None:
        if mode != 'embedded_gaussian':
            raise ValueError(f"LearnableRelation3d: mode must be 'embedded_gaussian', got "
                             f'{mode!r}')
        self.neighbourhood = _triple(neighbourhood, 'neighbourhood')
        self.relation_field = _triple(relation_field, 'relation_field')
        if any(f < n for f, n in zip(self.relation_field, self.neighbourhood)):
            raise ValueError(f'LearnableRelation3d: relation_field {self.relation_field} must be '
                             f'>= neighbourhood {self.neighbourhood} on every axis (report §3)')
        self.key_stride = (1, 2, 2) if sub_sample else (1, 1, 1)
        self.key_radius = tuple(key_radius(n, s) for n, s in zip(self.neighbourhood,
                                                                  self.key_stride))
        self.relation_size = 1
        for r in self.key_radius:
            self.relation_size *= 2 * r + 1
        hidden = hidden_channels or self.relation_size
        kernel = tuple(2 * (f - n) + 1 for f, n in zip(self.relation_field, self.neighbourhood))
        super().__init__(in_channels, sub_sample=sub_sample, conv_cfg=conv_cfg,
                         norm_cfg=norm_cfg, mode=mode, **kwargs)
        self.relation_nin = nn.Sequential(
            ConvModule(self.relation_size, hidden, kernel, padding=tuple(k // 2 for k in kernel),
                       conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=dict(type='ReLU')),
            ConvModule(hidden, self.relation_size, 1, conv_cfg=conv_cfg, act_cfg=None))
        constant_init(self.relation_nin[-1].conv, 0)

    def init_from_mask_non_local(self, block: MaskNonLocal3d) -> None:
        """Copy a trained mask non-local's ``g``, ``theta``, ``phi``, ``conv_out``; zero the NiN.

        The mask block must use the same ``sub_sample`` and ``use_scale`` and an integer δ equal
        to ``neighbourhood``; the result then computes exactly what ``block`` computes.
        """
        if tuple(block.delta) != self.neighbourhood:
            raise ValueError(f'init_from_mask_non_local: mask delta {block.delta} differs from '
                             f'neighbourhood {self.neighbourhood}')
        if block.sub_sample != self.sub_sample or block.use_scale != self.use_scale:
            raise ValueError('init_from_mask_non_local: sub_sample and use_scale must match')
        missing, unexpected = self.load_state_dict(block.state_dict(), strict=False)
        if unexpected or any(not k.startswith('relation_nin.') for k in missing):
            raise ValueError(f'init_from_mask_non_local: incompatible blocks (missing {missing}, '
                             f'unexpected {unexpected})')
        constant_init(self.relation_nin[-1].conv, 0)

    def relations(self, x: Tensor) -> Tensor:
        """``(N, C, T, H, W) -> (N, K1, T, H, W)``: ``r^(i)``, offsets in the order of
        :func:`.neighbourhood.window_offsets`, 0 for offsets outside the query's span
        (:func:`.neighbourhood.key_span`)."""
        sizes = x.shape[2:]
        theta = self.theta(x)
        phi = self.phi(x)
        if any(q != s * k for q, s, k in zip(sizes, self.key_stride, phi.shape[2:])):
            raise ValueError(f'LearnableRelation3d: input {tuple(sizes)} must be divisible by '
                             f'the key stride {self.key_stride} (even H, W with sub_sample)')
        if self.use_scale:
            theta = theta / theta.shape[1]**0.5
        corr = window_logits(theta, phi, self.key_radius, self.key_stride)
        logits = corr + self.relation_nin(corr)
        bias = window_bias(self.key_radius, sizes, self.key_stride, logits.dtype, logits.device,
                           self.neighbourhood)
        return (logits + bias).softmax(dim=1)

    def forward(self, x: Tensor) -> Tensor:
        """``(N, C, T, H, W) -> (N, C, T, H, W)``: ``x + conv_out(y)``, y of Eq. (7)."""
        y = window_aggregate(self.relations(x), self.g(x), self.key_radius, self.key_stride)
        return x + self.conv_out(y)
