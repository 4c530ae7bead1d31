"""The one-command demo (``make demo``): synthetic AVA -> train -> evaluate -> visualise, on CPU.

1. generates the synthetic AVA dataset (``tools/make_synthetic_ava.py``) into ``--data``
   unless a complete one made with the same seed is there;
2. trains the flagship head's tiny config with mmengine's Runner (a rerun resumes from the
   last checkpoint in ``--work-dir``);
3. evaluates the final checkpoint on the validation split with the project's AVA metric
   (per-class AP table in the log, result CSV/JSON and the per-class AP bar chart PNG);
4. draws the predictions on a few seconds of a validation video into ``detections.gif``;
5. renders the whole first validation video with the trained model into ``detections.mp4``
   (``ava_plugins.apis.demo_video``, as ``tools/demo_video.py``: the validation proposals, a
   keyframe every annotated second, the predictions also in ``detections.csv``).

Everything lands in ``--work-dir``: the mmengine log (``<timestamp>/``), the checkpoint, the
evaluation files and ``summary.json``.
"""
import argparse
import json
import os.path as osp
import sys
import time

import torch

import ava_plugins  # noqa: F401  (registers modules, applies compatibility fixes)
from ava_plugins.datasets.synthetic import capability_groups
from ava_plugins.benchmarks.synthetic_runs import (ensure_synthetic_data, latest_file,
                                                   point_config_at_data, prepare_run_config,
                                                   summarise)
from ava_plugins.engine import build_runner
from ava_plugins.engine.cli import load_config, run_cli
from ava_plugins.evaluation import read_label_map
from ava_plugins.utils import atomic_open
from ava_plugins.visualization import draw_detections, save_gif, top_labels
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT_CONFIG = osp.join(REPO, 'configs', 'synthetic', 'acar_slowfast_tiny.py')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--config', default=DEFAULT_CONFIG, help='tiny synthetic config')
    parser.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs', 'demo'),
                        help='checkpoint, logs, results and GIF (default: work_dirs/demo)')
    parser.add_argument('--data', default=osp.join(REPO, 'data', 'synthetic_ava'),
                        help='synthetic dataset folder (the configs read data/synthetic_ava)')
    parser.add_argument('--seed', type=int, default=0, help='data and training seed')
    parser.add_argument('--gif-seconds', type=int, default=6,
                        help='seconds of the validation video drawn into the GIF')
    parser.add_argument('--score-thr', type=float, default=0.4,
                        help='smallest score of a label drawn in the GIF')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='config overrides key=value, as tools/train.py')
    return parser.parse_args(argv)


def step(n: int, text: str) -> None:
    print(f'\n[demo {n}/5] {text}', flush=True)


def draw_validation_video(runner, cfg: Config, data: str, seconds: int, thr: float,
                          out: str) -> str:
    """Predict ``seconds`` consecutive keyframes of the first validation video; draw them."""
    import cv2
    dataset = runner.test_dataloader.dataset
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    video = infos[0]['video_id']
    idx = sorted((i for i, d in enumerate(infos) if d['video_id'] == video),
                 key=lambda i: infos[i]['timestamp'])[:seconds]
    label_file = cfg.test_evaluator.get('label_file')
    names = read_label_map(label_file)
    class_ids = sorted(names)
    model = runner.model
    model.eval()
    frames_out = []
    fps = infos[idx[0]]['fps']
    for i in idx:
        info = infos[i]
        with torch.no_grad():
            pred = model.test_step(pseudo_collate([dataset[i]]))[0].pred_instances
        scores = pred.scores.cpu().numpy()[:, 1:]  # column 0 is the background
        labels = top_labels(scores, names, class_ids, thr)
        centre = (info['timestamp'] - info['timestamp_start']) * fps
        for k in range(centre - fps // 2, centre + fps - fps // 2):
            path = osp.join(info['frame_dir'], info.get('filename_tmpl', 'img_{:05}.jpg')
                            .format(k + 1))
            frame = cv2.imread(path)
            if frame is None:
                continue
            frames_out.append(draw_detections(frame[:, :, ::-1], pred.bboxes.cpu().numpy(),
                                              labels))
    return save_gif(frames_out, out, fps=fps)


def render_validation_video(runner, cfg: Config, thr: float, out: str, out_csv: str) -> str:
    """The first validation video, every annotated keyframe, drawn with the trained model."""
    from ava_plugins.apis import demo_video
    dataset = runner.test_dataloader.dataset
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    first = infos[0]
    seconds = sorted(d['timestamp'] - d['timestamp_start'] for d in infos
                     if d['video_id'] == first['video_id'])
    model = runner.model
    model.cfg = cfg  # the config the API reads the test pipeline and classes from
    model.eval()
    demo_video(model, first['frame_dir'], out, cfg.test_dataloader.dataset.proposal_file,
               score_thr=thr, out_csv=out_csv, fps=first['fps'], keyframes=seconds,
               video_id=first['video_id'], timestamp_start=first['timestamp_start'],
               label_map=cfg.test_evaluator.get('label_file'))
    return out


def main(argv=None):
    args = parse_args(argv)
    start = time.time()
    work_dir = osp.abspath(args.work_dir)
    data = osp.abspath(args.data)
    cfg = load_config(args.config, args.cfg_options)  # a bad --config fails here, first

    step(1, f'synthetic AVA dataset -> {data}')
    ensure_synthetic_data(data, args.seed, any_settings=True)

    step(2, f'training {osp.relpath(args.config, REPO)} on CPU -> {work_dir}')
    point_config_at_data(cfg, data)
    prepare_run_config(cfg, work_dir, args.seed, eval_dir=work_dir)
    cfg.resume = True  # a rerun continues from the work dir's last checkpoint, if any
    runner = build_runner(cfg)
    runner.train()

    step(3, 'evaluating on the validation split (frame-mAP@0.5)')
    metrics = runner.test()
    summary = summarise(latest_file(work_dir, 'ava_result_', '.json'), capability_groups())

    step(4, 'drawing validation predictions')
    gif = draw_validation_video(runner, cfg, data, args.gif_seconds, args.score_thr,
                                osp.join(work_dir, 'detections.gif'))

    step(5, 'rendering a validation video with the trained model')
    video = render_validation_video(runner, cfg, args.score_thr,
                                    osp.join(work_dir, 'detections.mp4'),
                                    osp.join(work_dir, 'detections.csv'))

    summary.update(config=osp.relpath(args.config, REPO), seed=args.seed,
                   minutes=round((time.time() - start) / 60, 2), gif=gif, video=video,
                   metrics={k: float(v) for k, v in metrics.items()})
    with atomic_open(osp.join(work_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    print(f'\nmAP {summary["mAP"]:.4f} in {summary["minutes"]:.1f} min; per capability group:')
    for name, ap in summary['capability_groups'].items():
        print(f'  {name:12s} {"n/a" if ap is None else f"{ap:.4f}"}')
    print(f'run folder: {work_dir} (log, checkpoint, per-class AP table/chart, '
          'detections.gif, detections.mp4)')
    return summary


if __name__ == '__main__':
    sys.exit(run_cli(main))
