"""Late-fuse the video-level scores of several recognisers (RGB, flow, audio) and report accuracy.

Each input is the ``--dump`` of ``tools/test.py`` (a pickle list of data samples with
``pred_score`` and ``gt_label``) on the same split in the same order. The fused score is the
weighted average of :func:`ava_plugins.ensemble.score_fusion.fuse_scores` (Qiniu ActivityNet
2018 report, multi-modal ensembles). Prints top-1 / top-5 / mean class accuracy of every input
and of the fusion; ``--out`` writes the fused samples in the same dump format (atomically).

Example::

    python tools/fuse_recognition.py rgb.pkl flow.pkl audio.pkl --weights 1 1 0.5 \\
        --out work_dirs/fused.pkl
"""
import argparse
import sys

import numpy as np

from ava_plugins.ensemble.score_fusion import (accuracy_report, fuse_scores,
                                               load_recognition_dump)
from ava_plugins.utils import atomic_open


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('dumps', nargs='+', help='tools/test.py --dump pickles, one per model')
    parser.add_argument('--weights', nargs='+', type=float,
                        help='one weight per dump (default: equal weights)')
    parser.add_argument('--apply-softmax', action='store_true',
                        help="softmax each model's scores first (models tested with "
                        "average_clips='score' store logits)")
    parser.add_argument('--topk', nargs='+', type=int, default=[1, 5])
    parser.add_argument('--out', help='write the fused samples (pickle, tools/test.py format)')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.weights is not None and len(args.weights) != len(args.dumps):
        raise SystemExit(f'--weights: {len(args.weights)} weights for {len(args.dumps)} dumps')
    scores, labels = [], None
    for path in args.dumps:
        s, lab = load_recognition_dump(path)
        if labels is None:
            labels = lab
        elif len(lab) != len(labels) or s.shape[1] != scores[0].shape[1]:
            raise SystemExit(f'{path}: {s.shape[0]} samples x {s.shape[1]} classes, but '
                             f'{args.dumps[0]} has {len(labels)} x {scores[0].shape[1]}')
        elif (lab != labels).any():
            i = int(np.flatnonzero(lab != labels)[0])
            raise SystemExit(f'{path}: sample {i} has label {lab[i]} but {args.dumps[0]} has '
                             f'{labels[i]}: dumps must list the same videos in the same order')
        scores.append(s)
    fused = fuse_scores(scores, args.weights, apply_softmax=args.apply_softmax)
    reports = {path: accuracy_report(s, labels, tuple(args.topk))
               for path, s in zip(args.dumps, scores)}
    reports['fused'] = accuracy_report(fused, labels, tuple(args.topk))
    keys = list(reports['fused'])
    width = max(len(name) for name in reports)
    print(f'{"model":<{width}}  ' + '  '.join(f'{k:>19}' for k in keys))
    for name, rep in reports.items():
        print(f'{name:<{width}}  ' + '  '.join(f'{rep[k]:>19.4f}' for k in keys))
    if args.out:
        import pickle

        import torch
        samples = [dict(pred_score=torch.from_numpy(row.astype(np.float32)),
                        pred_label=torch.tensor([int(row.argmax())]),
                        gt_label=torch.tensor([int(lab)])) for row, lab in zip(fused, labels)]
        with atomic_open(args.out, 'wb') as f:
            pickle.dump(samples, f)
    return reports


if __name__ == '__main__':
    sys.exit(0 if main() else 1)
