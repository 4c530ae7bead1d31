"""δ-neighbourhoods of a 3D feature map and attention restricted to them.

Qiniu ActivityNet 2018 report (https://arxiv.org/abs/1806.04391), §3, Eq. (5): the
neighbourhood of ``i = (t, h, w)`` is ``D_i = [t ± δt] x [h ± δh] x [w ± δw]``, in positions of
the block's input grid ``(T, H, W)``, where the queries live. Keys (``φ``, ``g``) live on a grid
that may be sub-sampled by ``stride`` per axis (mmcv's ``NonLocal3d(sub_sample=True)``
max-pools keys by ``(1, 2, 2)``): key cell ``k`` pools input positions ``s k .. s k + s - 1``.
Query ``q`` attends every key cell that pools a position of ``[q - d, q + d]``, ``d = floor(δ)``
(:func:`axis_reach`), i.e. the key cells ``floor((q - d) / s) .. floor((q + d) / s)``
(:func:`key_span`): the whole of ``D_i``, rounded out to whole key cells (one pooled key mixes
``s`` input rows, so a finer set cannot be attended). Without sub-sampling that is ``D_i``
exactly. Relative to the query's own key cell ``c(q) = min(q // s, K - 1)`` the span reaches at
most ``ceil(d / s)`` cells (:func:`key_radius`); which cells of that window a query attends
depends on its position within its cell, so both evaluations mask per query.

Two exact evaluations of ``softmax_{j in D_i}(θ_i·φ_j) g_j``:

- dense (:func:`axis_bias` + broadcasting): the full ``(THW, T'H'W')`` logits that an ordinary
  non-local block computes anyway, plus per-axis ``0 / -inf`` biases added by broadcasting, so
  no ``THW x T'H'W'`` mask is ever built;
- windowed (:func:`window_logits`, :func:`window_aggregate`): only the ``K = Π(2r+1)`` logits of
  each query's window of radius ``r`` key cells around ``c(q)``, ``(N, K, T, H, W)``, computed
  offset by offset on shifted views of the zero-padded keys (a loop over the ``K`` kernel
  offsets, like an unrolled convolution; each step is one vectorised op over every position),
  with :func:`window_bias` masking the offsets outside the query's span. Sub-sampled keys are
  handled by splitting the queries into their ``Π s`` parity sub-grids, each aligned one-to-one
  with the key grid.
"""
import itertools
import math
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

Radius = Tuple[Optional[int], Optional[int], Optional[int]]
Reach = Tuple[Optional[int], Optional[int], Optional[int]]


def axis_reach(delta, size: int, key_size: int, stride: int) -> Optional[int]:
    """``d = floor(δ)`` of one axis in positions of the block's input grid, ``None`` when the
    neighbourhood is the whole axis.

    Args:
        delta: ``None`` or ``inf`` (unrestricted); an ``int >= 0`` (positions of the block's
            input grid); a ``float > 0`` (fraction of the axis length ``size``, as in the
            report's Table 5, e.g. ``3 / 7`` for ``δh = 3/7 H``).
        size: axis length of the block's input (queries).
        key_size: axis length of the key grid.
        stride: key sub-sampling factor of the axis.

    Returns:
        ``floor(δ)`` positions (a real δ admits exactly the integer offsets ``|o| <= floor(δ)``),
        or ``None`` if every query's span (:func:`key_span`) is the whole key axis.
    """
    if delta is None:
        return None
    if isinstance(delta, bool) or not isinstance(delta, (int, float)):
        raise ValueError(f'delta must be None, an int (positions) or a float (fraction of the '
                         f'axis), got {delta!r}')
    if delta < 0 or (isinstance(delta, float) and math.isnan(delta)):
        raise ValueError(f'delta must be >= 0, got {delta!r}')
    if math.isinf(delta):
        return None
    positions = delta if isinstance(delta, int) else delta * size
    reach = int(math.floor(positions + 1e-6))
    lo, hi = key_span(size, key_size, stride, reach)
    return None if bool((lo == 0).all() and (hi == key_size - 1).all()) else reach


