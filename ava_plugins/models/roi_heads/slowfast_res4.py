"""mmaction2's ``ResNet3dSlowFast`` split after res4, and the packing of its res4 outputs.

ByteDance AI Lab's multi-second model (ByteDance AI Lab AVA Challenge 2019 Technical Report,
https://research.google.com/ava/challenge.html, Sec. 1.2): "Due to memory limits, we precompute
res4 feature volumes off-the-shelf and finetune res5 stage parameters loaded from baseline model."
:func:`slowfast_res4` runs the backbone up to the res4 outputs of both pathways (before the
lateral fast->slow fusion that feeds res5); :func:`slowfast_res5` runs the rest (that fusion, then
res5 of both pathways), so
``slowfast_res5(b, *slowfast_res4(b, x)) == b(x)``. That fusion convolution is mmaction2's
``layer3_lateral``, frozen together with res1-4 by ``frozen_stages=3`` in the stage-2 configs:
only res5 (``layer4`` of both pathways) is fine-tuned, as the report says.

Packing (one feature-bank item per keyframe clip): the slow volume ``(C_s, T_s, H, W)`` and the
fast volume ``(C_f, T_f, H, W)`` are flattened channel-major over time and concatenated:
``(C_s * T_s + C_f * T_f, H, W)``. :func:`unpack_res4` inverts it from the backbone's res4
widths and ``speed_ratio`` (``T_f = speed_ratio * T_s``).

Size (:func:`res4_item_bytes`). The stage-1 R50 at 32 frames and 300 x 533 pixels packs
``1024 * 8 + 128 * 32 = 12288`` channels of ``19 x 34`` cells: 15,876,096 bytes (15.1 MiB) per
keyframe in fp16, about 3.3 TB for AVA v2.2's 235 x 897 train keyframes. The smaller layout
here (our choice) stores the volume average-pooled over ``stride x stride`` cells
(:func:`pool_res4`, ``tools/extract_bank.py --feature res4_stride2``; 4,177,920 bytes, 3.8x
smaller at stride 2) and ``MultiSecFastRCNN(res4_stride=2)`` expands it back by nearest
neighbour (:func:`unpool_res4`) before res5: exact where the res4 map is constant over each
block, otherwise a lossy res5 input.
"""
from typing import Tuple

import torch
from torch import Tensor, nn

__all__ = [
    'pack_res4', 'pool_res4', 'res4_channels', 'res4_item_bytes', 'slowfast_res4',
    'slowfast_res5', 'unpack_res4', 'unpool_res4'
]


def _stages(backbone):
    layers = backbone.slow_path.res_layers
    if len(layers) < 2:
        raise ValueError(f'the backbone has {len(layers)} stages; splitting after res4 needs >= 2')
    return layers


