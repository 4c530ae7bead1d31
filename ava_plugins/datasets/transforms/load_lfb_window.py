"""Per-sample loading of a long-term feature-bank window (Three Branches, LFB).

Report ``../shared/papers/001_bc2e51ed4c600152.txt`` §3 "Long-Term Feature Operation": "we
select 305 person features (5 persons per second, 61 seconds in total) around the center
clips". The bank is the project's single storage, :class:`ava_plugins.structures.FeatureBank`
(per-video fp16 shards, written by ``extract_bank`` from a trained baseline and frozen).

Loading happens here, in the dataloader workers, rather than in the model: each worker opens
shards lazily through memory maps and copies out only the ``S x P`` rows of one window
(``FeatureBank.read_window``), so no process ever holds a whole bank (mmaction2's ``LFB`` loads
the full bank into every GPU or CPU process), and reading overlaps with training. The
bank pickles without its open maps, so the transform is safe with any number of workers.
"""
from typing import Optional

import numpy as np
import torch
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

from ...structures.feature_bank import FeatureBank


@TRANSFORMS.register_module()
class LoadLFBWindow(BaseTransform):
    """Add the clip's bank window: ``lfb_feat`` ``(S * P, C)`` and ``lfb_mask`` ``(S * P,)``.

    Pack them with ``PackActionInputs(algorithm_keys=('lfb_feat', 'lfb_mask'))``; they
    become data-sample fields read by ``ThreeBranchRoIHead``.

    Args:
        bank_dir: directory of a :class:`FeatureBank` with 1-D items ``(C,)``.
        half_width: ``W``; the window covers seconds ``t - W .. t + W`` (S = 2W + 1).
            Defaults to 30 (61 s).
        max_items: slots ``P`` per second; a second with more items keeps its first ``P`` in
            stored order (extraction stores them by decreasing detection score). Defaults to 5.
        dtype: dtype of ``lfb_feat``; the bank's fp16 by default (the model casts).

    Required keys: ``video_id``, ``timestamp`` (seconds, the AVA keyframe).
    Added keys: ``lfb_feat`` (torch ``(S * P, C)``), ``lfb_mask`` (torch bool ``(S * P,)``).
    """

    def __init__(self,
                 bank_dir: str,
                 half_width: int = 30,
                 max_items: int = 5,
                 dtype: Optional[str] = None) -> None:
        if half_width < 0 or max_items < 1:
            raise ValueError(f'LoadLFBWindow: half_width must be >= 0 and max_items >= 1, got '
                             f'{half_width}, {max_items}')
        self.bank_dir = bank_dir
        self.half_width = int(half_width)
        self.max_items = int(max_items)
        self.dtype = None if dtype is None else np.dtype(dtype)
        self._bank = None

    @property
    def bank(self) -> FeatureBank:
        """The bank, opened on first use in each process."""
        if self._bank is None:
            bank = FeatureBank(self.bank_dir)
            if len(bank.item_shape) != 1:
                raise ValueError(f'{self.bank_dir}: LoadLFBWindow needs a bank of 1-D person '
                                 f'features, this bank holds items of shape {bank.item_shape}')
            self._bank = bank
        return self._bank

    def transform(self, results: dict) -> dict:
        for key in ('video_id', 'timestamp'):
            if key not in results:
                raise ValueError(f'LoadLFBWindow needs {key!r} in the sample (AVADataset '
                                 f'provides it); got keys {sorted(results)}')
        window = self.bank.read_window(str(results['video_id']), int(results['timestamp']),
                                       self.half_width, self.max_items)
        feats = window.features.reshape(-1, window.features.shape[-1])
        if self.dtype is not None:
            feats = feats.astype(self.dtype)
        results['lfb_feat'] = torch.from_numpy(np.ascontiguousarray(feats))
        results['lfb_mask'] = torch.from_numpy(window.mask.reshape(-1))
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(bank_dir={self.bank_dir!r}, '
                f'half_width={self.half_width}, max_items={self.max_items})')
