"""The project's IoUs against mmdet's ``bbox_overlaps`` (an independent implementation)."""
import numpy as np
import torch
from mmdet.structures.bbox import bbox_overlaps

from ava_plugins.structures.boxes import elementwise_iou, pairwise_iou


def random_boxes(rng, shape):
    xy = rng.uniform(0, 1, shape + (2, ))
    return np.concatenate([xy, xy + rng.uniform(0, 0.5, shape + (2, ))], -1)


def test_pairwise_iou_matches_mmdet():
    rng = np.random.default_rng(0)
    b1, b2 = random_boxes(rng, (3, 7)), random_boxes(rng, (3, 5))
    b2[0, :2] = b1[0, :2] + 0.05  # overlapping pairs
    b1[1, 0] = b2[1, 0] = [0.3, 0.3, 0.3, 0.5]  # two empty boxes: IoU 0, not NaN
    iou = pairwise_iou(b1, b2)
    assert iou.shape == (3, 7, 5) and iou.dtype == np.float64
    for k in range(3):
        ref = bbox_overlaps(torch.from_numpy(b1[k]), torch.from_numpy(b2[k]), eps=1e-12)
        np.testing.assert_allclose(iou[k], ref.numpy(), rtol=1e-12, atol=1e-15)
    assert iou[0, 0, 0] > 0.3 and iou[0, 1, 1] > 0.3 and iou[1, 0, 0] == 0


def test_elementwise_iou_matches_mmdet_aligned_and_broadcasts():
    rng = np.random.default_rng(1)
    a, b = random_boxes(rng, (40, )), random_boxes(rng, (40, ))
    b[:10] = a[:10]  # identical pairs: IoU 1
    a[10] = b[10] = [0.2, 0.2, 0.2, 0.6]  # two empty boxes: 0, not NaN
    iou = elementwise_iou(a, b)
    ref = bbox_overlaps(torch.from_numpy(a), torch.from_numpy(b), is_aligned=True, eps=1e-12)
    np.testing.assert_allclose(iou, ref.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(iou[:10], 1, rtol=1e-12)
    assert iou[10] == 0
    # broadcasting (A, 1, 4) x (1, B, 4) is the pairwise matrix
    np.testing.assert_allclose(elementwise_iou(a[:, None], b[None]), pairwise_iou(a, b),
                               rtol=1e-12, atol=1e-15)
    assert elementwise_iou(a.astype(np.float32), b.astype(np.float32)).dtype == np.float32
