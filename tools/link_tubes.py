"""Link mmaction2 AVA person proposals into tubes with dynamic programming.

Implements the linking step of ByteDance AI Lab's multi-second model (AVA challenge 2019 report,
https://research.google.com/ava/challenge.html, Sec. 1.2). Input and output formats, the
linking rule and resuming: :mod:`ava_plugins.engine.tube_linking_job`. The summary says how
many of the slots ``LoadTubeRes4`` samples have no box and will borrow.

Example::

    python tools/link_tubes.py data/ava/ava_dense_proposals_val.FAIR.recall_93.9.pkl \\
        data/ava/tubes_val_T9.pkl --span 9 --workers 2
"""
import argparse
import sys

# ava_plugins (and with it torch and the OpenMMLab stack) is imported once the arguments are
# parsed, so that --help and usage errors answer at once.


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('proposals', help='mmaction2 proposal pkl')
    parser.add_argument('out', help='output pkl of tubes')
    parser.add_argument('--span',
                        type=int,
                        required=True,
                        help='odd number T of keyframes per tube (5 or 9 in the report)')
    parser.add_argument('--lambda',
                        dest='lam',
                        type=float,
                        default=1.0,
                        help='weight of the IoU term of the linking score (default 1.0)')
    parser.add_argument('--min-iou',
                        type=float,
                        default=0.3,
                        help='least IoU between consecutive boxes of a tube (default 0.3)')
    parser.add_argument('--max-gap',
                        type=int,
                        default=None,
                        help='keyframes a tube may skip when no box links; a skipped keyframe '
                        'gets the interpolated box (default: ava_plugins.structures.'
                        'DEFAULT_MAX_GAP, one keyframe, our choice)')
    parser.add_argument('--num-clips',
                        type=int,
                        default=5,
                        help='keyframes LoadTubeRes4 samples per tube, for the summary of '
                        'borrowed slots (default 5, the report\'s)')
    parser.add_argument('--workers',
                        type=int,
                        default=1,
                        help='videos linked in parallel processes (default 1)')
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f'--workers must be >= 1, got {args.workers}')
    if args.num_clips < 1 or args.num_clips % 2 == 0:
        parser.error(f'--num-clips must be odd and >= 1, got {args.num_clips}')
    return args


def main(argv=None):
    args = parse_args(argv)
    from ava_plugins.engine.tube_linking_job import link_proposal_file, slot_summary
    from ava_plugins.structures.tube_linking import DEFAULT_MAX_GAP
    max_gap = DEFAULT_MAX_GAP if args.max_gap is None else args.max_gap
    tubes = link_proposal_file(args.proposals, args.out, args.span, args.lam, args.min_iou,
                               max_gap, workers=args.workers)
    videos = {key.rsplit(',', 1)[0] for key in tubes}
    print(f'linked {sum(len(v) for v in tubes.values())} proposals of {len(videos)} videos '
          f'into tubes of {args.span} keyframes: {args.out}', file=sys.stderr)
    print(slot_summary(tubes, args.span, args.num_clips), file=sys.stderr)


if __name__ == '__main__':
    parse_args()  # --help and usage errors answer before the stack is imported
    from ava_plugins.engine.cli import run_cli
    sys.exit(run_cli(main))
