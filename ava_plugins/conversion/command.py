"""Convert one's own videos and action annotations into the AVA layout the configs read.

    python tools/convert_dataset.py ANNOTATIONS [ANNOTATIONS ...] --videos DIR --classes FILE
        --out ROOT --split train|val|... [--format csv|cvat|via] [--coords pixel|normalised]
        [--fps 30] [--short-side S] [--cvat-video NAME] [--cvat-attribute action]
        [--via-person-attribute person_id]
        [--det-config C --det-checkpoint K [--det-score-thr 0.5]] [--device cpu]

ANNOTATIONS: simple CSVs ``video,second,x1,y1,x2,y2,action,person_id`` (``--coords``: pixels of the
video frame, the default, or normalised), CVAT "for video 1.1" XML exports (one per video; the
video is the task's source unless ``--cvat-video``) or VIA 3 video projects (JSON); the format
follows the extension (.csv / .xml / .json) unless ``--format``. ``--classes``: the action list, a
label map (pbtxt or ``id: name``) or one name per line (ids 1, 2, ...); actions are written as
names or ids of it. Writes ROOT/rawframes, ROOT/annotations (SPLIT.csv,
SPLIT_excluded_timestamps.csv, SPLIT_proposals.pkl, action_list.pbtxt, label_map.txt,
SPLIT_meta.json) and ROOT/dataset_config.py, which ``configs/custom/acar_slowfast_r50_custom.py``
reads (:mod:`ava_plugins.conversion.ava_layout`). Proposals: the detector's persons at each
annotated keyframe, or the ground-truth boxes (score 1) without a detector. A rerun keeps the
frames already extracted with the same settings.

``tools/convert_dataset.py`` is this module's :func:`main`.
"""
import argparse
import functools
import os.path as osp

from ava_plugins.engine.cli import existing_file


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('annotations', nargs='+',
                        help='annotation files (.csv, CVAT .xml, VIA .json)')
    parser.add_argument('--videos', required=True, help='folder of the annotated videos')
    parser.add_argument('--classes', required=True, help='action list or label map')
    parser.add_argument('--out', required=True, help='dataset root to write')
    parser.add_argument('--split', required=True, help='split name, e.g. train or val')
    parser.add_argument('--format', choices=['csv', 'cvat', 'via'],
                        help='annotation format (default: from the extension)')
    parser.add_argument('--coords', choices=['pixel', 'normalised'], default='pixel',
                        help='box coordinates of the CSV (default: pixel)')
    parser.add_argument('--fps', type=int, default=30, help='frame rate of the rawframes (30)')
    parser.add_argument('--short-side', type=int, help='resize frames to this short side')
    parser.add_argument('--cvat-video', help='video file of the CVAT exports (default: source)')
    parser.add_argument('--cvat-attribute', default='action',
                        help='CVAT / VIA attribute holding the actions (default: action)')
    parser.add_argument('--via-person-attribute', default='person_id',
                        help='VIA attribute holding the person id (default: person_id)')
    parser.add_argument('--det-config', help='mmdet detector config for the proposals')
    parser.add_argument('--det-checkpoint', help="detector checkpoint ('none': random weights)")
    parser.add_argument('--det-score-thr', type=float, default=0.5,
                        help='least person score of the detector (default 0.5)')
    parser.add_argument('--device', default='cpu', help='detector device (default cpu)')
    args = parser.parse_args(argv)
    if args.fps < 1:
        parser.error('--fps must be >= 1')
    if args.det_config and not args.det_checkpoint:
        parser.error('--det-config needs --det-checkpoint')
    return args


FORMATS = {'.csv': 'csv', '.xml': 'cvat', '.json': 'via'}


def read_annotations(args):
    from ava_plugins.apis import VideoSource
    from ava_plugins.conversion import (cvat_video_name, find_video, read_cvat_video_xml,
                                        read_simple_csv, read_via_video_json)
    out = []
    for path in args.annotations:
        existing_file(path, 'annotation file')
        fmt = args.format or FORMATS[osp.splitext(path)[1].lower()]
        if fmt == 'csv':
            out += read_simple_csv(path, args.coords == 'normalised')
            continue

        @functools.lru_cache(maxsize=None)
        def fps_of(video, where=path):  # the video's own rate maps its frames/times to seconds
            return float(VideoSource(find_video(args.videos, video, where)).fps)

        if fmt == 'cvat':
            video = args.cvat_video or cvat_video_name(path)
            out += read_cvat_video_xml(path, fps_of(video), video, args.cvat_attribute)
        else:
            out += read_via_video_json(path, fps_of, args.cvat_attribute,
                                       args.via_person_attribute)
    return out


def main(argv=None):
    args = parse_args(argv)
    from ava_plugins.conversion import convert_to_ava, read_class_list
    from ava_plugins.utils import InputError
    for path in args.annotations:
        if not args.format and osp.splitext(path)[1].lower() not in FORMATS:
            raise InputError(f'{path}: unknown annotation format (expected .csv, .xml or '
                             '.json, or give --format)')
    classes = read_class_list(args.classes)
    annotations = read_annotations(args)
    detector = None
    if args.det_config:
        from mmdet.apis import init_detector
        ckpt = None if args.det_checkpoint.lower() == 'none' else existing_file(
            args.det_checkpoint, 'detector checkpoint')
        detector = init_detector(existing_file(args.det_config, 'detector config'), ckpt,
                                 device=args.device)
    meta = convert_to_ava(annotations, args.videos, args.out, args.split, classes, args.fps,
                          args.short_side, detector, args.det_score_thr)
    print(f'{args.split}: {len(meta["videos"])} videos, {meta["keyframes"]} keyframes, '
          f'{meta["rows"]} rows ({len(classes)} classes) -> {args.out}; '
          f'config keys: {osp.join(args.out, "dataset_config.py")}')
    return meta

