"""Compatibility fixes for the pinned OpenMMLab stack on today's PyTorch and numpy.

Imported first by ``ava_plugins/__init__.py``; every fix is narrow and idempotent, and each
names the breakage of ``docs/stack_notes.md`` it answers. Nothing in site-packages is
edited. Fixes that belong to the install (mmcv's C++ standard, xtcocotools, chumpy) live in
``tools/setup_env.sh``.

1. mmaction2 1.2.0's PyPI distribution lacks ``mmaction/models/localizers/drn`` (upstream
   mmaction2#2714), so ``import mmaction.models`` fails. DRN is a temporal-grounding model
   unrelated to AVA: when (and only when) the package is missing, a module finder supplies an
   empty ``drn`` package whose ``DRN`` raises a clear error if anyone tries to build it. DRN is
   not registered, so a config naming it fails with mmengine's usual "not in the registry".
2. mmengine 0.10.7 loads checkpoints with ``torch.load`` which, since torch 2.6, defaults to
   ``weights_only=True`` and rejects the numpy objects mmengine's Runner stores in ``meta``
   (mmengine#1655). Exactly those types (numpy arrays, dtypes and scalars, and mmengine's
   ``HistoryBuffer`` of the message hub, whose bound statistics methods pickle through a
   ``getattr`` that is allowed for exactly them) are added to torch's safe globals; everything
   else stays refused.
3. ``mmaction.utils.misc`` uses ``np.Inf``, removed in numpy 2: that module alone is given a
   numpy namespace with the alias (numpy itself is not touched).
4. mmengine resolves ``package::path`` configs only for the OpenMMLab packages it lists, only
   for paths with a sub-folder, and finds an editable install's files in the wrong place.
   ``ava_plugins::REL`` is resolved to ``ava_plugins/.mim/configs/REL`` (which ``setup.py``
   populates at install, as OpenMMLab packages do); every other path goes through mmengine's
   own resolver unchanged.
"""
import importlib.abc
import importlib.machinery
import importlib.util
import os.path as osp
import sys
import types

import numpy as np

_DRN_PACKAGE = 'mmaction.models.localizers.drn'


class _MissingDRN:
    """Stands in for mmaction2's DRN, which its PyPI release does not ship."""

    def __init__(self, *args, **kwargs):
        raise ImportError('mmaction2 1.2.0 from PyPI does not ship mmaction/models/localizers/drn '
                          '(mmaction2#2714); install mmaction2 from source to use DRN.')


class _DRNFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Supplies ``mmaction.models.localizers.drn`` (and ``.drn.drn``) when missing."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname in (_DRN_PACKAGE, _DRN_PACKAGE + '.drn'):
            return importlib.machinery.ModuleSpec(fullname,
                                                  self,
                                                  is_package=fullname == _DRN_PACKAGE)
        return None

    def create_module(self, spec):
        return types.ModuleType(spec.name)

    def exec_module(self, module):
        module.__path__ = [] if module.__name__ == _DRN_PACKAGE else None
        if module.__path__ is None:
            del module.__path__
        module.DRN = _MissingDRN


def _mmaction_lacks_drn() -> bool:
    spec = importlib.util.find_spec('mmaction')
    if spec is None or not spec.submodule_search_locations:
        return False
    root = list(spec.submodule_search_locations)[0]
    return not osp.exists(osp.join(root, 'models', 'localizers', 'drn', '__init__.py'))


def _install_drn_finder():
    if any(isinstance(f, _DRNFinder) for f in sys.meta_path):
        return
    if _mmaction_lacks_drn():
        sys.meta_path.append(_DRNFinder())


def _types_in_mmengine_checkpoints():
    """The non-tensor objects mmengine's Runner pickles into checkpoint ``meta``."""
    from mmengine.logging.history_buffer import HistoryBuffer
    multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
    types_ = [HistoryBuffer, np.ndarray, np.dtype, multiarray._reconstruct, multiarray.scalar]
    # numpy >= 1.25 pickles dtypes through their classes (np.dtypes.Float64DType, ...).
    types_ += [getattr(np.dtypes, name) for name in dir(np.dtypes) if name.endswith('DType')]
    return types_


def _history_buffer_statistic(obj, name):
    """``getattr`` restricted to what mmengine pickles: a HistoryBuffer's statistics methods.

    ``HistoryBuffer.statistics_methods`` holds its methods, which pickle as
    ``getattr(HistoryBuffer, 'mean')``; allowing the real ``getattr`` would open every attribute of
    every allowed object to a checkpoint.
    """
    import pickle

    from mmengine.logging.history_buffer import HistoryBuffer
    # The built-in statistics are registered lazily, by the first HistoryBuffer() created.
    allowed = {'min', 'max', 'current', 'mean', *HistoryBuffer._statistics_methods}
    if obj is not HistoryBuffer or name not in allowed:
        raise pickle.UnpicklingError(
            f'checkpoint asks for getattr({obj!r}, {name!r}); only the statistics '
            'methods of mmengine HistoryBuffer objects are allowed (ava_plugins.compat)')
    return getattr(obj, name)


def _allow_mmengine_checkpoint_types():
    import torch.serialization as ts
    if hasattr(ts, 'add_safe_globals'):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', DeprecationWarning)
            ts.add_safe_globals(_types_in_mmengine_checkpoints() +
                                [(_history_buffer_statistic, 'builtins.getattr')])


def _patch_mmaction_misc_inf():
    try:
        import mmaction.utils.misc as misc
    except ImportError:
        return
    if not hasattr(misc.np, 'Inf'):
        ns = types.SimpleNamespace(
            **{k: getattr(np, k)
               for k in dir(np) if not k.startswith('__')})
        ns.Inf = np.inf
        misc.np = ns


def _resolve_ava_plugins_configs():
    """Resolve ``ava_plugins::REL`` to ``ava_plugins/.mim/configs/REL`` (see item 4)."""
    from mmengine.config import Config
    from mmengine.utils import check_file_exist
    original = Config._get_cfg_path
    if getattr(original, '_ava_plugins', False):
        return
    mim_configs = osp.join(osp.dirname(osp.abspath(__file__)), '.mim', 'configs')

    def get_cfg_path(cfg_path: str, filename: str):
        package, _, rel_path = cfg_path.partition('::')
        if package != 'ava_plugins':
            return original(cfg_path, filename)
        path = osp.join(mim_configs, rel_path)
        check_file_exist(
            path, f'{filename}: config {cfg_path!r} not found at {path} (is '
            'ava_plugins installed with `pip install -e .` / `mim install -e .`?)')
        # Scope None: the configs mean the same as when they are used by file path.
        return path, None

    get_cfg_path._ava_plugins = True
    Config._get_cfg_path = staticmethod(get_cfg_path)


def apply():
    _install_drn_finder()
    _resolve_ava_plugins_configs()
    _allow_mmengine_checkpoint_types()
    _patch_mmaction_misc_inf()


apply()
