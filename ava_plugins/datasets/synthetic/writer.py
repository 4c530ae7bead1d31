"""Writers for AVA's on-disk formats, all atomic (temporary name, then ``os.replace``).

Formats, as mmaction2's AVADataset / AVAMetric read them:
annotation CSV ``video_id,timestamp,x1,y1,x2,y2,action_id,person_id`` (timestamp 4 digits,
box normalised to 3 decimals, one row per action); excluded timestamps CSV
``video_id,timestamp``; label map pbtxt (``item { name: "..." id: N }``) and the plain
``N: name`` text map mmaction2's demos read; pickles of ``{"video_id,timestamp": ndarray}``;
rawframes ``<video_id>/img_00001.jpg``.
"""
import os
import os.path as osp
import pickle
import shutil
from typing import Iterable, Sequence

import cv2
import numpy as np

from ...utils import atomic_open
from .classes import SyntheticClass


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (:func:`ava_plugins.utils.atomic_open`)."""
    with atomic_open(path, 'wb') as f:
        f.write(data)


def write_annotation_csv(path: str, video_ids: Sequence[str], timestamps: np.ndarray,
                         boxes: np.ndarray, labels: np.ndarray, person_ids: np.ndarray) -> None:
    """One row per (person, action): ``labels`` (N, K) bool columns for ids 1..K."""
    person, cls = np.nonzero(labels)
    lines = [f'{video_ids[i]},{timestamps[i]:04d},{boxes[i, 0]:.3f},{boxes[i, 1]:.3f},'
             f'{boxes[i, 2]:.3f},{boxes[i, 3]:.3f},{c + 1},{person_ids[i]}\n'
             for i, c in zip(person.tolist(), cls.tolist())]
    atomic_write_bytes(path, ''.join(lines).encode())


def write_excluded_csv(path: str, pairs: Iterable[tuple]) -> None:
    atomic_write_bytes(path, ''.join(f'{v},{t:04d}\n' for v, t in pairs).encode())


def write_label_maps(pbtxt_path: str, txt_path: str, classes: Sequence[SyntheticClass]) -> None:
    pbtxt = ''.join(f'item {{\n  name: "{c.name}"\n  id: {c.id}\n}}\n' for c in classes)
    atomic_write_bytes(pbtxt_path, pbtxt.encode())
    atomic_write_bytes(txt_path, ''.join(f'{c.id}: {c.name}\n' for c in classes).encode())


def write_pickle(path: str, obj) -> None:
    atomic_write_bytes(path, pickle.dumps(obj, protocol=4))


def write_frames(frame_dir: str, frames: np.ndarray, quality: int, start: int = 1) -> None:
    """Write frames (F, H, W, 3) BGR as ``img_{start:05}.jpg``...; the folder appears whole.

    JPEG encoding (libjpeg through OpenCV, fixed quality, no timestamps or metadata) is
    deterministic, so the same frames give the same bytes.
    """
    tmp = f'{frame_dir}.tmp{os.getpid()}'
    if osp.exists(tmp):
        shutil.rmtree(tmp)
    os.makedirs(tmp)
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    for i, frame in enumerate(frames):
        ok, buf = cv2.imencode('.jpg', frame, params)
        if not ok:
            raise ValueError(f'OpenCV could not encode frame {i + start} of {frame_dir}')
        with open(osp.join(tmp, f'img_{i + start:05d}.jpg'), 'wb') as f:
            f.write(buf.tobytes())
    if osp.exists(frame_dir):
        shutil.rmtree(frame_dir)
    os.replace(tmp, frame_dir)
