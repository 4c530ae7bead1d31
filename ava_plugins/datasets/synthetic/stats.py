"""Proposal statistics against AVA-format ground truth (recall at an IoU threshold)."""
import pickle
from typing import Dict

import numpy as np

from ...structures.boxes import elementwise_iou


def read_person_boxes(csv_path: str) -> Dict[str, np.ndarray]:
    """``{"video_id,timestamp": (n, 4) unique person boxes}`` from an AVA annotation CSV."""
    try:
        rows = np.loadtxt(csv_path, delimiter=',', dtype=str, ndmin=2)
    except (OSError, ValueError) as e:
        raise ValueError(f'{csv_path}: not an AVA annotation CSV '
                         '(video_id,timestamp,x1,y1,x2,y2,action_id,person_id): ' + str(e))
    if rows.shape[1] != 8:
        raise ValueError(f'{csv_path}: expected 8 columns per row, found {rows.shape[1]}')
    persons = np.unique(rows[:, :6], axis=0)  # one row per (key, box), sorted by key
    keys = np.char.add(np.char.add(persons[:, 0], ','), persons[:, 1])
    boxes = persons[:, 2:6].astype(np.float64)
    uniq, starts = np.unique(keys, return_index=True)
    return dict(zip(uniq.tolist(), np.split(boxes, starts[1:])))


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
    with open(proposal_path, 'rb') as f:
        proposals = pickle.load(f)
    return recall_at_iou(proposals, read_person_boxes(csv_path), thr)
