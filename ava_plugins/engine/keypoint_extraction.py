"""Run a top-down mmpose model on every proposal box; write keypoints row-aligned with them.

    python tools/extract_keypoints.py POSE_CONFIG POSE_CKPT --frames ROOT \\
        --proposals proposals.pkl --out keypoints.pkl [--fps 30] [--timestamp-start 900]
    tools/dist_extract_keypoints.sh POSE_CONFIG POSE_CKPT GPUS --frames ROOT \\
        --proposals proposals.pkl --out keypoints.pkl

Fujitsu's AVA-Kinetics 2020 report, "Multi-scale Spatiotemporal Features for Action Localization",
https://research.google.com/ava/challenge.html, Sec. 2.1) takes arm keypoints from CPN:
``configs/cpn_r50_coco_256x192.py`` is the intended config; any mmpose top-down config with the 17
COCO keypoints works (``mmpose.apis.inference_topdown``): a heatmap codec of
:data:`SCORE_RANGES`, or another one with ``--score-range``.

Input: an mmaction2 proposal pickle (``tools/detect_persons.py`` or AVA's FAIR proposals), read
and checked by :func:`ava_plugins.datasets.load_proposals`; frames as ``detect_persons.py``
finds them (rawframes, keyframe of second ``t`` at frame ``(t - start) * fps + 1``;
:mod:`ava_plugins.engine.keyframe_jobs`).
Output: ``{"video_id,%04d": float32 (N, 17, 3)}``, COCO keypoint order, x, y divided by the
frame width and height (not clipped: a top-down estimate may leave the frame slightly), and
the keypoint score normalised to [0, 1]: the heatmap maximum as a fraction of a training
target's peak, ``clip((s - low) / (high - low), 0, 1)`` of the codec's score ``s`` with
``(low, high)`` from :data:`SCORE_RANGES` (CPN's ``MegviiHeatmap`` scores ``max / 255 + 0.5``:
0.5 for no response, 1.5 for a target's peak of 255). So 0 means no positive response (mmpose
then places the keypoint at the crop's corner, which may well be inside the image) and
``ArmRoIs(score_thr=0.3)`` asks for 30 % of a target's peak whatever the pose model. A keypoint
without a finite estimate (an all-zero heatmap: mmpose's blur divides 0 by 0) is written with
score 0, at its box's centre if its x, y are not finite either; the file never holds NaN.
Row ``i`` is proposal box ``i`` of the same key, every key of the proposal pickle is present
(``(0, 17, 3)`` for a key without boxes). The format the synthetic generator writes and
``ArmRoIs`` reads (:mod:`ava_eval.keyframe_pickles`).

Resumable and sharded as ``detect_persons.py``: per-video parts ``OUT.parts/<video>.pkl``
(:func:`ava_plugins.engine.keyframe_jobs.run_videos`).

``tools/extract_keypoints.py`` is this module's :func:`main`.
"""
import argparse
import os.path as osp
from collections import defaultdict

import numpy as np
from mmengine.config import DictAction

from ..datasets import load_proposals
from ..utils import InputError, file_fingerprint
from .cli import config_fingerprint, existing_file, load_config, parse_launcher_args
from .keyframe_jobs import PART_FORMAT, add_frame_args, keyframe_path, read_frame, run_videos
from .launch import init_distributed

NUM_KEYPOINTS = 17
#: ``(low, high)``: a codec's keypoint score for no response and for a training target's peak.
SCORE_RANGES = {
    'MegviiHeatmap': (0.5, 1.5),  # CPN (tf-cpn's test): heatmap max / 255 + 0.5, peak 255
    'MSRAHeatmap': (0.0, 1.0),  # heatmap max, Gaussian targets of peak 1
    'UDPHeatmap': (0.0, 1.0),  # heatmap max, Gaussian targets of peak 1
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Keypoints of every proposal box',
        epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='mmpose top-down config (CPN: '
                        'configs/cpn_r50_coco_256x192.py)')
    parser.add_argument('checkpoint', help="pose checkpoint ('none': random weights)")
    parser.add_argument('--proposals', required=True, help='mmaction2 proposal pickle')
    parser.add_argument('--out', required=True, help='output keypoint pickle')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override pose config keys, key=value')
    parser.add_argument('--score-range', nargs=2, type=float, metavar=('LOW', 'HIGH'),
                        help="the pose model's keypoint score for no response and for a "
                        'training target\'s peak (default: from the codec, see SCORE_RANGES); '
                        'scores are stored as (s - LOW) / (HIGH - LOW) clipped to [0, 1]')
    add_frame_args(parser)
    args = parse_launcher_args(parser, argv)
    return args


