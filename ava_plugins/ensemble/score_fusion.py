"""Late fusion of video-level class scores from several recognisers (RGB, flow, audio, ...).

Qiniu ActivityNet 2018 report (https://arxiv.org/abs/1806.04391), §1-§2: TSN, non-local
and acoustic models on RGB, optical flow and audio are complementary, and the submissions are
ensembles of them ("After ensembling with visual models, we achieve 0.7% improvement").

The fused score of video ``v`` and class ``c`` is the weighted average

    s(v, c) = Σ_m w_m p_m(v, c) / Σ_m w_m,

where ``p_m`` is model ``m``'s score: used as given (mmaction2's ``average_clips='prob'``
already stores softmax probabilities averaged over clips, TSN's consensus of §2.1) or, with
``apply_softmax=True``, the softmax of given logits (``average_clips='score'``). Dividing by
``Σ w`` does not change any ranking compared with mmaction2's ``report_accuracy.py`` weighted
sum; it keeps fused scores in [0, 1].
"""
import os.path as osp
import pickle
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmaction.evaluation.functional import top_k_accuracy

from ..utils import InputError, atomic_open


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``(N, C)`` logits (max-subtracted)."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def fuse_scores(scores: Sequence[np.ndarray],
                weights: Optional[Sequence[float]] = None,
                apply_softmax: bool = False) -> np.ndarray:
    """Weighted average of per-model ``(N, C)`` score matrices -> ``(N, C)`` float64.

    Args:
        scores: one ``(N, C)`` array per model, rows in the same video order.
        weights: one non-negative weight per model (default: all 1); not all zero.
        apply_softmax: softmax each model's rows first (scores are logits).
    """
    if not scores:
        raise InputError('fuse_scores: no score matrices given')
    arrays = [np.asarray(s, dtype=np.float64) for s in scores]
    for m, a in enumerate(arrays):
        if a.ndim != 2 or a.shape != arrays[0].shape:
            raise InputError(f'fuse_scores: model {m} has scores of shape {a.shape}, expected '
                             f'(N, C) = {arrays[0].shape} like model 0')
    w = np.ones(len(arrays)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(arrays), ):
        raise InputError(f'fuse_scores: {len(w)} weights for {len(arrays)} models')
    if (w < 0).any() or w.sum() <= 0:
        raise InputError(f'fuse_scores: weights must be >= 0 and not all 0, got {w.tolist()}')
    if apply_softmax:
        arrays = [softmax(a) for a in arrays]
    return np.tensordot(w / w.sum(), np.stack(arrays), axes=1)


def mean_class_accuracy(scores: np.ndarray, labels: Sequence[int]) -> float:
    """Mean over the classes that have ground truth of their top-1 recall.

    (mmaction2's ``mean_class_accuracy`` also averages in a 0 for every class that is only
    predicted, never a label, which lowers the mean as false positives spread; this does not.)
    """
    labels = np.asarray(labels, dtype=np.int64)
    hits = np.argmax(scores, axis=1) == labels
    count = np.bincount(labels, minlength=scores.shape[1])
    correct = np.bincount(labels, weights=hits, minlength=scores.shape[1])
    present = count > 0
    return float(np.mean(correct[present] / count[present]))


def accuracy_report(scores: np.ndarray, labels: Sequence[int],
                    topk: Tuple[int, ...] = (1, 5)) -> Dict[str, float]:
    """``{'top1': .., 'top5': .., 'mean_class_accuracy': ..}`` of ``(N, C)`` scores.

    Top-k from mmaction2's ``top_k_accuracy`` (k larger than C is skipped).
    """
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) != len(scores):
        raise InputError(f'accuracy_report: {len(scores)} score rows for {len(labels)} labels')
    topk = tuple(k for k in topk if k <= scores.shape[1])
    accs = top_k_accuracy(scores, labels, topk)
    report = {f'top{k}': float(a) for k, a in zip(topk, accs)}
    report['mean_class_accuracy'] = mean_class_accuracy(scores, labels)
    return report


