"""``AVAFrameMetric``: mmaction2's ``AVAMetric`` config keys, evaluated exactly and fast.

A drop-in for ``dict(type='AVAMetric', ...)`` in mmaction2 configs: same keys (``ann_file``,
``exclude_file``, ``label_file``, ``options``, ``action_thr``, ``num_classes``,
``custom_classes``, ``collect_device``, ``prefix``) and the same returned metrics
(``mAP/overall``, ``mAP/person_movement``, ``mAP/object_manipulation``,
``mAP/person_interaction``), computed by :func:`evaluate_ava` (ActivityNet AVA protocol,
frame-mAP@0.5) instead of mmaction2's ``ava_eval``, which crashes under numpy 2 on a class with
detections but no ground truth and leaves classes without detections out of the mean.

Outputs go to the work dir, never the current directory: ``out_dir`` if given, else the
directory of the current ``MMLogger`` log file (``work_dir/<timestamp>/`` under a Runner),
else the current Visualizer's save dir, else a fresh temporary directory (logged). There it
writes ``ava_result_<time>.csv`` (the detections, ``decimals`` decimals as mmaction2's
``results2csv``: the mAP is computed from this file, so ``tools/eval_ava.py`` reproduces it),
``ava_result_<time>.json`` (mAP, per-class AP, groups) and ``ava_per_class_ap_<time>.png``.
The per-class table is logged with mmengine's logger.
"""
import json
import os
import os.path as osp
import tempfile
from datetime import datetime
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from mmengine.visualization import Visualizer

from ava_eval import (AVAInputError, AVATable, evaluate_ava, plot_per_class_ap, read_label_map,
                      write_ava_csv)
from ava_eval.atomic_io import atomic_open
from mmaction.registry import METRICS


def _to_numpy(x) -> np.ndarray:
    if hasattr(x, 'detach'):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def resolve_out_dir(out_dir: Optional[str] = None) -> str:
    """The directory for evaluation outputs (see the module docstring for the order)."""
    if out_dir:
        return out_dir
    log_file = getattr(MMLogger.get_current_instance(), 'log_file', None)
    if log_file:
        return osp.dirname(osp.abspath(log_file))
    try:
        backends = Visualizer.get_current_instance()._vis_backends
    except RuntimeError:  # no Visualizer was created
        backends = {}
    for backend in backends.values():
        save_dir = getattr(backend, '_save_dir', None)
        if save_dir:
            return save_dir
    return tempfile.mkdtemp(prefix='ava_eval_')


