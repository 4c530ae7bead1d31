"""Long-term feature-bank window of the Three Branches model (LFB).

Report "Three Branches: Detecting Actions With Richer Features", https://arxiv.org/abs/1908.04519
§3 "Long-Term Feature Operation": "we select 305 person features (5 persons per second, 61 seconds
in total) around the center clips". A :class:`~.load_bank_window.LoadBankWindow` with those
defaults, 1-D items and the keys ``ThreeBranchRoIHead`` reads.
"""
from typing import Optional

from mmaction.registry import TRANSFORMS

from .load_bank_window import LoadBankWindow


@TRANSFORMS.register_module()
class LoadLFBWindow(LoadBankWindow):
    """Add the clip's bank window: ``lfb_feat`` ``(S * P, C)`` and ``lfb_mask`` ``(S * P,)``.

    Pack them with ``PackActionInputs(algorithm_keys=('lfb_feat', 'lfb_mask'))``; they
    become data-sample fields read by ``ThreeBranchRoIHead``.

    Args:
        bank_dir: directory of a :class:`FeatureBank` with 1-D items ``(C,)``.
        half_width: ``W``; the window covers seconds ``t - W .. t + W`` (S = 2W + 1).
            Defaults to 30 (61 s).
        max_items: slots ``P`` per second. Defaults to 5.
        dtype: dtype of ``lfb_feat``; the bank's fp16 by default (the model casts).
    """

    def __init__(self,
                 bank_dir: str,
                 half_width: int = 30,
                 max_items: int = 5,
                 dtype: Optional[str] = None) -> None:
        super().__init__(bank_dir, half_width, max_items, feat_key='lfb_feat',
                         mask_key='lfb_mask', item_ndim=1, dtype=dtype)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(bank_dir={self.bank_dir!r}, '
                f'half_width={self.half_width}, max_items={self.max_items})')