def score_range(cfg, args):
    """``(low, high)`` of the pose config's codec (``--score-range`` overrides it)."""
    if args.score_range:
        low, high = args.score_range
    else:
        codec = (cfg.model.get('head') or {}).get('decoder') or {}
        codec = codec.get('type') if isinstance(codec, dict) else None
        if codec not in SCORE_RANGES:
            raise InputError(f'{args.config}: no score range known for the codec {codec!r} '
                             f'(known: {sorted(SCORE_RANGES)}); give --score-range LOW HIGH, '
                             "the model's keypoint score for no response and for a training "
                             "target's peak")
        low, high = SCORE_RANGES[codec]
    if not high > low:
        raise InputError(f'--score-range: HIGH must exceed LOW, got {low} {high}')
    return low, high


def stored_keypoints(xy: np.ndarray, score: np.ndarray, boxes: np.ndarray,
                     size, low: float, high: float) -> np.ndarray:
    """``(N, 17, 3)`` float32 rows of the file from ``(N, 17, 2)`` pixel coordinates, ``(N, 17)``
    codec scores and the ``(N, 4)`` pixel boxes: x, y normalised by ``size = (w, h)``, scores
    normalised to [0, 1]; a keypoint without a finite estimate gets score 0 (and its box's
    centre where x, y are not finite)."""
    w, h = size
    xy = np.asarray(xy, np.float64) / [w, h]
    score = np.clip((np.asarray(score, np.float64) - low) / (high - low), 0, 1)
    finite_xy = np.isfinite(xy).all(-1)
    centre = ((boxes[:, :2] + boxes[:, 2:]) / 2 / [w, h])[:, None, :]
    out = np.empty(xy.shape[:2] + (3, ), np.float32)
    out[..., :2] = np.where(finite_xy[..., None], xy, centre)
    out[..., 2] = np.where(finite_xy & np.isfinite(score), score, 0)
    return out


def keypoint_fn(model, proposals, args, scores):
    """``(video, seconds, tick) -> {key: (N, 17, 3) float32}`` with the pose model; ``scores``:
    the codec's :func:`score_range`."""
    from mmpose.apis import inference_topdown

    def compute(video, seconds, tick):
        result = {}
        for t in seconds:
            key = f'{video},{t:04d}'
            boxes = np.asarray(proposals[key], np.float64)[:, :4]
            out = np.zeros((len(boxes), NUM_KEYPOINTS, 3), np.float32)
            if len(boxes):
                img = read_frame(keyframe_path(video, t, args))
                h, w = img.shape[:2]
                samples = inference_topdown(model, img, boxes * [w, h, w, h], bbox_format='xyxy')
                xy = np.concatenate([s.pred_instances.keypoints for s in samples])
                score = np.concatenate([s.pred_instances.keypoint_scores for s in samples])
                if xy.shape != (len(boxes), NUM_KEYPOINTS, 2):
                    raise InputError(f'{args.config}: expected {NUM_KEYPOINTS} COCO keypoints per '
                                     f'box, the model gave an array of shape {xy.shape}')
                out = stored_keypoints(xy, score, boxes * [w, h, w, h], (w, h), *scores)
            result[key] = out
            tick()
        return result

    return compute


def main(argv=None):
    args = parse_args(argv)
    from mmpose.apis import init_model
    cfg = load_config(args.config, args.cfg_options)
    if args.checkpoint.lower() != 'none':
        existing_file(args.checkpoint, 'checkpoint')
    scores = score_range(cfg, args)
    config_fp = config_fingerprint(cfg)  # before the launcher and the model change it
    rank, world_size, device = init_distributed(cfg, args.launcher, args.device)
    proposals = load_proposals(args.proposals)
    keyframes = defaultdict(list)
    for key in proposals:
        video, stamp = key.rsplit(',', 1)
        keyframes[video].append(int(stamp))
    missing = [(v, t) for v, ts in keyframes.items() for t in ts
               if len(proposals[f'{v},{t:04d}']) and not osp.isfile(keyframe_path(v, t, args))]
    if missing:
        v, t = missing[0]
        raise InputError(f'{args.proposals}: {len(missing)} keyframes have no frame under '
                         f'{args.frames}, e.g. {v},{t}: {keyframe_path(v, t, args)} not found')
    checkpoint = None if args.checkpoint.lower() == 'none' else args.checkpoint
    model = init_model(cfg, checkpoint, device=device)
    # parts are keyed on what computes them: the merged config's and the checkpoint's content
    params = dict(format=PART_FORMAT, config=config_fp,
                  checkpoint=file_fingerprint(checkpoint) if checkpoint else None,
                  proposals=file_fingerprint(args.proposals), fps=args.fps,
                  start=args.timestamp_start, tmpl=args.filename_tmpl,
                  start_index=args.start_index, score_range=scores)
    done = run_videos(args.out, {v: sorted(ts) for v, ts in keyframes.items()},
                      keypoint_fn(model, proposals, args, scores), params, rank, world_size,
                      'extracting keypoints')
    print(f'rank {rank}/{world_size}: keypoints of {len(done["computed"])} videos, skipped '
          f'{len(done["skipped"])} finished ones -> {args.out}')
    return done

