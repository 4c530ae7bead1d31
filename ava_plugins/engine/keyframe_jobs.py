"""Per-keyframe jobs over rawframes, resumable and sharded: the helpers shared by
``tools/detect_persons.py`` and ``tools/extract_keypoints.py`` (Fujitsu's AVA-Kinetics 2020
pipeline, report "Multi-scale Spatiotemporal Features for Action Localization",
https://research.google.com/ava/challenge.html, Sec. 2.1-2.2: person boxes, then their CPN
keypoints).

Frames: mmaction2's rawframes layout ``ROOT/<video_id>/img_00001.jpg``; the keyframe of second
``t`` is frame ``(t - start) * fps + 1`` (``AVADataset``/``SampleAVAFrames``), ``start`` being
``--timestamp-start`` (AVA: 900) or, for AVA-Kinetics clips named ``<youtube_id>_<start>_<end>``,
the clip's start (``AVAKineticsDataset.get_timestamp``).

Jobs: each video's result goes atomically to ``OUT.parts/<video>.pkl`` with the settings
(``params``) it was made with; a rerun skips parts made with the same settings. Videos are
dealt to ranks as ``tools/extract_bank.py`` does; rank 0 joins the parts into ``OUT``
(atomically) once all exist and removes them. ``tools/link_tubes.py`` keeps its per-video
parts with the same :func:`part_path`, :func:`save_part` and :func:`load_part`.
"""
import argparse
import os
import os.path as osp
import pickle
import time
from types import SimpleNamespace
from typing import Callable, Dict, List, Optional, Sequence, Tuple
from urllib.parse import quote

import numpy as np

from ava_plugins.structures.bank_extraction import assign_videos
from ava_plugins.utils import InputError, atomic_open, remove_stale_temporaries

__all__ = [
    'PART_FORMAT', 'add_frame_args', 'clip_start', 'join_parts',
    'keyframe_path', 'list_keyframes', 'load_part', 'part_path', 'read_ann_keyframes',
    'read_frame', 'run_videos', 'save_part'
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


def clip_start(video: str, args) -> Tuple[int, int]:
    """(start, end) seconds of a video, by mmaction2's ``AVAKineticsDataset`` naming rule."""
    from mmaction.datasets import AVAKineticsDataset
    return AVAKineticsDataset.get_timestamp(
        SimpleNamespace(timestamp_start=args.timestamp_start, timestamp_end=args.timestamp_end),
        video)


def keyframe_path(video: str, timestamp: int, args) -> str:
    """Path of the keyframe of second ``timestamp`` of ``video``."""
    start, _ = clip_start(video, args)
    index = (timestamp - start) * args.fps + args.start_index
    return osp.join(args.frames, video, args.filename_tmpl.format(index))


def read_ann_keyframes(path: str) -> Dict[str, List[int]]:
    """``{video: sorted seconds}`` of an AVA annotation CSV (columns video_id, timestamp, ...)."""
    out: Dict[str, set] = {}
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            cols = line.strip().split(',')
            try:
                out.setdefault(cols[0], set()).add(int(cols[1]))
            except (IndexError, ValueError):
                raise InputError(f'{path}, line {lineno}: expected "video_id,timestamp,...", got '
                                 f'{line.strip()!r}') from None
    return {v: sorted(t) for v, t in out.items()}


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


def read_frame(path: str) -> np.ndarray:
    """BGR image ``(H, W, 3)`` of a frame file."""
    import mmcv
    img = mmcv.imread(path)
    if img is None:
        raise InputError(f'{path}: not a readable image')
    return img


def part_path(out: str, video: str) -> str:
    """Part file of ``video`` for the output ``out``."""
    return osp.join(out + '.parts', quote(video, safe='') + '.pkl')


def remove_stale_part_temporaries(out: str) -> None:
    """Remove what writers killed in an earlier run left beside ``out`` and its parts."""
    remove_stale_temporaries(out + '.parts')
    remove_stale_temporaries(osp.dirname(osp.abspath(out)))


def load_part(path: str, params: dict) -> Optional[dict]:
    """A finished part made with ``params``, or None (missing, unreadable or other settings)."""
    try:
        with open(path, 'rb') as f:
            part = pickle.load(f)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError):
        return None
    if not isinstance(part, dict) or part.get('params') != params:
        return None
    return part['result']


def save_part(out: str, video: str, params: dict, result) -> None:
    """Write ``video``'s part of ``out`` (atomically), tagged with the ``params`` it was made
    with."""
    with atomic_open(part_path(out, video), 'wb') as f:
        pickle.dump(dict(params=params, result=result), f, pickle.HIGHEST_PROTOCOL)


def run_videos(out: str, keyframes: Dict[str, Sequence[int]], compute: Callable,
               params: dict, rank: int, world_size: int, desc: str) -> dict:
    """Compute this rank's videos (``compute(video, seconds, tick) -> {key: array}``), each to
    its part, skipping finished parts; rank 0 then joins all parts into ``out``.

    Returns ``{"computed": [...], "skipped": [...]}`` video ids of this rank.
    """
    mine = assign_videos(keyframes, rank, world_size)
    remove_stale_part_temporaries(out)
    todo = [v for v in mine if load_part(part_path(out, v), params) is None]
    done = {'computed': [], 'skipped': [v for v in mine if v not in set(todo)]}
    from tqdm import tqdm
    bar = None
    if rank == 0 and todo:
        print(f'{desc}: {len(todo)} videos to do, {len(done["skipped"])} finished '
              f'(rank 0 of {world_size})')
        bar = tqdm(total=sum(len(keyframes[v]) for v in todo), desc=desc, unit='keyframe')
    for video in todo:
        save_part(out, video, params,
                  compute(video, keyframes[video], bar.update if bar else (lambda: None)))
        done['computed'].append(video)
    if bar:
        bar.close()
    import torch.distributed as dist
    if world_size > 1 and dist.is_available() and dist.is_initialized():
        dist.barrier()  # rank 0 joins once every rank has written its parts
    if rank == 0:
        join_parts(out, sorted(keyframes), params)
    return done


def join_parts(out: str, videos: Sequence[str], params: dict) -> None:
    """Write ``out`` from the parts of ``videos`` (atomically), then remove the parts."""
    merged = {}
    for video in videos:
        for _ in range(60):  # on a shared file system a part may show up late
            part = load_part(part_path(out, video), params)
            if part is not None:
                break
            time.sleep(1)
        else:
            raise RuntimeError(f'{part_path(out, video)}: part of video {video!r} missing; '
                               'rerun to compute it')
        merged.update(part)
    with atomic_open(out, 'wb') as f:
        pickle.dump(merged, f, pickle.HIGHEST_PROTOCOL)
    for video in videos:
        os.remove(part_path(out, video))
    os.rmdir(out + '.parts')
