"""Proposal statistics against AVA-format ground truth (recall at an IoU threshold)."""
from typing import Dict

import numpy as np
from ava_eval import read_ava_csv
from ava_eval.keyframe_pickles import load_proposals

from ...structures.boxes import elementwise_iou


def read_person_boxes(csv_path: str) -> Dict[str, np.ndarray]:
    """``{"video_id,%04d": (n, 4) unique person boxes}`` of an AVA annotation CSV (read with
    :func:`ava_eval.read_ava_csv`, strictly: boxes inside the frame)."""
    table = read_ava_csv(csv_path, is_gt=True, strict=True)
    rows = np.column_stack([table.video_codes, table.timestamps, table.boxes]).astype(np.float64)
    persons = np.unique(rows, axis=0)  # one row per (video, second, box), sorted
    keys = [f'{table.video_names[int(v)]},{int(t):04d}' for v, t in persons[:, :2]]
    out: Dict[str, list] = {}
    for key, box in zip(keys, persons[:, 2:]):
        out.setdefault(key, []).append(box)
    return {key: np.array(boxes) for key, boxes in sorted(out.items())}


def recall_at_iou(proposals: Dict[str, np.ndarray], gt: Dict[str, np.ndarray],
                  thr: float = 0.5) -> float:
    """Fraction of ground-truth boxes ``{key: (n, 4)}`` covered by a proposal
    (``{key: (m, 4 or 5)}``) with IoU >= ``thr``; a key without proposals covers nothing."""
    hits, total = 0, 0
    for key, boxes in gt.items():
        total += len(boxes)
        props = proposals.get(key)
        if props is not None and len(props):
            iou = elementwise_iou(boxes[:, None, :], np.asarray(props)[None, :, :4])
            hits += int((iou.max(1) >= thr).sum())
    if total == 0:
        raise ValueError('recall_at_iou: no ground-truth boxes given')
    return hits / total


def proposal_recall(csv_path: str, proposal_path: str, thr: float = 0.5) -> float:
    """Recall at IoU ``thr`` of an AVA proposal pickle against an AVA annotation CSV."""
    return recall_at_iou(load_proposals(proposal_path), read_person_boxes(csv_path), thr)
