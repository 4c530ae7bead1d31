"""Evaluate an AVA result CSV: frame-mAP@0.5 (ActivityNet AVA challenge protocol).

Prints the per-class AP table, the three AVA group means and the mAP; optionally writes them
as JSON (``{"mAP": float, "per_class": {"<id>": float or null}, "groups": {...}}``) and a
per-class AP bar chart. The rules are documented in ``ava_eval/frame_ap.py``. It imports only
numpy and the standard library (:mod:`ava_eval`; matplotlib for ``--plot``), not torch.

Example::

    python tools/eval_ava.py data/ava/annotations/ava_val_v2.2.csv results.csv \\
        --label-map data/ava/annotations/ava_action_list_v2.2_for_activitynet_2019.pbtxt \\
        --exclude data/ava/annotations/ava_val_excluded_timestamps_v2.2.csv \\
        --out work_dirs/eval/result.json --plot work_dirs/eval/ap.png
"""
import argparse
import json
import os
import sys
import warnings

# ava_eval (numpy) is imported once the arguments are parsed, so that --help and usage errors
# answer at once.


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('gt_csv', help='ground-truth CSV (video_id,timestamp,x1,y1,x2,y2,'
                        'action_id[,person_id])')
    parser.add_argument('det_csv', help='detection CSV (video_id,timestamp,x1,y1,x2,y2,'
                        'action_id,score)')
    parser.add_argument('--label-map', required=True,
                        help='label map: pbtxt (item { name: "..." id: N }) or "N: name" txt')
    parser.add_argument('--exclude', help='excluded timestamps CSV (video_id,timestamp)')
    parser.add_argument('--official', action='store_true',
                        help='keep only the 50 highest-scoring rows per keyframe, as the '
                        'challenge script (get_ava_performance.py) does')
    parser.add_argument('--ignore-empty-frames', action='store_true',
                        help="skip detections on keyframes without ground truth (mmaction2's "
                        'default; the protocol counts them as false positives)')
    parser.add_argument('--strict', action='store_true',
                        help='refuse box coordinates outside [0, 1] (beyond 1e-3; clipped '
                        'within it) and ground-truth boxes with x2 <= x1 or y2 <= y1; by '
                        'default they are used as given, as the official evaluator uses them, '
                        'and counted in a warning')
    parser.add_argument('--out', help='write the result JSON here')
    parser.add_argument('--plot', help='write the per-class AP bar chart (PNG) here')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from ava_eval import AVAEvalWarning, evaluate_ava, plot_per_class_ap
    from ava_eval.atomic_io import atomic_open
    from ava_eval.errors import InputError
    for path, option in ((args.out, '--out'), (args.plot, '--plot')):
        if path is not None and os.path.isdir(path):  # fail before the evaluation, not after
            raise InputError(f'{option} {path}: is a directory; expected the path of a file')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always', AVAEvalWarning)
        result = evaluate_ava(args.gt_csv, args.det_csv, args.label_map, args.exclude,
                              official=args.official,
                              ignore_empty_frames=args.ignore_empty_frames,
                              strict=args.strict)
    for w in caught:
        print(f'warning: {w.message}', file=sys.stderr)
    print(result.table())
    if args.out:
        with atomic_open(args.out, 'w') as f:
            json.dump(result.to_dict(), f, indent=2)
    if args.plot:
        plot_per_class_ap(result, args.plot)
    return 0


if __name__ == '__main__':
    parse_args()  # --help and usage errors answer before numpy is imported
    from ava_eval.cli import run_cli
    sys.exit(run_cli(main))
