"""``AVARoIHead`` for the Three Branches model: bank windows in, global loss out.

Report "Three Branches: Detecting Actions With Richer Features", https://arxiv.org/abs/1908.04519
§3-4. mmaction2's ``AVARoIHead`` hands its shared head only the RoI features, the clip features
and the metainfo, and its loss is the bbox head's alone. The Three Branches model also needs, per
clip, the long-term bank window (loaded in the data pipeline by ``LoadLFBWindow`` and packed as
the data-sample fields ``lfb_feat``
``(L, C)`` and ``lfb_mask`` ``(L,)``, so the data preprocessor moves them to the device) and the
clip's scene label for the global loss (:func:`~.shared_heads.global_branch.scene_labels` of
the ground-truth persons). This head passes both and adds ``loss_global`` to the losses.

Training-time box jitter (report §4: "random box jittering"): ``train_box_jitter = r > 0`` moves
each sampled RoI's coordinates as :class:`~.box_jitter_roi_head.BoxJitterRoIHead` does (after
assignment: the RoI keeps the labels of its assignment, as AlphAction, same lab, jitters its
sampled boxes).
"""
from typing import List, Optional, Tuple, Union

import torch
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox2roi
from torch import Tensor

from .bank_window_inputs import window_fields
from .box_jitter_roi_head import BoxJitterRoIHead
from .shared_heads.global_branch import scene_labels


@MODELS.register_module()
class ThreeBranchRoIHead(BoxJitterRoIHead):
    """``AVARoIHead`` whose shared head is a ``ThreeBranchHead``.

    Args:
        train_box_jitter: largest coordinate shift of a training RoI, as a fraction of its
            width/height. Defaults to 0 (off).
        **kwargs: the arguments of ``AVARoIHead`` (``shared_head`` must be a
            ``ThreeBranchHead``).
    """

    def __init__(self, train_box_jitter: float = 0., **kwargs) -> None:
        super().__init__(train_box_jitter=train_box_jitter, **kwargs)
        if not self.with_shared_head or not hasattr(self.shared_head, 'with_lfb'):
            raise ValueError('ThreeBranchRoIHead needs shared_head=dict(type="ThreeBranchHead")')

    # ---------------------------------------------------------------- inputs
    def bank_windows(self, data_samples) -> Tuple[Optional[Tensor], Optional[Tensor]]:
        """Stack the clips' bank windows: ``(B, L, C)`` features and bool ``(B, L)`` masks."""
        if not self.shared_head.with_lfb:
            return None, None
        feats, masks = window_fields(data_samples, 'lfb_feat', 'lfb_mask', 'LoadLFBWindow')
        if len({tuple(f.shape) for f in feats}) != 1:
            raise ValueError(f'bank windows of one batch differ in shape: '
                             f'{[tuple(f.shape) for f in feats]}')
        return torch.stack(feats), torch.stack(masks)

    # ---------------------------------------------------------------- forward
    def _bbox_forward(self,
                      x: Union[Tensor, Tuple[Tensor]],
                      rois: Tensor,
                      batch_img_metas: List[dict],
                      lt_feat: Optional[Tensor] = None,
                      lt_mask: Optional[Tensor] = None,
                      **kwargs) -> dict:
        """RoI extraction, three-branch fusion and classification.

        Returns:
            dict: ``cls_score`` ``(n, num_classes)``, ``bbox_feats`` ``(n, D, 1, 1, 1)`` and
            ``scene_logits`` ``(B, K)`` (None without the global branch).
        """
        bbox_feats, global_feat = self.bbox_roi_extractor(x, rois)
        if lt_feat is not None:
            lt_feat = lt_feat.to(global_feat.device)
            lt_mask = lt_mask.to(global_feat.device)
        fused, scene_logits = self.shared_head(bbox_feats, global_feat, rois, lt_feat, lt_mask)
        cls_score = self.bbox_head(fused)
        return dict(cls_score=cls_score, bbox_feats=fused, scene_logits=scene_logits)

    def loss(self, x: Union[Tensor, Tuple[Tensor]], rpn_results_list, data_samples,
             **kwargs) -> dict:
        """Action loss of the bbox head plus the global loss ``loss_global``."""
        if len(rpn_results_list) != len(data_samples):
            raise ValueError(f'{len(rpn_results_list)} proposal lists for {len(data_samples)} '
                             f'clips')
        sampling_results = []
        for rpn_results, sample in zip(rpn_results_list, data_samples):
            rpn_results.priors = rpn_results.pop('bboxes')
            assign_result = self.bbox_assigner.assign(rpn_results, sample.gt_instances, None)
            sampling_results.append(
                self.bbox_sampler.sample(assign_result, rpn_results, sample.gt_instances))
        batch_img_metas = [sample.metainfo for sample in data_samples]
        lt_feat, lt_mask = self.bank_windows(data_samples)

        rois = bbox2roi([res.priors for res in sampling_results])
        rois = self.jitter_rois(rois, batch_img_metas)
        results = self._bbox_forward(x, rois, batch_img_metas, lt_feat, lt_mask)
        losses = dict(
            self.bbox_head.loss_and_target(cls_score=results['cls_score'],
                                           rois=rois,
                                           sampling_results=sampling_results,
                                           rcnn_train_cfg=self.train_cfg)['loss_bbox'])
        if results['scene_logits'] is not None:
            targets = scene_labels([s.gt_instances.labels for s in data_samples],
                                   self.bbox_head.background_class)
            losses['loss_global'] = self.shared_head.global_branch.loss(
                results['scene_logits'], targets.to(results['scene_logits'].device))
        return losses

    def predict(self, x: Union[Tensor, Tuple[Tensor]], rpn_results_list, data_samples, **kwargs):
        """Per-clip detections (boxes and pose-softmax/sigmoid scores), as ``AVARoIHead``."""
        batch_img_metas = [sample.metainfo for sample in data_samples]
        lt_feat, lt_mask = self.bank_windows(data_samples)
        proposals = [res.bboxes for res in rpn_results_list]
        rois = bbox2roi(proposals)
        results = self._bbox_forward(x, rois, batch_img_metas, lt_feat, lt_mask)
        counts = tuple(len(p) for p in proposals)
        return self.bbox_head.predict_by_feat(rois=rois.split(counts, 0),
                                              cls_scores=results['cls_score'].split(counts, 0),
                                              batch_img_metas=batch_img_metas,
                                              rcnn_test_cfg=self.test_cfg)
