"""Write the synthetic AVA dataset (the project's embedded default; see
``ava_plugins/datasets/synthetic/generator.py`` for what its classes test).

Example: ``python tools/make_synthetic_ava.py --out data/synthetic_ava --seed 0``
"""
import argparse
import json
import os.path as osp
import sys
import time

from ava_plugins.datasets.synthetic import (SyntheticAVAConfig, generate_synthetic_ava,
                                            proposal_recall)
from ava_plugins.engine.cli import run_cli
from ava_plugins.utils import InputError


def parse_args(argv=None):
    d = SyntheticAVAConfig()
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', required=True, help='output folder (AVA layout)')
    p.add_argument('--seed', type=int, default=0, help='random seed of the whole set')
    p.add_argument('--videos', type=int, default=d.train_videos, help='training videos')
    p.add_argument('--val-videos', type=int, default=d.val_videos, help='validation videos')
    p.add_argument('--seconds', type=int, default=d.seconds, help='length of each video')
    p.add_argument('--fps', type=int, default=d.fps, help='frames per second')
    p.add_argument('--size', type=int, default=d.size, help='frame height in px (width 16:9)')
    p.add_argument('--actors', type=int, nargs=2, default=d.actors, metavar=('MIN', 'MAX'),
                   help='actors per video, drawn uniformly in [MIN, MAX]')
    p.add_argument('--miss-rate', type=float, default=d.miss_rate,
                   help='fraction of persons the simulated detector misses')
    p.add_argument('--fp-per-frame', type=float, default=d.fp_per_frame,
                   help='mean false-positive proposals per keyframe')
    p.add_argument('--timestamp-start', type=int, default=d.timestamp_start,
                   help='second of the first frame (AVA: 900)')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    settings = dict(train_videos=args.videos, val_videos=args.val_videos, seconds=args.seconds,
                    fps=args.fps, size=args.size, actors=tuple(args.actors),
                    miss_rate=args.miss_rate, fp_per_frame=args.fp_per_frame,
                    timestamp_start=args.timestamp_start)
    if osp.exists(args.out) and not osp.isdir(args.out):
        raise InputError(f'--out {args.out}: is a file; expected a folder (new or to overwrite)')
    start = time.time()
    try:
        paths = generate_synthetic_ava(args.out, args.seed, **settings)
    except ValueError as e:
        raise InputError(f'make_synthetic_ava: {e}') from None
    summary = dict(seconds=round(time.time() - start, 1))
    for split in ('train', 'val'):
        summary[f'{split}_proposal_recall_iou50'] = round(
            proposal_recall(paths[f'{split}_csv'], paths[f'{split}_proposals']), 3)
    print(json.dumps(dict(paths=paths, summary=summary), indent=1))


if __name__ == '__main__':
    sys.exit(run_cli(main))
