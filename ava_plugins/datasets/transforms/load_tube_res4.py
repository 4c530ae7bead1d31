"""Per-sample loading of a proposal tube's keyframes and their cached res4 volumes (multi-sec).

ByteDance AI Lab AVA Challenge 2019 Technical Report
(https://research.google.com/ava/challenge.html, Sec. 1.2): for each keyframe ``t``, ``K`` (5)
keyframes are sampled uniformly over the ``T`` seconds of the linked tubes (``tools/link_tubes.py
--span T``): offsets ``round(linspace(-T//2, T//2, K))``, i.e.
-2..2 for T = 5 and -4, -2, 0, 2, 4 for T = 9. Their res4 volumes come from the project's
:class:`~ava_plugins.structures.FeatureBank` (``tools/extract_bank.py --feature res4``, one
packed item per keyframe clip), read through memory maps in the dataloader workers.

Missing data. A missed detection inside a tube is bridged at linking time (an interpolated box,
``tools/link_tubes.py --max-gap``) and used as it is. A tube has no box at a keyframe beyond
where linking ended it (NaN rows, e.g. at video borders), and a keyframe may have no cached
volume (not in the annotation list the bank was extracted from). Such a (proposal, keyframe)
pair borrows the nearest keyframe of the same proposal that has both, ties going to the one
nearer the centre; the centre (the proposal itself, on the current keyframe) always has both,
so every proposal gets ``K`` RoIs. Packed ``tube_clips`` say which of the ``K`` volumes each
RoI is pooled from (``tube_clips[i, k] != k``: borrowed); ``TubeSlotsHook``
(:mod:`ava_plugins.engine.tube_slots_hook`) logs the borrowed fraction during training.

Frames are not decoded: proposals and ground truths are scaled to ``img_shape``, the frame size
the bank was extracted at (a fixed-size ``Resize``, since bank items have one shape).
"""
import math
from typing import Sequence

import numpy as np
import torch
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

from ...structures.feature_bank import FeatureBank
from ava_eval.keyframe_pickles import load_tubes


def clip_offsets(span: int, num_clips: int) -> np.ndarray:
    """Keyframe offsets of the ``num_clips`` clips sampled uniformly in ``[-span//2, span//2]``."""
    half = span // 2
    return np.round(np.linspace(-half, half, num_clips)).astype(np.int64)


