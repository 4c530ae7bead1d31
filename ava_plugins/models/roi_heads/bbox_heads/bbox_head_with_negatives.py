"""mmaction2's ``BBoxHeadAVA`` whose loss also sees the sampled negative proposals.

mmaction2 1.2.0's ``BBoxHeadAVA.loss_and_target`` keeps only the rows whose label sum is > 0, so
a sampler's negatives never reach the loss. ByteDance AI Lab's multi-second model (ByteDance AI
Lab AVA Challenge 2019 Technical Report, https://research.google.com/ava/challenge.html,
Sec. 1.1) says "We follow the training strategy of Faster-RCNN [3] for end-to-end localization"
and "We choose 40 proposals with a ratio of 1:3 for position and negative proposals,
respectively": in Faster R-CNN the sampled negatives are trained as background. Here every
sampled row enters the sigmoid (focal) BCE: a negative with all-zero targets, so the model
learns to score background boxes low in every class.

Normalisation (our choice; the report names no loss): mmaction2's mean over all ``N x C``
elements, now over all ``N`` sampled rows (40 per clip) instead of the positives only.
Recall / precision are still logged on the positive rows (a negative has no recall).
"""
import torch
import torch.nn.functional as F
from mmaction.models.roi_heads.bbox_heads.bbox_head import BBoxHeadAVA
from mmdet.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class BBoxHeadAVAWithNegatives(BBoxHeadAVA):
    """``BBoxHeadAVA`` (multi-label) whose loss covers positive and negative sampled rows.

    Args:
        negatives_in_loss: False gives mmaction2's loss (positive rows only). Defaults to True.
        **kwargs: the arguments of ``BBoxHeadAVA`` (``multilabel`` must stay True: with softmax
            cross-entropy an all-zero target gives no loss).
    """

    def __init__(self, background_class: bool = True, negatives_in_loss: bool = True,
                 **kwargs) -> None:
        if not kwargs.get('multilabel', True):
            raise ValueError('BBoxHeadAVAWithNegatives is multi-label (multilabel=True)')
        super().__init__(background_class=background_class, **kwargs)
        self.negatives_in_loss = negatives_in_loss

    def loss_and_target(self, cls_score: Tensor, rois: Tensor, sampling_results,
                        rcnn_train_cfg, **kwargs) -> dict:
        """Loss of ``cls_score`` ``(N, num_classes)``, rows ordered as ``sampling_results``
        (per clip: positives then negatives)."""
        cls_targets = self.get_targets(sampling_results, rcnn_train_cfg)
        labels, _ = cls_targets
        losses = dict()
        if cls_score is not None:
            if self.background_class:
                labels, cls_score = labels[:, 1:], cls_score[:, 1:]
            pos = labels.sum(dim=-1) > 0
            if pos.any():
                recall_thr, prec_thr, recall_k, prec_k = self.topk_accuracy(
                    cls_score[pos], labels[pos], thr=0.5)
                losses['recall@thr=0.5'] = recall_thr
                losses['prec@thr=0.5'] = prec_thr
                for i, k in enumerate(self.topk):
                    losses[f'recall@top{k}'] = recall_k[i]
                    losses[f'prec@top{k}'] = prec_k[i]
            if not self.negatives_in_loss:
                cls_score, labels = cls_score[pos], labels[pos]
            loss = F.binary_cross_entropy_with_logits(cls_score, labels, reduction='none')
            pt = torch.exp(-loss)
            losses['loss_action_cls'] = torch.mean(self.focal_alpha *
                                                   (1 - pt)**self.focal_gamma * loss)
        return dict(loss_bbox=losses, bbox_targets=cls_targets)
