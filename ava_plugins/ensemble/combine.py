"""Combines the AVA detections of several models into one result table.

Every ensemble of the issue is one rule: boxes are matched across models
(:func:`~.box_fusion.fuse_boxes`) and the score of a (matched box, class) is
``sum_m w[m, c] * s_m`` with each class's weights summing to 1; a model without a row for that
box and class contributes 0. The weights choose the method:

* plain score averaging: ``w = 1 / M``;
* per-class weights from validation AP (ACAR-Net 2020, report 002, sec. 2.2);
* box fusion with model weights summing to 1 (ByteDance 2019, report 000, sec. 1.3
  "Ensemble with LFB"), with a looser IoU threshold so that different detectors' boxes are
  merged and their positions averaged;
* class-subset replacement (Fujitsu 2020, report 003, sec. 1 and 2.4.1): one-hot weights.

A row is written where at least one model with a non-zero weight for the class reported it.

A person (matched box) that no model with a non-zero weight for a class reported at all (no
row on that box, whatever the class) keeps model 0's score for that class. With class-subset
replacement (model 0 the main model) a person the specialised model did not score keeps the
main model's score instead of losing it: the arm model (``ArmRoIHead``,
:mod:`ava_plugins.models.roi_heads.arm_roi_head`) reports no box for a person without a valid
arm (report 003, Sec. 2.1, replaces a body box by arm boxes only where an arm is valid; what the
merge does for the other persons it leaves open, this rule is ours). A person it did score
takes its scores for the replaced classes (a class below its result threshold counts as 0).
Weights that are all positive (mean, box fusion, fitted weights with non-zero AP) are
unaffected.
"""
from typing import Optional, Sequence

import numpy as np

from ava_plugins.evaluation import AVATable
from ava_plugins.utils import InputError
from .box_fusion import fuse_boxes
from .weights import EnsembleWeights, uniform_weights


def unique_rows(rows: np.ndarray):
    """Distinct rows of ``rows`` (N, K), sorted, and the index of each row among them (N,);
    ``np.unique(axis=0)`` with a column-wise lexsort, several times faster on large tables."""
    order = np.lexsort(rows.T[::-1])
    sorted_rows = rows[order]
    new = np.ones(len(rows), bool)
    new[1:] = (sorted_rows[1:] != sorted_rows[:-1]).any(axis=1)
    inverse = np.empty(len(rows), np.int64)
    inverse[order] = np.cumsum(new) - 1
    return sorted_rows[new], inverse


def combine_results(tables: Sequence[AVATable],
                    weights: Optional[EnsembleWeights] = None,
                    iou_thr: float = 0.99) -> AVATable:
    """Weighted combination of M models' detection tables.

    Args:
        tables: M detection tables (boxes normalised, one row per box and class).
        weights: per-class weights (M models); None: equal weights.
        iou_thr: IoU at which two models' boxes on a keyframe are the same person (near 1
            for models run on the same person boxes, e.g. 0.5 for box fusion).

    Returns:
        The combined table, rows ordered by keyframe, box and class.
    """
    if not tables:
        raise InputError('combine_results: no result tables given')
    if weights is not None and len(weights.models) != len(tables):
        raise InputError(f'combine_results: {len(weights.models)} weight rows for '
                         f'{len(tables)} result tables')
    names = np.unique(np.concatenate([t.video_names for t in tables]))
    vid = np.concatenate([np.searchsorted(names, t.video_names)[t.video_codes] for t in tables])
    stamps = np.concatenate([t.timestamps for t in tables])
    frame_keys, frame_all = unique_rows(np.stack([vid, stamps], 1))
    row_frame = np.split(frame_all, np.cumsum([len(t) for t in tables])[:-1])

    p_frames, p_boxes, row_person = [], [], []
    for frame, table in zip(row_frame, tables):
        persons, inverse = unique_rows(np.column_stack([frame, table.boxes]))
        p_frames.append(persons[:, 0].astype(np.int64))
        p_boxes.append(persons[:, 1:])
        row_person.append(inverse)
    cluster_of, c_frame, c_box = fuse_boxes(p_frames, p_boxes, iou_thr)

    class_ids = np.unique(np.concatenate([t.labels for t in tables]))
    if weights is None:
        weights = uniform_weights([t.source for t in tables], class_ids)
    w = weights.for_classes(class_ids)
    score = np.zeros((len(c_frame), len(class_ids)))
    present = np.zeros(score.shape, bool)
    covered = np.zeros(score.shape, bool)  # some model weighted for the class saw the person
    rows_of = []
    for m, table in enumerate(tables):
        k = cluster_of[m][row_person[m]]
        c = np.searchsorted(class_ids, table.labels)
        rows_of.append((k, c))
        s_m = np.zeros(score.shape)
        np.maximum.at(s_m, (k, c), table.scores)
        score += w[m] * s_m
        reported = np.zeros(score.shape, bool)
        reported[k, c] = True
        present |= reported & (w[m] > 0)
        seen = np.zeros(len(c_frame), bool)
        seen[k] = True
        covered |= seen[:, None] & (w[m] > 0)[None]
    k0, c0 = rows_of[0]
    fallback = ~covered[k0, c0]  # model 0's rows that no weighted model saw (score still 0)
    np.maximum.at(score, (k0[fallback], c0[fallback]), tables[0].scores[fallback])
    present[k0[fallback], c0[fallback]] = True
    k, c = np.nonzero(present)
    order = np.lexsort((c, k, c_frame[k]))
    k, c = k[order], c[order]
    vk = frame_keys[c_frame[k]]
    return AVATable.from_arrays(names[vk[:, 0]] if len(k) else np.zeros(0, str), vk[:, 1],
                                c_box[k], class_ids[c], score[k, c])
