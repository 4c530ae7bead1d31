"""Long-term branch of the Three Branches model: masked LFB (non-local) blocks.

Report "Three Branches: Detecting Actions With Richer Features", https://arxiv.org/abs/1908.04519
§3 "Long-Term Feature Operation": "we select 305 person features (5 persons per second, 61 seconds
in total) around the center clips as long term features ... We pre-process these two kinds of
input using dropout and dimension reduction ... We choose to use two LFB blocks". Where the report
is silent the blocks follow Wu et al.'s FBO-NL (LFB, CVPR 2019) as mmaction2's ``FBONonLocal``
implements it: a linear reduction of the short-term (S) and long-term (L) inputs to
``latent_channels`` with dropout 0.2, then per block ``theta = W_t S``, ``phi = W_p L``, ``g = W_g
L``, scaled dot-product attention over L, LayerNorm, ReLU, a linear output and dropout 0.2, added
to S.

Differences, both exact rewrites or strict improvements:

* **Masking.** A window near a video border or a second with fewer than 5 persons has empty
  slots (``FeatureBank.read_window``'s mask). Their features are zeroed before any layer and
  their attention logits set to the dtype minimum, so they get exactly zero weight: filling an
  empty slot with anything changes nothing. mmaction2's ``LFB`` pads with zero features that
  still take attention. A clip with no item at all attends to nothing (the block adds 0).
* **Per clip.** L is reduced once per clip, not copied per RoI; every RoI attends to the window
  of its own clip through one block-diagonal product, so any number of clips per batch gives
  the per-RoI result. The long-term dropout mask is therefore shared by the RoIs of a clip.

1x1x1 convolutions on ``(n, C, 1, 1, 1)`` are written as ``nn.Linear`` (the same map).
"""
from typing import Optional

import torch
import torch.nn as nn
from mmdet.registry import MODELS
from torch import Tensor


class MaskedNonLocalBlock(nn.Module):
    """One FBO-NL block: S (n, c) attends to its clip's L (B, L, c) with empty slots masked.

    Args:
        channels: latent width ``c`` of S and L.
        dropout_ratio: dropout on the block output. Defaults to 0.2.
        use_scale: divide the logits by ``sqrt(c)``. Defaults to True.
        zero_init_out: zero-initialise the output layer (block starts as identity).
    """

    def __init__(self,
                 channels: int,
                 dropout_ratio: float = 0.2,
                 use_scale: bool = True,
                 zero_init_out: bool = False) -> None:
        super().__init__()
        self.channels = channels
        self.use_scale = use_scale
        self.zero_init_out = zero_init_out
        self.theta = nn.Linear(channels, channels)
        self.phi = nn.Linear(channels, channels)
        self.g = nn.Linear(channels, channels)
        self.norm = nn.LayerNorm(channels)
        self.out = nn.Linear(channels, channels)
        self.dropout = nn.Dropout(dropout_ratio) if dropout_ratio > 0 else nn.Identity()

    def init_weights(self) -> None:
        """Kaiming-normal weights and zero biases (mmaction2's ``NonLocalLayer``)."""
        for m in (self.theta, self.phi, self.g, self.out):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            nn.init.zeros_(m.bias)
        if self.zero_init_out:
            nn.init.zeros_(self.out.weight)

    def attention(self, st: Tensor, lt: Tensor, mask: Tensor, clip_ids: Tensor) -> Tensor:
        """Attention weights ``(n, L)`` of each RoI over its clip's slots (0 on empty ones)."""
        theta = self.theta(st)  # (n, c)
        phi = self.phi(lt)  # (B, L, c)
        logits = torch.einsum('nc,blc->nbl', theta, phi)
        logits = logits[torch.arange(len(st), device=st.device), clip_ids]  # (n, L)
        if self.use_scale:
            logits = logits / self.channels**0.5
        valid = mask[clip_ids]
        logits = logits.masked_fill(~valid, torch.finfo(logits.dtype).min)
        # rows without any valid slot softmax to uniform; the mask zeroes them
        return logits.softmax(dim=-1) * valid

    def forward(self, st: Tensor, lt: Tensor, mask: Tensor, clip_ids: Tensor) -> Tensor:
        """Update S.

        Args:
            st: ``(n, c)`` short-term features, one per RoI.
            lt: ``(B, L, c)`` long-term features of each clip (empty slots already zero).
            mask: bool ``(B, L)``, True where a slot holds a feature.
            clip_ids: long ``(n,)``, the clip of each RoI.

        Returns:
            Tensor: ``(n, c)``: ``st + dropout(out(relu(norm(attn @ g))))``.
        """
        weights = self.attention(st, lt, mask, clip_ids)  # (n, L)
        g = self.g(lt)  # (B, L, c)
        # block-diagonal product: each RoI's weights against its own clip's g only
        full = weights.new_zeros(len(st), lt.shape[0], lt.shape[1])
        full[torch.arange(len(st), device=st.device), clip_ids] = weights
        ctx = full.flatten(1) @ g.flatten(0, 1)  # (n, c)
        out = self.out(torch.relu(self.norm(ctx)))
        return st + self.dropout(out)


