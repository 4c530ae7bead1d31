"""Zero padding of the frames to a square, ACAR-Net's training and testing recipe.

ACAR-Net report (https://arxiv.org/abs/2006.07976, §2.1): "we only scale the
shorter side of the input frames to 256 pixels, and zero pad the longer side to the same size
in order to simplify mini-batch training". Padding goes to the bottom/right, so boxes keep their
pixel coordinates; ``img_shape`` keeps the unpadded size and ``pad_shape`` records the padded
one: ``ACARHead`` (``clip_geometry``) crops each clip's context to its unpadded area from both,
and box predictions stay normalised by the unpadded frame.
"""
from typing import Optional

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform


@TRANSFORMS.register_module()
class PadToSquare(BaseTransform):
    """Zero-pad every frame at the bottom/right to a ``S x S`` square.

    Place it after ``Resize`` and ``Flip`` (they work on the unpadded frame) and before
    ``FormatShape``.

    Args:
        size: side ``S``; None (default) pads to the frame's longer side. A fixed ``S`` gives
            every clip of a dataset the same input size (e.g. for a feature bank of fixed map
            size); a frame with a side longer than ``S`` raises an error.
        pad_val: padding value. Defaults to 0.

    Required keys: ``imgs`` (list of ``(h, w, C)`` frames), ``img_shape``.
    Added keys: ``pad_shape`` = ``(S, S)``; ``imgs`` padded; ``img_shape`` unchanged.
    """

    def __init__(self, size: Optional[int] = None, pad_val: float = 0) -> None:
        if size is not None and size <= 0:
            raise ValueError(f'PadToSquare: size must be positive, got {size}')
        self.size = size
        self.pad_val = pad_val

    def transform(self, results: dict) -> dict:
        for key in ('imgs', 'img_shape'):
            if key not in results:
                raise ValueError(f'PadToSquare needs {key!r} (place it after RawFrameDecode and '
                                 f'Resize); got keys {sorted(results)}')
        frames = np.asarray(results['imgs'])
        h, w = (int(v) for v in results['img_shape'][:2])
        if frames.ndim < 3 or frames.shape[1:3] != (h, w):
            raise ValueError(f'PadToSquare: frames of shape {frames.shape[1:3]} do not match '
                             f'img_shape {(h, w)}')
        side = max(h, w) if self.size is None else self.size
        if max(h, w) > side:
            raise ValueError(f'PadToSquare(size={self.size}): frame {h}x{w} is larger')
        padded = np.full((len(frames), side, side) + frames.shape[3:], self.pad_val,
                         dtype=frames.dtype)
        padded[:, :h, :w] = frames
        results['imgs'] = list(padded)
        results['pad_shape'] = (side, side)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(size={self.size}, pad_val={self.pad_val})'
