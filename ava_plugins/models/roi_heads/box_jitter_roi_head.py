"""``AVARoIHead`` that jitters the training RoIs after label assignment.

ACAR-Net report (https://arxiv.org/abs/2006.07976, §2.1): "We use bounding box jittering
augmentation, which randomly perturbs box coordinates by a scale at most 7.5% relative to the
original size". The official code (github.com/Siyu-C/ACAR-Net, ``models/necks/basic.py`` and
``bbox_jitter`` in ``models/necks/utils.py``) jitters each labelled box (the GT boxes and the
detections, each already carrying its GT's labels) in the neck: the labels travel with the box.
This head keeps that order in mmaction2's terms: the assigner and sampler label the
un-jittered proposals (GT boxes added as proposals), then the sampled RoIs are jittered just
before RoI pooling, and the loss uses the labels of that assignment. (Jittering in the data
pipeline instead lets ``MaxIoUAssignerAVA(pos_iou_thr=0.9)`` label the jittered boxes: most
detections then fall below 0.9 IoU and leave the loss.)

The jitter (the official formula): each coordinate moves independently by ``u * w`` (x1, x2) or
``u * h`` (y1, y2), ``u ~ U(-r, r)``, with ``w, h`` the box's own size; the result is clipped to
the clip's unpadded frame (``img_shape``), which is where the official clamps and its clipping
to the crop box (``get_bbox_after_aug``) leave every coordinate. Jitter, flip and zero padding at
the bottom/right commute in distribution (the moves are symmetric and relative to the box
size), so jittering the flipped, padded boxes equals the official jitter-then-flip. Draws come
from torch's generator on the boxes' device (mmengine seeds it). Testing: no jitter.
"""
from typing import List, Sequence, Tuple, Union

import torch
from mmaction.models.roi_heads import AVARoIHead
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox2roi
from torch import Tensor


def jitter_rois(rois: Tensor, img_shapes: Sequence[Tuple[int, int]], ratio: float) -> Tensor:
    """Randomly moved copy of ``rois`` ``(n, 5)`` ``[clip, x1, y1, x2, y2]`` (pixels).

    Each coordinate moves by ``U(-ratio, ratio)`` times its box's width (x) or height (y), then
    is clipped to ``[0, w] x [0, h]`` of ``img_shapes[clip]`` ``(h, w)``.
    """
    if ratio <= 0 or len(rois) == 0:
        return rois
    boxes = rois[:, 1:]
    wh = (boxes[:, 2:] - boxes[:, :2]).repeat(1, 2)
    shift = (torch.rand_like(boxes) * 2 - 1) * ratio * wh
    hw = torch.tensor([tuple(s)[:2] for s in img_shapes], dtype=boxes.dtype,
                      device=boxes.device)[rois[:, 0].long()]
    upper = hw.flip(1).repeat(1, 2)  # (w, h, w, h)
    jittered = torch.minimum((boxes + shift).clamp(min=0), upper)
    return torch.cat([rois[:, :1], jittered], dim=1)


@MODELS.register_module()
class BoxJitterRoIHead(AVARoIHead):
    """``AVARoIHead`` whose sampled training RoIs are jittered after assignment.

    Args:
        train_box_jitter: largest move of a training RoI's coordinate, as a fraction of the
            box's width/height (ACAR-Net: 0.075). Defaults to 0 (off: ``AVARoIHead``).
        **kwargs: the arguments of ``AVARoIHead``.
    """

    def __init__(self, train_box_jitter: float = 0., **kwargs) -> None:
        super().__init__(**kwargs)
        if not 0 <= train_box_jitter < 0.5:
            raise ValueError(f'train_box_jitter must lie in [0, 0.5), got {train_box_jitter}')
        self.train_box_jitter = float(train_box_jitter)

    def jitter_rois(self, rois: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """Jittered copy of training ``rois`` ``(n, 5)``, clipped to each clip's
        ``img_shape``."""
        if self.train_box_jitter <= 0 or len(rois) == 0:
            return rois
        return jitter_rois(rois, [m['img_shape'] for m in batch_img_metas],
                           self.train_box_jitter)

    def bbox_loss(self, x: Union[Tensor, Tuple[Tensor]],
                  sampling_results: List[SamplingResult], batch_img_metas: List[dict],
                  **kwargs) -> dict:
        """``AVARoIHead.bbox_loss`` on the jittered sampled RoIs; the targets are the
        sampling results' (the labels assigned to the un-jittered boxes)."""
        rois = self.jitter_rois(bbox2roi([res.priors for res in sampling_results]),
                                batch_img_metas)
        bbox_results = self._bbox_forward(x, rois, batch_img_metas)
        loss_and_target = self.bbox_head.loss_and_target(
            cls_score=bbox_results['cls_score'],
            rois=rois,
            sampling_results=sampling_results,
            rcnn_train_cfg=self.train_cfg)
        bbox_results.update(loss_bbox=loss_and_target['loss_bbox'])
        return bbox_results
