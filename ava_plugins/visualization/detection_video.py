"""Draw AVA-style detections (normalised boxes + per-class scores) on frames, save a GIF.

Drawing goes through mmengine's :class:`~mmengine.visualization.Visualizer`, as mmaction2's
spatio-temporal demo does; the GIF is written with Pillow, atomically.
"""
from typing import Dict, List, Sequence

import numpy as np
from mmengine.visualization import Visualizer
from PIL import Image

from ava_plugins.utils import atomic_open

_PALETTE = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180),
            (70, 240, 240), (240, 50, 230), (210, 245, 60)]


def draw_detections(frame: np.ndarray, boxes: np.ndarray, labels: Sequence[List[str]],
                    visualizer: Visualizer = None) -> np.ndarray:
    """Draw one frame's detections.

    Args:
        frame: ``(H, W, 3)`` uint8 RGB image.
        boxes: ``(N, 4)`` boxes ``x1, y1, x2, y2`` normalised to [0, 1].
        labels: for each box, the lines of text to write in it (e.g. ``'walk 0.93'``).

    Returns:
        ``(H, W, 3)`` uint8 RGB image with boxes and labels drawn.
    """
    vis = visualizer or Visualizer()
    vis.set_image(frame)
    h, w = frame.shape[:2]
    if len(boxes):
        pix = np.asarray(boxes, dtype=np.float32) * np.array([w, h, w, h], dtype=np.float32)
        colors = [_PALETTE[i % len(_PALETTE)] for i in range(len(pix))]
        vis.draw_bboxes(pix, edge_colors=colors, line_widths=1)
        for box, lines, color in zip(pix, labels, colors):
            if lines:
                vis.draw_texts('\n'.join(lines), box[:2] + 1, colors=color,
                               font_sizes=max(5, h // 22), vertical_alignments='top')
    return vis.get_image()


def save_gif(frames: Sequence[np.ndarray], path: str, fps: float = 10) -> str:
    """Write RGB frames as a looping GIF at ``path`` (temporary name, then renamed)."""
    if not len(frames):
        raise ValueError(f'{path}: no frames to write')
    images = [Image.fromarray(f) for f in frames]
    with atomic_open(path, 'wb') as f:
        images[0].save(f, format='GIF', save_all=True, append_images=images[1:],
                       duration=int(1000 / fps), loop=0)
    return path


def top_labels(scores: np.ndarray, names: Dict[int, str], class_ids: Sequence[int],
               thr: float, max_labels: int = 3) -> List[List[str]]:
    """For each row of ``scores`` ``(N, len(class_ids))``, the best labels above ``thr``."""
    out = []
    for row in np.asarray(scores):
        order = np.argsort(-row)[:max_labels]
        out.append([f'{names.get(class_ids[j], class_ids[j])} {row[j]:.2f}' for j in order
                    if row[j] >= thr])
    return out
