"""A classifier on precomputed VGGish audio embeddings: per-frame MLP, temporal pooling, fc.

Qiniu ActivityNet 2018 report (https://arxiv.org/abs/1806.04391), §2.2: the raw audio
goes through the pre-trained VGGish model (Hershey et al. 2017), giving ``n x 128`` features
(``n`` = audio length in 0.96 s frames), on which a classifier is trained (Table 3, "VGGish").
The embeddings are extracted offline and stored as ``(n, 128)`` ``.npy`` files that mmaction2's
``LoadAudioFeature`` / ``AudioFeatureSelector`` / ``FormatAudioShape`` read like spectrograms,
so the model is an mmaction2 ``RecognizerAudio`` with

- :class:`AudioEmbeddingMLP` (backbone): the same fully connected layers applied to every frame,
  ``(N, 1, n, D) -> (N, C, n)``;
- :class:`VGGishHead` (head): average or max pooling over the ``n`` frames, dropout, fc.
"""
from typing import Sequence

import torch
import torch.nn as nn
from mmaction.models.heads.base import BaseHead
from mmaction.registry import MODELS
from mmengine.model.weight_init import normal_init
from torch import Tensor


@MODELS.register_module()
class AudioEmbeddingMLP(nn.Module):
    """Per-frame MLP on audio embeddings: ``(N, 1, n, in_channels) -> (N, hidden[-1], n)``.

    Args:
        in_channels: embedding size (128 for VGGish).
        hidden_channels: widths of the fully connected layers, each followed by ReLU.
    """

    def __init__(self, in_channels: int = 128, hidden_channels: Sequence[int] = (512, 512)):
        super().__init__()
        layers, width = [], in_channels
        for hidden in hidden_channels:
            layers += [nn.Linear(width, hidden), nn.ReLU(inplace=True)]
            width = hidden
        self.in_channels = in_channels
        self.mlp = nn.Sequential(*layers)
        self.feat_dim = width

    def init_weights(self) -> None:
        for m in self.mlp:
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, nonlinearity='relu')
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != 1 or x.shape[-1] != self.in_channels:
            raise ValueError(f'AudioEmbeddingMLP: expected (N, 1, n, {self.in_channels}) '
                             f'embeddings, got {tuple(x.shape)}')
        return self.mlp(x[:, 0]).transpose(1, 2)


@MODELS.register_module()
class VGGishHead(BaseHead):
    """Pool per-frame features over time and classify: ``(N, C, n) -> (N, num_classes)``.

    Args:
        num_classes, in_channels, loss_cls, average_clips: as mmaction2's ``BaseHead``.
        temporal_pool: ``'avg'`` or ``'max'`` over the ``n`` frames.
        dropout_ratio: dropout before the fc layer.
        init_std: std of the fc layer's normal initialisation.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 temporal_pool: str = 'avg',
                 dropout_ratio: float = 0.5,
                 init_std: float = 0.01,
                 **kwargs) -> None:
        super().__init__(num_classes, in_channels, **kwargs)
        if temporal_pool not in ('avg', 'max'):
            raise ValueError(f"VGGishHead: temporal_pool must be 'avg' or 'max', got "
                             f'{temporal_pool!r}')
        self.temporal_pool = temporal_pool
        self.init_std = init_std
        self.dropout = nn.Dropout(dropout_ratio) if dropout_ratio > 0 else nn.Identity()
        self.fc_cls = nn.Linear(in_channels, num_classes)

    def init_weights(self) -> None:
        normal_init(self.fc_cls, std=self.init_std)

    def forward(self, x: Tensor, **kwargs) -> Tensor:
        pooled = x.mean(-1) if self.temporal_pool == 'avg' else torch.amax(x, dim=-1)
        return self.fc_cls(self.dropout(pooled))
