"""Per-sample loading of a feature-bank window: the project's one bank-window loader.

Every bank of the project lives in :class:`ava_plugins.structures.FeatureBank` (per-video fp16
shards read through memory maps) and is frozen during training: the three-branch long-term bank
("Three Branches: Detecting Actions With Richer Features", https://arxiv.org/abs/1908.04519 §3,
1-D person features) and ACAR-Net's Actor-Context Feature Bank
(https://arxiv.org/abs/2006.07976 §1.3, ``d x H' x W'`` first-order maps). Loading happens here, in the dataloader workers, rather than in
the model: each worker opens shards lazily and copies out only the ``S x P`` items of one window
(``FeatureBank.read_window``), so no process ever holds a whole bank (mmaction2's ``LFB`` loads
the full bank into every process), and reading overlaps with training. The bank pickles without
its open maps, so the transform is safe with any number of workers.
"""
from typing import Optional

import numpy as np
import torch
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

from ...structures.feature_bank import FeatureBank


@TRANSFORMS.register_module()
class LoadBankWindow(BaseTransform):
    """Add the clip's bank window: ``results[feat_key]`` ``(S * P, *item_shape)`` and
    ``results[mask_key]`` bool ``(S * P,)`` (False for empty slots, whose features are zero).

    Args:
        bank_dir: directory of a :class:`FeatureBank`.
        half_width: ``W``; the window covers seconds ``t - W .. t + W`` (``S = 2W + 1``).
        max_items: slots ``P`` per second; a second with more items keeps its first ``P`` in
            stored order (extraction stores them by decreasing detection score).
        feat_key, mask_key: names of the added keys.
        item_ndim: required number of dimensions of the bank's items (1 for person vectors,
            3 for ``d x H' x W'`` maps); None accepts any.
        dtype: dtype of the features; the bank's fp16 by default (the model casts).

    Required keys: ``video_id``, ``timestamp`` (seconds, the AVA keyframe).
    """

    def __init__(self,
                 bank_dir: str,
                 half_width: int,
                 max_items: int,
                 feat_key: str = 'bank_feat',
                 mask_key: str = 'bank_mask',
                 item_ndim: Optional[int] = None,
                 dtype: Optional[str] = None) -> None:
        if half_width < 0 or max_items < 1:
            raise ValueError(f'{type(self).__name__}: half_width must be >= 0 and max_items '
                             f'>= 1, got {half_width}, {max_items}')
        self.bank_dir = bank_dir
        self.half_width = int(half_width)
        self.max_items = int(max_items)
        self.feat_key = feat_key
        self.mask_key = mask_key
        self.item_ndim = item_ndim
        self.dtype = None if dtype is None else np.dtype(dtype)
        self._bank = None

    @property
    def bank(self) -> FeatureBank:
        """The bank, opened on first use in each process."""
        if self._bank is None:
            bank = FeatureBank(self.bank_dir)
            if self.item_ndim is not None and len(bank.item_shape) != self.item_ndim:
                raise ValueError(f'{self.bank_dir}: {type(self).__name__} needs a bank of '
                                 f'{self.item_ndim}-D items, this bank holds items of shape '
                                 f'{bank.item_shape}')
            self._bank = bank
        return self._bank

    def transform(self, results: dict) -> dict:
        for key in ('video_id', 'timestamp'):
            if key not in results:
                raise ValueError(f'{type(self).__name__} needs {key!r} in the sample '
                                 f'(AVADataset provides it); got keys {sorted(results)}')
        window = self.bank.read_window(str(results['video_id']), int(results['timestamp']),
                                       self.half_width, self.max_items)
        feats = window.features.reshape((-1, ) + self.bank.item_shape)
        if self.dtype is not None:
            feats = feats.astype(self.dtype)
        results[self.feat_key] = torch.from_numpy(np.ascontiguousarray(feats))
        results[self.mask_key] = torch.from_numpy(window.mask.reshape(-1))
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(bank_dir={self.bank_dir!r}, '
                f'half_width={self.half_width}, max_items={self.max_items}, '
                f'feat_key={self.feat_key!r}, mask_key={self.mask_key!r})')