@METRICS.register_module()
class AVAFrameMetric(BaseMetric):
    """AVA frame-mAP@0.5 metric (ActivityNet AVA challenge protocol).

    Args:
        ann_file: ground-truth CSV.
        exclude_file: excluded-timestamps CSV or None.
        label_file: label map (pbtxt or ``id: name`` txt).
        options: only ``('mAP', )``, as in mmaction2.
        action_thr: keep (box, class) pairs scoring above this; negative: single-label
            (argmax class), as mmaction2's ``bbox2result``.
        num_classes: classifier outputs including background (81 for AVA).
        custom_classes: original class ids of the classifier outputs 1.. (mmaction2 rule).
        collect_device: 'cpu' or 'gpu'.
        prefix: metric prefix (default ``mAP``).
        out_dir: directory for the CSV, JSON and PNG (default: the work dir, see above).
        official: apply the challenge script's top-50 rows per keyframe.
        ignore_empty_frames: skip detections on keyframes without ground truth (mmaction2's
            ``AVAMetric`` does; the official protocol counts them as false positives).
        decimals: decimals of boxes and scores in the written CSV (mmaction2 writes 4).
        save_plot: save the per-class AP bar chart.
        strict: refuse boxes outside [0, 1] (beyond 1e-3) and ground-truth boxes with
            x2 <= x1 or y2 <= y1, instead of using them as given as the official evaluator
            does (see :func:`evaluate_ava`).
    """
    default_prefix: Optional[str] = 'mAP'

    def __init__(self,
                 ann_file: str,
                 exclude_file: Optional[str],
                 label_file: str,
                 options: Tuple[str] = ('mAP', ),
                 action_thr: float = 0.002,
                 num_classes: int = 81,
                 custom_classes: Optional[List[int]] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 out_dir: Optional[str] = None,
                 official: bool = False,
                 ignore_empty_frames: bool = False,
                 decimals: int = 4,
                 save_plot: bool = True,
                 strict: bool = False):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if tuple(options) != ('mAP', ):
            raise ValueError(f"AVAFrameMetric: options must be ('mAP',), got {options!r}")
        self.ann_file = ann_file
        self.exclude_file = exclude_file
        self.label_file = label_file
        self.options = tuple(options)
        self.action_thr = action_thr
        self.num_classes = num_classes
        self.custom_classes = list(custom_classes) if custom_classes is not None else None
        if self.custom_classes is not None and len(self.custom_classes) != num_classes - 1:
            raise ValueError(f'AVAFrameMetric: custom_classes has {len(self.custom_classes)} '
                             f'ids but num_classes - 1 = {num_classes - 1}')
        self.out_dir = out_dir
        self.official = official
        self.ignore_empty_frames = ignore_empty_frames
        self.decimals = decimals
        self.save_plot = save_plot
        self.strict = strict
        self.last_result = None

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Keeps, per keyframe, each (box, class) scoring above ``action_thr``.

        ``pred_instances.bboxes`` (N, 4) are normalised x1y1x2y2; ``pred_instances.scores``
        (N, num_classes) include the background column 0. Rows are kept class-major, as
        mmaction2's ``bbox2result`` + ``results2csv`` order them.
        """
        for sample in data_samples:
            pred = sample['pred_instances']
            boxes = _to_numpy(pred['bboxes']).reshape(-1, 4)
            scores = _to_numpy(pred['scores'])
            if len(boxes) and (scores.ndim != 2 or scores.shape[1] != self.num_classes):
                raise ValueError(f'AVAFrameMetric: pred_instances.scores must be (N, '
                                 f'num_classes={self.num_classes}), got {scores.shape}')
            scores = scores.reshape(len(boxes), self.num_classes)[:, 1:]
            if self.action_thr >= 0:
                mask = scores > self.action_thr
            else:
                mask = np.zeros(scores.shape, dtype=bool)
                if len(boxes):
                    mask[np.arange(len(boxes)), scores.argmax(axis=1)] = True
            cls, person = np.nonzero(mask.T)
            ids = cls + 1 if self.custom_classes is None else np.asarray(
                self.custom_classes, dtype=np.int64)[cls]
            self.results.append(
                dict(
                    video_id=sample['video_id'],
                    timestamp=int(sample['timestamp']),
                    boxes=boxes[person].astype(np.float64),
                    labels=ids.astype(np.int64),
                    scores=scores[person, cls].astype(np.float64)))

    def compute_metrics(self, results: list) -> dict:
        """Writes the result CSV, evaluates it, logs the table, saves JSON and the chart."""
        logger = MMLogger.get_current_instance()
        out_dir = resolve_out_dir(self.out_dir)
        os.makedirs(out_dir, exist_ok=True)
        stamp = datetime.now().strftime('%Y%m%d_%H%M%S')
        counts = [len(r['labels']) for r in results]
        table = AVATable.from_arrays(
            np.repeat([r['video_id'] for r in results], counts).astype(str),
            np.repeat([r['timestamp'] for r in results], counts).astype(np.int64),
            np.concatenate([r['boxes'] for r in results]) if results else np.zeros((0, 4)),
            np.concatenate([r['labels'] for r in results]) if results else [],
            np.concatenate([r['scores'] for r in results]) if results else [])
        csv_path = osp.join(out_dir, f'ava_result_{stamp}.csv')
        write_ava_csv(csv_path, table, decimals=self.decimals)
        label_map = read_label_map(self.label_file)
        if self.custom_classes is not None:
            missing = sorted(set(self.custom_classes) - set(label_map))
            if missing:
                raise AVAInputError(f'{self.label_file}: custom_classes {missing} are not in '
                                    'the label map')
            label_map = {k: label_map[k] for k in sorted(self.custom_classes)}
        result = evaluate_ava(
            self.ann_file,
            csv_path,
            label_map,
            excluded=self.exclude_file,
            official=self.official,
            ignore_empty_frames=self.ignore_empty_frames,
            strict=self.strict)
        self.last_result = result
        logger.info(f'AVA frame-mAP@0.5 of {csv_path}:\n{result.table()}')
        json_path = osp.join(out_dir, f'ava_result_{stamp}.json')
        _write_json(json_path, result.to_dict())
        if self.save_plot:
            png = plot_per_class_ap(result, osp.join(out_dir, f'ava_per_class_ap_{stamp}.png'))
            logger.info(f'AVA per-class AP chart saved to {png}')
        metrics = {'overall': result.mAP}
        for group, value in result.groups.items():
            metrics[group] = float('nan') if value is None else value
        return metrics


def _write_json(path: str, data: dict) -> None:
    with atomic_open(path, 'w') as f:
        json.dump(data, f, indent=2)
