"""Global branch of the Three Branches model: scene classifier and global loss.

Report "Three Branches: Detecting Actions With Richer Features", https://arxiv.org/abs/1908.04519
§3 "Global Loss": "We append a per-class Sigmoid-based classifier to predict all the actions that
take place in the scene ... we aggregate the global feature to the RoI feature for the final
predictions" (Figure 1: "we use a classifier to predict all actions happened in the scenes").
Here: global average pooling of the clip's backbone features (both SlowFast pathways, as the RoI
extractor concatenates them), dropout and a linear classifier; the loss is binary cross-entropy
with logits against the clip's scene label, the union of the action labels of every annotated
person of the clip (:func:`scene_labels`). The pooled feature (before dropout) is what the RoIs
receive.

Fujitsu's AVA-Kinetics 2020 model ("Multi-scale Spatiotemporal Features for Action
Localization", https://research.google.com/ava/challenge.html, §1 and §2.4.1) concatenates a
256-d "global pooling feature" extracted "before RoI Pooling" and has no scene classifier:
``out_channels=256`` adds a linear projection of the pooled feature (the report does not say how
the clip's channels become 256: ours), ``num_classes=0`` drops the classifier and its loss.
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor


def scene_labels(person_labels: Sequence[Tensor], background_class: bool = True) -> Tensor:
    """Scene label of each clip: the union of its persons' action labels.

    Args:
        person_labels: one ``(num_persons, num_classes)`` binary tensor per clip (the
            ``gt_instances.labels`` of mmaction2's AVA data samples). A clip without persons
            has an all-zero scene label.
        background_class: drop column 0 (mmaction2's background column).

    Returns:
        Tensor: ``(B, num_classes - background_class)`` in {0, 1}.
    """
    if len(person_labels) == 0:
        raise ValueError('scene_labels needs the labels of at least one clip')
    widths = {lab.shape[-1] for lab in person_labels}
    if len(widths) != 1 or any(lab.dim() != 2 for lab in person_labels):
        raise ValueError(f'person labels must be (num_persons, num_classes) with one '
                         f'num_classes, got shapes {[tuple(lab.shape) for lab in person_labels]}')
    counts = torch.tensor([len(lab) for lab in person_labels], device=person_labels[0].device)
    labels = torch.cat(list(person_labels)).float()
    clip_ids = torch.repeat_interleave(torch.arange(len(person_labels), device=labels.device),
                                       counts)
    counts_per_class = labels.new_zeros(len(person_labels), labels.shape[1])
    counts_per_class.index_add_(0, clip_ids, (labels > 0).to(labels.dtype))
    scene = (counts_per_class > 0).to(labels.dtype)
    return scene[:, 1:] if background_class else scene


@MODELS.register_module()
class GlobalSceneBranch(nn.Module):
    """GAP -> dropout -> linear scene classifier, and the pooled global feature.

    Args:
        in_channels: channels of the clip features (2304 for SlowFast).
        num_classes: scene classes (the foreground action classes).
        dropout_ratio: dropout before the classifier. Defaults to 0.5.
        loss_weight: weight of the global loss. Defaults to 1.0.
        out_channels: width of the global feature the RoIs receive; None (default): the
            pooled ``C`` channels as they are, else a linear projection ``C -> out_channels``.
        num_classes=0 builds no scene classifier (no scene logits, no global loss).

    Shapes: ``forward(feat (B, C, T, H, W))`` returns the global feature ``(B, out_channels)``
    and the scene logits ``(B, num_classes)`` (None without a classifier).
    """

    def __init__(self,
                 in_channels: int = 2304,
                 num_classes: int = 80,
                 dropout_ratio: float = 0.5,
                 loss_weight: float = 1.0,
                 out_channels: Optional[int] = None) -> None:
        super().__init__()
        if num_classes < 0 or (out_channels is not None and out_channels < 1):
            raise ValueError(f'GlobalSceneBranch: num_classes must be >= 0 and out_channels '
                             f'>= 1 or None, got {num_classes}, {out_channels}')
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.loss_weight = loss_weight
        self.out_channels = in_channels if out_channels is None else int(out_channels)
        self.proj = None if out_channels is None else nn.Linear(in_channels, self.out_channels)
        if num_classes:
            self.dropout = nn.Dropout(dropout_ratio) if dropout_ratio > 0 else nn.Identity()
            self.fc_scene = nn.Linear(in_channels, num_classes)

    def init_weights(self) -> None:
        """Xavier-normal classifier and projection with zero bias, as ``BBoxHeadAVA``'s."""
        for fc in (getattr(self, 'fc_scene', None), self.proj):
            if fc is not None:
                nn.init.xavier_normal_(fc.weight)
                nn.init.zeros_(fc.bias)

    def forward(self, feat: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
        """Global feature ``(B, out_channels)`` and scene logits ``(B, num_classes)`` or None."""
        if feat.dim() not in (4, 5) or feat.shape[1] != self.in_channels:
            raise ValueError(f'GlobalSceneBranch expects clip features (B, {self.in_channels}, '
                             f'[T,] H, W), got shape {tuple(feat.shape)}')
        pooled = feat.flatten(2).mean(dim=2)
        logits = self.fc_scene(self.dropout(pooled)) if self.num_classes else None
        return (pooled if self.proj is None else self.proj(pooled)), logits

    def loss(self, scene_logits: Tensor, scene_targets: Tensor) -> Tensor:
        """Global loss: weighted BCE with logits, mean over ``B x num_classes``."""
        if scene_targets.shape != scene_logits.shape:
            raise ValueError(f'scene targets {tuple(scene_targets.shape)} do not match the '
                             f'scene logits {tuple(scene_logits.shape)} (the scene classifier '
                             f'has {self.num_classes} classes)')
        return self.loss_weight * F.binary_cross_entropy_with_logits(
            scene_logits, scene_targets.to(scene_logits.dtype))
