"""Official ACAR-Net checkpoints (github.com/Siyu-C/ACAR-Net) in this project's layout.

:func:`convert_checkpoint` (``tools/convert_acar_checkpoint.py IN OUT``) reads IN, a
``torch.save`` file holding either a state dict or a dict with ``state_dict`` (the official
``.pth.tar`` model-zoo files). Official keys look like
``module.backbone.module.slow_res3.4.conv2.weight`` and ``module.head.module.hr2o.0.conv_q.weight``
(the ``module.`` wrappers of DistributedDataParallel are dropped wherever they are). OUT is an
mmengine checkpoint (``{'state_dict': ..., 'meta': ...}``) for mmaction2's ``FastRCNN`` with
``AVARoIHead``, ``ACARHead`` as shared head and ``PoseSoftmaxBBoxHeadAVA`` as bbox head
(``configs/acar_slowfast_*.py``), written atomically.

Head (``ACARHead``/``LinearHead`` of ``models/heads/``), exact:

* ``head.{conv_reduce,conv1,conv2,fc1}.*``, ``head.hr2o.<i>.{conv_q,conv_k,conv_v,conv,norm}.*``
  -> ``roi_head.shared_head.<same>`` (this project keeps the official names);
* ``head.fc2.*`` (ACAR) / ``head.fc.*`` (Linear) -> ``roi_head.bbox_head.fc_cls.*``, with a zero
  row prepended for mmaction2's background column 0 unless ``--no-background``. The official
  columns are the 60 AVA classes in label-map order, i.e. the configs' ``custom_classes``.

Backbone (``models/backbones/slowfast.py``) -> mmaction2's ``ResNet3dSlowFast``:

* ``{slow,fast}_conv1`` / ``_bn1`` -> ``backbone.{slow,fast}_path.conv1.{conv,bn}``;
* ``{slow,fast}_res<k>.<j>.conv<c>`` / ``bn<c>`` -> ``..._path.layer<k>.<j>.conv<c>.{conv,bn}``;
* ``..._res<k>.0.downsample.0`` / ``downsample_bn`` ->
  ``..._path.layer<k>.0.downsample.{conv,bn}``;
* ``Tconv1..4`` (lateral fusions) -> ``backbone.slow_path.{conv1_lateral, layer1_lateral,
  layer2_lateral, layer3_lateral}``: ``.conv`` and, for the R50 config
  (``fuse_only_conv=False``: conv + BN + ReLU), ``.bn``.

Every tensor keeps its shape. What the mapping covers: the weights. It does not make mmaction2's
backbone compute the official function by itself; the config must match the official
architecture: ``dilations=(1, 1, 1, 2)`` and ``spatial_strides=(1, 2, 2, 1)`` on both pathways,
``resample_rate=speed_ratio=4`` on 32-frame input, and ``fusion_kernel=5`` without lateral norm
(official R101 config) or ``fusion_kernel=7, lateral_norm=True`` with the slow pathway's
``slow_full_span`` frames (official R50 config: ``ResNet3dSlowFastFullSpan``); the official input
normalisation (R50: mean 0.45, std 0.225 of [0, 1] RGB; R101: mean [110.6, 103.2, 96.3], std
[38.8, 37.9, 40.0]) must be set in ``data_preprocessor``. The configs
``acar_slowfast_r{50,101}_official_eval.py`` do all this.
"""
import os
import re
from collections import OrderedDict

import torch

from ..utils import InputError, atomic_open

_BACKBONE_RULES = [
    (re.compile(r'(slow|fast)_conv1\.weight'), r'\1_path.conv1.conv.weight'),
    (re.compile(r'(slow|fast)_bn1\.(\w+)'), r'\1_path.conv1.bn.\2'),
    (re.compile(r'(slow|fast)_res(\d)\.(\d+)\.conv(\d)\.weight'),
     r'\1_path.layer\2.\3.conv\4.conv.weight'),
    (re.compile(r'(slow|fast)_res(\d)\.(\d+)\.bn(\d)\.(\w+)'), r'\1_path.layer\2.\3.conv\4.bn.\5'),
    (re.compile(r'(slow|fast)_res(\d)\.(\d+)\.downsample\.0\.weight'),
     r'\1_path.layer\2.\3.downsample.conv.weight'),
    (re.compile(r'(slow|fast)_res(\d)\.(\d+)\.downsample_bn\.(\w+)'),
     r'\1_path.layer\2.\3.downsample.bn.\4'),
]
_LATERAL = {'1': 'conv1_lateral', '2': 'layer1_lateral', '3': 'layer2_lateral',
            '4': 'layer3_lateral'}
