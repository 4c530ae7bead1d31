"""Capability benchmark: every head of ``configs/synthetic/`` x seeds, mAP per capability group.

    python tools/benchmarks/synthetic_capabilities.py [--configs GLOB ...] [--seeds 0 1 2]
        [--work-dir work_dirs/synthetic_capabilities] [--device cpu|cuda] [--jobs N]
        [--data-root DIR] [--max-epochs E] [--data-settings k=v ...] [--cfg-options k=v ...]

Each head config of ``configs/synthetic/`` (every ``*.py`` there except ``_base_/`` and the
test-time-augmentation ``*_tta.py``; new files are picked up as they appear) is trained once per
seed and evaluated on the validation split with the project's AVA evaluator
(``AVAFrameMetric``, frame-mAP@0.5). The synthetic classes are grouped by the capability that
needs them (:func:`ava_plugins.datasets.synthetic.capability_groups`), so the mean AP of a group
measures a method's claim: the output gives, per head, mAP per group and overall as
mean +- sample std over the seeds, and marks the group(s) the head claims (the config key
``synthetic_claims``) and whether it beats the linear baseline there. A head that does not is
reported as it is, with the difference and whether it lies within the seeds' spread.

Seeds: seed ``s`` changes both the data (the synthetic set is generated with seed ``s``: other
videos, actors, label sequences and detector noise) and the training (mmengine
``randomness.seed = s``: initialisation, sampling order, flips, dropout), so the std covers both.

Prerequisites are declared in the configs (``synthetic_prerequisites``, documented in
``configs/synthetic/_base_/synthetic_ava.py``): a bank written by another trained model
(trained first as a run of the same seed, then ``tools/extract_bank.py``), linked tubes, or
another run's checkpoint to start from (``load_from``). They
are made once per seed in ``WORK_DIR/prerequisites/seed<s>/`` and the run's config is pointed
at them (every string starting with the declared path is re-rooted).

A config that is not a head (e.g. one only used to write a cache) sets
``synthetic_benchmark = False`` and is left out of the table (it can still be a prerequisite).

The plan, runs, statistics and report live in :mod:`ava_plugins.benchmarks`; this file is
their command line.

Outputs in ``--work-dir``: ``runs/<config>/seed<s>/result.json`` (one per run, written
atomically and last: a rerun skips finished runs and redoes one whose config, data settings or
schedule changed), the runs' mmengine logs and checkpoints, ``capabilities.md`` (table) and
``capabilities.png`` (grouped bars with std error bars). ``--jobs N`` runs N tasks at once in
separate processes (for a many-core or GPU machine); their output goes to ``<run>/stdout.log``.
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import DictAction  # imports no torch: CUDA_VISIBLE_DEVICES is set first

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(REPO, 'configs', 'synthetic')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--configs', nargs='+', default=['*'],
                        help='config names or globs in configs/synthetic/ (default: all heads)')
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs',
                                                       'synthetic_capabilities'))
    parser.add_argument('--data-root', default=None,
                        help='where the per-seed datasets go (default WORK_DIR/data)')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument('--jobs', type=int, default=1, help='tasks run at once')
    parser.add_argument('--num-workers', type=int, default=None,
                        help='dataloader workers per run (default: the config\'s)')
    parser.add_argument('--max-epochs', type=int, default=None,
                        help='train every config this many epochs, schedulers stretched '
                        '(default: each config\'s own schedule)')
    parser.add_argument('--baseline', default='linear_slowfast_tiny.py',
                        help='the reference head (always run)')
    parser.add_argument('--config-dir', default=CONFIG_DIR, help=argparse.SUPPRESS)
    parser.add_argument('--data-settings', nargs='+', action=DictAction, default={},
                        metavar='KEY=VALUE',
                        help='synthetic set settings (SyntheticAVAConfig fields, e.g. '
                        'train_videos=4 seconds=20); default: the generator\'s')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        metavar='KEY=VALUE',
                        help='overrides applied to every run, parsed as tools/train.py does')
    parser.add_argument('--report-only', action='store_true',
                        help='only aggregate the finished runs into the table and chart')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the planned tasks (finished or not) and stop')
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error('--jobs must be >= 1')
    if args.max_epochs is not None and args.max_epochs < 1:
        parser.error('--max-epochs must be >= 1')
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.device == 'cpu':
        os.environ['CUDA_VISIBLE_DEVICES'] = ''  # before torch initialises CUDA
    import torch

    from ava_plugins.utils import InputError
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise InputError('--device cuda: torch sees no GPU on this machine')
    from ava_plugins.benchmarks import run_capability_benchmark
    out = run_capability_benchmark(
        args.config_dir, args.configs, args.seeds, args.work_dir, data_root=args.data_root,
        device=args.device, jobs=args.jobs, num_workers=args.num_workers,
        max_epochs=args.max_epochs, baseline=args.baseline, data_settings=args.data_settings,
        cfg_options=args.cfg_options, report_only=args.report_only, dry_run=args.dry_run)
    return 1 if out.get('failed') else out


if __name__ == '__main__':
    from ava_plugins.engine.cli import run_cli
    sys.exit(run_cli(main))
