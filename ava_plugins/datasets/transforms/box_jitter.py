"""Random box jitter of ACAR-Net's training recipe (mmaction2 has none).

ACAR-Net report (https://arxiv.org/abs/2006.07976, §2.1): "we use bounding box
jittering augmentation, which randomly perturbs box coordinates by a scale at most 7.5% relative
to the original size". As the official ``bbox_jitter`` (``models/necks/utils.py`` of
github.com/Siyu-C/ACAR-Net), each coordinate moves independently by ``u * w`` (x1, x2) or
``u * h`` (y1, y2), ``u ~ U(-ratio, ratio)``, with ``w, h`` the box's own size. Differences:
boxes are clipped to the image on every side (the official code clamps x from below and y from
above only), and in mmaction2 the labels of jittered proposals come from the RoI head's IoU
assignment against the (jittered) GT boxes rather than being carried from the original box.
"""
from typing import Sequence

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform


@TRANSFORMS.register_module()
class RandomBoxJitter(BaseTransform):
    """Move each side of every box by up to ``ratio`` of the box's width/height (training).

    Place it after ``Resize`` (boxes in pixels of the resized frame, ``img_shape`` set).

    Args:
        ratio: largest move of a side, relative to the box size. Defaults to 0.075.
        keys: box arrays ``(n, 4)`` ``x1, y1, x2, y2`` to jitter; missing or None are skipped.
            Defaults to ``('gt_bboxes', 'proposals')``.

    Randomness: for each key in order, one ``np.random.uniform(-ratio, ratio, (n, 4))`` draw
    (mmengine seeds ``np.random`` per worker). The result is clipped to
    ``[0, w] x [0, h]`` of ``img_shape`` and keeps the input dtype.
    """

    def __init__(self, ratio: float = 0.075,
                 keys: Sequence[str] = ('gt_bboxes', 'proposals')) -> None:
        if not 0 <= ratio < 0.5:
            raise ValueError(f'RandomBoxJitter: ratio must lie in [0, 0.5), got {ratio}')
        self.ratio = float(ratio)
        self.keys = tuple(keys)

    def transform(self, results: dict) -> dict:
        if 'img_shape' not in results:
            raise ValueError(f'RandomBoxJitter needs img_shape (place it after Resize); got '
                             f'keys {sorted(results)}')
        h, w = results['img_shape'][:2]
        for key in self.keys:
            boxes = results.get(key)
            if boxes is None:
                continue
            boxes = np.asarray(boxes)
            if boxes.ndim != 2 or boxes.shape[1] != 4:
                raise ValueError(f'RandomBoxJitter: results[{key!r}] must be (n, 4) x1, y1, x2, '
                                 f'y2, got shape {boxes.shape}')
            size = np.concatenate([boxes[:, 2:] - boxes[:, :2]] * 2, axis=1)  # w, h, w, h
            moved = boxes + np.random.uniform(-self.ratio, self.ratio, boxes.shape) * size
            results[key] = np.clip(moved, 0, [w, h, w, h]).astype(boxes.dtype)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(ratio={self.ratio}, keys={self.keys})'
