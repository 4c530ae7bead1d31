"""Run an AVA action detector on a video: an annotated video and the predictions as an AVA CSV.

    python tools/demo_video.py CONFIG CKPT VIDEO OUT.mp4
        (--proposals P | --det-config C --det-checkpoint K [--det-score-thr 0.5])
        [--score-thr 0.5] [--out-csv F] [--link-tubes [--tube-span 3]]
        [--interval 1] [--video-id ID] [--timestamp-start 0] [--fps F] [--label-map L]
        [--device cpu] [--cfg-options k=v ...]

VIDEO is a video file (decoded with PyAV: what its FFmpeg reads, e.g. mp4) or a folder of frames
(give ``--fps``). Persons come from a proposal pickle (mmaction2's ``{"ID,%04d": (N, 5)}``, keyed
by ``--video-id`` and ``--timestamp-start`` + second) or from an mmdet detector (its ``person``
class). Keyframes every ``--interval`` s; clips are sampled by CONFIG's test pipeline
(:mod:`ava_plugins.apis.inference`). The output keeps the input's frame count and frame rate; each
frame shows its nearest keyframe's boxes with their top labels scoring >= ``--score-thr``; the CSV
has one row ``ID,timestamp,x1,y1,x2,y2,action,score`` (normalised) per (box, class) scoring above
``--score-thr``. ``--link-tubes`` links the keyframes' boxes into tubes (the project's tube
linking) and averages boxes and scores over ``--tube-span`` keyframes.

``tools/demo_video.py`` is this module's :func:`main`.
"""
import argparse

from ava_plugins.engine.cli import existing_file
from mmengine.config import DictAction


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='AVA detection config')
    parser.add_argument('checkpoint', help="its checkpoint ('none': random weights)")
    parser.add_argument('video', help='video file or folder of frames')
    parser.add_argument('out', help='annotated video to write (.mp4, .mov, .mkv, .avi)')
    persons = parser.add_mutually_exclusive_group(required=True)
    persons.add_argument('--proposals', help='person proposal pickle')
    persons.add_argument('--det-config', help='mmdet detector config')
    parser.add_argument('--det-checkpoint', help="detector checkpoint ('none': random weights)")
    parser.add_argument('--det-score-thr', type=float, default=0.5,
                        help='least person score of the detector (default 0.5)')
    parser.add_argument('--score-thr', type=float, default=0.5,
                        help='least action score drawn and written (default 0.5)')
    parser.add_argument('--out-csv', help='write the predictions as an AVA CSV')
    parser.add_argument('--link-tubes', action='store_true',
                        help='smooth boxes and scores along linked tubes')
    parser.add_argument('--tube-span', type=int, default=3,
                        help='keyframes per tube for --link-tubes (odd, default 3)')
    parser.add_argument('--interval', type=int, default=1, help='seconds between keyframes')
    parser.add_argument('--video-id', help='video id of the keys and CSV (default: file name)')
    parser.add_argument('--timestamp-start', type=int, default=0,
                        help='timestamp of second 0 (AVA: 900; default 0)')
    parser.add_argument('--fps', type=float, help='frame rate of a folder of frames')
    parser.add_argument('--label-map', help='label map (default: the config evaluator\'s)')
    parser.add_argument('--device', default='cpu', help='e.g. cuda:0 (default cpu)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, key=value')
    args = parser.parse_args(argv)
    if args.det_config and not args.det_checkpoint:
        parser.error('--det-config needs --det-checkpoint')
    for name in ('score_thr', 'det_score_thr'):
        if not 0 <= getattr(args, name) <= 1:
            parser.error(f'--{name.replace("_", "-")} must lie in [0, 1]')
    if args.tube_span < 1 or args.tube_span % 2 == 0:
        parser.error('--tube-span must be an odd number >= 1')
    return args


def main(argv=None):
    args = parse_args(argv)
    from ava_plugins.apis import demo_video, init_model

    def checkpoint(path, what):
        return None if path.lower() == 'none' else existing_file(path, what)

    model = init_model(existing_file(args.config, 'config'),
                       checkpoint(args.checkpoint, 'checkpoint'), args.device, args.cfg_options)
    detector = None
    if args.det_config:
        from mmdet.apis import init_detector
        detector = init_detector(existing_file(args.det_config, 'detector config'),
                                 checkpoint(args.det_checkpoint, 'detector checkpoint'),
                                 device=args.device)
    result = demo_video(
        model, args.video, args.out, proposals=args.proposals, detector=detector,
        score_thr=args.score_thr, out_csv=args.out_csv, link_tubes=args.link_tubes,
        tube_span=args.tube_span, fps=args.fps, interval=args.interval, video_id=args.video_id,
        timestamp_start=args.timestamp_start, det_score_thr=args.det_score_thr,
        label_map=args.label_map)
    persons = sum(len(p.bboxes) for p in result['predictions'])
    print(f'{len(result["predictions"])} keyframes, {persons} person boxes -> {args.out} '
          f'({result["frames"]} frames at {result["fps"]:g} fps)'
          + (f'; {result["rows"]} CSV rows -> {args.out_csv}' if args.out_csv else ''))
    return result

