"""Command-line pieces shared by the project's tools.

:func:`run_cli` (defined in the numpy-only :mod:`ava_eval.cli`, so that torch-free tools
use it too): every tool's one error convention: a missing config, a misspelt
``custom_imports`` module, bad AVA data, feature banks, checkpoints or output paths
(:class:`~ava_plugins.utils.InputError`) end in one ``error:`` line naming the file and what
was expected, and exit status 2, instead of a traceback. Also mmaction2's launcher options and
work-directory precedence.
"""
import argparse
import difflib
import importlib
import os
import os.path as osp
import pkgutil
import sys
import warnings
from typing import Optional, Sequence

from mmengine.config import Config

from ava_eval.cli import error_text, run_cli  # noqa: F401  (the tools' runner, numpy-only)
from ava_plugins.utils import InputError


class ConfigError(InputError):
    """The config file is missing or a module of its ``custom_imports`` cannot be imported."""


def load_config(path: str) -> Config:
    """``Config.fromfile`` whose ``custom_imports`` failures name the key and the module.

    mmengine reports a misspelt module as an ``ImportError`` listing ``sys.path``; here the
    error names ``custom_imports.imports``, the module and, if one is close, the right name.
    """
    if not osp.isfile(path):
        raise ConfigError(f'{path}: config file not found')
    cfg = Config.fromfile(path, import_custom_modules=False)
    custom = cfg.get('custom_imports') or {}
    imports = custom.get('imports', [])
    for module in [imports] if isinstance(imports, str) else imports:
        try:
            importlib.import_module(module)
        except ImportError as err:
            if custom.get('allow_failed_imports', False):
                warnings.warn(f'{path}: custom_imports: {module!r} failed to import ({err}); '
                              'skipped (allow_failed_imports=True)', UserWarning)
                continue
            if err.name is not None and module.startswith(err.name):
                known = {m.name for m in pkgutil.iter_modules()} | {
                    m.partition('.')[0] for m in sys.modules}
                close = difflib.get_close_matches(err.name, sorted(known), n=1)
                hint = f'; did you mean {close[0]!r}?' if close else ''
                raise ConfigError(f'{path}: custom_imports.imports: no module named '
                                  f'{err.name!r}{hint}') from None
            raise ConfigError(f'{path}: custom_imports.imports: importing {module!r} '
                              f'failed: {err}') from None
    return cfg


def config_fingerprint(cfg: Config) -> str:
    """Fingerprint of a loaded (and merged) config's content, for settings records."""
    import json

    from ava_plugins.utils import text_fingerprint
    return text_fingerprint(json.dumps(cfg.to_dict(), sort_keys=True, default=repr))


def existing_file(path: str, what: str = 'file') -> str:
    """``path`` if it is a file, else an :class:`InputError` naming it (``what``: e.g.
    ``'checkpoint'``), before a library deep down fails on it."""
    if not osp.isfile(path):
        raise InputError(f'{path}: {what} not found' if not osp.exists(path) else
                         f'{path}: expected a {what} file, found a directory')
    return path


def parse_launcher_args(parser: argparse.ArgumentParser,
                        argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Add mmaction2's ``--launcher`` and ``--local-rank`` to a tool's ``parser``, parse
    ``argv`` and export ``LOCAL_RANK`` (unless the launcher already set it)."""
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help='set by the launcher')
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def set_launcher_and_work_dir(cfg: Config, args: argparse.Namespace) -> None:
    """``cfg.launcher`` from ``--launcher``; ``cfg.work_dir`` from ``--work-dir``, else the
    config's, else ``./work_dirs/<config name>`` (mmaction2's precedence)."""
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
