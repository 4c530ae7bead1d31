"""Detect persons on AVA / AVA-Kinetics keyframes with any mmdet detector, or make
class-agnostic region proposals with an mmdet RPN; write mmaction2's proposal pickle.

    python tools/detect_persons.py DET_CONFIG DET_CKPT --frames ROOT --out proposals.pkl
        [--dataset ava|kinetics] [--score-thr T] [--top-k K]
        [--ann-file CSV | --timestamps FIRST LAST]
        [--fps 30] [--timestamp-start 900] [--filename-tmpl img_{:05}.jpg] [--device cuda:0]
    tools/dist_detect_persons.sh DET_CONFIG DET_CKPT GPUS --frames ROOT --out proposals.pkl

Detectors (Fujitsu's AVA-Kinetics 2020 report, "Multi-scale Spatiotemporal Features for Action
Localization", https://research.google.com/ava/challenge.html, Sec. 2.2): separate person
detectors for AVA and Kinetics frames, "thresholds of 0.8 and 0.7 are used respectively";
those are the ``--dataset`` defaults of ``--score-thr``; every person above it is kept unless
``--top-k`` is given.

RPNs (a config whose model is mmdet's ``RPN``, e.g. ``configs/multisec_rpn_r50_fpn.py``; the
ByteDance AI Lab AVA 2019 report, https://research.google.com/ava/challenge.html, Sec. 1.1,
trains its multi-sec model on RPN proposals): every box the RPN returns (class-agnostic, after
its own NMS and ``test_cfg.rpn.max_per_img``), no class filter, ``--score-thr`` default 0, the
best ``--top-k`` (default 300) by score. 300 is ours: the number of RPN proposals per image
Faster R-CNN (Ren et al., NIPS 2015, https://arxiv.org/abs/1506.01497), whose training the
report follows, detects with; it leaves 7.5 times the 40 proposals the multi-sec sampler draws
per clip, and it keeps the AVA v2.2 train file near 1.3 GB (210,795 keyframes x 300 x 20 bytes;
1000, mmdet's ``max_per_img``, would be 4.2 GB).

Frames: mmaction2's rawframes layout ``ROOT/<video_id>/img_00001.jpg``; the keyframe of second
``t`` is frame ``(t - start) * fps + 1`` (``AVADataset``/``SampleAVAFrames``), ``start`` being
``--timestamp-start`` (AVA: 900) or, for AVA-Kinetics clips named ``<youtube_id>_<start>_<end>``,
the clip's start (``AVAKineticsDataset.get_timestamp``). Keyframes: those of ``--ann-file`` (an
AVA annotation CSV), else every second in ``--timestamps`` (AVA: 902..1798, the annotated
range; Kinetics: the clip's seconds) whose keyframe exists.

Output: ``{"video_id,%04d": float32 (N, 5)}``, x1, y1, x2, y2 normalised to [0, 1], score,
by decreasing score: persons only (the detector's ``person`` class) or, for an RPN, the
class-agnostic proposals. Keyframes without a box are left out (``AVADataset`` then uses the
whole frame; it cannot read an empty array).

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
RPN_TOP_K = 300  # ours, see the module docstring
RPN_SCORE_THR = 0.0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Detect persons (or RPN proposals) on AVA keyframes',
        epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='mmdet detector config')
    parser.add_argument('checkpoint', help="detector checkpoint ('none': random weights)")
    parser.add_argument('--out', required=True, help='output proposal pickle')
    parser.add_argument('--dataset', choices=sorted(DEFAULTS), default='ava',
                        help='sets the default threshold and timestamps (default: ava)')
    parser.add_argument('--score-thr', type=float, default=None,
                        help='least score (default: 0.8 for AVA, 0.7 for Kinetics; RPN: 0)')
    parser.add_argument('--top-k', type=int, default=None,
                        help=f'keep the K best boxes per keyframe (default: all; RPN: '
                        f'{RPN_TOP_K})')
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
    args.given_score_thr = args.score_thr  # an RPN's default differs (see selection)
    if args.score_thr is None:
        args.score_thr = DEFAULTS[args.dataset]['score_thr']
    if not 0 <= args.score_thr <= 1:
        parser.error(f'--score-thr must lie in [0, 1], got {args.score_thr}')
    if args.top_k is not None and args.top_k < 1:
        parser.error(f'--top-k must be at least 1, got {args.top_k}')
    return args


def list_keyframes(args) -> Dict[str, List[int]]:
    """``{video: seconds}`` to detect on (see the module docstring)."""
    return keyframe_jobs.list_keyframes(args, DEFAULTS[args.dataset]['timestamps'])


def is_rpn(model) -> bool:
    """Whether ``model`` is mmdet's region proposal network (class-agnostic boxes)."""
    from mmdet.models.detectors import RPN
    return isinstance(model, RPN)


