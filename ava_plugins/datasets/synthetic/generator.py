"""Synthetic AVA: a dataset in AVA's exact on-disk formats whose classes test capabilities.

Nothing of AVA can be downloaded here, so this generator writes a small stand-in that
mmaction2's ``AVADataset``, ``SampleAVAFrames``, ``RawFrameDecode`` and ``AVAMetric`` read
unchanged: rawframes ``rawframes/<video_id>/img_00001.jpg`` (frame ``k`` shows time
``(k - 1) / fps`` s after ``timestamp_start``, as AVA's extracted frames start at second 900),
annotation and excluded-timestamp CSVs, label maps, dense proposals and keypoints. Figures
with a head, a body and two arms act over a textured background with a table, a plant and a
screen. Each class group is built so that the module claiming the capability has the
information and the linear baseline (SlowFast features of a clip of at most 1 s around the
keyframe, RoIAlign inside the actor's box, temporal average pooling, linear classifier; ACAR-Net
report, "Linear" baseline) does not. Notation: a label at AVA timestamp ``t`` is a function of
the script of second ``t`` (the frames with time in ``[t - 0.5, t + 0.5)``) unless stated.

* pose (1 stand, 2 walk, 3 jump, 4 sit): exactly one per actor per second, drawn as runs of
  2-5 s; visible in the box (shape and motion of the whole figure). They are mutually
  exclusive by construction, which a pose-softmax loss assumes (SJTU report Sec. 3, "one
  and only one pose action"; ACAR-Net report Sec. 2.1) and independent sigmoids do not use.
* actor (5 talk, 6 wave, 7 clap): visible inside the actor's own box; sanity classes that
  every head, the baseline included, should learn.
* interaction (8 listen to): positive iff the actor does not talk and another actor on the
  side it faces talks. Inside its own box an actor shows only its facing, its mouth and
  (through the background behind it) roughly where it stands; whether a faced actor talks
  is drawn independently of all of that, so a classifier of the box's pixels can at best
  learn the prior "some actor might be on the faced side", never whether one talks. A
  relation module over actors and context (ACAR-Net report Sec. 1.2, HR2O) sees the
  listener's facing and the talker's mouth together. The baseline's only route is
  receptive-field leakage into the RoI features, with no actor-to-actor reasoning.
* scene (9 watch screen): positive iff the screen is on, the actor faces the screen's side
  and stands or sits. The screen lies in the top 20 % of the frame and no actor box reaches
  it (boxes start at least 25 % of the height down), so no RoI contains it; its on/off state
  (on about half the time) and its side are drawn independently of the actors, so box-only
  information cannot do better than the on-rate among still actors. A global branch over the
  whole frame (SJTU report Sec. 3, "Global Loss") sees the screen; the RoI-only baseline
  only through receptive-field leakage.
* long_term (10 clapped 6-20 s ago): each actor claps once (an unmistakable 1 s event: arms
  up, torso flashing white); the class is positive iff ``t - e`` is in ``long_term_gap``
  (default 6..20 s) for the clap second ``e``. The clap then ends at least 5 s before the
  start of any clip of at most 1 s around ``t``, and nothing in the script after the clap
  depends on it, so the clip's pixels are independent of the label: the baseline is at
  chance. A feature bank over +-20 s (LFB in SJTU report Sec. 3, "Long-Term Feature
  Operation"; ACFB, ACAR-Net report Sec. 1.3) holds the clap in the actor's past features;
  multi-second tubes (ByteDance report, multi-second training) reach it when their span
  covers the gap.
* arm (11 tap): the front forearm, held forward and still in an otherwise still (standing
  or sitting) body, oscillates at 4 Hz by +-0.04 figure heights. Half the arm-forward
  seconds are taps and half are still, so the arm posture itself is uninformative; what
  differs is a zero-mean motion of about 1 px at the network input (64-96 px), far below
  one cell of the baseline's stride-16 feature map and averaged away by its temporal
  pooling. Arm-region RoIs from the elbow and wrist keypoints (Fujitsu report, arm action
  detection) see it at full resolution. This is the one group where the baseline has the
  information in principle but not at its resolution; the benchmark measures the gap.

Proposals and keypoints: see :mod:`.proposals`. Class ids and groups: :mod:`.classes`.
Videos are drawn from ``numpy.random.default_rng([seed, split, index])``, so a video does not
change when more videos are asked for, and the same seed gives the same bytes.
"""
import json
import os
import os.path as osp
from typing import Dict, List

import numpy as np

from .classes import SYNTHETIC_CLASSES, capability_groups
from .config import SyntheticAVAConfig
from .figure import HEAD, figure_boxes, figure_points
from ...structures.boxes import elementwise_iou
from .proposals import make_proposals
from .render import render_frames
from .scene import sample_video
from .writer import (atomic_write_bytes, write_annotation_csv, write_excluded_csv,
                     write_frames, write_label_maps, write_pickle)

_SPLITS = {'train': 0, 'val': 1}
#: Keyframes where two persons overlap this much (one hides the other) are excluded, as AVA
#: excludes keyframes it cannot annotate clearly.
EXCLUDE_IOU = 0.5
_RENDER_CHUNK = 64


