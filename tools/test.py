"""Test (and evaluate) a checkpoint with ava_plugins' modules registered.

Same interface as mmaction2's ``tools/test.py``: ``--dump`` writes the raw predictions to a
pickle for offline evaluation and ensembles.
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
    parser = argparse.ArgumentParser(description='Test an AVA action detector')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save evaluation results and logs')
    parser.add_argument('--dump', type=str,
                        help='dump predictions to a pickle file for offline evaluation')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, e.g. test_dataloader.batch_size=2')
    parser.add_argument('--show-dir', help='directory to save visualised predictions')
    parser.add_argument('--show', action='store_true', help='display predictions in a window')
    parser.add_argument('--interval', type=int, default=1, help='visualise every N samples')
    parser.add_argument('--wait-time', type=float, default=2, help='display time (s)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def merge_args(cfg, args):
    """Merge command-line arguments into the config (``--cfg-options`` first, so its keys
    address the config as written, before ``--dump`` turns the evaluator into a list)."""
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.show or args.show_dir is not None:
        vis = cfg.get('default_hooks', {}).get('visualization')
        if vis is None:
            raise KeyError(f'{args.config}: --show/--show-dir need a VisualizationHook in '
                           'default_hooks.visualization')
        vis.update(enable=True, show=args.show, wait_time=args.wait_time,
                   out_dir=args.show_dir, interval=args.interval)
    if args.dump is not None:
        if not args.dump.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--dump {args.dump}: the dump file must end in .pkl or .pickle')
        dump_metric = dict(type='DumpResults', out_file_path=args.dump)
        evaluators = cfg.test_evaluator
        if isinstance(evaluators, (list, tuple)):
            cfg.test_evaluator = [*evaluators, dump_metric]
        else:
            cfg.test_evaluator = [evaluators, dump_metric]
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = merge_args(load_config(args.config), args)
    runner = build_runner(cfg)
    metrics = runner.test()
    return metrics


if __name__ == '__main__':
    sys.exit(cli())
