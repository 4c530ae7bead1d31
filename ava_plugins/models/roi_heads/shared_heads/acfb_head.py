"""ACFB head: ACAR-Net's relation reasoning over the Actor-Context Feature Bank.

ACAR-Net report (https://arxiv.org/abs/2006.07976), §1.3 "Actor-Context Feature
Bank": a bank of first-order actor-context maps F_t, extracted every second of every video by a
trained ACAR-Net, and frozen (§2.1: "We train all models in an end-to-end fashion (except the
feature bank part)"); "We stack two modified non-local blocks, and replace the self-attention
mechanism with an attention between current and long-term actor-context relations", over ~20 s
for AVA and the whole (<= 10 s) video for Kinetics; "we do not apply spatial max pooling before
HR2O_NL". No official code exists.

What this head computes (everything else is :class:`~.acar_head.ACARHead`):

* queries: the current clip's first-order maps (no max pool by default, ``downsample='none'``);
* keys and values: the bank maps of the same video within ``t +- W`` (the window the data
  pipeline loads with ``LoadBankWindow``), only the non-empty slots, only those of the same clip
  (attention across clips of a batch is impossible by construction);
* the current clip's own live actors are **not** among the keys: the report replaces the
  self-attention by current-to-bank attention, and the bank already holds the keyframe ``t``
  itself (the frozen model's maps of that second, from GT boxes on AVA), as LFB's window holds
  its centre second;
* ``depth`` (2) HR2O_NL blocks with the math and parameter names of ACAR's (an ACAR checkpoint
  initialises them), each attending from its input to the same bank maps; a clip with an empty
  window gets a zero attention output (an empty sum) inside each block;
* global average pooling and ``[ReLU(fc1(A_i)); gap(H_i)]`` as ACAR.

Bank geometry: each bank item is a ``d x Hb x Wb`` map, the first-order map of the clip's
unpadded area at the top-left of a fixed canvas, zero elsewhere (``BANK_FEATURES['acar']``).
Within a video every clip has the same frame size, and with ``MeanPadDataPreprocessor``'s
``pad_size_divisor`` (the backbone's stride) a clip's valid maps have the same size at training
(square padding) and at extraction (test pipeline), so a bank map and the current clip's maps
share one valid area by construction: the head places each bank map on the batch's canvas
(cropped, or zero-padded where a wider clip of the batch makes the canvas larger than the
bank's), zeroes it outside its clip's valid map area, and raises an error only when the bank
map is smaller than its own clip's maps. When a clip was flipped horizontally (``flip`` in its
metainfo, from mmaction2's ``Flip``), its bank maps are mirrored inside that area so that
attention compares the same scene locations (the bank is extracted without flips; the report is
silent on this).

Pooled layout (``--feature acar_pooled``, our choice, not the report's): each bank item is its
map averaged over the valid area, ``d x 1 x 1`` (1 KiB in fp16 instead of 504 KiB); the head
tiles it over the clip's valid map area, so attention compares each location of the current maps
with the bank actor's mean relation feature.

The window travels as every bank window of the project (``PackActionInputs``
``algorithm_keys=(feat_key, mask_key)``: data-sample fields on the model's device);
``ACFBRoIHead`` hands each clip's window to this head with the clip's metainfo.
"""
from typing import Optional, Sequence, Tuple

import torch
from mmdet.registry import MODELS
from torch import Tensor

from .acar_head import ACARHead


