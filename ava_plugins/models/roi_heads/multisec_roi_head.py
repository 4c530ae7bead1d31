"""``AVARoIHead`` for the multi-second model: each proposal pooled along its linked tube.

ByteDance AI Lab AVA Challenge 2019 Technical Report
(https://research.google.com/ava/challenge.html, Sec. 1.2). Assignment and sampling are the
stage-1 ones, on the keyframe boxes (positive if IoU > 0.5 with a ground truth, 40 per clip at
1:3). Each kept proposal then has ``K`` RoIs, one per sampled keyframe of its tube
(``LoadTubeRes4`` packs ``tube_boxes`` ``(n, K, 4)`` in pixels and ``tube_clips`` ``(n, K)``, the
clip of the sample each box is pooled from, so a keyframe without a tube box or without a cached
volume borrows the nearest valid one); the ``MultiSecHead`` turns the ``K`` RoI volumes into V_m
and the bbox head classifies the proposal.

Ground-truth boxes that a sampler adds as proposals (``add_gt_as_proposals=True``) have no
tube: their keyframe box is used at every sampled keyframe.

RoIAlign (average mode) and the temporal averaging of the shared head's first step are both
linear and act on different axes, so the clip feature maps are averaged in time to the head's
``temporal_size`` *before* RoIAlign (after the extractor's nearest-neighbour alignment of the
pathways' frame rates): the same numbers as pooling every frame's RoI, at a fraction of the cost.
"""
from typing import List, Tuple

import torch
import torch.nn.functional as F
from mmaction.models.roi_heads import AVARoIHead
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox2roi
from torch import Tensor


@MODELS.register_module()
class MultiSecRoIHead(AVARoIHead):
    """``AVARoIHead`` with tube RoIs over ``K`` clips per sample.

    Args:
        **kwargs: ``AVARoIHead``'s; ``shared_head`` must be a ``MultiSecHead`` and the
            extractor an mmaction2 ``SingleRoIExtractor3D`` with ``with_temporal_pool=False``.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        if not self.with_shared_head or not hasattr(self.shared_head, 'num_clips'):
            raise ValueError('MultiSecRoIHead needs shared_head=dict(type="MultiSecHead", ...)')
        self.num_clips = self.shared_head.num_clips

    # ---------------------------------------------------------------- tubes
    def _sample_tubes(self, sample, num_boxes: int) -> Tuple[Tensor, Tensor]:
        key = sample.metainfo.get('img_key', '?')
        if 'tube_boxes' not in sample or 'tube_clips' not in sample:
            raise ValueError(f'data sample {key} has no tubes: add dict(type="LoadTubeRes4", ...) '
                             f'to the pipeline and algorithm_keys=("tube_boxes", "tube_clips") '
                             f'to PackActionInputs')
        boxes, clips = torch.as_tensor(sample.tube_boxes), torch.as_tensor(sample.tube_clips)
        if boxes.shape != (num_boxes, self.num_clips, 4) or clips.shape != boxes.shape[:2]:
            raise ValueError(f'data sample {key}: tube_boxes {tuple(boxes.shape)} and tube_clips '
                             f'{tuple(clips.shape)} do not match {num_boxes} proposals x '
                             f'{self.num_clips} clips')
        return boxes, clips.long()

    def tube_rois(self, boxes: List[Tensor], clips: List[Tensor]) -> Tensor:
        """RoIs ``(sum_i n_i * K, 5)`` proposal-major; column 0 is the clip ``b * K + clip``."""
        rois = []
        for b, (bx, cl) in enumerate(zip(boxes, clips)):
            idx = (b * self.num_clips + cl).to(bx.dtype).unsqueeze(-1)
            rois.append(torch.cat([idx, bx], dim=-1).reshape(-1, 5))
        return torch.cat(rois)

    def _prepool(self, x):
        """Clip maps averaged in time to the head's ``temporal_size`` (exact, see module doc)."""
        size = self.shared_head.temporal_size
        roi_layer = self.bbox_roi_extractor
        if size is None or getattr(roi_layer, 'with_temporal_pool', True) \
                or getattr(roi_layer, 'pool_mode', 'avg') != 'avg':
            return x
        feats = x if isinstance(x, tuple) else (x, )
        max_t = max(f.shape[2] for f in feats)
        out = []
        for f in feats:
            if f.shape[2] != max_t:
                f = F.interpolate(f, (max_t, ) + tuple(f.shape[3:]))
            out.append(F.adaptive_avg_pool3d(f, (size, ) + tuple(f.shape[3:])))
        return tuple(out)

    # ---------------------------------------------------------------- training
    def loss(self, x, rpn_results_list, data_samples, **kwargs) -> dict:
        if len(rpn_results_list) != len(data_samples):
            raise ValueError(f'{len(rpn_results_list)} proposal lists for {len(data_samples)} '
                             f'samples')
        sampling_results, boxes, clips = [], [], []
        for rpn_results, sample in zip(rpn_results_list, data_samples):
            tube_boxes, tube_clips = self._sample_tubes(sample, len(rpn_results))
            rpn_results.priors = rpn_results.pop('bboxes')
            gt = sample.gt_instances
            assign_result = self.bbox_assigner.assign(rpn_results, gt, None)
            res = self.bbox_sampler.sample(assign_result, rpn_results, gt)
            num_added = len(gt.bboxes) if getattr(self.bbox_sampler, 'add_gt_as_proposals',
                                                  False) else 0
            if num_added:  # ground truths added as proposals: a static tube each
                k = self.num_clips
                gt_boxes = torch.as_tensor(gt.bboxes[:num_added]).to(tube_boxes)
                tube_boxes = torch.cat([gt_boxes[:, None].expand(-1, k, 4), tube_boxes])
                static = torch.arange(k, device=tube_clips.device).expand(num_added, k)
                tube_clips = torch.cat([static, tube_clips])
            keep = torch.cat([res.pos_inds, res.neg_inds])
            boxes.append(tube_boxes.to(res.priors)[keep])
            clips.append(tube_clips.to(keep.device)[keep])
            sampling_results.append(res)

        metas = [s.metainfo for s in data_samples]
        cls_score = self._bbox_forward(self._prepool(x), self.tube_rois(boxes, clips),
                                       metas)['cls_score']
        rois = bbox2roi([res.priors for res in sampling_results])
        out = self.bbox_head.loss_and_target(cls_score=cls_score, rois=rois,
                                             sampling_results=sampling_results,
                                             rcnn_train_cfg=self.train_cfg)
        return out['loss_bbox']

    # ---------------------------------------------------------------- testing
    def predict(self, x, rpn_results_list, data_samples, **kwargs):
        proposals = [r.bboxes for r in rpn_results_list]
        tubes = [self._sample_tubes(s, len(p)) for s, p in zip(data_samples, proposals)]
        boxes = [b.to(p) for (b, _), p in zip(tubes, proposals)]
        clips = [c.to(p.device) for (_, c), p in zip(tubes, proposals)]
        metas = [s.metainfo for s in data_samples]
        cls_score = self._bbox_forward(self._prepool(x), self.tube_rois(boxes, clips),
                                       metas)['cls_score']
        counts = tuple(len(p) for p in proposals)
        return self.bbox_head.predict_by_feat(
            rois=bbox2roi(proposals).split(counts, 0),
            cls_scores=cls_score.split(counts, 0),
            batch_img_metas=metas,
            rcnn_test_cfg=self.test_cfg)