def load_recognition_dump(path: str) -> Tuple[np.ndarray, np.ndarray]:
    """Read ``tools/test.py --dump`` output (a list of data-sample dicts) -> scores, labels.

    Returns ``(N, C)`` float64 ``pred_score`` rows and ``(N,)`` int ``gt_label`` values.
    """
    import mmengine
    if not osp.isfile(path):
        raise InputError(f'{path}: recognition dump not found')
    try:
        samples = mmengine.load(path)
    except Exception as err:  # unpickling errors have many types
        raise InputError(f'{path}: not a readable pickle ({err!r})') from None
    if not isinstance(samples, list) or not samples:
        raise InputError(f'{path}: expected a non-empty list of data samples (tools/test.py '
                         f'--dump), got {type(samples).__name__}')
    scores: List[np.ndarray] = []
    labels: List[int] = []
    for i, sample in enumerate(samples):
        if not isinstance(sample, dict) or 'pred_score' not in sample or 'gt_label' not in sample:
            raise InputError(f'{path}: sample {i} has no pred_score / gt_label')
        scores.append(np.asarray(sample['pred_score'], dtype=np.float64).reshape(-1))
        label = np.asarray(sample['gt_label']).reshape(-1)
        if label.size != 1:
            raise InputError(f'{path}: sample {i} has a multi-label gt_label; late fusion here is '
                             f'single-label (Kinetics, Moments in Time)')
        labels.append(int(label[0]))
    sizes = {len(s) for s in scores}
    if len(sizes) != 1:
        raise InputError(f'{path}: samples have different numbers of classes {sorted(sizes)}')
    return np.stack(scores), np.asarray(labels, dtype=np.int64)


def load_recognition_dumps(paths: Sequence[str]) -> Tuple[List[np.ndarray], np.ndarray]:
    """Read one dump per model of the same split -> per-model ``(N, C)`` scores, ``(N,)`` labels.

    The dumps must hold the same videos in the same order (checked through their labels) and
    the same number of classes.
    """
    scores: List[np.ndarray] = []
    labels = None
    for path in paths:
        s, lab = load_recognition_dump(path)
        if labels is None:
            labels = lab
        elif s.shape != scores[0].shape:
            raise InputError(f'{path}: {s.shape[0]} samples x {s.shape[1]} classes, but '
                             f'{paths[0]} has {scores[0].shape[0]} x {scores[0].shape[1]}')
        elif (lab != labels).any():
            i = int(np.flatnonzero(lab != labels)[0])
            raise InputError(f'{path}: sample {i} has label {lab[i]} but {paths[0]} has '
                             f'{labels[i]}: dumps must list the same videos in the same order')
        scores.append(s)
    return scores, labels


def save_recognition_dump(path: str, scores: np.ndarray, labels: Sequence[int]) -> None:
    """Write ``(N, C)`` scores and their labels as ``tools/test.py --dump`` samples
    (``pred_score``, ``pred_label`` = argmax, ``gt_label``), atomically."""
    import torch
    samples = [dict(pred_score=torch.from_numpy(np.asarray(row, dtype=np.float32)),
                    pred_label=torch.tensor([int(np.argmax(row))]),
                    gt_label=torch.tensor([int(lab)])) for row, lab in zip(scores, labels)]
    with atomic_open(path, 'wb') as f:
        pickle.dump(samples, f)


def fuse_recognition_dumps(paths: Sequence[str], weights: Optional[Sequence[float]] = None,
                           apply_softmax: bool = False, topk: Sequence[int] = (1, 5),
                           out: Optional[str] = None, log=print) -> Dict[str, dict]:
    """Fuse the recognition dumps ``paths`` (:func:`fuse_scores`), print every model's and the
    fusion's accuracy, write the fused dump to ``out`` (atomically) if given.

    Returns:
        ``{path: accuracy_report, ..., 'fused': accuracy_report}``.
    """
    if weights is not None and len(weights) != len(paths):
        raise InputError(f'--weights: {len(weights)} weights for {len(paths)} dumps')
    scores, labels = load_recognition_dumps(paths)
    fused = fuse_scores(scores, weights, apply_softmax=apply_softmax)
    topk = tuple(topk)
    reports = {path: accuracy_report(s, labels, topk) for path, s in zip(paths, scores)}
    reports['fused'] = accuracy_report(fused, labels, topk)
    keys = list(reports['fused'])
    width = max(len(name) for name in reports)
    log(f'{"model":<{width}}  ' + '  '.join(f'{k:>19}' for k in keys))
    for name, rep in reports.items():
        log(f'{name:<{width}}  ' + '  '.join(f'{rep[k]:>19.4f}' for k in keys))
    if out:
        save_recognition_dump(out, fused, labels)
        log(f'{len(labels)} fused samples of {len(scores)} models written to {out}')
    return reports
