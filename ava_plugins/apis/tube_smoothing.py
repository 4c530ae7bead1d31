"""Smooth keyframe predictions over time along linked person tubes.

The keyframes' person boxes are linked with the project's tube linking
(:func:`ava_plugins.structures.link_video`: dynamic programming over detection scores and the
IoU of consecutive boxes), consecutive keyframes of the video being consecutive steps. Each box
then takes the mean box of its tube over ``span`` keyframes centred on it (bridged gaps
included) and the mean class scores of the tube's detected boxes (our choice: a plain window
mean; the report that introduced the linking used the tubes as model input, not for display).
"""
from dataclasses import replace
from typing import List, Sequence

import numpy as np

from ava_plugins.structures import DEFAULT_MAX_GAP, link_video

from .inference import KeyframePrediction


def smooth_predictions(predictions: Sequence[KeyframePrediction], span: int = 3,
                       lam: float = 1.0, min_iou: float = 0.3,
                       max_gap: int = DEFAULT_MAX_GAP) -> List[KeyframePrediction]:
    """Keyframe predictions (in time order, one video) with boxes and scores averaged over
    their linked tubes of ``span`` (odd) keyframes; the input is left unchanged."""
    props = {i: np.concatenate([p.bboxes_norm, p.person_scores[:, None]], 1).astype(np.float64)
             for i, p in enumerate(predictions) if len(p.bboxes_norm)}
    tubes, indices = link_video(props, span, lam, min_iou, max_gap)
    half = span // 2
    out = []
    for i, p in enumerate(predictions):
        if i not in tubes:
            out.append(p)
            continue
        boxes = np.nanmean(tubes[i][:, :, :4], axis=1)  # the anchor's own box is never NaN
        scores = np.empty_like(p.scores)
        for n, row in enumerate(indices[i]):
            members = [predictions[i + k - half].scores[j] for k, j in enumerate(row) if j >= 0]
            scores[n] = np.mean(members, axis=0)
        w, h = p.frame_size
        out.append(replace(p, bboxes_norm=boxes.astype(np.float32),
                           bboxes=(boxes * [w, h, w, h]).astype(np.float32), scores=scores))
    return out

