"""Detect persons on AVA / AVA-Kinetics keyframes with any mmdet detector; write mmaction2's
proposal pickle.

    python tools/detect_persons.py DET_CONFIG DET_CKPT --frames ROOT --out proposals.pkl
        [--dataset ava|kinetics] [--score-thr T] [--ann-file CSV | --timestamps FIRST LAST]
        [--fps 30] [--timestamp-start 900] [--filename-tmpl img_{:05}.jpg] [--device cuda:0]
    tools/dist_detect_persons.sh DET_CONFIG DET_CKPT GPUS --frames ROOT --out proposals.pkl

Fujitsu's AVA-Kinetics 2020 report, "Multi-scale Spatiotemporal Features for Action Localization",
https://research.google.com/ava/challenge.html, Sec. 2.2): separate person detectors for AVA and
Kinetics frames, "thresholds of 0.8 and 0.7 are used respectively"; those are the ``--dataset``
defaults of ``--score-thr``.

Frames: mmaction2's rawframes layout ``ROOT/<video_id>/img_00001.jpg``; the keyframe of second
``t`` is frame ``(t - start) * fps + 1`` (``AVADataset``/``SampleAVAFrames``), ``start`` being
``--timestamp-start`` (AVA: 900) or, for AVA-Kinetics clips named ``<youtube_id>_<start>_<end>``,
the clip's start (``AVAKineticsDataset.get_timestamp``). Keyframes: those of ``--ann-file`` (an
AVA annotation CSV), else every second in ``--timestamps`` (AVA: 902..1798, the annotated
range; Kinetics: the clip's seconds) whose keyframe exists.

Output: ``{"video_id,%04d": float32 (N, 5)}``, x1, y1, x2, y2 normalised to [0, 1], score,
persons only (the detector's ``person`` class), by decreasing score. Keyframes without a person
are left out (``AVADataset`` then uses the whole frame; it cannot read an empty array).

Resumable and sharded: each video's detections go atomically to ``OUT.parts/<video>.pkl``
with the settings they were made with; a rerun skips parts made with the same settings.
Videos are dealt to ranks as ``tools/extract_bank.py`` does; rank 0 joins the parts into
``OUT`` (atomically) once all exist and removes them. The frame, part and sharding helpers
are :mod:`ava_plugins.engine.keyframe_jobs`, shared with ``tools/extract_keypoints.py``.
"""
import argparse
import os
import sys
from typing import Callable, Dict, List

import numpy as np
import torch

import ava_plugins  # noqa: F401  (registers modules, applies compatibility fixes)
from ava_plugins.engine import keyframe_jobs
from ava_plugins.engine.keyframe_jobs import (PART_FORMAT, add_frame_args, keyframe_path,
                                              read_frame, run_videos)
from ava_plugins.engine.cli import config_fingerprint, existing_file, load_config, run_cli
from ava_plugins.engine.launch import init_distributed
from ava_plugins.utils import InputError, file_fingerprint
from mmengine.config import DictAction

DEFAULTS = dict(ava=dict(score_thr=0.8, timestamps=(902, 1798)),
                kinetics=dict(score_thr=0.7, timestamps=None))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Detect persons on AVA keyframes',
        epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='mmdet detector config')
    parser.add_argument('checkpoint', help="detector checkpoint ('none': random weights)")
    parser.add_argument('--out', required=True, help='output proposal pickle')
    parser.add_argument('--dataset', choices=sorted(DEFAULTS), default='ava',
                        help='sets the default threshold and timestamps (default: ava)')
    parser.add_argument('--score-thr', type=float, default=None,
                        help='least person score (default: 0.8 for AVA, 0.7 for Kinetics)')
    parser.add_argument('--ann-file', help='AVA annotation CSV: detect on its keyframes only')
    parser.add_argument('--timestamps', type=int, nargs=2, metavar=('FIRST', 'LAST'),
                        help='seconds to detect on (default AVA: 902 1798; Kinetics: the clip)')
    parser.add_argument('--person-label', type=int, default=None,
                        help="the detector's person class index (default: from its classes)")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override detector config keys, key=value')
    add_frame_args(parser)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    if args.score_thr is None:
        args.score_thr = DEFAULTS[args.dataset]['score_thr']
    if not 0 <= args.score_thr <= 1:
        parser.error(f'--score-thr must lie in [0, 1], got {args.score_thr}')
    return args


def list_keyframes(args) -> Dict[str, List[int]]:
    """``{video: seconds}`` to detect on (see the module docstring)."""
    return keyframe_jobs.list_keyframes(args, DEFAULTS[args.dataset]['timestamps'])


def person_label(model, args) -> int:
    if args.person_label is not None:
        return args.person_label
    classes = [str(c).lower() for c in (model.dataset_meta or {}).get('classes', ())]
    if 'person' not in classes:
        raise InputError(f'{args.config}: the detector has no "person" class '
                         f'({classes[:5]}...); give --person-label')
    return classes.index('person')


def detect_fn(model, args) -> Callable:
    """``(video, seconds, tick) -> {key: (N, 5) float32}`` with ``model``."""
    from mmdet.apis import inference_detector
    label = person_label(model, args)

    def compute(video, seconds, tick):
        result = {}
        for t in seconds:
            img = read_frame(keyframe_path(video, t, args))
            h, w = img.shape[:2]
            with torch.no_grad():
                pred = inference_detector(model, img).pred_instances
            boxes = pred.bboxes.cpu().numpy().astype(np.float64)
            scores = pred.scores.cpu().numpy()
            keep = (pred.labels.cpu().numpy() == label) & (scores >= args.score_thr)
            order = np.argsort(-scores[keep], kind='stable')
            box = np.clip(boxes[keep][order] / [w, h, w, h], 0, 1)
            if len(box):
                result[f'{video},{t:04d}'] = np.concatenate(
                    [box, scores[keep][order, None]], 1).astype(np.float32)
            tick()
        return result

    return compute


def main(argv=None):
    args = parse_args(argv)
    from mmdet.apis import init_detector
    cfg = load_config(args.config)
    if args.checkpoint.lower() != 'none':
        existing_file(args.checkpoint, 'checkpoint')
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    config_fp = config_fingerprint(cfg)  # before the launcher and the model change it
    rank, world_size, device = init_distributed(cfg, args.launcher, args.device)
    keyframes = list_keyframes(args)
    checkpoint = None if args.checkpoint.lower() == 'none' else args.checkpoint
    model = init_detector(cfg, checkpoint, device=device)
    # parts are keyed on what computes them: the merged config's and the checkpoint's content
    params = dict(format=PART_FORMAT, config=config_fp,
                  checkpoint=file_fingerprint(checkpoint) if checkpoint else None,
                  score_thr=args.score_thr, fps=args.fps, start=args.timestamp_start,
                  tmpl=args.filename_tmpl, start_index=args.start_index)
    done = run_videos(args.out, keyframes, detect_fn(model, args), params, rank, world_size,
                      'detecting persons')
    print(f'rank {rank}/{world_size}: detected persons in {len(done["computed"])} videos, '
          f'skipped {len(done["skipped"])} finished ones -> {args.out}')
    return done


if __name__ == '__main__':
    sys.exit(run_cli(main))
