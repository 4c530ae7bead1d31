"""Mask non-local block: embedded-Gaussian non-local attention restricted to a δ-neighbourhood.

Qiniu ActivityNet 2018 report (https://arxiv.org/abs/1806.04391), §3 "Mask Non-local",
Eqs. (4)-(6) and Table 5::

    y_i = Σ_j 1_{D_i}(j) f(x_i, x_j) g(x_j),   D_i = [t ± δt] x [h ± δh] x [w ± δw]
    f(x_i, x_j) = softmax_j(θ(x_i)ᵀ φ(x_j))     (embedded Gaussian, normalised over D_i)
    z = x + W_z y

It is mmcv's :class:`~mmcv.cnn.NonLocal3d` (same sub-modules ``g``, ``theta``, ``phi``,
``conv_out``, same ``sub_sample`` / ``use_scale`` / ``norm_cfg`` keys, so an I3D-NL checkpoint
loads into it unchanged) with one more key, ``delta = (δt, δh, δw)``: ``None`` or ``inf`` for an
unrestricted axis, an ``int`` in positions, a ``float`` as a fraction of the axis length (Table 5:
``(None, 3/7, 3/7)``, ``(1/2, 3/28, 3/28)``, ...), in positions of the block's input grid. With
every δ unrestricted it is the ordinary block. With sub-sampled keys (2x2 max-pooled, as the
I3D-NL baseline) a query attends every key cell that pools a position of its ``D_i``: all of
``D_i``, rounded out to whole key cells (:mod:`.neighbourhood`; e.g. res3, 28 x 28, δ = 3/28 H:
offsets -4..+3 from even rows and -3..+4 from odd ones).

``impl``: ``'dense'`` (the ordinary block's logits plus broadcast per-axis ``-inf`` biases; no
``THW x T'H'W'`` mask is built), ``'window'`` (only the neighbourhood's logits; needs key grids
aligned with the queries, i.e. even H, W with ``sub_sample``), ``'auto'`` (window when the
neighbourhood is a small part of the keys, see :meth:`MaskNonLocal3d.use_window`, or the dense
logits would not fit, dense otherwise). Both are exact; they differ in cost only. At I3D sizes
the dense path is the faster one (res3, δ = (T/2, 3/28 H, 3/28 W), 5 x 5 x 5 key window:
0.61 s dense vs 4.5 s windowed, forward + backward, batch 2, one CPU thread, a shared machine);
the windowed path makes large maps possible (16 x 64 x 64 positions with δ = 1: a dense float32
logit matrix would take 17 GB).
"""
from typing import Dict, Optional, Sequence

import torch
from mmaction.registry import MODELS
from mmcv.cnn import NonLocal3d
from torch import Tensor

from .neighbourhood import (axis_reach, dense_masked_logits, full_radius, is_aligned,
                            key_radius, window_aggregate, window_bias, window_logits)

IMPLS = ('auto', 'dense', 'window')
# Measured on CPU (torch 2.14, one thread, res3 of I3D-R50: 4 x 28 x 28 queries, 4 x 14 x 14
# keys, 256 channels): a windowed query-key pair costs ~42x a dense (BLAS) one.
WINDOW_COST_RATIO = 48
DENSE_LOGITS_LIMIT = 2**28  # elements of the (N, THW, T'H'W') logits: 1 GiB in float32


