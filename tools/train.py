"""Train a spatio-temporal action detector with ava_plugins' modules registered.

Same interface as mmaction2's ``tools/train.py``; distributed runs pick NCCL or, on machines
without a GPU, gloo (see :mod:`ava_plugins.engine.launch`).
"""
import argparse
import difflib
import importlib
import os
import os.path as osp
import pkgutil
import sys
import warnings

import ava_plugins  # noqa: F401  (registers modules, applies compatibility fixes)
from ava_plugins.engine import build_runner
from ava_plugins.evaluation import AVAInputError
from ava_plugins.structures import FeatureBankError
from mmengine.config import Config, DictAction


class ConfigError(ValueError):
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


def _error_text(err: BaseException) -> str:
    """The message of ``err``; for an error re-raised from a dataloader worker (its message
    holds the worker's traceback) the original error's last line."""
    text = str(err)
    if 'Traceback (most recent call last)' in text:
        last = text.rstrip().splitlines()[-1]
        text = last.split(': ', 1)[1] if ': ' in last else last
    return text


def cli(argv=None) -> int:
    """Command-line entry: a bad config or bad data ends in one ``error:`` line naming the
    file and what was expected, and exit status 2, instead of a traceback."""
    try:
        main(argv)
    except ConfigError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    except (AVAInputError, FeatureBankError) as err:
        print(f'error: {_error_text(err)}', file=sys.stderr)
        return 2
    return 0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train an AVA action detector')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the given checkpoint, or (without a value) from the latest '
        'checkpoint in the work directory')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument('--no-validate', action='store_true',
                        help='do not evaluate checkpoints during training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by the actual total batch size')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument('--diff-rank-seed', action='store_true',
                        help='use a different seed on each rank')
    parser.add_argument('--deterministic', action='store_true',
                        help='deterministic cuDNN / algorithms')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, e.g. train_cfg.max_epochs=2 '
        'optim_wrapper.optimizer.lr=0.01')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def merge_args(cfg, args):
    """Merge command-line arguments into the config (mmaction2's precedence rules)."""
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise ValueError(f'--amp does not support the optimizer wrapper {wrapper!r} '
                             f'of {args.config}')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if cfg.get('randomness', None) is None:
        cfg.randomness = dict(seed=args.seed, diff_rank_seed=args.diff_rank_seed,
                              deterministic=args.deterministic)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = merge_args(load_config(args.config), args)
    runner = build_runner(cfg)
    runner.train()
    return runner


if __name__ == '__main__':
    sys.exit(cli())
