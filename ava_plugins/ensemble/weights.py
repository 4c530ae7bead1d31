"""Per-class ensemble weights from per-class validation AP (ACAR-Net 2020, report 002, sec. 2.2:
"for each action class, we set weights in the ensemble according to APs of the models on this
class"), and model-level weights that sum to 1 (ByteDance 2019, report 000, sec. 1.3, box fusion).

Weights are an (M models, C classes) array whose columns sum to 1. Fitted on validation
results, saved as JSON and applied to test results of the same models in the same order.
"""
import json
import os
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from ava_plugins.evaluation import AVAInputError
from ava_plugins.utils import InputError, atomic_open

PathLike = Union[str, os.PathLike]


@dataclass
class EnsembleWeights:
    """Per-class model weights.

    Attributes:
        models: (M,) names of the models (for messages and to check the order on reuse).
        class_ids: (C,) int64 action ids.
        weights: (M, C) float64, each column sums to 1.
    """
    models: List[str]
    class_ids: np.ndarray
    weights: np.ndarray

    def for_classes(self, class_ids: Sequence[int]) -> np.ndarray:
        """(M, len(class_ids)) weights; classes not fitted get equal weights."""
        class_ids = np.asarray(class_ids, np.int64)
        out = np.full((len(self.models), len(class_ids)), 1.0 / len(self.models))
        pos = np.searchsorted(self.class_ids, class_ids)
        pos = np.minimum(pos, max(len(self.class_ids) - 1, 0))
        known = (self.class_ids[pos] == class_ids) if len(self.class_ids) else np.zeros(
            len(class_ids), bool)
        out[:, known] = self.weights[:, pos[known]]
        return out


def uniform_weights(models: Sequence[str],
                    class_ids: Sequence[int],
                    model_weights: Optional[Sequence[float]] = None) -> EnsembleWeights:
    """Same weight for every class: ``model_weights`` normalised to sum 1 (equal if None)."""
    m = len(models)
    w = np.ones(m) if model_weights is None else np.asarray(model_weights, np.float64)
    if w.shape != (m, ) or (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
        raise InputError(f'model weights must be {m} non-negative numbers with a positive sum,'
                         f' got {list(np.atleast_1d(w))}')
    ids = np.unique(np.asarray(class_ids, np.int64))
    return EnsembleWeights(list(models), ids, np.repeat((w / w.sum())[:, None], len(ids), 1))


def replacement_weights(models: Sequence[str], class_ids: Sequence[int],
                        replace: Mapping[int, int]) -> EnsembleWeights:
    """Class-subset replacement (Fujitsu 2020, report 003, sec. 1 and 2.4.1, arm-model
    merge): class ``c`` in ``replace`` is taken from model ``replace[c]`` alone, every other
    class from model 0. One-hot weights, so the combination rule is the same as for the others."""
    ids = np.unique(
        np.concatenate(
            [np.asarray(class_ids, np.int64),
             np.fromiter(replace.keys(), np.int64, len(replace))]))
    w = np.zeros((len(models), len(ids)))
    w[0] = 1.0
    for cid, model in replace.items():
        if not 0 <= model < len(models):
            raise InputError(f'replacement of class {cid}: model index {model} is not in '
                             f'0..{len(models) - 1}')
    if replace:
        cols = np.searchsorted(ids, np.fromiter(replace.keys(), np.int64, len(replace)))
        rows = np.fromiter(replace.values(), np.int64, len(replace))
        w[:, cols] = 0.0
        w[rows, cols] = 1.0
    return EnsembleWeights(list(models), ids, w)


def fit_class_weights(models: Sequence[str],
                      per_class_ap: Sequence[Mapping[int, Optional[float]]],
                      power: float = 1.0) -> EnsembleWeights:
    """Weights proportional to ``AP ** power`` per class, normalised over models.

    Args:
        models: (M,) model names.
        per_class_ap: M dicts ``{class_id: AP or None}`` (``AVAResult.per_class`` of each
            model on the same validation set).
        power: sharpening exponent (1: proportional to AP).

    Returns:
        :class:`EnsembleWeights`; a class where every AP is None or 0 gets equal weights.
    """
    if len(per_class_ap) != len(models) or not models:
        raise InputError(f'need one per-class AP dict per model: {len(models)} models, '
                         f'{len(per_class_ap)} AP dicts')
    ids = np.unique(np.fromiter((c for ap in per_class_ap for c in ap), np.int64))
    ap = np.zeros((len(models), len(ids)))
    for m, aps in enumerate(per_class_ap):
        keys = np.fromiter(aps.keys(), np.int64, len(aps))
        vals = np.array([np.nan if v is None else v for v in aps.values()], np.float64)
        ap[m, np.searchsorted(ids, keys)] = np.nan_to_num(vals, nan=0.0)
    if (ap < 0).any() or (ap > 1).any():
        raise InputError('per-class AP must lie in [0, 1]')
    score = ap**power
    total = score.sum(axis=0, keepdims=True)
    w = np.where(total > 0, score / np.where(total > 0, total, 1.0), 1.0 / len(models))
    return EnsembleWeights(list(models), ids, w)


def save_weights(path: PathLike, weights: EnsembleWeights) -> None:
    """Writes the weights as JSON, atomically."""
    data = dict(models=list(weights.models),
                class_ids=weights.class_ids.tolist(),
                weights=weights.weights.tolist())
    with atomic_open(path, 'w') as f:
        json.dump(data, f, indent=1)


def load_weights(path: PathLike, num_models: Optional[int] = None) -> EnsembleWeights:
    """Reads weights saved by :func:`save_weights`; checks shape, sums and model count."""
    path = os.fspath(path)
    try:
        with open(path) as f:
            data: Dict = json.load(f)
        models, ids = list(data['models']), np.asarray(data['class_ids'], np.int64)
        w = np.asarray(data['weights'], np.float64)
    except FileNotFoundError:
        raise AVAInputError(f'{path}: ensemble weights file not found') from None
    except (ValueError, KeyError, TypeError) as err:
        raise AVAInputError(f'{path}: expected JSON with keys models, class_ids, weights '
                            f'(M x C numbers): {err!r}') from None
    if w.shape != (len(models), len(ids)):
        raise AVAInputError(f'{path}: weights must be {len(models)} x {len(ids)} (models x '
                            f'class_ids), got shape {w.shape}')
    if len(ids) and not np.allclose(w.sum(axis=0), 1.0, atol=1e-6):
        raise AVAInputError(f'{path}: each class\'s weights must sum to 1')
    if num_models is not None and num_models != len(models):
        raise AVAInputError(f'{path}: weights were fitted for {len(models)} models '
                            f'({", ".join(models)}), got {num_models} result files')
    order = np.argsort(ids)
    return EnsembleWeights(models, ids[order], w[:, order])