_TCONV = re.compile(r'Tconv([1-4])(?:\.0)?\.weight|Tconv([1-4])\.1\.(\w+)')
_HEAD_SHARED = re.compile(r'(conv_reduce|conv1|conv2|fc1)\.weight|hr2o\.\d+\.'
                          r'(conv_q|conv_k|conv_v|conv|norm)\.(weight|bias)')
_HEAD_CLS = re.compile(r'(fc2|fc)\.(weight|bias)')


class ConversionError(InputError):
    """A key or value of the input checkpoint that the converter cannot map."""


def _strip_wrappers(key: str) -> str:
    return '.'.join(p for p in key.split('.') if p != 'module')


def convert_backbone_key(key: str) -> str:
    """Official backbone key (no prefix) -> mmaction2 ``ResNet3dSlowFast`` key (no prefix)."""
    for pattern, repl in _BACKBONE_RULES:
        if pattern.fullmatch(key):
            return pattern.sub(repl, key)
    m = _TCONV.fullmatch(key)
    if m:
        if m.group(1):
            return f'slow_path.{_LATERAL[m.group(1)]}.conv.weight'
        return f'slow_path.{_LATERAL[m.group(2)]}.bn.{m.group(3)}'
    raise ConversionError(f'unknown official backbone key {key!r}')


def convert_state_dict(state: dict, background: bool = True, head_only: bool = False) -> dict:
    """Map an official ACAR-Net state dict to this project's detector keys.

    Args:
        state: official state dict (``module.`` wrappers allowed).
        background: prepend a zero row (and bias entry) to the classifier for mmaction2's
            background column 0.
        head_only: drop the backbone keys.

    Returns:
        OrderedDict: ``{'backbone.*', 'roi_head.shared_head.*', 'roi_head.bbox_head.fc_cls.*'}``.
    """
    out = OrderedDict()
    for raw_key, value in state.items():
        key = _strip_wrappers(raw_key)
        part, _, rest = key.partition('.')
        if part == 'backbone':
            if not head_only:
                out['backbone.' + convert_backbone_key(rest)] = value
        elif part == 'head' and _HEAD_SHARED.fullmatch(rest):
            out['roi_head.shared_head.' + rest] = value
        elif part == 'head' and _HEAD_CLS.fullmatch(rest):
            if background:
                value = torch.cat([value.new_zeros((1, ) + tuple(value.shape[1:])), value])
            out['roi_head.bbox_head.fc_cls.' + rest.split('.')[1]] = value
        else:
            raise ConversionError(f'unknown official key {raw_key!r} (expected '
                                  "'[module.]backbone.[module.]...' or '[module.]head.[module.]"
                                  "{conv_reduce,conv1,conv2,hr2o.<i>.*,fc1,fc2,fc}...')")
    if not any(k.startswith('roi_head.bbox_head.') for k in out):
        raise ConversionError('the checkpoint has no classifier (head.fc2 or head.fc)')
    return out


def load_official(path: str) -> dict:
    """The state dict of an official checkpoint file (plain or under ``state_dict``)."""
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:  # noqa: BLE001  (torch raises many types for a bad file)
        raise ConversionError(f'{path}: not a readable torch checkpoint ({err})') from err
    if isinstance(ckpt, dict) and isinstance(ckpt.get('state_dict'), dict):
        ckpt = ckpt['state_dict']
    if not isinstance(ckpt, dict) or not all(torch.is_tensor(v) for v in ckpt.values()):
        raise ConversionError(f'{path}: expected a state dict of tensors or a dict with '
                              "'state_dict'")
    return ckpt


def convert_checkpoint(src: str, dst: str, background: bool = True,
                       head_only: bool = False) -> dict:
    """Convert the official checkpoint ``src`` into the mmengine checkpoint ``dst`` (written
    atomically); returns the converted state dict."""
    state = convert_state_dict(load_official(src), background=background, head_only=head_only)
    with atomic_open(dst, 'wb') as f:
        torch.save(dict(state_dict=state, meta=dict(converted_from=os.path.basename(src))), f)
    return state
