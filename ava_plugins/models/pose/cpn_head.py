"""CPN head: GlobalNet + RefineNet with their losses, as an mmpose 1.x top-down heatmap head.

Chen et al., "Cascaded Pyramid Network for Multi-Person Pose Estimation", CVPR 2018, §3.2
(GlobalNet, RefineNet, online hard keypoint mining: the loss of the 8 hardest of 17 keypoints
per person, the paper's best setting in its ablation). The backbone
(mmpose's ``ResNet`` with ``out_indices=(0, 1, 2, 3)``: C2-C5) feeds this head, which holds
both stages because both are supervised: GlobalNet's per-level heatmaps with an L2 loss at every
level (summed over levels), RefineNet's heatmaps with an L2 loss on only the ``topk`` hardest
keypoints per instance (mmpose's ``KeypointOHKMMSELoss``, a port of the official ``ohkm``).
Inference decodes RefineNet's heatmaps with the codec, as every mmpose heatmap head does.

Official losses (github.com/chenyilun95/tf-cpn, ``network.py``), reproduced by the defaults:
``global = sum_l mean((out_l - label_l * valid)^2) / 4 / 2`` (a per-level ``loss_weight`` of
1/8; the output of an unlabelled keypoint is pulled to the zero heatmap, so the global loss uses
no target weights: mmpose's codecs leave those channels zero), and
``refine = ohkm(mean_hw((out - label)^2) * valid, 8)``. Targets per level come from
``GenerateTarget(multilevel=True)`` with one codec per level (``global_target_levels``,
``refine_target_level`` pick them); a single-codec pipeline uses level 0 for all. One
difference: the official GlobalNet labels keep only visible keypoints (v = 2) and RefineNet's
all labelled ones (v >= 1); mmpose's COCO loader binarises visibility (v >= 1), so both stages
see all labelled keypoints here.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmengine.structures import PixelData
from mmpose.evaluation.functional import pose_pck_accuracy
from mmpose.models.heads.base_head import BaseHead
from mmpose.models.utils.tta import flip_heatmaps
from mmpose.registry import KEYPOINT_CODECS, MODELS
from mmpose.structures import MultilevelPixelData
from mmpose.utils.tensor_utils import to_numpy
from torch import Tensor, nn

from .global_net import CPNGlobalNet
from .refine_net import CPNRefineNet


@MODELS.register_module()
class CPNHead(BaseHead):
    """GlobalNet and RefineNet of CPN over backbone levels C2-C5.

    Args:
        in_channels: backbone channels, fine to coarse (ResNet-50: 256, 512, 1024, 2048).
        out_channels: number of keypoints K (17 on COCO).
        out_shape: ``(H, W)`` of the heatmaps (64, 48 for a 256x192 input).
        channels: pyramid width (256).
        refine_num_blocks: RefineNet bottlenecks per level, fine to coarse (paper: 0, 1, 2, 3).
        norm_cfg: norm layer of every conv of the head.
        global_loss: loss of each GlobalNet level (a dict, or a list with one per level);
            with ``use_target_weight=False`` no keypoint weights are passed (official loss).
        refine_loss: loss of RefineNet (``KeypointOHKMMSELoss`` with ``topk=8``).
        global_target_levels: target level (index of the codec in a multilevel
            ``GenerateTarget``) of each GlobalNet level, fine to coarse.
        refine_target_level: target level of RefineNet.
        decoder: codec used to decode RefineNet's heatmaps.
    """

    def __init__(self,
                 in_channels: Sequence[int] = (256, 512, 1024, 2048),
                 out_channels: int = 17,
                 out_shape: Tuple[int, int] = (64, 48),
                 channels: int = 256,
                 refine_num_blocks: Sequence[int] = (0, 1, 2, 3),
                 norm_cfg: dict = dict(type='BN'),
                 global_loss: Union[dict, List[dict]] = dict(type='KeypointMSELoss',
                                                             use_target_weight=False,
                                                             loss_weight=0.125),
                 refine_loss: dict = dict(type='KeypointOHKMMSELoss',
                                          use_target_weight=True,
                                          topk=8),
                 global_target_levels: Optional[Sequence[int]] = None,
                 refine_target_level: int = 0,
                 decoder: Optional[dict] = None,
                 init_cfg=None):
        if init_cfg is None:
            init_cfg = self.default_init_cfg
        super().__init__(init_cfg)
        num_levels = len(in_channels)
        if len(refine_num_blocks) != num_levels:
            raise ValueError(f'refine_num_blocks={list(refine_num_blocks)} must give one count '
                             f'per level of in_channels={list(in_channels)}')
        if global_target_levels is None:
            global_target_levels = (0, ) * num_levels
        if len(global_target_levels) != num_levels:
            raise ValueError(f'global_target_levels={list(global_target_levels)} must give one '
                             f'target level per level of in_channels={list(in_channels)}')
        if isinstance(global_loss, (list, tuple)):
            if len(global_loss) != num_levels:
                raise ValueError(f'global_loss lists {len(global_loss)} losses for '
                                 f'{num_levels} GlobalNet levels')
            losses = [MODELS.build(cfg) for cfg in global_loss]
        else:
            losses = [MODELS.build(global_loss)] * num_levels
        self.out_channels = out_channels
        self.global_target_levels = tuple(global_target_levels)
        self.refine_target_level = refine_target_level
        self.global_net = CPNGlobalNet(in_channels, out_channels, out_shape, channels, norm_cfg)
        self.refine_net = CPNRefineNet(refine_num_blocks, out_channels, out_shape, channels,
                                       norm_cfg)
        self.global_losses = nn.ModuleList(losses)
        self.refine_loss = MODELS.build(refine_loss)
        self.decoder = KEYPOINT_CODECS.build(decoder) if decoder is not None else None

    @property
    def default_init_cfg(self):
        """tf-cpn initialises the head convs with Xavier (RefineNet's bottlenecks keep He)."""
        return [
            dict(type='Xavier', layer='Conv2d', distribution='uniform'),
            dict(type='Constant', layer='BatchNorm2d', val=1)
        ]

    def forward(self, feats: Sequence[Tensor]) -> Tuple[List[Tensor], Tensor]:
        """GlobalNet and RefineNet heatmaps.

        Args:
            feats: backbone levels C2-C5, ``(B, in_channels[i], H_i, W_i)``.

        Returns:
            tuple: GlobalNet heatmaps (list, fine to coarse, each ``(B, K, H, W)``) and the
            RefineNet heatmaps ``(B, K, H, W)``.
        """
        levels, global_heatmaps = self.global_net(feats)
        return global_heatmaps, self.refine_net(levels)

    def _refined(self, feats: Sequence[Tensor]) -> Tensor:
        """RefineNet heatmaps only (GlobalNet's predictors are skipped at test time)."""
        return self.refine_net(self.global_net.pyramid(feats))

    def predict(self, feats, batch_data_samples, test_cfg: dict = {}):
        """Decode RefineNet's heatmaps (averaged with the flipped input's if ``flip_test``).

        Returns:
            list[InstanceData] with ``keypoints (N, K, 2)`` and ``keypoint_scores (N, K)``, and
            the heatmaps as ``PixelData`` too if ``test_cfg['output_heatmaps']``.
        """
        if test_cfg.get('flip_test', False):
            _feats, _feats_flip = feats
            heatmaps = self._refined(_feats)
            flipped = flip_heatmaps(self._refined(_feats_flip),
                                    flip_mode=test_cfg.get('flip_mode', 'heatmap'),
                                    flip_indices=batch_data_samples[0].metainfo['flip_indices'],
                                    shift_heatmap=test_cfg.get('shift_heatmap', False))
            heatmaps = (heatmaps + flipped) * 0.5
        else:
            heatmaps = self._refined(feats)
        preds = self.decode(heatmaps)
        if test_cfg.get('output_heatmaps', False):
            return preds, [PixelData(heatmaps=hm) for hm in heatmaps.detach()]
        return preds

    def loss(self, feats, batch_data_samples, train_cfg: dict = {}) -> dict:
        """Losses of both stages from backbone features (see :meth:`loss_by_heatmaps`)."""
        global_heatmaps, refine_heatmaps = self.forward(feats)
        return self.loss_by_heatmaps(global_heatmaps, refine_heatmaps, batch_data_samples)

    def loss_by_heatmaps(self, global_heatmaps: Sequence[Tensor], refine_heatmaps: Tensor,
                         batch_data_samples) -> dict:
        """Sum of the GlobalNet level losses, and RefineNet's hard-keypoint loss.

        Args:
            global_heatmaps: list, fine to coarse, each ``(B, K, H, W)``.
            refine_heatmaps: ``(B, K, H, W)``.
            batch_data_samples: ``PoseDataSample`` with ``gt_fields.heatmaps`` and
                ``gt_instance_labels.keypoint_weights`` (one instance each, top-down).

        Returns:
            dict: ``loss_global``, ``loss_refine`` and ``acc_pose`` (PCK of RefineNet).
        """
        loss_global = 0.
        for loss_fn, heatmaps, level in zip(self.global_losses, global_heatmaps,
                                            self.global_target_levels):
            target, weights = self._targets(batch_data_samples, level)
            use_weights = getattr(loss_fn, 'use_target_weight', True)
            loss_global = loss_global + loss_fn(heatmaps, target, weights if use_weights else None)
        target, weights = self._targets(batch_data_samples, self.refine_target_level)
        loss_refine = self.refine_loss(refine_heatmaps, target, weights)
        _, acc, _ = pose_pck_accuracy(output=to_numpy(refine_heatmaps),
                                      target=to_numpy(target),
                                      mask=to_numpy(weights) > 0)
        return dict(loss_global=loss_global,
                    loss_refine=loss_refine,
                    acc_pose=torch.tensor(acc, device=refine_heatmaps.device))

    @staticmethod
    def _targets(batch_data_samples, level: int) -> Tuple[Tensor, Tensor]:
        """Target heatmaps ``(B, K, H, W)`` and keypoint weights ``(B, K)`` of one level."""
        heatmaps, weights = [], []
        for i, sample in enumerate(batch_data_samples):
            fields = sample.get('gt_fields')
            labels = sample.get('gt_instance_labels')
            if fields is None or 'heatmaps' not in fields or labels is None \
                    or 'keypoint_weights' not in labels:
                raise ValueError(f'CPNHead: data sample {i} has no gt_fields.heatmaps / '
                                 f'gt_instance_labels.keypoint_weights; the training pipeline '
                                 f'needs GenerateTarget with a heatmap codec before '
                                 f'PackPoseInputs')
            w = labels.keypoint_weights
            if isinstance(fields, MultilevelPixelData):
                if not 0 <= level < fields.nlevel:
                    raise ValueError(f'CPNHead: target level {level} requested but '
                                     f'GenerateTarget produced {fields.nlevel} levels')
                heatmaps.append(fields[level].heatmaps)
                weights.append(w[level])
            else:
                if level != 0:
                    raise ValueError(f'CPNHead: target level {level} requested but the '
                                     f'pipeline produced single-level targets; use '
                                     f'GenerateTarget(multilevel=True) with one codec per level')
                heatmaps.append(fields.heatmaps)
                weights.append(w)
            if heatmaps[-1].dim() != 3 or weights[-1].shape[0] != 1:
                raise ValueError(f'CPNHead: data sample {i} has target heatmaps of shape '
                                 f'{tuple(heatmaps[-1].shape)} and keypoint weights of shape '
                                 f'{tuple(weights[-1].shape)}; expected (K, H, W) and (1, K) '
                                 f'(top-down, one instance per sample)')
        return torch.stack(heatmaps), torch.cat(weights)
