"""Which classes a specialised model should take over, from validation AP (Fujitsu 2020).

Report "Multi-scale Spatiotemporal Features for Action Localization",
https://research.google.com/ava/challenge.html, Sec. 2.1: "After training the arm action model, we
select the results of 15 classes significantly improved for the fusion. For instance, the action
classes 'hit (an object)' and 'cut' whose mAP improved more than 70% and 108% respectively are
selected." The selected classes are then replaced in the main model's results
(:func:`~.weights.replacement_weights`, ``tools/ensemble.py --method replace``).

Rule: a class is a candidate when both models have an AP for it (it has validation GT and the
specialised model predicts it); its gain is ``AP_spec - AP_main`` (``absolute``) or
``(AP_spec - AP_main) / AP_main`` (``relative``, the report's percentages; infinite for a
main AP of 0 with a positive specialised AP); classes with gain above ``min_gain`` are kept,
largest gain first (ties by class id), at most ``top_k``.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional

import numpy as np

from ava_plugins.utils import InputError

__all__ = ['ClassSelection', 'select_classes_by_gain']


@dataclass
class ClassSelection:
    """Result of :func:`select_classes_by_gain`.

    Attributes:
        selected: class ids to take from the specialised model, largest gain first.
        gains: ``{class id: gain}`` of every candidate class.
        ap_main, ap_spec: ``{class id: AP}`` of the candidates.
    """
    selected: List[int]
    gains: Dict[int, float] = field(default_factory=dict)
    ap_main: Dict[int, float] = field(default_factory=dict)
    ap_spec: Dict[int, float] = field(default_factory=dict)

    def table(self, names: Optional[Mapping[int, str]] = None) -> str:
        """Per-candidate lines ``id name AP_main AP_spec gain [selected]``, by gain."""
        names = names or {}
        order = sorted(self.gains, key=lambda c: (-self.gains[c], c))
        rows = [f'{"id":>4} {"class":<32} {"AP main":>8} {"AP spec":>8} {"gain":>8}']
        chosen = set(self.selected)
        for c in order:
            rows.append(f'{c:>4} {str(names.get(c, ""))[:32]:<32} {self.ap_main[c]:8.4f} '
                        f'{self.ap_spec[c]:8.4f} {self.gains[c]:8.4f}'
                        f'{"  selected" if c in chosen else ""}')
        return '\n'.join(rows)


def select_classes_by_gain(ap_main: Mapping[int, Optional[float]],
                           ap_spec: Mapping[int, Optional[float]],
                           gain: str = 'absolute',
                           min_gain: float = 0.0,
                           top_k: Optional[int] = None) -> ClassSelection:
    """Classes where the specialised model's validation AP beats the main model's.

    Args:
        ap_main, ap_spec: per-class validation AP (``evaluate_ava(...).per_class``: ``None``
            for classes without GT); classes missing from either are not candidates.
        gain: ``'absolute'`` (AP difference) or ``'relative'`` (difference / main AP).
        min_gain: keep classes whose gain is strictly above this.
        top_k: keep at most this many (the report kept 15 of 27); ``None``: all.

    Returns:
        A :class:`ClassSelection`.
    """
    if gain not in ('absolute', 'relative'):
        raise InputError(f"gain must be 'absolute' or 'relative', got {gain!r}")
    if top_k is not None and top_k < 0:
        raise InputError(f'top_k must be >= 0, got {top_k}')
    ids = sorted(c for c in set(ap_main) & set(ap_spec)
                 if ap_main[c] is not None and ap_spec[c] is not None)
    a = np.array([ap_main[c] for c in ids], np.float64)
    b = np.array([ap_spec[c] for c in ids], np.float64)
    if gain == 'absolute':
        g = b - a
    else:
        with np.errstate(divide='ignore', invalid='ignore'):
            g = np.where(a > 0, (b - a) / np.where(a > 0, a, 1), np.where(b > 0, np.inf, 0.0))
    order = np.lexsort((np.asarray(ids, np.int64), -g))
    keep = order[g[order] > min_gain]
    if top_k is not None:
        keep = keep[:top_k]
    return ClassSelection(selected=[ids[i] for i in keep],
                          gains={c: float(x) for c, x in zip(ids, g)},
                          ap_main={c: float(x) for c, x in zip(ids, a)},
                          ap_spec={c: float(x) for c, x in zip(ids, b)})
