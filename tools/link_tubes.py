"""Link mmaction2 AVA person proposals into tubes with dynamic programming.

Implements the linking step of ByteDance AI Lab's multi-second model (AVA challenge 2019 report,
Sec. 1.2); the linking rule is documented in ``ava_plugins/structures/tube_linking.py``.

Input: mmaction2's proposal pkl ``{"video_id,timestamp": ndarray (N, 5) x1, y1, x2, y2, score}``.
Output: ``{"video_id,timestamp": ndarray (N, T, 5)}``: for each proposal, in the same order, its
tube's box and score at keyframes ``t - T//2 .. t + T//2`` (NaN rows where the tube has none;
score NaN alone where a missed detection was bridged by interpolation, ``--max-gap``). The
summary says how many of the slots ``LoadTubeRes4`` samples have no box and will borrow.

Resumable: each video's result is saved (atomically) under ``OUT.pkl.parts/`` together with a
fingerprint of its proposals and the linking parameters; a rerun reuses matching parts. The
output is written atomically and the parts are removed once it is in place.

Example::

    python tools/link_tubes.py data/ava/ava_dense_proposals_val.FAIR.recall_93.9.pkl \\
        data/ava/tubes_val_T9.pkl --span 9 --workers 2
"""
import argparse
import hashlib
import json
import os
import os.path as osp
import pickle
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from tqdm import tqdm

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


def _atomic_pickle(obj, path):
    from ava_plugins.utils import atomic_open
    with atomic_open(path, 'wb') as f:
        pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)


def _fingerprint(per_video, params):
    h = hashlib.sha256(json.dumps(params, sort_keys=True).encode())
    for stamp in sorted(per_video):
        key, arr = per_video[stamp]
        h.update(key.encode())
        h.update(str(arr.dtype).encode())
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def _die_with_parent():
    """Worker initialiser: the kernel kills this worker when the main process dies (Linux
    ``PR_SET_PDEATHSIG``), so a killed run leaves no linking processes behind."""
    import ctypes
    import signal
    try:
        ctypes.CDLL('libc.so.6', use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    except OSError:  # not Linux: workers end when they find the pipe to the parent closed
        pass


def _link_one(job):
    """Link one video and save its part; returns the video id."""
    from ava_plugins.engine.keyframe_jobs import save_part
    from ava_plugins.structures.tube_linking import link_video
    out, video, per_video, params = job
    tubes, _ = link_video({
        s: a
        for s, (_, a) in per_video.items()
    }, params['span'], params['lam'], params['min_iou'], params['max_gap'])
    save_part(out, video, params, {key: tubes[s] for s, (key, _) in per_video.items()})
    return video


def main(argv=None):
    args = parse_args(argv)
    from ava_plugins.engine.keyframe_jobs import (load_part, part_path,
                                                  remove_stale_part_temporaries)
    from ava_plugins.structures.tube_linking import (DEFAULT_MAX_GAP, check_linking_params,
                                                     group_by_video)
    from ava_plugins.utils import InputError
    if args.max_gap is None:
        args.max_gap = DEFAULT_MAX_GAP
    params = dict(span=args.span,
                  lam=args.lam,
                  min_iou=args.min_iou,
                  max_gap=args.max_gap,
                  format=1)
    try:
        with open(args.proposals, 'rb') as f:
            proposals = pickle.load(f)
    except (OSError, pickle.UnpicklingError, EOFError) as e:
        raise InputError(f'{args.proposals}: cannot read the proposal pkl ({e})') from None
    try:
        check_linking_params(args.span, args.lam, args.min_iou, args.max_gap)
    except ValueError as e:
        raise InputError(str(e)) from None
    try:
        videos = group_by_video(proposals)
    except ValueError as e:
        raise InputError(f'{args.proposals}: {e}') from None
    if osp.isdir(args.out):
        raise InputError(f'{args.out}: is a directory; expected the path of the output pkl')

    remove_stale_part_temporaries(args.out)
    results, jobs = {}, []
    for video in sorted(videos):
        # a part is reused only for the same proposals and linking parameters
        video_params = dict(params, fingerprint=_fingerprint(videos[video], params))
        done = load_part(part_path(args.out, video), video_params)
        if done is None:
            jobs.append((args.out, video, videos[video], video_params))
        else:
            results[video] = done

    bar = tqdm(total=len(videos), initial=len(results), unit='video', desc='linking tubes')
    if args.workers == 1:
        for job in jobs:
            _link_one(job)
            bar.update()
    else:
        with ProcessPoolExecutor(args.workers, initializer=_die_with_parent) as pool:
            for _ in pool.map(_link_one, jobs, chunksize=1):
                bar.update()
    bar.close()
    for out_path, video, _, video_params in jobs:
        results[video] = load_part(part_path(out_path, video), video_params)

    out = {}
    for tubes in results.values():
        out.update(tubes)
    out = {key: out[key] for key in proposals}
    out_dir = osp.dirname(osp.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    _atomic_pickle(out, args.out)
    if osp.isdir(args.out + '.parts'):  # no parts when there was no video to link
        shutil.rmtree(args.out + '.parts')
    print(
        f'linked {sum(len(v) for v in out.values())} proposals of {len(videos)} videos into '
        f'tubes of {args.span} keyframes: {args.out}',
        file=sys.stderr)
    print(slot_summary(out, args.span, args.num_clips), file=sys.stderr)


def slot_summary(tubes, span, num_clips):
    """One line: of the slots ``LoadTubeRes4`` samples, how many are interpolated and how many
    have no box (those borrow the nearest valid keyframe's box and res4 volume)."""
    from ava_plugins.datasets.transforms.load_tube_res4 import clip_offsets
    from ava_plugins.structures.tube_linking import tube_slot_counts
    columns = clip_offsets(span, num_clips) + span // 2
    c = tube_slot_counts(tubes, columns)
    frac = c['missing'] / max(c['slots'], 1)
    return (f'of {c["slots"]} sampled tube slots ({num_clips} keyframes per proposal): '
            f'{c["interpolated"]} interpolated over a missed detection, {c["missing"]} '
            f'({100 * frac:.1f}%) without a box, borrowed from the nearest valid keyframe')


if __name__ == '__main__':
    parse_args()  # --help and usage errors answer before the stack is imported
    from ava_plugins.engine.cli import run_cli
    sys.exit(run_cli(main))
