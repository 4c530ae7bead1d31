"""The benchmark's outputs: ``capabilities.md`` (table + verdicts) and ``capabilities.png``."""
import json
import os
import os.path as osp
from typing import Callable, List, Sequence

import numpy as np

from ..datasets.synthetic import GROUPS, capability_groups
from ..utils import atomic_open
from .planner import stem
from .statistics import aggregate, compare_claims


def _fmt(ms, digits=3):
    mean, std, _ = ms
    if mean is None:
        return 'n/a'
    return f'{mean:.{digits}f}' + ('' if std is None else f' ± {std:.{digits}f}')


def _verdict(note) -> str:
    if note['beats'] is None:
        return f'{note["group"]}: no baseline result'
    word = 'beats' if note['beats'] else 'does not beat'
    noise = {True: ', within the seeds\' spread', False: '', None: ''}[note['within_noise']]
    return f'{note["group"]}: {word} ({note["diff"]:+.3f}{noise})'


def markdown_table(table: dict, notes: dict, groups: Sequence[str], baseline: str,
                   header: str) -> str:
    """``capabilities.md``: schedule/data header, the table (claimed groups in bold), verdicts."""
    cols = ['head', 'epochs', 'seeds', 'mAP'] + list(groups) + ['claims vs baseline',
                                                               'min per run']
    lines = [header, '', '| ' + ' | '.join(cols) + ' |', '|' + '---|' * len(cols)]
    for name, row in table.items():
        cells = [stem(name) + (' (baseline)' if name == baseline else ''),
                 '/'.join(str(e) for e in row['max_epochs']),
                 ' '.join(str(s) for s in row['seeds']), _fmt(row['mAP'])]
        for g in groups:
            text = _fmt(row['groups'][g])
            cells.append(f'**{text}**' if g in row['claims'] else text)
        cells.append('; '.join(_verdict(n) for n in notes.get(name, [])) or '—')
        sec = row['seconds'][0]
        cells.append('n/a' if sec is None else f'{sec / 60:.1f}')
        lines.append('| ' + ' | '.join(cells) + ' |')
    lines += ['', 'Cells: mean ± sample std over the seeds of the frame-mAP@0.5 (overall) and '
              'of the mean AP of each capability group\'s classes; **bold**: a group the head '
              'claims (config key `synthetic_claims`). "within the seeds\' spread": the '
              'difference from the baseline is at most sqrt(std_head² + std_baseline²).']
    return '\n'.join(lines) + '\n'


def plot_table(table: dict, groups: Sequence[str], path: str, title: str) -> str:
    """Grouped bars: one group of bars per capability group (and overall mAP), one bar per
    head, std error bars. Written atomically."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    cats = list(groups) + ['overall mAP']
    names = list(table)
    width = 0.8 / max(len(names), 1)
    fig, ax = plt.subplots(figsize=(max(8, 1.4 * len(cats) * max(1, len(names) / 3)), 4.5))
    x = np.arange(len(cats))
    for i, name in enumerate(names):
        row = table[name]
        stats = [row['groups'][g] for g in groups] + [row['mAP']]
        means = [np.nan if s[0] is None else s[0] for s in stats]
        stds = [0.0 if s[1] is None else s[1] for s in stats]
        ax.bar(x - 0.4 + width * (i + 0.5), means, width, yerr=stds, capsize=2,
               label=stem(name))
    ax.set_xticks(x, cats)
    ax.set_ylabel('AP (mean ± std over seeds)')
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=9)
    if names:
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    with atomic_open(path, 'wb') as f:
        fig.savefig(f, format='png', dpi=110)
    plt.close(fig)
    return path


def read_results(work_dir: str) -> List[dict]:
    """Every finished run's ``result.json`` under ``work_dir/runs``."""
    out = []
    root = osp.join(work_dir, 'runs')
    if not osp.isdir(root):
        return out
    for config in sorted(os.listdir(root)):
        for seed_dir in sorted(os.listdir(osp.join(root, config))):
            path = osp.join(root, config, seed_dir, 'result.json')
            if osp.exists(path):
                with open(path) as f:
                    out.append(json.load(f))
    return out


def report(work_dir: str, results: Sequence[dict], baseline: str, header: str,
           log: Callable = print) -> dict:
    """Aggregate, print, and write ``capabilities.md`` / ``capabilities.png``."""
    table = aggregate(results, capability_groups())
    notes = compare_claims(table, baseline)
    text = markdown_table(table, notes, GROUPS, baseline, header)
    with atomic_open(osp.join(work_dir, 'capabilities.md'), 'w') as f:
        f.write(text)
    plot_table(table, GROUPS, osp.join(work_dir, 'capabilities.png'),
               header.splitlines()[0].lstrip('# '))
    log('\n' + text)
    return dict(table=table, notes=notes, markdown=text)
