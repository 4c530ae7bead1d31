"""SE-ResNet audio backbone: mmaction2's ResNetAudio with squeeze-and-excitation in every block.

Qiniu ActivityNet 2018 report (https://arxiv.org/abs/1806.04391), §2.2: MFCC features
of the raw audio trained with SE-ResNet-50 (Table 3, "MFCC + SENet-50"). The residual branch of
each of mmaction2's ``Bottleneck2dAudio`` blocks is recalibrated channel-wise before the
addition, as in SE-ResNet (Hu et al., SENet, Fig. 3), with mmdet's ``SELayer`` (reduction 16).
Input ``(N, 1, T, F)`` (time frames x MFCC/mel bins, mmaction2's ``NCTF`` audio format).
"""
import torch.utils.checkpoint as cp
from mmaction.models.backbones.resnet_audio import Bottleneck2dAudio, ResNetAudio
from mmaction.registry import MODELS
from mmdet.models.layers import SELayer
from torch import Tensor


class SEBottleneck2dAudio(Bottleneck2dAudio):
    """``Bottleneck2dAudio`` with an SE layer on the residual branch (same arguments)."""

    se_ratio = 16

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.se = SELayer(self.planes * self.expansion, ratio=self.se_ratio)

    def forward(self, x: Tensor) -> Tensor:
        """``(N, C_in, T, F) -> (N, 4 planes, T', F')``."""

        def _inner_forward(x):
            out = self.se(self.conv3(self.conv2(self.conv1(x))))
            identity = x if self.downsample is None else self.downsample(x)
            return out + identity

        if self.with_cp and x.requires_grad:
            out = cp.checkpoint(_inner_forward, x, use_reentrant=False)
        else:
            out = _inner_forward(x)
        return self.relu(out)


@MODELS.register_module()
class SEResNetAudio(ResNetAudio):
    """:class:`ResNetAudio` built from :class:`SEBottleneck2dAudio` (same arguments).

    ``(N, 1, T, F) -> (N, 32 * base_channels, T / 8, F / 8)`` for the defaults.
    """

    arch_settings = {
        50: (SEBottleneck2dAudio, (3, 4, 6, 3)),
        101: (SEBottleneck2dAudio, (3, 4, 23, 3)),
        152: (SEBottleneck2dAudio, (3, 8, 36, 3))
    }