@MODELS.register_module()
class MaskNonLocal3d(NonLocal3d):
    """Embedded-Gaussian non-local block over a δ-neighbourhood (report §3, Eq. 4).

    Args:
        in_channels: channels ``C`` of the input ``(N, C, T, H, W)`` (output: same shape).
        delta: ``(δt, δh, δw)``, see the module docstring.
        impl: ``'auto'``, ``'dense'`` or ``'window'``.
        sub_sample, reduction, use_scale, conv_cfg, norm_cfg, mode: as mmcv's ``NonLocal3d``
            (``mode`` must be ``'embedded_gaussian'``, the report's choice).
    """

    def __init__(self,
                 in_channels: int,
                 delta: Sequence = (None, None, None),
                 impl: str = 'auto',
                 sub_sample: bool = False,
                 conv_cfg: Dict = dict(type='Conv3d'),
                 mode: str = 'embedded_gaussian',
                 **kwargs) -> None:
        if mode != 'embedded_gaussian':
            raise ValueError(f"{type(self).__name__}: mode must be 'embedded_gaussian' (report "
                             f'§2.3), got {mode!r}')
        if impl not in IMPLS:
            raise ValueError(f'{type(self).__name__}: impl must be one of {IMPLS}, got {impl!r}')
        delta = tuple(delta)
        if len(delta) != 3:
            raise ValueError(f'{type(self).__name__}: delta must be (dt, dh, dw), got {delta!r}')
        for d in delta:
            axis_reach(d, 1, 1, 1)  # validates the value
        super().__init__(in_channels, sub_sample=sub_sample, conv_cfg=conv_cfg, mode=mode,
                         **kwargs)
        self.delta = delta
        self.impl = impl
        self.key_stride = (1, 2, 2) if sub_sample else (1, 1, 1)

    def reach(self, sizes: Sequence[int], key_sizes: Sequence[int]):
        """``floor(δ)`` per axis in input positions (``None`` = unrestricted) for an input of
        ``sizes`` and keys of ``key_sizes``."""
        return tuple(
            axis_reach(d, q, k, s)
            for d, q, k, s in zip(self.delta, sizes, key_sizes, self.key_stride))

    def radius(self, sizes: Sequence[int], key_sizes: Sequence[int]):
        """Window radius per axis in key cells around the query's own cell (``None`` =
        unrestricted): the farthest key cell any query's span reaches."""
        return tuple(None if d is None else min(key_radius(d, s), k - 1)
                     for d, k, s in zip(self.reach(sizes, key_sizes), key_sizes,
                                        self.key_stride))

    def use_window(self, sizes: Sequence[int], key_sizes: Sequence[int],
                   radius: Sequence[Optional[int]], batch: int = 1) -> bool:
        """Whether :meth:`forward` takes the windowed path for this input (``'auto'``: when the
        neighbourhood is under ``1 / WINDOW_COST_RATIO`` of the keys, or the dense logits would
        exceed ``DENSE_LOGITS_LIMIT`` elements)."""
        aligned = is_aligned(sizes, key_sizes, self.key_stride)
        if self.impl == 'window':
            if not aligned:
                raise ValueError(
                    f"{type(self).__name__}(impl='window'): input {tuple(sizes)} and keys "
                    f'{tuple(key_sizes)} are not aligned by stride {self.key_stride}; use '
                    "impl='auto' or 'dense' (odd H or W with sub_sample=True)")
            return True
        if self.impl == 'dense' or not aligned or all(r is None for r in radius):
            return False
        window = 1
        for r in full_radius(radius, key_sizes):
            window *= 2 * r + 1
        keys = key_sizes[0] * key_sizes[1] * key_sizes[2]
        queries = sizes[0] * sizes[1] * sizes[2]
        return (window * WINDOW_COST_RATIO <= keys
                or batch * queries * keys > DENSE_LOGITS_LIMIT)

    def forward(self, x: Tensor) -> Tensor:
        """``(N, C, T, H, W) -> (N, C, T, H, W)``: ``x + conv_out(y)``, y of Eq. (4)."""
        n = x.size(0)
        sizes = x.shape[2:]
        theta = self.theta(x)
        phi = self.phi(x)
        g = self.g(x)
        key_sizes = phi.shape[2:]
        reach = self.reach(sizes, key_sizes)
        radius = self.radius(sizes, key_sizes)
        if self.use_scale:
            theta = theta / theta.shape[1]**0.5
        if self.use_window(sizes, key_sizes, radius, n):
            full = full_radius(radius, key_sizes)
            logits = window_logits(theta, phi, full, self.key_stride)
            logits = logits + window_bias(full, sizes, self.key_stride, logits.dtype,
                                          logits.device, reach)
            y = window_aggregate(logits.softmax(dim=1), g, full, self.key_stride)
        else:
            theta_x = theta.reshape(n, self.inter_channels, -1).permute(0, 2, 1)
            logits = torch.matmul(theta_x, phi.reshape(n, self.inter_channels, -1))
            logits = dense_masked_logits(logits, sizes, key_sizes, self.key_stride, reach)
            g_x = g.reshape(n, self.inter_channels, -1).permute(0, 2, 1)
            y = torch.matmul(logits.softmax(dim=-1), g_x)
            y = y.permute(0, 2, 1).reshape(n, self.inter_channels, *sizes)
        return x + self.conv_out(y)
