"""Reads one model's AVA results, an AVA result CSV or a ``tools/test.py --dump`` pickle,
into an :class:`~ava_plugins.evaluation.AVATable` of detection rows.

The dump is mmengine's ``DumpResults`` of the AVA detector: a list with one dict per keyframe
holding ``video_id``, ``timestamp`` and ``pred_instances`` with ``bboxes`` (N, 4) normalised
x1y1x2y2 and ``scores`` (N, num_classes) whose column 0 is the background. Rows are made as
:class:`~ava_plugins.evaluation.AVAFrameMetric` makes them (scores above ``action_thr``), so a
dump and the metric's CSV of the same run hold the same detections.
"""
import os
import os.path as osp
from typing import Optional, Sequence, Union

import numpy as np

from ava_plugins.evaluation import AVAInputError, AVATable, read_ava_csv

PathLike = Union[str, os.PathLike]


def _to_numpy(x) -> np.ndarray:
    if hasattr(x, 'detach'):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def dump_to_table(samples: Sequence[dict],
                  action_thr: float = 0.002,
                  custom_classes: Optional[Sequence[int]] = None,
                  source: str = '<memory>') -> AVATable:
    """Turns dumped keyframe predictions into detection rows (class id = column index, or
    ``custom_classes[column - 1]``), keeping scores above ``action_thr``."""
    if not isinstance(samples, (list, tuple)):
        raise AVAInputError(f'{source}: expected a list of per-keyframe predictions '
                            f'(tools/test.py --dump), got {type(samples).__name__}')
    vids, stamps, boxes, scores = [], [], [], []
    width = None
    for i, sample in enumerate(samples):
        try:
            pred = sample['pred_instances']
            b = _to_numpy(pred['bboxes']).astype(np.float64).reshape(-1, 4)
            s = _to_numpy(pred['scores']).astype(np.float64)
            vid, ts = str(sample['video_id']), int(sample['timestamp'])
        except (KeyError, TypeError, ValueError) as err:
            raise AVAInputError(f'{source}, item {i}: expected video_id, timestamp and '
                                f'pred_instances.bboxes/scores, got error {err!r}') from None
        if len(b) and (s.ndim != 2 or len(s) != len(b) or
                       (width is not None and s.shape[1] != width)):
            raise AVAInputError(f'{source}, item {i}: pred_instances.scores must be '
                                f'(N={len(b)}, num_classes{"=" + str(width) if width else ""}),'
                                f' got {s.shape}')
        if len(b):
            width = s.shape[1]
        vids.append(vid)
        stamps.append(ts)
        boxes.append(b)
        scores.append(s if len(b) else None)
    if width is None:
        return AVATable.from_arrays([], [], np.zeros((0, 4)), [], [])
    if custom_classes is not None and len(custom_classes) != width - 1:
        raise AVAInputError(f'{source}: custom_classes has {len(custom_classes)} ids but the '
                            f'scores have {width - 1} action columns')
    counts = np.array([len(b) for b in boxes])
    all_boxes = np.concatenate(boxes)
    all_scores = np.concatenate([np.zeros((0, width)) if s is None else s for s in scores])[:, 1:]
    mask = all_scores > action_thr
    person, cls = np.nonzero(mask)
    ids = (cls + 1) if custom_classes is None else np.asarray(custom_classes, np.int64)[cls]
    frame = np.repeat(np.arange(len(samples)), counts)[person]
    table = AVATable.from_arrays(
        np.asarray(vids, dtype=str)[frame],
        np.asarray(stamps, np.int64)[frame], all_boxes[person], ids, all_scores[person, cls])
    table.source = source
    return table


def load_results(path: PathLike,
                 action_thr: float = 0.002,
                 custom_classes: Optional[Sequence[int]] = None) -> AVATable:
    """Reads an AVA result CSV (``.csv``) or a test-tool dump (``.pkl``/``.pickle``)."""
    path = os.fspath(path)
    if not osp.isfile(path):
        raise AVAInputError(f'{path}: result file not found')
    if path.endswith('.csv'):
        return read_ava_csv(path, is_gt=False)
    if path.endswith(('.pkl', '.pickle')):
        import mmengine
        try:
            samples = mmengine.load(path)
        except Exception as err:  # unpickling errors have many types
            raise AVAInputError(f'{path}: not a readable pickle ({err!r})') from None
        return dump_to_table(samples, action_thr, custom_classes, source=path)
    raise AVAInputError(f'{path}: expected an AVA result .csv or a tools/test.py --dump '
                        '.pkl file')
