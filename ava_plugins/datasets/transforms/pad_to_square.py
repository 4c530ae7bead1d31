"""Padding of the frames to a square, ACAR-Net's training recipe, requested per sample.

ACAR-Net report (https://arxiv.org/abs/2006.07976, §2.1): "we only scale the
shorter side of the input frames to 256 pixels, and zero pad the longer side to the same size
in order to simplify mini-batch training". The padding has to be zero *after* normalisation
(the mean colour), as in the official code (``batch_pad`` pads the normalised tensors with 0),
which uint8 frames cannot hold. So this transform pads nothing itself: it records the square
``pad_shape`` and the model's ``MeanPadDataPreprocessor`` normalises each clip and then pads it,
at the bottom/right, to the largest request of the batch (rounded up to its
``pad_size_divisor``), so boxes keep their pixel coordinates and ``img_shape`` stays the
unpadded size that ``ACARHead`` crops each clip's context to.

Compute: the backbone's cost grows with the padded area, 455 / 256 = 1.78x (464 / 256 = 1.81x
with the divisor 16) for a 16:9 frame. The official code pads only to the largest frame of the
batch (one clip per GPU: no padding at all); leaving this transform out of the pipeline gives
that (``MeanPadDataPreprocessor`` pads to the batch's largest frame).
"""
from typing import Optional

from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform


@TRANSFORMS.register_module()
class PadToSquare(BaseTransform):
    """Request padding of every frame at the bottom/right to an ``S x S`` square.

    Place it after ``Resize`` and ``Flip`` (they work on the unpadded frame); the model's data
    preprocessor must be ``MeanPadDataPreprocessor`` (which does the padding).

    Args:
        size: side ``S``; None (default) requests the frame's longer side. A fixed ``S`` gives
            every clip of a dataset the same input size; a frame with a side longer than ``S``
            raises an error.

    Required keys: ``img_shape``. Added keys: ``pad_shape`` = ``(S, S)``; ``imgs`` and
    ``img_shape`` unchanged.
    """

    def __init__(self, size: Optional[int] = None) -> None:
        if size is not None and size <= 0:
            raise ValueError(f'PadToSquare: size must be positive, got {size}')
        self.size = size

    def transform(self, results: dict) -> dict:
        if 'img_shape' not in results:
            raise ValueError(f"PadToSquare needs 'img_shape' (place it after RawFrameDecode and "
                             f'Resize); got keys {sorted(results)}')
        h, w = (int(v) for v in results['img_shape'][:2])
        side = max(h, w) if self.size is None else self.size
        if max(h, w) > side:
            raise ValueError(f'PadToSquare(size={self.size}): frame {h}x{w} is larger')
        results['pad_shape'] = (side, side)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(size={self.size})'