def nearest_valid(valid: np.ndarray) -> np.ndarray:
    """For ``(n, K)`` validity (column ``K//2`` all True), the nearest valid column of each cell.

    Distance in columns; ties go to the column nearer the centre. Returns ``(n, K)`` int64.
    """
    k = valid.shape[1]
    cols = np.arange(k)
    dist = np.abs(cols[:, None] - cols[None, :]) * (k + 1) + np.abs(cols - k // 2)[None, :]
    cost = np.where(valid[:, None, :], dist[None], np.iinfo(np.int64).max)  # (n, K, K)
    return cost.argmin(axis=2)


@TRANSFORMS.register_module()
class LoadTubeRes4(BaseTransform):
    """Add ``imgs`` ``(K, P, h, w)``, ``tube_boxes`` ``(n, K, 4)`` and ``tube_clips`` ``(n, K)``.

    Pack with ``PackActionInputs(algorithm_keys=('tube_boxes', 'tube_clips'))`` for
    ``MultiSecFastRCNN`` / ``MultiSecRoIHead``.

    Args:
        bank_dir: :class:`FeatureBank` of packed res4 volumes, one item per keyframe.
        tube_file: ``tools/link_tubes.py`` output for the same proposal file as the dataset's
            (``{"video,timestamp": (N, T, 5)}``, rows aligned with the file's proposals).
        num_clips: ``K`` (5 in the report).
        img_shape: ``(H, W)`` of the frames the bank was extracted from.
        featmap_stride: res4 stride (16 for mmaction2's SlowFast): the bank's ``h, w`` must be
            ``ceil(H / stride), ceil(W / stride)``.

    Required keys: ``video_id``, ``timestamp``, ``img_key``, ``proposals`` (normalised, as
    ``AVADataset`` gives them); optional ``gt_bboxes``. Modified: ``proposals``, ``gt_bboxes``
    (to pixels); added: ``imgs``, ``img_shape``, ``original_shape``, ``tube_boxes``,
    ``tube_clips``.
    """

    def __init__(self,
                 bank_dir: str,
                 tube_file: str,
                 num_clips: int = 5,
                 img_shape: Sequence[int] = (256, 256),
                 featmap_stride: int = 16) -> None:
        if num_clips < 1 or num_clips % 2 == 0 or len(tuple(img_shape)) != 2:
            raise ValueError(f'LoadTubeRes4: num_clips must be odd (the centre clip is the '
                             f'keyframe itself) and img_shape (H, W), got '
                             f'{num_clips}, {img_shape}')
        self.bank_dir = bank_dir
        self.tube_file = tube_file
        self.num_clips = int(num_clips)
        self.img_shape = tuple(int(s) for s in img_shape)
        self.featmap_stride = featmap_stride
        self._bank = None
        self._tubes = None

    @property
    def bank(self) -> FeatureBank:
        if self._bank is None:
            bank = FeatureBank(self.bank_dir)
            h, w = (math.ceil(s / self.featmap_stride) for s in self.img_shape)
            if len(bank.item_shape) != 3 or bank.item_shape[1:] != (h, w):
                raise ValueError(f'{self.bank_dir}: items of shape {bank.item_shape}, expected '
                                 f'packed res4 volumes (P, {h}, {w}) of {self.img_shape} frames '
                                 f'at stride {self.featmap_stride}')
            self._bank = bank
        return self._bank

    @property
    def tubes(self) -> dict:
        if self._tubes is None:
            tubes = load_tubes(self.tube_file)
            self._tubes = tubes
        return self._tubes

    def _tube(self, key: str, proposals: np.ndarray) -> np.ndarray:
        """``(n, T, 4)`` tubes of ``proposals`` (a subset of the key's proposals, in order)."""
        tube = self.tubes.get(key)
        if tube is None:  # no proposals for this keyframe in the file: AVADataset's dummy box
            return proposals[:, None, :4].astype(np.float64)
        tube = np.asarray(tube)
        if tube.ndim != 3 or tube.shape[2] != 5 or tube.shape[1] % 2 == 0:
            raise ValueError(f'{self.tube_file}[{key!r}]: expected (N, T, 5) with odd T, got '
                             f'{tube.shape}')
        centre = tube[:, tube.shape[1] // 2, :4]
        same = np.isclose(proposals[:, None, :4], centre[None], rtol=0, atol=1e-6).all(-1)
        found = same.any(axis=1)
        if not found.all():
            raise ValueError(f'{self.tube_file}[{key!r}]: proposal {int(np.argmin(found))} '
                             f'{proposals[np.argmin(found)].tolist()} is not in the tube file; '
                             f'was it linked from the dataset\'s proposal file?')
        return tube[same.argmax(axis=1), :, :4]

    def transform(self, results: dict) -> dict:
        for key in ('video_id', 'timestamp', 'img_key', 'proposals'):
            if key not in results:
                raise ValueError(f'LoadTubeRes4 needs {key!r} in the sample (AVADataset with a '
                                 f'proposal_file provides it); got keys {sorted(results)}')
        video, t, key = str(results['video_id']), int(results['timestamp']), results['img_key']
        proposals = np.asarray(results['proposals'], dtype=np.float64)
        tube = self._tube(key, proposals)
        span = tube.shape[1]
        offsets = clip_offsets(span, self.num_clips)
        if span < 2 * int(np.abs(offsets).max()) + 1:
            raise ValueError(f'{self.tube_file}: tubes span {span} keyframes, fewer than the '
                             f'{self.num_clips} clips need')
        boxes = tube[:, offsets + span // 2]  # (n, K, 4) normalised, NaN where no box

        stamps = self.bank.timestamps(video) if self.bank.has_video(video) else np.zeros(0, int)
        present = np.isin(t + offsets, stamps)
        if not present[self.num_clips // 2]:
            raise ValueError(f'{self.bank_dir}: no res4 volume for {video!r} at {t} (extract it '
                             f'with tools/extract_bank.py --feature res4)')
        item = self.bank.item_shape
        feats = np.zeros((self.num_clips, ) + item, dtype=self.bank.dtype)
        for k in np.flatnonzero(present):  # at most K reads per sample
            feats[k] = self.bank.read_items(video, int(t + offsets[k]))[0][0]

        valid = np.isfinite(boxes).all(-1) & present[None]
        valid[:, self.num_clips // 2] = True
        src = nearest_valid(valid)
        rows = np.arange(len(boxes))[:, None]
        h, w = self.img_shape
        scale = np.array([w, h, w, h], dtype=np.float32)
        results['tube_boxes'] = torch.from_numpy((boxes[rows, src] * scale).astype(np.float32))
        results['tube_clips'] = torch.from_numpy(src)
        results['proposals'] = (proposals * scale).astype(np.float32)
        if 'gt_bboxes' in results:
            results['gt_bboxes'] = (np.asarray(results['gt_bboxes']) * scale).astype(np.float32)
        results['imgs'] = feats
        results['img_shape'] = results['original_shape'] = self.img_shape
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(bank_dir={self.bank_dir!r}, tube_file='
                f'{self.tube_file!r}, num_clips={self.num_clips}, img_shape={self.img_shape})')
