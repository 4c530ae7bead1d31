"""Per-person features a trained detector writes into a feature bank (LFB, ACFB, caches).

Each function maps ``(model, data)`` (a detector and the output of its data preprocessor for
one keyframe clip) to ``(N, *item_shape)`` features, one per proposal of that clip, in the
proposals' order. :data:`BANK_FEATURES` names them for ``tools/extract_bank.py --feature``.
"""
from typing import Callable, Dict

import torch
from mmdet.structures.bbox import bbox2roi


def pooled_roi_features(model, data: dict) -> torch.Tensor:
    """RoI features pooled as the long-term feature bank stores them.

    The detector's own RoI extractor (RoIAlign on the temporally pooled SlowFast maps), then
    temporal average and spatial max pooling: ``(N, C)`` (Wu et al., LFB, Sec. 3.2; SJTU
    three-branch report, Sec. 3.3: 2304-d for SlowFast R50/R101).
    """
    feats = model.extract_feat(data['inputs'])
    rois = bbox2roi([s.proposals.bboxes for s in data['data_samples']])
    roi_feats, _ = model.roi_head.bbox_roi_extractor(feats, rois)
    return roi_feats.mean(dim=2).amax(dim=(2, 3))


BANK_FEATURES: Dict[str, Callable] = dict(roi=pooled_roi_features)