def synthetic_ava_files(out_dir: str) -> Dict[str, str]:
    """The paths :func:`generate_synthetic_ava` writes under ``out_dir`` (no I/O)."""
    ann = osp.join(out_dir, 'annotations')
    paths = dict(
        root=out_dir,
        rawframes=osp.join(out_dir, 'rawframes'),
        annotations=ann,
        label_map=osp.join(ann, 'ava_action_list_synthetic.pbtxt'),
        label_map_txt=osp.join(ann, 'ava_label_map_synthetic.txt'),
        meta=osp.join(ann, 'synthetic_ava_meta.json'))
    for split in _SPLITS:
        paths[f'{split}_csv'] = osp.join(ann, f'ava_{split}_synthetic.csv')
        paths[f'{split}_excluded'] = osp.join(
            ann, f'ava_{split}_excluded_timestamps_synthetic.csv')
        paths[f'{split}_proposals'] = osp.join(ann, f'ava_dense_proposals_{split}.synthetic.pkl')
        paths[f'{split}_keypoints'] = osp.join(ann, f'ava_keypoints_{split}.synthetic.pkl')
    return paths


def generate_synthetic_ava(out_dir: str, seed: int = 0, **settings) -> Dict[str, str]:
    """Write the synthetic AVA dataset under ``out_dir``; returns :func:`synthetic_ava_files`.

    ``settings`` are :class:`SyntheticAVAConfig` fields (videos, seconds, fps, size, ...).
    The same ``seed`` and settings give byte-identical files.
    """
    cfg = SyntheticAVAConfig.from_kwargs(**settings)
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f'seed must be a non-negative integer, got {seed!r}')
    paths = synthetic_ava_files(out_dir)
    os.makedirs(paths['rawframes'], exist_ok=True)
    write_label_maps(paths['label_map'], paths['label_map_txt'], SYNTHETIC_CLASSES)
    videos = {}
    for split, code in _SPLITS.items():
        n = cfg.train_videos if split == 'train' else cfg.val_videos
        ids = [f'{split}_{i:03d}' for i in range(n)]
        parts = [_generate_video(np.random.default_rng([int(seed), code, i]), cfg, vid, paths)
                 for i, vid in enumerate(ids)]
        _write_split(paths, split, parts)
        videos[split] = ids
    meta = dict(seed=int(seed), config=cfg.to_dict(), fps=cfg.fps,
                timestamp_start=cfg.timestamp_start, timestamp_end=cfg.timestamp_end,
                total_frames=cfg.total_frames, filename_tmpl='img_{:05}.jpg', start_index=1,
                classes={c.id: c.name for c in SYNTHETIC_CLASSES},
                groups=capability_groups(), videos=videos,
                files={k: osp.relpath(v, out_dir) for k, v in paths.items() if k != 'root'})
    atomic_write_bytes(paths['meta'], json.dumps(meta, indent=1, sort_keys=True).encode())
    return paths


def _generate_video(rng: np.random.Generator, cfg: SyntheticAVAConfig, video_id: str,
                    paths: Dict[str, str]) -> dict:
    """Sample, render and annotate one video; returns its rows, proposals and keypoints."""
    script = sample_video(rng, cfg, video_id)
    tau = np.arange(cfg.total_frames) / cfg.fps
    frames = (frame for i in range(0, len(tau), _RENDER_CHUNK)
              for frame in render_frames(script, tau[i:i + _RENDER_CHUNK]))
    write_frames(osp.join(paths['rawframes'], video_id), frames, cfg.jpeg_quality)

    seconds = np.arange(2, cfg.seconds - 1)  # AVA annotates 902..1798 of [900, 1800)
    points = figure_points(script, seconds.astype(np.float64))  # (A, S, 18, 2)
    scale = np.array([cfg.width, cfg.size] * 2, np.float64)
    boxes = np.round(np.clip(figure_boxes(points, script.height) / scale, 0, 1), 3)
    kps = np.clip(points[:, :, :HEAD] / scale[:2], 0, 1)
    A, S = boxes.shape[:2]
    iou = elementwise_iou(boxes[:, None], boxes[None, :])  # (A, A, S)
    iou[np.arange(A), np.arange(A)] = 0
    occlusion = iou.max(axis=1)  # (A, S)
    excluded = occlusion.max(axis=0) > EXCLUDE_IOU  # (S,)
    labels = script.labels()[:, seconds]  # (A, S, K)

    # Person-major arrays in (second, actor) order, like AVA's CSVs.
    sec = np.repeat(seconds, A)
    actor = np.tile(np.arange(A), S)
    flat = (actor, sec - 2)
    timestamps = cfg.timestamp_start + sec
    keys = [f'{video_id},{t:04d}' for t in cfg.timestamp_start + seconds]
    proposals, keypoints = make_proposals(
        rng, cfg, keys, sec - 2, boxes[flat], kps[flat], occlusion[flat])
    keep = ~excluded[sec - 2]
    return dict(
        video_id=video_id, timestamps=timestamps[keep], boxes=boxes[flat][keep],
        labels=labels[flat][keep], person_ids=actor[keep],
        excluded=[(video_id, int(t)) for t in cfg.timestamp_start + seconds[excluded]],
        proposals=proposals, keypoints=keypoints)


def _write_split(paths: Dict[str, str], split: str, parts: List[dict]) -> None:
    video_ids = [p['video_id'] for p in parts for _ in range(len(p['timestamps']))]
    cat = {k: np.concatenate([p[k] for p in parts]) for k in
           ('timestamps', 'boxes', 'labels', 'person_ids')}
    write_annotation_csv(paths[f'{split}_csv'], video_ids, **cat)
    write_excluded_csv(paths[f'{split}_excluded'], [e for p in parts for e in p['excluded']])
    write_pickle(paths[f'{split}_proposals'], {k: v for p in parts
                                               for k, v in p['proposals'].items()})
    write_pickle(paths[f'{split}_keypoints'], {k: v for p in parts
                                               for k, v in p['keypoints'].items()})