def key_span(size: int, key_size: int, stride: int, reach: Optional[int],
             device=None) -> Tuple[Tensor, Tensor]:
    """First and last key cell, each ``(size,)``, attended by each query ``q < size``.

    Every key cell pooling a position of ``[q - reach, q + reach]``:
    ``floor((q -+ reach) / stride)``, clipped to the key grid (a query past the last key cell,
    odd ``size`` with sub-sampling, keeps at least the last one). ``reach=None``: every cell.
    """
    q = torch.arange(size, device=device)
    if reach is None:
        return torch.zeros_like(q), torch.full_like(q, key_size - 1)
    lo = torch.div(q - reach, stride, rounding_mode='floor').clamp(0, key_size - 1)
    hi = torch.div(q + reach, stride, rounding_mode='floor').clamp(0, key_size - 1)
    return lo, hi


def key_radius(reach: int, stride: int) -> int:
    """Key cells from ``c(q)`` to the far end of any query's span: ``ceil(reach / stride)``."""
    return -(-reach // stride)


def query_to_key(size: int, key_size: int, stride: int, device=None) -> Tensor:
    """``c(q) = min(q // stride, key_size - 1)`` for ``q < size``: the key cell pooling ``q``."""
    return torch.clamp(torch.arange(size, device=device) // stride, max=key_size - 1)


def axis_bias(size: int, key_size: int, stride: int, reach: int, dtype, device) -> Tensor:
    """``(size, key_size)`` additive bias: 0 on each query's span (:func:`key_span`), ``-inf``
    elsewhere."""
    lo, hi = key_span(size, key_size, stride, reach, device)
    k = torch.arange(key_size, device=device)[None, :]
    outside = (k < lo[:, None]) | (k > hi[:, None])
    return torch.zeros(size, key_size, dtype=dtype, device=device).masked_fill(
        outside, float('-inf'))


def dense_masked_logits(logits: Tensor, sizes: Sequence[int], key_sizes: Sequence[int],
                        strides: Sequence[int], reach: Reach) -> Tensor:
    """Add the neighbourhood biases to full logits ``(N, THW, T'H'W')`` by broadcasting.

    ``reach``: :func:`axis_reach` per axis (``None``: unrestricted). ``logits`` (contiguous) is
    modified in place and returned, ``-inf`` outside each query's neighbourhood.
    """
    n = logits.shape[0]
    out = logits.view(n, *sizes, *key_sizes)
    for axis, d in enumerate(reach):
        if d is None:
            continue
        bias = axis_bias(sizes[axis], key_sizes[axis], strides[axis], d, logits.dtype,
                         logits.device)
        shape = [1] * 6
        shape[axis], shape[3 + axis] = sizes[axis], key_sizes[axis]
        out.add_(bias.view(shape))  # in place: the matmul's backward does not need its output
    return logits


def is_aligned(sizes: Sequence[int], key_sizes: Sequence[int], strides: Sequence[int]) -> bool:
    """Whether each query parity sub-grid matches the key grid one to one (``size == s * K``)."""
    return all(q == s * k for q, k, s in zip(sizes, key_sizes, strides))


def full_radius(radius: Radius, key_sizes: Sequence[int]) -> Tuple[int, int, int]:
    """Integer radii for the windowed path: an unrestricted axis spans all of its keys."""
    return tuple(k - 1 if r is None else r for r, k in zip(radius, key_sizes))


def window_offsets(radius: Sequence[int]) -> List[Tuple[int, int, int]]:
    """The ``K = Π(2r+1)`` offsets of a window, in the order of the ``K`` channels (t, h, w)."""
    return list(itertools.product(*(range(-r, r + 1) for r in radius)))


def window_bias(radius: Sequence[int], sizes: Sequence[int], strides: Sequence[int], dtype,
                device, reach: Optional[Reach] = None) -> Tensor:
    """``(K, T, H, W)`` additive bias: ``-inf`` where offset ``k`` leaves the key grid or, with
    ``reach`` (:func:`axis_reach` per axis, ``None`` entries unrestricted), the query's span
    (:func:`key_span`)."""
    key_sizes = [q // s for q, s in zip(sizes, strides)]
    reach = (None, ) * len(sizes) if reach is None else reach
    per_axis = []
    for r, q, kk, s, d in zip(radius, sizes, key_sizes, strides, reach):
        lo, hi = key_span(q, kk, s, d, device)
        target = query_to_key(q, kk, s, device)[None, :] + torch.arange(-r, r + 1,
                                                                       device=device)[:, None]
        valid = (target >= lo[None, :]) & (target <= hi[None, :])
        per_axis.append(torch.zeros(2 * r + 1, q, dtype=dtype,
                                    device=device).masked_fill(~valid, float('-inf')))
    bt, bh, bw = per_axis
    bias = (bt[:, None, None, :, None, None] + bh[None, :, None, None, :, None] +
            bw[None, None, :, None, None, :])
    return bias.reshape(-1, *sizes)


def _parities(strides: Sequence[int]):
    return list(itertools.product(*(range(s) for s in strides)))


def _interleave(parts: List[Tensor], strides: Sequence[int]) -> Tensor:
    """Inverse of the parity split: parts ``(N, C, T', H', W')`` -> ``(N, C, s_t T', ...)``."""
    if len(parts) == 1:
        return parts[0]
    stacked = torch.stack(parts, dim=-1)
    n, c, t, h, w, _ = stacked.shape
    st, sh, sw = strides
    stacked = stacked.view(n, c, t, h, w, st, sh, sw).permute(0, 1, 2, 5, 3, 6, 4, 7)
    return stacked.reshape(n, c, t * st, h * sh, w * sw)


def _shifted(padded: Tensor, radius: Sequence[int], offset: Sequence[int],
             key_sizes: Sequence[int]) -> Tensor:
    """View of ``padded`` (padded by ``radius``) shifted by ``offset``: key ``c + offset``."""
    (rt, rh, rw), (a, b, c), (kt, kh, kw) = radius, offset, key_sizes
    return padded[:, :, rt + a:rt + a + kt, rh + b:rh + b + kh, rw + c:rw + c + kw]


def window_logits(theta: Tensor, phi: Tensor, radius: Sequence[int],
                  strides: Sequence[int]) -> Tensor:
    """``θ_i · φ_{c(i)+o}`` for every query ``i`` and window offset ``o``.

    Args:
        theta: ``(N, C, T, H, W)`` query embeddings (already scaled if wanted).
        phi: ``(N, C, T/s_t, H/s_h, W/s_w)`` key embeddings (aligned grids).
        radius: integer key-grid radius per axis.
        strides: key sub-sampling per axis.

    Returns:
        ``(N, K, T, H, W)`` logits, ``K = Π(2r+1)`` in :func:`window_offsets` order; offsets
        outside the key grid hold 0 (mask them with :func:`window_bias`).
    """
    key_sizes = phi.shape[2:]
    rt, rh, rw = radius
    padded = F.pad(phi, (rw, rw, rh, rh, rt, rt))
    offsets = window_offsets(radius)
    parts = []
    for pt, ph, pw in _parities(strides):
        query = theta[:, :, pt::strides[0], ph::strides[1], pw::strides[2]]
        parts.append(torch.stack(
            [(query * _shifted(padded, radius, o, key_sizes)).sum(1) for o in offsets], dim=1))
    return _interleave(parts, strides)


def window_aggregate(weights: Tensor, g: Tensor, radius: Sequence[int],
                     strides: Sequence[int]) -> Tensor:
    """``y_i = Σ_o w_{i,o} g_{c(i)+o}``.

    Args:
        weights: ``(N, K, T, H, W)`` weights over the window (0 outside the key grid).
        g: ``(N, C, T/s_t, H/s_h, W/s_w)`` values.
        radius, strides: as in :func:`window_logits`.

    Returns:
        ``(N, C, T, H, W)``.
    """
    key_sizes = g.shape[2:]
    rt, rh, rw = radius
    padded = F.pad(g, (rw, rw, rh, rh, rt, rt))
    parts = []
    for pt, ph, pw in _parities(strides):
        w = weights[:, :, pt::strides[0], ph::strides[1], pw::strides[2]]
        y = None
        for k, o in enumerate(window_offsets(radius)):
            term = w[:, k:k + 1] * _shifted(padded, radius, o, key_sizes)
            y = term if y is None else y + term
        parts.append(y)
    return _interleave(parts, strides)
