"""HR2O_NL: the High-order Relation Reasoning Operator of ACAR-Net, batched over clips.

ACAR-Net report (https://arxiv.org/abs/2006.07976), §1.2 "Instantiation": a modified
non-local block on the actors' first-order actor-context maps F^i, with location-wise attention
over the actors of the same clip::

    Q^i = conv_q(F^i), K^j = conv_k(F^j), V^j = conv_v(F^j)          (3x3, padding 1, no bias)
    A^{i,j}_{x,y} = softmax_j(<Q^i_{x,y}, K^j_{x,y}> / sqrt(d))        (j: same clip, self incl.)
    H^i = dropout(conv(ReLU(GroupNorm(1, d)(sum_j A^{i,j} V^j))))      (conv: 3x3 or 1x1)
    out^i = F^i + H^i

Module and parameter names follow the official ``HR2O_NL`` (``models/heads/acar.py`` of
github.com/Siyu-C/ACAR-Net) so official weights load one to one. The official code runs the
block once per clip; here all actors of a mini-batch go through the convolutions together and
the attention is a block-diagonal (same-clip) masked softmax, so the result equals the
per-clip computation for any number of clips and of actors per clip.

The same block serves the Actor-Context Feature Bank head (report §1.3, "replace the
self-attention mechanism with an attention between current and long-term actor-context
relations"): given ``memory`` maps, q comes from the actors and k, v from the memory maps of the
same clip; a clip with no memory map gets a zero attention output (an empty sum).

When clips of one batch have context maps of different valid sizes (different zero padding),
the maps share one canvas and ``valid`` marks each actor's valid area: inputs are zero outside
it (what the per-clip 3x3 convolutions see as padding), the GroupNorm statistics are taken over
it only, and outputs are zeroed outside it again.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


def same_clip_attention(query: Tensor,
                        key: Tensor,
                        value: Tensor,
                        clip_ids: Tensor,
                        scale: float,
                        key_clip_ids: Optional[Tensor] = None) -> Tensor:
    """Location-wise attention restricted to actors (or bank items) of the same clip.

    Args:
        query: ``(n, C, H, W)`` per-actor maps.
        key, value: ``(m, C, H, W)`` maps attended to (``m = n`` for self-attention).
        clip_ids: ``(n,)`` clip index of each query.
        scale: multiplier of the dot products (``1 / sqrt(d)``).
        key_clip_ids: ``(m,)`` clip index of each key; None: the keys are the queries'
            actors (``clip_ids``).

    Returns:
        Tensor: ``(n, C, H, W)``, ``out_i = sum_j softmax_j(<q_i, k_j> * scale) v_j`` over
        the keys ``j`` of the same clip as ``i``, at every location; zero for a query whose
        clip has no key (an empty sum).
    """
    n, c, h, w = query.shape
    if key_clip_ids is None:
        key_clip_ids = clip_ids
    # location-major contiguous copies: bmm on strided views is about 2x slower on CPU
    q = query.flatten(2).permute(2, 0, 1).contiguous()  # (HW, n, C)
    k = key.flatten(2).permute(2, 0, 1).contiguous()  # (HW, m, C)
    v = value.flatten(2).permute(2, 0, 1).contiguous()  # (HW, m, C)
    logits = torch.bmm(q, k.transpose(1, 2)) * scale  # (HW, n, m)
    other_clip = clip_ids[:, None] != key_clip_ids[None, :]
    logits = logits.masked_fill(other_clip, float('-inf'))
    att = logits.softmax(dim=2)
    if key_clip_ids is not clip_ids:  # queries without any key: softmax of -inf rows is NaN
        att = att.masked_fill(other_clip.all(dim=1)[:, None], 0.)
    return torch.bmm(att, v).permute(1, 2, 0).reshape(n, c, h, w)


def masked_group_norm1(x: Tensor, valid: Tensor, weight: Tensor, bias: Tensor,
                       eps: float) -> Tensor:
    """``GroupNorm(1, C)`` with statistics over the valid area of each sample only.

    Args:
        x: ``(n, C, H, W)``.
        valid: ``(n, 1, H, W)`` float mask (1 inside the valid area).
        weight, bias: ``(C,)`` affine parameters.

    Returns:
        Tensor: ``(n, C, H, W)``, zero outside the valid area.
    """
    count = valid.sum(dim=(1, 2, 3), keepdim=True) * x.shape[1]
    mean = (x * valid).sum(dim=(1, 2, 3), keepdim=True) / count
    centred = (x - mean) * valid
    var = centred.pow(2).sum(dim=(1, 2, 3), keepdim=True) / count
    out = centred * torch.rsqrt(var + eps)
    return (out * weight[None, :, None, None] + bias[None, :, None, None]) * valid


class HR2ONL(nn.Module):
    """One HR2O_NL block (report §1.2), batched over clips.

    Args:
        channels: channels ``d`` of the first-order maps. Defaults to 512.
        kernel_size: kernel of ``conv_q/k/v`` (and of ``conv`` unless ``mlp_1x1``).
        mlp_1x1: use a 1x1 ``conv`` after the attention (official R101 config).
        dropout: dropout after ``conv``; the official value is 0.2.
    """

    def __init__(self,
                 channels: int = 512,
                 kernel_size: int = 3,
                 mlp_1x1: bool = False,
                 dropout: float = 0.2) -> None:
        super().__init__()
        self.channels = channels
        padding = kernel_size // 2
        self.conv_q = nn.Conv2d(channels, channels, kernel_size, padding=padding, bias=False)
        self.conv_k = nn.Conv2d(channels, channels, kernel_size, padding=padding, bias=False)
        self.conv_v = nn.Conv2d(channels, channels, kernel_size, padding=padding, bias=False)
        self.conv = nn.Conv2d(channels, channels, 1 if mlp_1x1 else kernel_size,
                              padding=0 if mlp_1x1 else padding, bias=False)
        self.norm = nn.GroupNorm(1, channels, affine=True)
        self.dp = nn.Dropout(dropout)

    def forward(self,
                x: Tensor,
                clip_ids: Tensor,
                valid: Optional[Tensor] = None,
                memory: Optional[Tensor] = None,
                memory_clip_ids: Optional[Tensor] = None) -> Tensor:
        """Relate the actors of each clip to each other, or to the clip's memory.

        Args:
            x: ``(n, d, H, W)`` first-order maps of all actors of the batch (zero outside
                ``valid`` when given).
            clip_ids: ``(n,)`` clip index of each actor.
            valid: optional ``(n, 1, H, W)`` float mask of each actor's valid area; None when
                every map is valid everywhere.
            memory: optional ``(m, d, H, W)`` maps giving the keys and values instead of
                ``x`` (ACFB, report §1.3: current actors attend to the bank), zero outside
                their clip's valid area.
            memory_clip_ids: ``(m,)`` clip index of each memory map (with ``memory``).

        Returns:
            Tensor: ``(n, d, H, W)``.
        """
        if memory is None:
            # q, k and v in one convolution (same input, same padding): one pass, not three
            qkv = F.conv2d(x, torch.cat([self.conv_q.weight, self.conv_k.weight,
                                         self.conv_v.weight]), padding=self.conv_q.padding)
            rel = same_clip_attention(*qkv.split(self.channels, dim=1), clip_ids,
                                      self.channels**-0.5)
        else:
            if memory_clip_ids is None or len(memory_clip_ids) != len(memory):
                raise ValueError('HR2ONL: memory needs memory_clip_ids, one per memory map')
            kv = F.conv2d(memory, torch.cat([self.conv_k.weight, self.conv_v.weight]),
                          padding=self.conv_k.padding)
            rel = same_clip_attention(self.conv_q(x), *kv.split(self.channels, dim=1),
                                      clip_ids, self.channels**-0.5, memory_clip_ids)
        if valid is None:
            rel = self.norm(rel)
        else:
            rel = masked_group_norm1(rel, valid, self.norm.weight, self.norm.bias,
                                     self.norm.eps)
        rel = self.dp(self.conv(F.relu(rel)))
        out = x + rel
        return out if valid is None else out * valid
