"""Test (and evaluate) a checkpoint with ava_plugins' modules registered.

Same interface as mmaction2's ``tools/test.py``: ``--dump`` writes the raw predictions to a
pickle for offline evaluation and ensembles. mmaction2's ``--show``/``--show-dir`` are not
offered: its visualisation hook draws no AVA boxes; ``tools/run_demo.py`` writes a GIF of
validation predictions with boxes and labels (:mod:`ava_plugins.visualization`).
"""
import argparse
import sys

import ava_plugins  # noqa: F401  (registers modules, applies compatibility fixes)
from ava_plugins.engine import build_runner
from ava_plugins.engine.cli import (load_config, parse_launcher_args, run_cli,
                                    set_launcher_and_work_dir)
from ava_plugins.utils import InputError
from mmengine.config import DictAction


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Test an AVA action detector',
        epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save evaluation results and logs')
    parser.add_argument('--dump', type=str,
                        help='dump predictions to a pickle file for offline evaluation')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, e.g. test_dataloader.batch_size=2')
    return parse_launcher_args(parser, argv)


def merge_args(cfg, args):
    """Merge command-line arguments into the config (``--cfg-options`` first, so its keys
    address the config as written, before ``--dump`` turns the evaluator into a list)."""
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.dump is not None:
        if not args.dump.endswith(('.pkl', '.pickle')):
            raise InputError(f'--dump {args.dump}: the dump file must end in .pkl or .pickle')
        dump_metric = dict(type='DumpResults', out_file_path=args.dump)
        evaluators = cfg.test_evaluator
        if isinstance(evaluators, (list, tuple)):
            cfg.test_evaluator = [*evaluators, dump_metric]
        else:
            cfg.test_evaluator = [evaluators, dump_metric]
    set_launcher_and_work_dir(cfg, args)
    cfg.load_from = args.checkpoint
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = merge_args(load_config(args.config), args)
    runner = build_runner(cfg)
    metrics = runner.test()
    return metrics


if __name__ == '__main__':
    sys.exit(run_cli(main))
