"""Link a proposal file into tubes, one resumable job per video (``tools/link_tubes.py``).

Input: mmaction2's proposal pkl ``{"video_id,timestamp": ndarray (N, 5) x1, y1, x2, y2, score}``.
Output: ``{"video_id,timestamp": ndarray (N, T, 5)}``: for each proposal, in the same order, its
tube's box and score at keyframes ``t - T//2 .. t + T//2`` (NaN rows where the tube has none;
score NaN alone where a missed detection was bridged by interpolation, ``max_gap``); the
linking rule is :mod:`ava_plugins.structures.tube_linking`'s.

Each video's tubes are a part (:class:`~.jobs.PartStore`) tagged with a fingerprint of its
proposals and the linking parameters, so a rerun reuses matching parts; the output is written
atomically and the parts are removed once it is in place.
"""
import functools
import hashlib
import json
import os.path as osp

import numpy as np
from ava_eval.keyframe_pickles import load_pickle_dict

from ..datasets.transforms.load_tube_res4 import clip_offsets
from ..structures import tube_linking
from ..structures.tube_linking import (DEFAULT_MAX_GAP, check_linking_params, group_by_video,
                                       tube_slot_counts)
from ..utils import InputError
from .jobs import PartStore, run_jobs

#: Version of the part layout, part of every part's parameters.
PART_FORMAT = 1


def _fingerprint(per_video: dict, params: dict) -> str:
    h = hashlib.sha256(json.dumps(params, sort_keys=True).encode())
    for stamp in sorted(per_video):
        key, arr = per_video[stamp]
        h.update(key.encode())
        h.update(str(arr.dtype).encode())
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def _link_one(out: str, video: str, job: tuple, tick) -> None:
    """Link ``video`` (``job``: its proposals by second and its part's parameters) and save
    its part."""
    per_video, params = job
    tubes, _ = tube_linking.link_video({s: a for s, (_, a) in per_video.items()}, params['span'],
                          params['lam'], params['min_iou'], params['max_gap'])
    PartStore(out).save(video, params, {key: tubes[s] for s, (key, _) in per_video.items()})


def link_proposal_file(proposal_file: str, out: str, span: int, lam: float = 1.0,
                       min_iou: float = 0.3, max_gap: int = DEFAULT_MAX_GAP,
                       workers: int = 1) -> dict:
    """Link the proposals of ``proposal_file`` into tubes of ``span`` keyframes, write ``out``.

    Raises:
        InputError: for an unreadable or invalid proposal file, bad linking parameters, or an
            ``out`` that is a directory.

    Returns:
        the tubes ``{"video_id,timestamp": (N, span, 5)}``, in the proposal file's key order.
    """
    proposals = load_pickle_dict(proposal_file, 'proposal')
    try:
        check_linking_params(span, lam, min_iou, max_gap)
    except ValueError as e:
        raise InputError(str(e)) from None
    try:
        videos = group_by_video(proposals)
    except ValueError as e:
        raise InputError(f'{proposal_file}: {e}') from None
    if osp.isdir(out):
        raise InputError(f'{out}: is a directory; expected the path of the output pkl')
    params = dict(span=span, lam=lam, min_iou=min_iou, max_gap=max_gap, format=PART_FORMAT)
    # a part is reused only for the same proposals and linking parameters
    jobs = {v: (videos[v], dict(params, fingerprint=_fingerprint(videos[v], params)))
            for v in videos}
    store = PartStore(out)
    store.remove_stale_temporaries()
    finished = {}  # the parts of an earlier run, read once

    def done(video):
        finished[video] = store.load(video, jobs[video][1])
        return finished[video] is not None

    run_jobs(sorted(jobs), functools.partial(_link_one, out), done, workers=workers,
             desc='linking tubes', inputs=jobs)
    linked = [v for v in sorted(jobs) if finished[v] is None]
    finished.update(store.collect(linked, lambda v: jobs[v][1], wait_s=1))
    tubes = {}
    for video in sorted(jobs):
        tubes.update(finished[video])
    tubes = {key: tubes[key] for key in proposals}
    store.finish(tubes)
    return tubes


def slot_summary(tubes: dict, span: int, num_clips: int) -> str:
    """One line: of the slots ``LoadTubeRes4`` samples (``num_clips`` per tube), how many are
    interpolated and how many have no box (those borrow the nearest valid keyframe's box and
    res4 volume)."""
    columns = clip_offsets(span, num_clips) + span // 2
    c = tube_slot_counts(tubes, columns)
    frac = c['missing'] / max(c['slots'], 1)
    return (f'of {c["slots"]} sampled tube slots ({num_clips} keyframes per proposal): '
            f'{c["interpolated"]} interpolated over a missed detection, {c["missing"]} '
            f'({100 * frac:.1f}%) without a box, borrowed from the nearest valid keyframe')