def person_label(model, args) -> int:
    if args.person_label is not None:
        return args.person_label
    classes = [str(c).lower() for c in (model.dataset_meta or {}).get('classes', ())]
    if 'person' not in classes:
        raise InputError(f'{args.config}: the detector has no "person" class '
                         f'({classes[:5]}...); give --person-label')
    return classes.index('person')


def selection(model, args) -> dict:
    """What is kept per keyframe: ``label`` (None: every box, an RPN's), ``score_thr`` and
    ``top_k`` (None: all)."""
    if is_rpn(model):
        if args.person_label is not None:
            raise InputError(f'{args.config}: an RPN has no classes; --person-label applies '
                             'to detectors only')
        thr = RPN_SCORE_THR if args.given_score_thr is None else args.score_thr
        return dict(label=None, score_thr=thr,
                    top_k=RPN_TOP_K if args.top_k is None else args.top_k)
    return dict(label=person_label(model, args), score_thr=args.score_thr, top_k=args.top_k)


def keyframe_rows(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray, width: int,
                  height: int, label=None, score_thr: float = 0.0, top_k=None) -> np.ndarray:
    """``(n, 5)`` float32 rows x1, y1, x2, y2 (normalised, clipped to [0, 1]), score of the
    boxes ``(N, 4)`` (pixels) of class ``label`` (None: all) scoring at least ``score_thr``,
    by decreasing score (ties in input order), the first ``top_k`` (None: all)."""
    keep = scores >= score_thr
    if label is not None:
        keep &= labels == label
    order = np.flatnonzero(keep)[np.argsort(-scores[keep], kind='stable')][:top_k]
    box = np.clip(boxes[order].astype(np.float64) / [width, height, width, height], 0, 1)
    return np.concatenate([box, scores[order, None]], 1).astype(np.float32)


def detect_fn(model, args, select: dict) -> Callable:
    """``(video, seconds, tick) -> {key: (N, 5) float32}`` with ``model``, keeping ``select``
    (:func:`selection`)."""
    from mmdet.apis import inference_detector

    def compute(video, seconds, tick):
        result = {}
        for t in seconds:
            img = read_frame(keyframe_path(video, t, args))
            h, w = img.shape[:2]
            with torch.no_grad():
                pred = inference_detector(model, img).pred_instances
            rows = keyframe_rows(pred.bboxes.cpu().numpy(), pred.scores.cpu().numpy(),
                                 pred.labels.cpu().numpy(), w, h, **select)
            if len(rows):
                result[f'{video},{t:04d}'] = rows
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
    select = selection(model, args)
    what = 'RPN proposals' if select['label'] is None else 'persons'
    # parts are keyed on what computes them: the merged config's and the checkpoint's content
    params = dict(format=PART_FORMAT, config=config_fp,
                  checkpoint=file_fingerprint(checkpoint) if checkpoint else None,
                  fps=args.fps, start=args.timestamp_start, tmpl=args.filename_tmpl,
                  start_index=args.start_index, **select)
    done = run_videos(args.out, keyframes, detect_fn(model, args, select), params, rank,
                      world_size, f'detecting {what}')
    print(f'rank {rank}/{world_size}: {what} of {len(done["computed"])} videos, '
          f'skipped {len(done["skipped"])} finished ones -> {args.out}')
    return done


if __name__ == '__main__':
    sys.exit(run_cli(main))
