"""Box overlaps of the project: one home for IoU (boxes as x1, y1, x2, y2, continuous).

:func:`pairwise_iou` (every pair, batched; tube linking, arm RoIs, matching tests) and
:func:`elementwise_iou` (aligned or broadcast pairs; box fusion, the synthetic detector).
Both give 0 where the union is empty. The AVA evaluator keeps its own, bit-for-bit official
IoU (``ava_eval.frame_ap``), on purpose.
"""
import numpy as np


def pairwise_iou(boxes1: np.ndarray, boxes2: np.ndarray) -> np.ndarray:
    """IoU of every pair of boxes, batched over leading dims.

    Args:
        boxes1: ``(..., N, 4)`` as x1, y1, x2, y2.
        boxes2: ``(..., M, 4)``.

    Returns:
        ``(..., N, M)`` float64 IoU; 0 where the union is empty (degenerate boxes).
    """
    # Contiguous coordinate planes (broadcasting strided last-axis views is several times
    # slower) and three full-size buffers reused in place: fresh large temporaries cost page
    # faults that dominate at these sizes.
    x1a, y1a, x2a, y2a = (np.ascontiguousarray(boxes1[..., k], dtype=np.float64)[..., :, None]
                          for k in range(4))
    x1b, y1b, x2b, y2b = (np.ascontiguousarray(boxes2[..., k], dtype=np.float64)[..., None, :]
                          for k in range(4))
    inter = np.minimum(x2a, x2b)
    buf = np.maximum(x1a, x1b)
    inter -= buf
    np.maximum(inter, 0, out=inter)
    np.minimum(y2a, y2b, out=buf)
    ih = np.maximum(y1a, y1b)
    buf -= ih
    np.maximum(buf, 0, out=buf)
    inter *= buf
    np.add((x2a - x1a) * (y2a - y1a), (x2b - x1b) * (y2b - y1b), out=buf)
    buf -= inter  # union
    # An empty union means two empty boxes, whose intersection 0 stays 0 (divided by ``tiny``;
    # ``np.divide(..., where=)`` is ten times slower).
    np.maximum(buf, np.finfo(np.float64).tiny, out=buf)
    return np.divide(inter, buf, out=inter)


def elementwise_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of the boxes ``a[..., :]`` and ``b[..., :]`` pair by pair, broadcasting their leading
    dims: ``(..., 4)`` x ``(..., 4)`` -> ``(...)`` in the inputs' precision; 0 where the union
    is empty."""
    a, b = np.asarray(a), np.asarray(b)
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = iw * ih
    union = ((a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
             + (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1]) - inter)
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
