"""Matches the person boxes of several models on each keyframe and averages their positions
(ByteDance AI Lab 2019, report 000, sec. 1.3 "Ensemble with LFB": "for overlapping boxes of
the same class, we average their positions and adding weighted confidence scores").

An AVA detector scores every class on the same person boxes, so boxes are matched once per
keyframe, not once per class: a class a model did not report on a box counts as score 0 there.
Models are added one after the other; a box joins the cluster of its keyframe it overlaps most
(IoU >= threshold) when that cluster also overlaps it most among that model's boxes (mutual
best match, so one model puts at most one box in a cluster); otherwise it starts a cluster.
The cluster position is the mean of its boxes. All steps are vectorised over boxes.
"""
from typing import List, Sequence, Tuple

import numpy as np

from ..structures.boxes import elementwise_iou


def pairs_in_same_group(group_a: np.ndarray, group_b: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """All index pairs ``(i, j)`` with ``group_a[i] == group_b[j]`` (e.g. the same keyframe)."""
    order = np.argsort(group_b, kind='stable')
    sorted_b = group_b[order]
    lo = np.searchsorted(sorted_b, group_a, 'left')
    count = np.searchsorted(sorted_b, group_a, 'right') - lo
    ia = np.repeat(np.arange(len(group_a)), count)
    offset = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    return ia, order[np.repeat(lo, count) + offset]


def _first_per_key(keys: np.ndarray, iou: np.ndarray) -> np.ndarray:
    """Mask of the highest-IoU entry of each key (ties: the first)."""
    order = np.lexsort((-iou, keys))
    first = np.ones(len(order), bool)
    first[1:] = keys[order][1:] != keys[order][:-1]
    mask = np.zeros(len(keys), bool)
    mask[order[first]] = True
    return mask


def fuse_boxes(frames: Sequence[np.ndarray], boxes: Sequence[np.ndarray],
               iou_thr: float) -> Tuple[List[np.ndarray], np.ndarray, np.ndarray]:
    """Clusters the boxes of M models per keyframe.

    Args:
        frames: M arrays (P_m,) int keyframe index of each box.
        boxes: M arrays (P_m, 4) normalised x1y1x2y2.
        iou_thr: minimum IoU for two models' boxes to be the same person.

    Returns:
        ``(cluster_of, cluster_frames, cluster_boxes)``: M arrays (P_m,) cluster of each box,
        (K,) keyframe of each cluster and (K, 4) mean box of each cluster.
    """
    c_frame = np.zeros(0, np.int64)
    c_sum = np.zeros((0, 4))
    c_count = np.zeros(0, np.int64)
    cluster_of = []
    for frame, box in zip(frames, boxes):
        frame = np.asarray(frame, np.int64)
        box = np.asarray(box, np.float64).reshape(-1, 4)
        assign = np.full(len(frame), -1, np.int64)
        ia, ic = pairs_in_same_group(frame, c_frame)
        if len(ia):
            iou = elementwise_iou(box[ia], c_sum[ic] / c_count[ic, None])
            ok = iou >= iou_thr
            ia, ic, iou = ia[ok], ic[ok], iou[ok]
            mutual = _first_per_key(ia, iou) & _first_per_key(ic, iou)
            assign[ia[mutual]] = ic[mutual]
        new = assign < 0
        assign[new] = len(c_frame) + np.arange(new.sum())
        c_frame = np.concatenate([c_frame, frame[new]])
        c_sum = np.concatenate([c_sum, np.zeros((new.sum(), 4))])
        c_count = np.concatenate([c_count, np.zeros(new.sum(), np.int64)])
        np.add.at(c_sum, assign, box)
        np.add.at(c_count, assign, 1)
        cluster_of.append(assign)
    return cluster_of, c_frame, c_sum / np.maximum(c_count, 1)[:, None]
