"""Per-keyframe jobs over rawframes, resumable and sharded: the helpers shared by
``tools/detect_persons.py`` and ``tools/extract_keypoints.py`` (Fujitsu's AVA-Kinetics 2020
pipeline, report "Multi-scale Spatiotemporal Features for Action Localization",
https://research.google.com/ava/challenge.html, Sec. 2.1-2.2: person boxes, then their CPN
keypoints).

Frames: mmaction2's rawframes layout (:mod:`ava_plugins.datasets.rawframes`).

Jobs (:mod:`.jobs`, as every per-video job of the project): each video's result goes
atomically to ``OUT.parts/<video>.pkl`` with the settings (``params``) it was made with; a rerun
skips parts made with the same settings; rank 0 joins the parts into ``OUT`` (atomically) once
all exist and removes them.
"""
import argparse
import os
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence

from ava_eval import read_ava_csv

from ..datasets.rawframes import clip_start, keyframe_path, read_frame  # noqa: F401
from ..utils import InputError
from .jobs import PartStore, run_jobs

__all__ = [
    'PART_FORMAT', 'add_frame_args', 'clip_start', 'keyframe_path', 'list_keyframes',
    'part_path', 'read_ann_keyframes', 'read_frame', 'run_videos'
]

#: Version of the part-file layout, part of every job's ``params``.
PART_FORMAT = 1


def add_frame_args(parser: argparse.ArgumentParser) -> None:
    """Options locating keyframes in a rawframes folder, and the device (the launcher's come
    from :func:`ava_plugins.engine.cli.parse_launcher_args`)."""
    parser.add_argument('--frames', required=True, help='rawframes root: ROOT/<video>/img_*.jpg')
    parser.add_argument('--fps', type=int, default=30, help='frame rate of the rawframes')
    parser.add_argument('--timestamp-start', type=int, default=900,
                        help='second of frame 1 (AVA: 900; Kinetics clips: from their name)')
    parser.add_argument('--timestamp-end', type=int, default=1800,
                        help='end second of AVA videos (only for clip names without range)')
    parser.add_argument('--filename-tmpl', default='img_{:05}.jpg',
                        help='frame file names under FRAMES/<video>/ (default: img_{:05}.jpg)')
    parser.add_argument('--start-index', type=int, default=1, help='index of the first frame')
    parser.add_argument('--device', default=None, help='default: cuda:<local rank> or cpu')


def read_ann_keyframes(path: str) -> Dict[str, List[int]]:
    """``{video: sorted seconds}`` of an AVA annotation CSV (:func:`ava_eval.read_ava_csv`)."""
    table = read_ava_csv(path, is_gt=True)
    out: Dict[str, set] = {}
    for code, stamp in zip(table.video_codes.tolist(), table.timestamps.tolist()):
        out.setdefault(str(table.video_names[code]), set()).add(int(stamp))
    return {v: sorted(t) for v, t in sorted(out.items())}


def list_keyframes(args, default_span: Optional[Sequence[int]] = None) -> Dict[str, List[int]]:
    """``{video: seconds}`` to work on: those of ``args.ann_file`` (an AVA annotation CSV,
    every keyframe must exist), else every second of ``args.timestamps``, or of
    ``default_span``, or of the clip's own range, whose keyframe exists."""
    if not osp.isdir(args.frames):
        raise InputError(f'--frames {args.frames}: not a directory')
    if args.ann_file:
        keys = read_ann_keyframes(args.ann_file)
        missing = [(v, t) for v, ts in keys.items() for t in ts
                   if not osp.isfile(keyframe_path(v, t, args))]
        if missing:
            v, t = missing[0]
            raise InputError(f'{args.ann_file}: {len(missing)} keyframes have no frame under '
                             f'{args.frames}, e.g. {v},{t}: {keyframe_path(v, t, args)} not found')
        return keys
    keys = {}
    for video in sorted(os.listdir(args.frames)):
        if not osp.isdir(osp.join(args.frames, video)):
            continue
        span = args.timestamps or default_span or clip_start(video, args)
        stamps = [t for t in range(span[0], span[1] + 1)
                  if osp.isfile(keyframe_path(video, t, args))]
        if stamps:
            keys[video] = stamps
    if not keys:
        raise InputError(f'--frames {args.frames}: no keyframe found (frame of second t: '
                         f'{args.filename_tmpl} numbered (t - start) * {args.fps} + '
                         f'{args.start_index})')
    return keys


def part_path(out: str, video: str) -> str:
    """Part file of ``video`` for the output ``out`` (:class:`~.jobs.PartStore`)."""
    return PartStore(out).path(video)


def run_videos(out: str, keyframes: Dict[str, Sequence[int]], compute: Callable,
               params: dict, rank: int, world_size: int, desc: str) -> dict:
    """Compute this rank's videos (``compute(video, seconds, tick) -> {key: array}``), each to
    its part of ``out`` (:class:`~.jobs.PartStore`, tagged with ``params``), skipping finished
    parts (:func:`~.jobs.run_jobs`); rank 0 then joins all parts into ``out``.

    Returns ``{"computed": [...], "skipped": [...]}`` video ids of this rank.
    """
    store = PartStore(out)
    store.remove_stale_temporaries()

    def work(video, tick):
        store.save(video, params, compute(video, keyframes[video], tick))

    done = run_jobs(sorted(keyframes), work, lambda v: store.has(v, params), rank=rank,
                    world_size=world_size, desc=desc,
                    weights={v: len(keyframes[v]) for v in keyframes})
    import torch.distributed as dist
    if world_size > 1 and dist.is_available() and dist.is_initialized():
        dist.barrier()  # rank 0 joins once every rank has written its parts
    if rank == 0:
        videos = sorted(keyframes)
        merged = {}
        for part in store.collect(videos, lambda v: params).values():
            merged.update(part)
        store.finish(merged)
    return done
