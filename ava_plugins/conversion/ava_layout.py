"""Write videos plus box annotations as the AVA layout the configs read (``AVADataset``).

Under ``OUT`` for a split ``S`` (``train``, ``val``, ...):

* ``rawframes/<video_id>/img_00001.jpg ...``: the video resampled to ``fps`` (frame ``j`` is
  the source frame nearest in time to ``j / fps``), optionally resized to a short side; the
  frame of second ``t`` is ``img_{t * fps + 1:05d}.jpg``, i.e. ``timestamp_start`` 0 (AVA's
  rule with its 900 replaced by 0). ``AVADataset`` has one clip range for all videos
  (``timestamp_end``), so a shorter video's folder is padded to the longest video of the split
  with hard links to its last frame (our choice; ``SampleAVAFrames`` clips at the range's end);
* ``annotations/S.csv``: ``video_id,%04d,x1,y1,x2,y2,action_id,person_id``, normalised boxes
  (3 decimals, as AVA), one row per (box, action);
* ``annotations/S_excluded_timestamps.csv``: empty (add ``video_id,timestamp`` rows to leave
  keyframes out);
* ``annotations/S_proposals.pkl``: ``{"video_id,%04d": (N, 5) float32}`` normalised boxes and
  scores at the annotated keyframes: the mmdet detector's persons, or the ground-truth boxes
  with score 1 when no detector is given;
* ``annotations/action_list.pbtxt`` and ``annotations/label_map.txt``: the class list;
* ``annotations/S_meta.json`` and ``dataset_config.py`` (read by
  ``configs/custom/acar_slowfast_r50_custom.py``): paths, classes, fps and ``timestamp_end``.

Checks, each an error naming the annotation file and line: unknown actions, boxes outside the
frame (by more than 1 px / 1e-3) or with x2 <= x1 or y2 <= y1, seconds outside the video,
missing videos. Resumable: a video's frames carry a record of what made them (source size and
time, fps, short side) and are kept on a rerun with the same settings; the annotation files are
rewritten (atomically) each run.
"""
import json
import os
import os.path as osp
import pickle
import shutil
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ava_plugins.utils import InputError, atomic_open

from .annotation_readers import BoxAnnotation, find_video

FRAME_TMPL = 'img_{:05d}.jpg'
RECORD = '.frames.json'
TOLERANCE_PX, TOLERANCE_NORM = 1.0, 1e-3


def _class_index(classes: Sequence[Tuple[int, str]]) -> Dict[str, int]:
    index = {name: cid for cid, name in classes}
    index.update({str(cid): cid for cid, _ in classes})
    return index


def _frame_count(source, fps: int) -> int:
    return int(np.floor(source.num_frames * fps / float(source.fps) + 1e-9))


def _extract(source, frame_dir: str, fps: int, short_side: Optional[int], tick) -> int:
    """Write ``frame_dir`` from ``source`` (resampled, resized); returns the frame count."""
    import mmcv
    settings = dict(fps=fps, short_side=short_side, source=osp.abspath(source.path),
                    size=osp.getsize(source.path), mtime=os.stat(source.path).st_mtime_ns)
    record = osp.join(frame_dir, RECORD)
    try:
        with open(record) as f:
            done = json.load(f)
        if done.get('settings') == settings:
            tick(source.num_frames)
            return int(done['frames'])
    except (OSError, ValueError):
        pass
    if osp.isdir(frame_dir):
        shutil.rmtree(frame_dir)
    os.makedirs(frame_dir)
    total = _frame_count(source, fps)
    ratio = float(source.fps) / fps
    j = 0
    for i, frame in enumerate(source.frames()):
        while j < total and min(int(round(j * ratio)), source.num_frames - 1) == i:
            img = frame
            if short_side:
                img = mmcv.imrescale(img, (short_side, 10 ** 6) if img.shape[0] <= img.shape[1]
                                     else (10 ** 6, short_side))
            mmcv.imwrite(np.ascontiguousarray(img[:, :, ::-1]),
                         osp.join(frame_dir, FRAME_TMPL.format(j + 1)))
            j += 1
        tick(1)
    if j == 0:
        raise InputError(f'{source.path}: no frame decoded')
    with atomic_open(record, 'w') as f:
        json.dump(dict(settings=settings, frames=j), f)
    return j