@MODELS.register_module()
class ACFBHead(ACARHead):
    """ACAR head whose HR2O_NL blocks attend to the clip's Actor-Context Feature Bank window.

    Args:
        depth: number of stacked HR2O_NL blocks. Defaults to 2 (report §1.3).
        downsample: ``'none'`` (default, report §1.3) or ``'max2x2'``; the bank must have been
            extracted with the same setting (same map size).
        feat_key, mask_key: metainfo keys of the window: ``(L, d, Hb, Wb)`` maps and bool
            ``(L,)`` (True for filled slots). Defaults to ``'acfb_feat'``, ``'acfb_mask'``.
        flip_bank: mirror the bank maps of horizontally flipped clips. Defaults to True.
        **kwargs: the other arguments of :class:`ACARHead`.

    Shapes: as :class:`ACARHead`; ``img_metas[i]`` also carries the window of clip ``i``.
    """

    def __init__(self,
                 depth: int = 2,
                 downsample: str = 'none',
                 feat_key: str = 'acfb_feat',
                 mask_key: str = 'acfb_mask',
                 flip_bank: bool = True,
                 **kwargs) -> None:
        super().__init__(depth=depth, downsample=downsample, **kwargs)
        self.feat_key = feat_key
        self.mask_key = mask_key
        self.flip_bank = flip_bank

    def bank_memory(self, img_metas: Sequence[dict], canvas_hw: Tuple[int, int],
                    map_hw: Tensor, like: Tensor) -> Tuple[Tensor, Tensor]:
        """The filled bank slots of every clip on the batch's map canvas.

        Args:
            img_metas: per-clip metainfo holding the window (``feat_key``, ``mask_key``).
            canvas_hw: ``(H', W')`` of the current maps.
            map_hw: long ``(B, 2)`` valid map size of each clip.
            like: a tensor giving the device and dtype.

        Returns:
            tuple: ``memory`` ``(m, d, H', W')``, zero outside its clip's valid area and mirrored
            for flipped clips, and ``memory_clip_ids`` long ``(m,)``.
        """
        feats, ids, flipped = [], [], []
        canvas_h, canvas_w = canvas_hw
        for b, meta in enumerate(img_metas):
            if self.feat_key not in meta or self.mask_key not in meta:
                raise ValueError(
                    f"ACFBHead: img_metas[{b}] has no '{self.feat_key}'/'{self.mask_key}' (keys: "
                    f'{sorted(meta)}); add LoadBankWindow(feat_key={self.feat_key!r}, '
                    f'mask_key={self.mask_key!r}) to the pipeline, both keys to '
                    f'PackActionInputs algorithm_keys, and use ACFBRoIHead, which hands '
                    f'them to this head')
            feat = torch.as_tensor(meta[self.feat_key])
            mask = torch.as_tensor(meta[self.mask_key]).bool()
            if feat.dim() != 4 or feat.shape[1] != self.hidden_channels or mask.shape != (
                    len(feat), ):
                raise ValueError(f"ACFBHead: img_metas[{b}]['{self.feat_key}'] must be (L, "
                                 f'{self.hidden_channels}, H, W) with a (L,) mask, got '
                                 f'{tuple(feat.shape)} and {tuple(mask.shape)}')
            need_h, need_w = (int(v) for v in map_hw[b])
            keep = mask.nonzero()[:, 0]
            if tuple(feat.shape[2:]) == (1, 1):  # pooled layout: one vector, tiled
                feats.append(feat[keep].float().expand(-1, -1, canvas_h, canvas_w))
            elif feat.shape[2] < need_h or feat.shape[3] < need_w:
                raise ValueError(
                    f'ACFBHead: bank maps of clip {b} are {tuple(feat.shape[2:])}, smaller than '
                    f'its own first-order maps ({need_h}, {need_w}); extract the bank with the '
                    f'training config\'s resize and downsample setting '
                    f'(downsample={self.downsample_kind!r}) and a --canvas at least that large')
            else:
                item = feat[keep, :, :canvas_h, :canvas_w].float()
                if item.shape[2] < canvas_h or item.shape[3] < canvas_w:  # a wider clip
                    item = torch.nn.functional.pad(
                        item, (0, canvas_w - item.shape[3], 0, canvas_h - item.shape[2]))
                feats.append(item)
            ids.append(torch.full((len(keep), ), b, dtype=torch.long))
            flipped.append(bool(meta.get('flip', False))
                           and meta.get('flip_direction', 'horizontal') == 'horizontal')
        memory = torch.cat(feats).to(device=like.device, dtype=like.dtype)
        ids = torch.cat(ids).to(like.device)
        item_hw = map_hw.to(like.device)[ids]
        if self.flip_bank and any(flipped):
            xs = torch.arange(canvas_w, device=like.device)
            width = item_hw[:, 1:]
            mirror = torch.tensor(flipped, device=like.device)[ids][:, None] & (xs < width)
            src = torch.where(mirror, width - 1 - xs, xs)  # (m, W')
            memory = memory.gather(3, src[:, None, None, :].expand_as(memory).contiguous())
        return memory * self._mask(item_hw, canvas_hw, memory), ids

    @property
    def downsample_kind(self) -> str:
        return 'none' if isinstance(self.downsample, torch.nn.Identity) else 'max2x2'

    def relate(self, maps: Tensor, clip_ids: Tensor, valid: Optional[Tensor],
               valid_hw: Tensor, img_metas: Sequence[dict]) -> Tensor:
        """HR2O_NL blocks from the current maps (queries) to the clip's bank window (keys,
        values), then global average pooling: ``(n, d, H', W')`` -> ``(n, d)``."""
        memory, memory_ids = self.bank_memory(img_metas, tuple(maps.shape[-2:]),
                                              self.map_size(valid_hw), maps)
        return self.high_order(maps, clip_ids, valid, memory, memory_ids)
