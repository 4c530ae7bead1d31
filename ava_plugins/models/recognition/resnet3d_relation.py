"""ResNet3d whose non-local blocks are mask non-local or learnable relation blocks.

mmaction2's :class:`~mmaction.models.ResNet3d` hard-wires mmcv's ``NonLocal3d`` in the blocks
that ``non_local`` selects. This registered subclass takes the same arguments and reads one more
key in ``non_local_cfg``, ``type`` (default ``'MaskNonLocal3d'``; ``'LearnableRelation3d'``;
``'NonLocal3d'`` for the ordinary block), the rest of ``non_local_cfg`` going to that block::

    backbone=dict(type='ResNet3dRelation', depth=50, ...,
                  non_local=((0, 0, 0), (0, 1, 0, 1), (0, 1, 0, 1, 0, 1), (0, 0, 0)),
                  non_local_cfg=dict(type='MaskNonLocal3d', delta=(None, 3 / 7, 3 / 7),
                                     sub_sample=True, use_scale=False,
                                     norm_cfg=dict(type='BN3d', requires_grad=True)))

Blocks sit where mmaction2 puts them (``non_local_block`` of each selected residual block), so
parameter names, and therefore checkpoints, are those of mmaction2's I3D-NL models (Qiniu
ActivityNet 2018 report, §2.3 and §3, https://arxiv.org/abs/1806.04391).
"""
from typing import Dict

import torch.nn as nn
from mmaction.models.backbones.resnet3d import BasicBlock3d, Bottleneck3d, ResNet3d
from mmaction.registry import MODELS
from mmcv.cnn import NonLocal3d
from mmengine.model import constant_init, normal_init

from .learnable_relation import LearnableRelation3d
from .mask_non_local import MaskNonLocal3d

BLOCK_TYPES = {
    'NonLocal3d': NonLocal3d,
    'MaskNonLocal3d': MaskNonLocal3d,
    'LearnableRelation3d': LearnableRelation3d
}
NONLOCAL3D_KEYS = ('sub_sample', 'reduction', 'use_scale', 'conv_cfg', 'norm_cfg', 'mode')


@MODELS.register_module()
class ResNet3dRelation(ResNet3d):
    """:class:`ResNet3d` with ``non_local_cfg['type']`` choosing the non-local block class.

    Input ``(N, 3, T, H, W)``, outputs as ``ResNet3d``.
    """

    def __init__(self, *args, non_local_cfg: Dict = dict(), **kwargs) -> None:
        cfg = dict(non_local_cfg)
        block_type = cfg.pop('type', 'MaskNonLocal3d')
        if block_type not in BLOCK_TYPES:
            raise ValueError(f'ResNet3dRelation: non_local_cfg.type must be one of '
                             f'{sorted(BLOCK_TYPES)}, got {block_type!r}')
        plain = {k: v for k, v in cfg.items() if k in NONLOCAL3D_KEYS}
        if block_type != 'NonLocal3d':
            plain.pop('mode', None)
        super().__init__(*args, non_local_cfg=plain, **kwargs)
        self.non_local_cfg = dict(non_local_cfg)
        for block in self.modules():
            if isinstance(block, (BasicBlock3d, Bottleneck3d)) and block.non_local:
                block.non_local_block = BLOCK_TYPES[block_type](
                    block.non_local_block.in_channels, **cfg)

    def init_weights(self, pretrained=None) -> None:
        """ResNet3d's initialisation, then each non-local block's own (mmaction2's
        ``pretrained=None`` branch re-draws every Conv3d, which would undo the zero-initialised
        output of non-local and NiN layers)."""
        super().init_weights(pretrained)
        if self.pretrained is None:
            for m in self.modules():
                if isinstance(m, NonLocal3d):
                    reset_non_local(m)


def reset_non_local(block: NonLocal3d, std: float = 0.01) -> None:
    """A non-local block's own initialisation: N(0, std) embeddings, zero output (its norm, if
    any), zero last NiN layer. (``NonLocal3d.init_weights`` itself fails once ``sub_sample``
    has wrapped ``g`` and ``phi`` in ``nn.Sequential``.)"""
    for name in ('g', 'theta', 'phi'):
        module = getattr(block, name, None)
        if isinstance(module, nn.Sequential):
            module = module[0]
        if module is not None:
            normal_init(module.conv, std=std)
    out = block.conv_out
    constant_init(out.conv if out.norm_cfg is None else out.norm, 0)
    if isinstance(block, LearnableRelation3d):
        constant_init(block.relation_nin[-1].conv, 0)
