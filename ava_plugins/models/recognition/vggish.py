"""The VGGish network (Hershey et al., "CNN Architectures for Large-Scale Audio
Classification", ICASSP 2017, https://arxiv.org/abs/1609.09430) and its PCA post-processing.

Qiniu ActivityNet 2018 report (https://arxiv.org/abs/1806.04391), §2.2: "We use the raw audio
as input into the pre-trained VGGish model[6][4], and extract n x 128 dimension features to do
classification (n is the length of audio)." Restated from the AudioSet release's
``vggish_slim.py`` / ``vggish_postprocess.py``: on a ``96 x 64`` log-mel example (frames x mel
bands, :mod:`.vggish_frontend`), 3x3 convolutions (stride 1, same padding, ReLU) of 64 | pool |
128 | pool | 256, 256 | pool | 512, 512 | pool (2x2 max pooling, stride 2) give ``512 x 6 x 4``,
flattened in TensorFlow's (frames, bands, channels) order, then fully connected 4096, 4096
(ReLU) and the 128-d embedding. The embedding layer had a ReLU in the release of the report's
time (2017-2018) and in the widely used PyTorch port harritaylor/torchvggish, and has none in
today's TensorFlow code (``final_relu``). The optional post-processing is the AudioSet release's
PCA (with whitening), clipping to [-2, 2] and 8-bit quantisation to integers 0..255 (as floats).

Weights cannot be downloaded here; :func:`load_vggish_weights` loads a checkpoint converted to
torchvggish's layout: ``features.{0,3,6,8,11,13}.{weight,bias}`` (the six convolutions),
``embeddings.{0,2,4}.{weight,bias}`` (the three fully connected layers) and, for the
post-processing, ``pproc.pca_eigen_vectors`` ``(128, 128)`` / ``pproc.pca_means`` ``(128, 1)``
in the same file or, in a separate PCA file (torchvggish's ``.pth`` or the release's ``.npz``),
``pca_eigen_vectors`` / ``pca_means`` (``(128,)`` or ``(128, 1)``).
"""
import os.path as osp
from typing import Optional

import numpy as np
import torch
import torch.nn as nn
from mmaction.registry import MODELS
from torch import Tensor

from ava_plugins.utils import InputError

from .vggish_frontend import EXAMPLE_FRAMES, NUM_BANDS

