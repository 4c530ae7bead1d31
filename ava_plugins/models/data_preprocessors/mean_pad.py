"""Normalise each clip, then pad: padding is the mean (0 after normalisation).

mmaction2's ``ActionDataPreprocessor`` pads the raw clips of a batch with 0 (black, about -2
sigma after normalisation) and normalises afterwards. The official ACAR-Net code
(github.com/Siyu-C/ACAR-Net, ``utils.py`` ``batch_pad``) pads the normalised tensors with 0,
i.e. with the mean. This preprocessor does the latter, at the bottom/right (boxes keep their
pixel coordinates), to

* the largest ``pad_shape`` requested by a clip of the batch (``PadToSquare`` requests a square)
  or, without a request, the batch's largest frame (the official ``batch_pad``),
* rounded up to a multiple of ``pad_size_divisor``. With the backbone's total stride (16 for the
  ACAR SlowFast: res5 stride 1) every padded input maps to exactly ``H_pad / 16`` feature cells,
  so ``ACARHead``'s context crop ``ceil(H * h / H_pad)`` is ``ceil(h / 16)`` and its box scale
  ``1 / 16`` for every clip: the same clip gives the same context and boxes at training (square
  padding) and testing (no square), and its first-order maps have the same size in both (what the
  ACFB bank relies on). Without the divisor a 256 x 455 clip padded to 455 x 455 gets 29 x 29
  cells, a context of ``ceil(29 * 256 / 455) = 17`` rows (one of padding) and a y scale of
  29 / 455, against 16 rows and 16 / 256 unpadded.

Each data sample's metainfo gets ``pad_shape`` = the padded ``(H_pad, W_pad)`` of the batch
(``img_shape`` stays the unpadded size), which ``ACARHead`` reads.
"""
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmaction.models import ActionDataPreprocessor
from mmaction.registry import MODELS


def _round_up(v: int, divisor: int) -> int:
    return -(-v // divisor) * divisor


@MODELS.register_module()
class MeanPadDataPreprocessor(ActionDataPreprocessor):
    """``ActionDataPreprocessor`` that normalises before padding (pad value: the mean).

    Args:
        pad_size_divisor: the padded height and width are multiples of it. Defaults to 1.
        **kwargs: the arguments of ``ActionDataPreprocessor`` (``mean``, ``std``, ``to_rgb``,
            ``format_shape``: ``'NCTHW'`` only, ``blending``).

    Inputs: a list of ``(C, T, H, W)`` (or ``(N, C, T, H, W)``) clips of any size; output
    ``(B, [N,] C, T, H_pad, W_pad)``. A clip whose data sample has ``pad_shape`` (e.g. from
    ``PadToSquare``) is padded to at least that size.
    """

    def __init__(self, pad_size_divisor: int = 1, **kwargs) -> None:
        super().__init__(**kwargs)
        if self.format_shape != 'NCTHW':
            raise ValueError(f'MeanPadDataPreprocessor supports format_shape NCTHW, got '
                             f'{self.format_shape!r}')
        if int(pad_size_divisor) < 1:
            raise ValueError(f'pad_size_divisor must be >= 1, got {pad_size_divisor}')
        self.pad_size_divisor = int(pad_size_divisor)

    def padded_shape(self, inputs: List[torch.Tensor],
                     data_samples: Optional[list]) -> Tuple[int, int]:
        """``(H_pad, W_pad)`` of the batch: the largest frame or requested ``pad_shape``,
        rounded up to ``pad_size_divisor``."""
        hs, ws = [int(x.shape[-2]) for x in inputs], [int(x.shape[-1]) for x in inputs]
        for i, sample in enumerate(data_samples or ()):
            if 'pad_shape' in sample.metainfo:
                ph, pw = (int(v) for v in tuple(sample.metainfo['pad_shape'])[:2])
                if ph < hs[i] or pw < ws[i]:
                    raise ValueError(f'data sample {i}: pad_shape {(ph, pw)} is smaller than '
                                     f'its frames {(hs[i], ws[i])}')
                hs[i], ws[i] = ph, pw
        return (_round_up(max(hs), self.pad_size_divisor),
                _round_up(max(ws), self.pad_size_divisor))

    def preprocess(self, inputs: List[torch.Tensor], data_samples, training: bool = False):
        if isinstance(inputs, torch.Tensor):
            inputs = list(inputs)
        pad_h, pad_w = self.padded_shape(inputs, data_samples)
        clips = []
        for x in inputs:
            if self.to_rgb:
                x = x[..., [2, 1, 0], :, :, :]
            if self._enable_normalize:
                x = (x - self.mean) / self.std
            elif self.to_float32:
                x = x.to(torch.float32)
            clips.append(F.pad(x, (0, pad_w - x.shape[-1], 0, pad_h - x.shape[-2]), value=0.))
        batch_inputs = torch.stack(clips)
        for sample in data_samples or ():
            sample.set_metainfo(dict(pad_shape=(pad_h, pad_w)))
        if training and self.blending is not None:
            batch_inputs, data_samples = self.blending(batch_inputs, data_samples)
        return batch_inputs, data_samples