@MODELS.register_module()
class LFBBranch(nn.Module):
    """Dimension reduction, dropout and ``num_blocks`` masked FBO-NL blocks.

    Args:
        st_channels: width of the short-term RoI feature (2304 for SlowFast R101).
        lt_channels: width of a bank item (2304 for a SlowFast baseline's person features).
        latent_channels: reduced width, also the output width. Defaults to 512 (LFB).
        num_blocks: LFB blocks. Defaults to 2 (report §3).
        st_dropout_ratio, lt_dropout_ratio: dropout after the reductions. Defaults to 0.2.
        block_dropout_ratio: dropout on each block output. Defaults to 0.2.
        zero_init_out: zero-initialise each block's output layer.

    Shapes: ``forward(st (n, st_channels), lt (B, L, lt_channels), mask (B, L), clip_ids (n,))``
    returns ``(n, latent_channels)``.
    """

    def __init__(self,
                 st_channels: int = 2304,
                 lt_channels: int = 2304,
                 latent_channels: int = 512,
                 num_blocks: int = 2,
                 st_dropout_ratio: float = 0.2,
                 lt_dropout_ratio: float = 0.2,
                 block_dropout_ratio: float = 0.2,
                 zero_init_out: bool = False) -> None:
        super().__init__()
        if num_blocks < 1:
            raise ValueError(f'LFBBranch needs at least one block, got num_blocks={num_blocks}')
        self.st_channels = st_channels
        self.lt_channels = lt_channels
        self.latent_channels = latent_channels
        self.st_reduce = nn.Linear(st_channels, latent_channels)
        self.lt_reduce = nn.Linear(lt_channels, latent_channels)
        self.st_dropout = nn.Dropout(st_dropout_ratio) if st_dropout_ratio > 0 else nn.Identity()
        self.lt_dropout = nn.Dropout(lt_dropout_ratio) if lt_dropout_ratio > 0 else nn.Identity()
        self.blocks = nn.ModuleList(
            MaskedNonLocalBlock(latent_channels, block_dropout_ratio, zero_init_out=zero_init_out)
            for _ in range(num_blocks))

    @property
    def out_channels(self) -> int:
        return self.latent_channels

    def init_weights(self) -> None:
        """Kaiming-normal reductions (mmaction2's ``FBONonLocal``), then each block's."""
        for m in (self.st_reduce, self.lt_reduce):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            nn.init.zeros_(m.bias)
        for block in self.blocks:
            block.init_weights()

    def forward(self,
                st: Tensor,
                lt: Tensor,
                mask: Tensor,
                clip_ids: Optional[Tensor] = None) -> Tensor:
        """Long-term-aware person features, see the class docstring for shapes."""
        if st.dim() != 2 or st.shape[1] != self.st_channels:
            raise ValueError(f'LFBBranch: short-term features must be (n, {self.st_channels}), '
                             f'got {tuple(st.shape)}')
        if lt.dim() != 3 or lt.shape[2] != self.lt_channels:
            raise ValueError(f'LFBBranch: long-term features must be (B, L, {self.lt_channels}), '
                             f'got {tuple(lt.shape)}')
        if mask.shape != lt.shape[:2]:
            raise ValueError(f'LFBBranch: mask must be (B, L) = {tuple(lt.shape[:2])}, got '
                             f'{tuple(mask.shape)}')
        if clip_ids is None:
            clip_ids = torch.zeros(len(st), dtype=torch.long, device=st.device)
        clip_ids = clip_ids.long()
        if len(st) and not 0 <= int(clip_ids.min()) <= int(clip_ids.max()) < lt.shape[0]:
            raise ValueError(f'LFBBranch: clip ids must index the {lt.shape[0]} windows, got '
                             f'{clip_ids.unique().tolist()}')
        mask = mask.to(device=lt.device, dtype=torch.bool)
        lt = torch.where(mask[..., None], lt.to(st.dtype), lt.new_zeros((), dtype=st.dtype))
        st = self.st_dropout(self.st_reduce(st))
        lt = self.lt_dropout(self.lt_reduce(lt))
        for block in self.blocks:
            st = block(st, lt, mask, clip_ids)
        return st
