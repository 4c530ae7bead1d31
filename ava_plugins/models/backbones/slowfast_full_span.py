"""SlowFast whose slow pathway sees frames spread over the whole clip (``slow_full_span``).

mmaction2's :class:`~mmaction.models.ResNet3dSlowFast` gives the slow pathway every
``resample_rate``-th frame (nearest interpolation: 0, 4, ..., 28 of 32). The official ACAR-Net R50
config (github.com/Siyu-C/ACAR-Net, ``configs/AVA/eval_SLOWFAST_R50_ACAR_HR2O.yaml``,
``slow_full_span: True``; ``models/backbones/slowfast.py``) takes the same number of frames,
``T // alpha``, at ``linspace(0, T - 1)`` truncated to integers, so the first and the last frame
are both seen (0, 4, 8, 13, 17, 22, 26, 31 of 32). The fast pathway is unchanged. Parameters, and
therefore checkpoints, are those of ``ResNet3dSlowFast``::

    backbone=dict(type='mmaction.ResNet3dSlowFastFullSpan', slow_full_span=True, ...)
"""
import torch
from mmaction.models import ResNet3dSlowFast
from mmaction.registry import MODELS


def full_span_indices(num_frames: int, rate: int, device=None) -> torch.Tensor:
    """``num_frames // rate`` frame indices from 0 to ``num_frames - 1``, as the official code:
    ``linspace`` (float32) truncated by ``.long()``."""
    return torch.linspace(0, num_frames - 1, num_frames // rate, device=device).long()


@MODELS.register_module()
class ResNet3dSlowFastFullSpan(ResNet3dSlowFast):
    """:class:`ResNet3dSlowFast` with ``slow_full_span`` (default True) choosing the slow frames.

    Input ``(N, 3, T, H, W)``; outputs as ``ResNet3dSlowFast`` (the slow pathway still gets
    ``T // resample_rate`` frames). ``slow_full_span=False`` is ``ResNet3dSlowFast``.
    """

    def __init__(self, *args, slow_full_span: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.slow_full_span = slow_full_span

    def forward(self, x: torch.Tensor) -> tuple:
        if not self.slow_full_span:
            return super().forward(x)
        slow = x.index_select(2, full_span_indices(x.shape[2], self.resample_rate, x.device))
        # The parent's forward subsamples the slow input inline (nearest interpolation) before
        # ``slow_path.conv1``; replacing conv1's input reuses that forward (fast pathway,
        # laterals, stages) as it is instead of restating it.
        hook = self.slow_path.conv1.register_forward_pre_hook(lambda module, args: (slow,))
        try:
            return super().forward(x)
        finally:
            hook.remove()