def slowfast_res4(backbone, x: Tensor) -> Tuple[Tensor, Tensor]:
    """``ResNet3dSlowFast.forward`` up to the last-but-one stage (res4).

    Args:
        backbone: mmaction2 ``ResNet3dSlowFast``.
        x: ``(B, 3, T, H, W)`` frames.

    Returns:
        slow ``(B, C_s, T_s, h, w)`` and fast ``(B, C_f, T_f, h, w)`` res4 outputs.
    """
    slow_path, fast_path = backbone.slow_path, backbone.fast_path
    x_slow = nn.functional.interpolate(
        x, mode='nearest', scale_factor=(1.0 / backbone.resample_rate, 1.0, 1.0))
    x_slow = slow_path.maxpool(slow_path.conv1(x_slow))
    x_fast = nn.functional.interpolate(
        x, mode='nearest',
        scale_factor=(1.0 / (backbone.resample_rate // backbone.speed_ratio), 1.0, 1.0))
    x_fast = fast_path.maxpool(fast_path.conv1(x_fast))
    if slow_path.lateral:
        x_slow = torch.cat((x_slow, slow_path.conv1_lateral(x_fast)), dim=1)
    layers = _stages(backbone)
    for i, name in enumerate(layers[:-1]):
        x_slow = getattr(slow_path, name)(x_slow)
        x_fast = getattr(fast_path, name)(x_fast)
        if i < len(layers) - 2 and slow_path.lateral:
            lateral = getattr(slow_path, slow_path.lateral_connections[i])
            x_slow = torch.cat((x_slow, lateral(x_fast)), dim=1)
    return x_slow, x_fast


def slowfast_res5(backbone, x_slow: Tensor, x_fast: Tensor) -> Tuple[Tensor, Tensor]:
    """The rest of ``ResNet3dSlowFast.forward`` from the res4 outputs: fusion, then res5."""
    slow_path, fast_path = backbone.slow_path, backbone.fast_path
    layers = _stages(backbone)
    if slow_path.lateral:
        lateral = getattr(slow_path, slow_path.lateral_connections[len(layers) - 2])
        x_slow = torch.cat((x_slow, lateral(x_fast)), dim=1)
    return getattr(slow_path, layers[-1])(x_slow), getattr(fast_path, layers[-1])(x_fast)


def res4_channels(backbone) -> Tuple[int, int]:
    """Output widths ``(C_s, C_f)`` of the slow and fast res4 stages."""
    name = _stages(backbone)[-2]

    def width(stage):
        return [m for m in stage.modules() if isinstance(m, nn.Conv3d)][-1].out_channels

    return width(getattr(backbone.slow_path, name)), width(getattr(backbone.fast_path, name))


def pack_res4(x_slow: Tensor, x_fast: Tensor) -> Tensor:
    """``(B, C_s, T_s, h, w)``, ``(B, C_f, T_f, h, w)`` -> ``(B, C_s*T_s + C_f*T_f, h, w)``."""
    if x_slow.shape[0] != x_fast.shape[0] or x_slow.shape[3:] != x_fast.shape[3:]:
        raise ValueError(f'slow {tuple(x_slow.shape)} and fast {tuple(x_fast.shape)} res4 '
                         f'volumes differ in batch or spatial size')
    return torch.cat((x_slow.flatten(1, 2), x_fast.flatten(1, 2)), dim=1)


def unpack_res4(packed: Tensor, backbone) -> Tuple[Tensor, Tensor]:
    """Inverse of :func:`pack_res4` for ``backbone``: ``(B, P, h, w)`` -> slow, fast.

    Raises:
        ValueError: if ``P`` is not ``C_s * T_s + C_f * speed_ratio * T_s`` for an integer
            ``T_s`` (the cache was written by another backbone).
    """
    c_slow, c_fast = res4_channels(backbone)
    ratio = backbone.speed_ratio
    per_slow_frame = c_slow + c_fast * ratio
    if packed.dim() != 4 or packed.shape[1] % per_slow_frame:
        raise ValueError(
            f'packed res4 features of shape {tuple(packed.shape)} do not fit this backbone: '
            f'expected (B, T_s * {per_slow_frame}, h, w) (slow width {c_slow}, fast width '
            f'{c_fast}, speed ratio {ratio}); was the cache written by another model?')
    t_slow = packed.shape[1] // per_slow_frame
    b, _, h, w = packed.shape
    x_slow = packed[:, :c_slow * t_slow].reshape(b, c_slow, t_slow, h, w)
    x_fast = packed[:, c_slow * t_slow:].reshape(b, c_fast, t_slow * ratio, h, w)
    return x_slow, x_fast


def res4_item_bytes(backbone, clip_len: int, img_shape, stride: int = 1,
                    itemsize: int = 2, featmap_stride: int = 16) -> int:
    """Bytes of one packed res4 bank item of a ``clip_len``-frame clip at ``img_shape`` (H, W).

    ``stride`` > 1: the :func:`pool_res4` layout. ``itemsize`` 2 for the bank's fp16.
    """
    c_slow, c_fast = res4_channels(backbone)
    t_slow = clip_len // backbone.resample_rate
    t_fast = t_slow * backbone.speed_ratio
    h, w = (-(-int(s) // featmap_stride) for s in img_shape)
    h, w = -(-h // stride), -(-w // stride)
    return (c_slow * t_slow + c_fast * t_fast) * h * w * itemsize


def pool_res4(packed: Tensor, stride: int) -> Tensor:
    """Average ``(B, P, h, w)`` over ``stride x stride`` cells -> ``(B, P, ceil(h/s), ceil(w/s))``.

    Blocks cut by the border average their cells inside the map only.
    """
    if stride == 1:
        return packed
    return nn.functional.avg_pool2d(packed, stride, stride, ceil_mode=True,
                                    count_include_pad=False)


def unpool_res4(pooled: Tensor, stride: int, size) -> Tensor:
    """Inverse layout of :func:`pool_res4`: each cell repeated ``stride x stride`` times, cut
    to ``size`` (h, w) of the full res4 map."""
    if stride == 1:
        return pooled
    h, w = (int(v) for v in size)
    if pooled.shape[-2:] != (-(-h // stride), -(-w // stride)):
        raise ValueError(f'res4 volumes of {tuple(pooled.shape[-2:])} cells are not a stride-'
                         f'{stride} layout of a {h} x {w} map')
    full = pooled.repeat_interleave(stride, dim=-2).repeat_interleave(stride, dim=-1)
    return full[..., :h, :w]