EMBEDDING_SIZE = 128
QUANTIZE_MIN, QUANTIZE_MAX = -2.0, 2.0
CONV_WIDTHS = (64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M')


class VGGishPostprocess(nn.Module):
    """PCA + whitening, clip to [-2, 2], quantise to 0..255: ``(n, 128) -> (n, 128)``.

    Buffers ``pca_eigen_vectors`` ``(128, 128)`` and ``pca_means`` ``(128, 1)`` (torchvggish's
    names and shapes); ``pca = E (x^T - means)``, ``round((clip(pca) + 2) * 255 / 4)``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer('pca_eigen_vectors', torch.eye(EMBEDDING_SIZE))
        self.register_buffer('pca_means', torch.zeros(EMBEDDING_SIZE, 1))

    def forward(self, embeddings: Tensor) -> Tensor:
        pca = (self.pca_eigen_vectors @ (embeddings.t() - self.pca_means)).t()
        clipped = pca.clamp(QUANTIZE_MIN, QUANTIZE_MAX)
        return torch.round((clipped - QUANTIZE_MIN) * (255.0 / (QUANTIZE_MAX - QUANTIZE_MIN)))


@MODELS.register_module()
class VGGish(nn.Module):
    """VGGish: ``(N, 1, 96 k, 64)`` log-mel (``NCTF``, k examples per clip) -> ``(N, 128, k)``.

    As a backbone of mmaction2's ``RecognizerAudio`` its output is what :class:`VGGishHead`
    pools over time; :meth:`embed` maps ``(n, 96, 64)`` examples to ``(n, 128)`` embeddings.

    Args:
        final_relu: ReLU on the embedding layer (True: the 2017-2018 release and torchvggish;
            False: today's TensorFlow code).
        postprocess: apply :class:`VGGishPostprocess` (the AudioSet release's embeddings).
        checkpoint: a torchvggish-layout state dict loaded by :meth:`init_weights`.
        pca_params: a separate PCA file for ``postprocess`` (see the module docstring).
        frozen: keep the network in eval mode without gradients (a fixed feature extractor).
    """

    def __init__(self,
                 final_relu: bool = True,
                 postprocess: bool = False,
                 checkpoint: Optional[str] = None,
                 pca_params: Optional[str] = None,
                 frozen: bool = False) -> None:
        super().__init__()
        layers, width = [], 1
        for v in CONV_WIDTHS:
            if v == 'M':
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(width, v, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
                width = v
        self.features = nn.Sequential(*layers)
        fc = [nn.Linear(512 * 6 * 4, 4096), nn.ReLU(inplace=True), nn.Linear(4096, 4096),
              nn.ReLU(inplace=True), nn.Linear(4096, EMBEDDING_SIZE)]
        if final_relu:
            fc.append(nn.ReLU(inplace=True))
        self.embeddings = nn.Sequential(*fc)
        self.pproc = VGGishPostprocess() if postprocess else None
        self.checkpoint, self.pca_params, self.frozen = checkpoint, pca_params, frozen
        if pca_params is not None and not postprocess:
            raise ValueError('VGGish: pca_params given but postprocess=False')
        self.feat_dim = EMBEDDING_SIZE

    def init_weights(self) -> None:
        """Load ``checkpoint`` / ``pca_params`` if given; otherwise keep PyTorch's default
        initialisation (ours: the release initialises with a 0.01-std normal)."""
        if self.checkpoint is not None or self.pca_params is not None:
            load_vggish_weights(self, self.checkpoint, self.pca_params)
        self._freeze()

    def _freeze(self) -> None:
        if self.frozen:
            self.eval()
            for p in self.parameters():
                p.requires_grad = False

    def train(self, mode: bool = True) -> 'VGGish':
        super().train(mode and not self.frozen)
        return self

    def embed(self, examples: Tensor) -> Tensor:
        """``(n, 96, 64)`` or ``(n, 1, 96, 64)`` log-mel examples -> ``(n, 128)``."""
        x = examples if examples.dim() == 4 else examples[:, None]
        if tuple(x.shape[1:]) != (1, EXAMPLE_FRAMES, NUM_BANDS):
            raise ValueError(f'VGGish: expected (n, 1, {EXAMPLE_FRAMES}, {NUM_BANDS}) examples, '
                             f'got {tuple(examples.shape)}')
        x = self.features(x)  # (n, 512, 6, 4)
        x = self.embeddings(x.permute(0, 2, 3, 1).flatten(1))  # TF order: frames, bands, chans
        return x if self.pproc is None else self.pproc(x)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != 1 or x.shape[-1] != NUM_BANDS \
                or x.shape[2] % EXAMPLE_FRAMES:
            raise ValueError(f'VGGish: expected (N, 1, 96 k, {NUM_BANDS}) log-mel clips, got '
                             f'{tuple(x.shape)}')
        n, k = x.shape[0], x.shape[2] // EXAMPLE_FRAMES
        emb = self.embed(x.reshape(n * k, 1, EXAMPLE_FRAMES, NUM_BANDS))
        return emb.reshape(n, k, EMBEDDING_SIZE).transpose(1, 2)


def _numpy_array_globals() -> list:
    """What ``torch.load(weights_only=True)`` must allow to read pickled numpy arrays (a PCA
    file may hold them), under numpy 2's and numpy 1's module names; nothing executable."""
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct
    allowed = [np.ndarray, np.dtype, (_reconstruct, 'numpy._core.multiarray._reconstruct'),
               (_reconstruct, 'numpy.core.multiarray._reconstruct')]
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        allowed += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')]
    return allowed


def _read_state(path: str) -> dict:
    if not osp.isfile(path):
        raise InputError(f'{path}: no such VGGish checkpoint / PCA file')
    if path.endswith('.npz'):
        with np.load(path) as npz:
            return {k: torch.from_numpy(npz[k]) for k in npz.files}
    try:
        with torch.serialization.safe_globals(_numpy_array_globals()):
            state = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as e:  # pickle / zip errors of a file that is not a state dict
        raise InputError(f'{path}: not a PyTorch state dict ({type(e).__name__}: {e})') from e
    if isinstance(state, dict) and isinstance(state.get('state_dict'), dict):
        state = state['state_dict']  # an mmengine checkpoint
    if not isinstance(state, dict):
        raise InputError(f'{path}: expected a state dict, got {type(state).__name__}')
    return {k: torch.as_tensor(v) for k, v in state.items()}


def load_vggish_weights(model: VGGish, checkpoint: Optional[str] = None,
                        pca_params: Optional[str] = None) -> None:
    """Load torchvggish-layout weights (and PCA parameters) into ``model``, strictly.

    ``checkpoint`` must hold every ``features.*`` / ``embeddings.*`` tensor with its shape;
    ``pproc.*`` keys in it are used when ``model`` post-processes (unless ``pca_params`` is
    given) and ignored otherwise; a
    ``backbone.`` prefix (an mmaction2 recognizer's) is stripped. Anything missing, extra or of
    the wrong shape is an :class:`InputError` naming the file and the keys.
    """
    if checkpoint is not None:
        state = _read_state(checkpoint)
        if state and all(k.startswith('backbone.') for k in state):
            state = {k[len('backbone.'):]: v for k, v in state.items()}
        pca = {k[len('pproc.'):]: v for k, v in state.items() if k.startswith('pproc.')}
        net = {k: v for k, v in state.items() if not k.startswith('pproc.')}
        _load_strict(model, net, checkpoint, skip_prefix='pproc.')
        if model.pproc is not None and pca_params is None:
            if not pca:
                raise InputError(f'{checkpoint}: no pproc.pca_eigen_vectors / pproc.pca_means '
                                 'for the VGGish post-processing; give the PCA file too')
            _load_pca(model.pproc, pca, checkpoint)
    if pca_params is not None:
        if model.pproc is None:
            raise ValueError('load_vggish_weights: pca_params given to a model without '
                             'postprocess')
        _load_pca(model.pproc, _read_state(pca_params), pca_params)


def _load_strict(module: nn.Module, state: dict, path: str, skip_prefix: str) -> None:
    own = {k: v for k, v in module.state_dict().items() if not k.startswith(skip_prefix)}
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    if missing or extra:
        raise InputError(f'{path}: not a VGGish checkpoint in torchvggish layout (missing keys '
                         f'{missing[:4]}{"..." if len(missing) > 4 else ""}, unexpected keys '
                         f'{extra[:4]}{"..." if len(extra) > 4 else ""})')
    for k, v in own.items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise InputError(f'{path}: key {k} has shape {tuple(state[k].shape)}, VGGish needs '
                             f'{tuple(v.shape)}')
    module.load_state_dict(state, strict=False)


def _load_pca(pproc: VGGishPostprocess, state: dict, path: str) -> None:
    try:
        vectors, means = state['pca_eigen_vectors'], state['pca_means']
    except KeyError as e:
        raise InputError(f'{path}: no {e.args[0]!r} (VGGish PCA parameters need '
                         "'pca_eigen_vectors' and 'pca_means')") from None
    if tuple(vectors.shape) != (EMBEDDING_SIZE, EMBEDDING_SIZE) or means.numel() != EMBEDDING_SIZE:
        raise InputError(f'{path}: PCA shapes {tuple(vectors.shape)} / {tuple(means.shape)}, '
                         f'need ({EMBEDDING_SIZE}, {EMBEDDING_SIZE}) / ({EMBEDDING_SIZE}, 1)')
    pproc.pca_eigen_vectors.copy_(vectors.float())
    pproc.pca_means.copy_(means.float().reshape(EMBEDDING_SIZE, 1))