def _pad(frame_dir: str, own: int, total: int) -> None:
    """Frames ``own + 1 .. total`` are links to frame ``own``; later ones removed."""
    for name in os.listdir(frame_dir):
        if name.startswith('img_') and int(name[4:9]) > own:
            os.remove(osp.join(frame_dir, name))
    last = osp.join(frame_dir, FRAME_TMPL.format(own))
    for k in range(own + 1, total + 1):
        target = osp.join(frame_dir, FRAME_TMPL.format(k))
        try:
            os.link(last, target)
        except OSError:
            shutil.copyfile(last, target)


def _normalise(a: BoxAnnotation, w: int, h: int) -> np.ndarray:
    box = np.array(a.box, dtype=np.float64)
    if a.normalised:
        lo, hi, tol = 0.0, np.array([1, 1, 1, 1.0]), TOLERANCE_NORM
    else:
        lo, hi, tol = 0.0, np.array([w, h, w, h], np.float64), TOLERANCE_PX
    if (box < lo - tol).any() or (box > hi + tol).any():
        unit = 'normalised' if a.normalised else f'pixels of the {w} x {h} frame'
        raise InputError(f'{a.where}: box {list(a.box)} lies outside the frame ({unit})')
    if box[2] <= box[0] or box[3] <= box[1]:
        raise InputError(f'{a.where}: box {list(a.box)} needs x2 > x1 and y2 > y1')
    if not a.normalised:
        box = box / hi
    return np.clip(box, 0, 1)


