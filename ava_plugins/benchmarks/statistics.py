"""The benchmark's statistics over runs: per head, mean +- std over seeds; claims vs baseline."""
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import numpy as np

from .synthetic_runs import group_aps


def mean_std(values: Sequence[Optional[float]]):
    """``(mean, sample std or None for one value, n)`` of the non-None values."""
    v = np.array([x for x in values if x is not None], dtype=np.float64)
    if len(v) == 0:
        return None, None, 0
    return float(v.mean()), (float(v.std(ddof=1)) if len(v) > 1 else None), len(v)


def aggregate(results: Sequence[dict], groups: Dict[str, List[int]]) -> 'OrderedDict':
    """Per config: mAP and each group's mean AP over its runs (seeds), as ``mean_std``.

    Group APs are recomputed from each run's per-class APs (the evaluator's) with ``groups``,
    so the table never depends on how a run summarised itself.
    """
    by_config = OrderedDict()
    for r in sorted(results, key=lambda r: (r['config'], r['seed'])):
        by_config.setdefault(r['config'], []).append(r)
    out = OrderedDict()
    for name, runs in by_config.items():
        per_run = [group_aps(r['per_class'], groups) for r in runs]
        out[name] = dict(
            seeds=[r['seed'] for r in runs],
            mAP=mean_std([r['mAP'] for r in runs]),
            groups={g: mean_std([p[g] for p in per_run]) for g in groups},
            claims=list(runs[0].get('claims') or []),
            max_epochs=sorted({r.get('max_epochs') for r in runs}),
            seconds=mean_std([r['seconds']['total'] for r in runs]) if all(
                'seconds' in r for r in runs) else (None, None, 0),
            device=sorted({r.get('device', '?') for r in runs}))
    return out


def compare_claims(table: dict, baseline: str) -> Dict[str, List[dict]]:
    """For each head, each claimed group: its mean vs the baseline's, and whether it beats it.

    ``within_noise``: the difference is at most the combined std of the two means'
    seed spreads (``sqrt(s_a^2 + s_b^2)``), i.e. the seeds cannot tell them apart.
    """
    out = {}
    base = table.get(baseline)
    for name, row in table.items():
        notes = []
        for g in row['claims']:
            mean, std, _ = row['groups'][g]
            if base is None or base['groups'][g][0] is None or mean is None:
                notes.append(dict(group=g, beats=None, diff=None, within_noise=None))
                continue
            b_mean, b_std, _ = base['groups'][g]
            diff = mean - b_mean
            spread = np.hypot(std or 0.0, b_std or 0.0)
            notes.append(dict(group=g, beats=bool(diff > 0), diff=float(diff),
                              within_noise=bool(abs(diff) <= spread) if spread > 0 else None))
        out[name] = notes
    return out
