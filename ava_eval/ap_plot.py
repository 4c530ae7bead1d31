"""Bar chart of the per-class AP of an AVA evaluation (PNG, matplotlib's Agg backend)."""
from typing import Optional

from .atomic_io import atomic_open
from .frame_ap import AVA_GROUPS, AVAResult

_GROUP_COLOURS = {
    'person_movement': '#4C72B0',
    'object_manipulation': '#DD8452',
    'person_interaction': '#55A868',
}


def plot_per_class_ap(result: AVAResult, path: str, title: Optional[str] = None) -> str:
    """Saves a bar per class (AP in %, coloured by AVA group) to ``path`` atomically.

    Classes without ground truth (AP None) are shown as an empty slot labelled ``n/a``;
    the mAP is drawn as a horizontal line. Returns ``path``.
    """
    import matplotlib
    matplotlib.use('Agg', force=False)
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    ids = list(result.per_class)
    values = [0.0 if result.per_class[i] is None else 100 * result.per_class[i] for i in ids]
    colours = []
    for cid in ids:
        group = next((g for g, (lo, hi) in AVA_GROUPS.items() if lo <= cid <= hi), None)
        colours.append(_GROUP_COLOURS.get(group, '#8C8C8C'))
    fig = Figure(figsize=(max(8.0, 0.22 * len(ids) + 2), 5.5), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    ax.bar(range(len(ids)), values, color=colours)
    for x, cid in enumerate(ids):
        if result.per_class[cid] is None:
            ax.text(x, 0.5, 'n/a', rotation=90, ha='center', va='bottom', fontsize=6)
    ax.axhline(100 * result.mAP, color='black', linestyle='--', linewidth=1,
               label=f'mAP {100 * result.mAP:.2f}')
    ax.set_xticks(range(len(ids)))
    ax.set_xticklabels([f'{i} {result.class_names[i][:18]}' for i in ids], rotation=90,
                       fontsize=6)
    ax.set_ylabel('AP@0.5 (%)')
    ax.set_ylim(0, 100)
    ax.set_title(title or ('AVA frame-AP per class' + (' (official top-50)' if result.official
                                                        else '')))
    handles = [Patch(color=c, label=g.replace('_', ' ')) for g, c in _GROUP_COLOURS.items()]
    handles.append(ax.get_legend_handles_labels()[0][0])
    ax.legend(handles=handles, fontsize=7, loc='upper right')
    fig.tight_layout()
    with atomic_open(path, 'wb') as f:
        fig.savefig(f, format='png')
    return path
