"""Train a spatio-temporal action detector with ava_plugins' modules registered.

Same interface as mmaction2's ``tools/train.py``; distributed runs pick NCCL or, on machines
without a GPU, gloo (see :mod:`ava_plugins.engine.launch`).
"""
import argparse
import sys

import ava_plugins  # noqa: F401  (registers modules, applies compatibility fixes)
from ava_plugins.engine import build_runner
from ava_plugins.engine.cli import (load_config, parse_launcher_args, run_cli,
                                    set_launcher_and_work_dir)
from mmengine.config import DictAction


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train an AVA action detector',
        epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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
    return parse_launcher_args(parser, argv)


def merge_args(cfg, args):
    """Merge command-line arguments into the config (mmaction2's precedence rules)."""
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    set_launcher_and_work_dir(cfg, args)
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
    sys.exit(run_cli(main))
