"""Recognition-side modules (Kinetics, Moments in Time) of the Qiniu ActivityNet 2018 report.

Mask non-local and learnable relation blocks, a ResNet3d that hosts them, and the acoustic
models; registered into mmaction2's ``MODELS``.
"""
from .audio_embedding import AudioEmbeddingMLP, VGGishHead
from .learnable_relation import LearnableRelation3d
from .mask_non_local import MaskNonLocal3d
from .resnet3d_relation import ResNet3dRelation
from .se_resnet_audio import SEResNetAudio
from .vggish import VGGish, VGGishPostprocess, load_vggish_weights

__all__ = [
    'AudioEmbeddingMLP', 'LearnableRelation3d', 'MaskNonLocal3d', 'ResNet3dRelation',
    'SEResNetAudio', 'VGGish', 'VGGishHead', 'VGGishPostprocess', 'load_vggish_weights'
]
