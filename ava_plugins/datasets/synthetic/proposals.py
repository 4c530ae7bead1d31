"""Detector-like person proposals and their keypoints for the synthetic keyframes.

Imitates what a real person detector (AVA's FAIR proposals) and a top-down pose estimator
give: each annotated person is found with probability ``1 - miss_rate`` (lower when occluded),
its box jittered tightly or loosely, sometimes detected twice; Poisson false positives are
added; a detection's score is a noisy logistic function of its IoU with the person, so the
score ranks quality as a calibrated detector's does. Keypoints follow the detected person's
true keypoints with noise growing with the box error; false positives get low-confidence
keypoints spread over their box.

Keypoint file format (shared with the arm-RoI keypoint tool): a pickle
``{"video_id,timestamp": ndarray float32 (N, 17, 3)}``, COCO keypoint order, columns x, y
normalised to [0, 1] like the proposal boxes and a score in [0, 1]; row ``i`` belongs to row
``i`` of the proposal pickle's ``(N, 5)`` array (x1, y1, x2, y2, score) for the same key.
"""
from typing import Dict, Sequence, Tuple

import numpy as np

from ...structures.boxes import elementwise_iou
from .config import SyntheticAVAConfig

_TIGHT, _LOOSE, _DUPLICATE = 0.015, 0.06, 0.12  # box jitter, in box widths / heights


def detection_score(iou: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Score of a detection with IoU ``iou`` to its person: logistic in IoU plus noise."""
    score = 1 / (1 + np.exp(-20 * (iou - 0.65))) + rng.normal(0, 0.02, iou.shape)
    return np.clip(score, 0.01, 0.995)


def make_proposals(rng: np.random.Generator, cfg: SyntheticAVAConfig, keys: Sequence[str],
                   key_index: np.ndarray, gt_boxes: np.ndarray, gt_keypoints: np.ndarray,
                   occlusion: np.ndarray) -> Tuple[Dict[str, np.ndarray], Dict[str, np.ndarray]]:
    """Proposals and keypoints for the persons of one video's keyframes.

    Args:
        keys: the keyframe keys ``"video_id,timestamp"``; every key gets a chance of false
            positives, even with no person detected.
        key_index: (N,) index into ``keys`` of each person.
        gt_boxes: (N, 4) normalised person boxes.
        gt_keypoints: (N, 17, 2) normalised true keypoints.
        occlusion: (N,) in [0, 1], the largest IoU with another person (raises the miss rate).

    Returns:
        ``{key: (n, 5) float32}`` proposals sorted by decreasing score and
        ``{key: (n, 17, 3) float32}`` keypoints, row-aligned; keys with no detection are left
        out (AVADataset then falls back to the whole frame, as for AVA's missing keys).
    """
    N = len(gt_boxes)
    wh = np.concatenate([gt_boxes[:, 2:] - gt_boxes[:, :2]] * 2, axis=1)  # (N, 4)
    found = rng.random(N) >= np.clip(cfg.miss_rate * (1 + 3 * occlusion), 0, 1)
    sigma = np.where(rng.random(N) < cfg.loose_fraction, _LOOSE, _TIGHT)
    dup = found & (rng.random(N) < cfg.duplicate_rate)
    src = np.concatenate([np.flatnonzero(found), np.flatnonzero(dup)])  # person of each det
    sig = np.concatenate([sigma[found], np.full(dup.sum(), _DUPLICATE)])
    det = gt_boxes[src] + sig[:, None] * wh[src] * rng.normal(size=(len(src), 4))
    det = _valid_boxes(det)
    det_score = detection_score(elementwise_iou(det, gt_boxes[src]), rng)
    kp_noise = (0.5 * sig[:, None, None] + 0.01) * wh[src, None, :2]
    det_kp = gt_keypoints[src] + kp_noise * rng.normal(size=(len(src), 17, 2))
    det_kp_score = det_score[:, None] * rng.uniform(0.75, 1.0, (len(src), 17))

    n_fp = rng.poisson(cfg.fp_per_frame, len(keys))
    fp_key = np.repeat(np.arange(len(keys)), n_fp)
    M = len(fp_key)
    fh = rng.uniform(0.2, 0.5, M)
    fw = fh * rng.uniform(0.3, 0.6, M) * 0.75  # person-like aspect on a 4:3 frame
    cx, cy = rng.uniform(0.05, 0.95, M), rng.uniform(0.3, 0.85, M)
    fp = _valid_boxes(np.stack([cx - fw / 2, cy - fh / 2, cx + fw / 2, cy + fh / 2], 1))
    hard = rng.random(M) < 0.05  # confident mistakes, as real detectors make
    fp_score = np.where(hard, rng.uniform(0.85, 0.97, M), rng.beta(1.2, 6.0, M))
    u = rng.random((M, 17, 2))
    fp_kp = fp[:, None, :2] + u * (fp[:, None, 2:] - fp[:, None, :2])
    fp_kp_score = rng.uniform(0, 0.3, (M, 17))

    all_key = np.concatenate([key_index[src], fp_key])
    boxes = np.concatenate([det, fp])
    scores = np.concatenate([det_score, fp_score])
    kps = np.concatenate([np.clip(det_kp, 0, 1), np.clip(fp_kp, 0, 1)])
    kp_scores = np.concatenate([det_kp_score, fp_kp_score])
    order = np.lexsort((-scores, all_key))
    rows = np.concatenate([boxes, scores[:, None]], 1)[order].astype(np.float32)
    kp_rows = np.concatenate([kps, kp_scores[..., None]], -1)[order].astype(np.float32)
    present, starts = np.unique(all_key[order], return_index=True)
    bounds = list(zip(starts, list(starts[1:]) + [len(order)]))
    proposals = {keys[k]: rows[a:b] for k, (a, b) in zip(present, bounds)}
    keypoints = {keys[k]: kp_rows[a:b] for k, (a, b) in zip(present, bounds)}
    return proposals, keypoints


def _valid_boxes(boxes: np.ndarray) -> np.ndarray:
    """Clip (n, 4) boxes to the unit square, keeping x2 > x1 and y2 > y1."""
    b = np.clip(boxes, 0, 1)
    x1, x2 = np.minimum(b[:, 0], b[:, 2]), np.maximum(b[:, 0], b[:, 2])
    y1, y2 = np.minimum(b[:, 1], b[:, 3]), np.maximum(b[:, 1], b[:, 3])
    x1, y1 = np.minimum(x1, 0.99), np.minimum(y1, 0.99)
    return np.stack([x1, y1, np.maximum(x2, x1 + 0.01), np.maximum(y2, y1 + 0.01)], 1)