def convert_to_ava(annotations: List[BoxAnnotation], videos: str, out: str, split: str,
                   classes: Sequence[Tuple[int, str]], fps: int = 30,
                   short_side: Optional[int] = None, detector=None, det_score_thr: float = 0.5,
                   progress: bool = True) -> dict:
    """Write the AVA layout of one split (module docstring); returns its meta dict."""
    from ava_plugins.apis import VideoSource
    if not osp.isdir(videos):
        raise InputError(f'{videos}: videos folder not found')
    if not split or not split.replace('_', '').isalnum():
        raise InputError(f'split {split!r}: expected a name such as train or val')
    index = _class_index(classes)
    by_video: Dict[str, List[BoxAnnotation]] = OrderedDict()
    files: Dict[str, str] = {}
    for a in annotations:
        unknown = [x for x in a.actions if x not in index]
        if unknown:
            raise InputError(f'{a.where}: unknown action {unknown[0]!r} (not in the class list)')
        if a.second < 0:
            raise InputError(f'{a.where}: second {a.second} < 0')
        path = find_video(videos, a.video, a.where)
        vid = osp.splitext(osp.basename(path))[0]
        if files.setdefault(vid, path) != path:
            raise InputError(f'{a.where}: video id {vid!r} names two files: {files[vid]}, {path}')
        by_video.setdefault(vid, []).append(a)

    sources = {v: VideoSource(p) for v, p in files.items()}
    for vid, anns in by_video.items():  # every check before any work
        src = sources[vid]
        frames = _frame_count(src, fps)
        for a in anns:
            if a.second * fps >= frames:
                raise InputError(f'{a.where}: second {a.second} lies beyond the end of '
                                 f'{src.path} ({src.num_frames / float(src.fps):.2f} s)')
            _normalise(a, src.width, src.height)

    from tqdm import tqdm
    bar = tqdm(total=sum(s.num_frames for s in sources.values()), desc=f'converting {split}',
               unit='frame', disable=not progress)
    counts = {}
    for vid, src in sources.items():
        counts[vid] = _extract(src, osp.join(out, 'rawframes', vid), fps, short_side, bar.update)
    bar.close()
    total = max(counts.values())
    for vid, own in counts.items():
        _pad(osp.join(out, 'rawframes', vid), own, total)

    rows, proposals = [], {}
    if detector is not None:
        from ava_plugins.apis import detect_persons, person_class
        label = person_class(detector)
    for vid, anns in by_video.items():
        src = sources[vid]
        boxes_at: Dict[int, Dict[int, np.ndarray]] = OrderedDict()
        for a in sorted(anns, key=lambda a: (a.second, a.person_id)):
            box = _normalise(a, src.width, src.height)
            boxes_at.setdefault(a.second, {}).setdefault(a.person_id, box)
            for action in a.actions:
                rows.append((vid, a.second, *boxes_at[a.second][a.person_id], index[action],
                             a.person_id))
        for t, persons in boxes_at.items():
            key = f'{vid},{t:04d}'
            if detector is None:
                arr = np.array([[*b, 1.0] for b in persons.values()], np.float32)
            else:
                import mmcv
                img = mmcv.imread(osp.join(out, 'rawframes', vid, FRAME_TMPL.format(t * fps + 1)),
                                  channel_order='rgb')
                det, scores = detect_persons(detector, img, label, det_score_thr)
                arr = np.concatenate([det, scores[:, None]], 1).astype(np.float32)
            if len(arr):
                proposals[key] = arr
    rows = sorted(set(rows), key=lambda r: (r[0], r[1], r[7], r[6]))

    ann = osp.join(out, 'annotations')
    os.makedirs(ann, exist_ok=True)
    with atomic_open(osp.join(ann, f'{split}.csv'), 'w') as f:
        f.writelines(f'{v},{t:04d},{x1:.3f},{y1:.3f},{x2:.3f},{y2:.3f},{c},{p}\n'
                     for v, t, x1, y1, x2, y2, c, p in rows)
    with atomic_open(osp.join(ann, f'{split}_excluded_timestamps.csv'), 'w') as f:
        f.write('')
    with atomic_open(osp.join(ann, f'{split}_proposals.pkl'), 'wb') as f:
        pickle.dump(proposals, f, pickle.HIGHEST_PROTOCOL)
    with atomic_open(osp.join(ann, 'action_list.pbtxt'), 'w') as f:
        f.writelines(f'item {{\n  name: "{name}"\n  id: {cid}\n}}\n' for cid, name in classes)
    with atomic_open(osp.join(ann, 'label_map.txt'), 'w') as f:
        f.writelines(f'{cid}: {name}\n' for cid, name in classes)
    meta = dict(split=split, fps=int(fps), timestamp_start=0, timestamp_end=int(total // fps),
                frames=int(total), videos=sorted(by_video), rows=len(rows),
                keyframes=len({(r[0], r[1]) for r in rows}),
                proposals='detector' if detector is not None else 'ground truth',
                classes={int(c): n for c, n in classes})
    with atomic_open(osp.join(ann, f'{split}_meta.json'), 'w') as f:
        json.dump(meta, f, indent=1)
    write_dataset_config(out, classes)
    return meta


def write_dataset_config(out: str, classes: Sequence[Tuple[int, str]]) -> str:
    """``OUT/dataset_config.py``: the ``custom_*`` keys the custom config template reads."""
    ann = osp.abspath(osp.join(out, 'annotations'))
    ids = [int(c) for c, _ in classes]
    lines = ['"""Written by tools/convert_dataset.py: the dataset, for configs/custom/."""',
             f'custom_data_root = {osp.abspath(out)!r}',
             f'custom_frames = {osp.join(osp.abspath(out), "rawframes")!r}',
             f'custom_label_file = {osp.join(ann, "action_list.pbtxt")!r}',
             f'custom_class_names = {[n for _, n in classes]!r}',
             f'custom_num_classes = {max(ids) + 1}  # background + the largest class id']
    fps_seen = set()
    for split in ('train', 'val', 'test'):
        meta_file = osp.join(ann, f'{split}_meta.json')
        meta = None
        if osp.isfile(meta_file):
            with open(meta_file) as f:
                meta = json.load(f)
            fps_seen.add(meta['fps'])
        lines += [f'custom_{split}_ann_file = {osp.join(ann, split + ".csv")!r}',
                  f'custom_{split}_exclude_file = '
                  f'{osp.join(ann, split + "_excluded_timestamps.csv")!r}',
                  f'custom_{split}_proposal_file = {osp.join(ann, split + "_proposals.pkl")!r}',
                  f'custom_{split}_timestamp_end = {meta["timestamp_end"] if meta else None!r}']
    if len(fps_seen) > 1:
        raise InputError(f'{out}: splits converted at different fps {sorted(fps_seen)}; '
                         'convert them all with the same --fps')
    lines.append(f'custom_fps = {fps_seen.pop() if fps_seen else None!r}')
    path = osp.join(out, 'dataset_config.py')
    with atomic_open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path
