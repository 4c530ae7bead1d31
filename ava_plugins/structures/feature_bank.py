"""The project's feature-bank storage: per-video fp16 shards read through memory maps.

One mechanism serves every bank of the project:

* the Actor-Context Feature Bank of ACAR-Net (https://arxiv.org/abs/2006.07976,
  Sec. 1.3): first-order actor-context relation maps (e.g. ``512 x 7 x 7``) of every actor,
  extracted by a trained model every second of every video, frozen during training and read
  over a ~20 s span around the current keyframe;
* the long-term feature bank of the SJTU three-branch model ("Three Branches: Detecting Actions
  With Richer Features", https://arxiv.org/abs/1908.04519, Sec. 3 "Long-Term Feature
  Operation"): 5 persons per second over 61 s, fixed-size slots
  (``max_items=5``) with empty slots masked;
* the res4 feature-volume cache of ByteDance's multi-second model (ByteDance AI Lab AVA
  Challenge 2019 Technical Report, https://research.google.com/ava/challenge.html, Sec. 1.2:
  "we precompute res4 feature volumes off-the-shelf").

Layout of a bank directory::

    meta.json                       {"format", "version", "item_shape", "dtype"}
    shards/<video>.npy              (N, *item_shape) features of the video, sorted by timestamp
    shards/<video>.index.npz        timestamps (N,) int64, boxes (N, 4) and scores (N,) float32,
                                    the .npy's byte size and CRC32

A video holds any number of items per (integer) timestamp, each an array of the bank's
``item_shape``, with optional box (x1, y1, x2, y2) and score metadata (NaN when not given).
Every file is written to a temporary name and moved into place with ``os.replace``; the index is
written last, so a shard is finished exactly when its index exists. Readers open shards lazily
with ``np.load(mmap_mode='r')`` and copy out only the rows a window needs, so a dataloader worker
never holds a whole shard, let alone a bank; :class:`FeatureBank` pickles without its open maps.
``<video>`` is the video id percent-encoded (:func:`urllib.parse.quote`), so any id is a safe
file name.
"""
import json
import os
import os.path as osp
import zlib
from collections import OrderedDict
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple
from urllib.parse import quote, unquote

import numpy as np

from ..utils import InputError, atomic_open

__all__ = ['BankWindow', 'FeatureBank', 'FeatureBankError']

FORMAT = 'ava_plugins.feature_bank'
VERSION = 1
_SHARDS = 'shards'
_FEATURES = '.npy'
_INDEX = '.index.npz'


class FeatureBankError(InputError):
    """A bank, shard or index file is missing, corrupt or does not match its bank."""


class BankWindow(NamedTuple):
    """Items of timestamps ``center - half_width .. center + half_width`` of one video.

    ``S = 2 * half_width + 1`` timestamps, ``P`` slots per timestamp. Padding slots hold zeros
    and ``mask`` False; boxes and scores that were never given are NaN.
    """
    features: np.ndarray  # (S, P, *item_shape), the bank dtype
    timestamps: np.ndarray  # (S,) int64
    boxes: np.ndarray  # (S, P, 4) float32
    scores: np.ndarray  # (S, P) float32
    mask: np.ndarray  # (S, P) bool, True where a slot holds an item


class _Shard(NamedTuple):
    features: np.ndarray  # read-only memory map
    timestamps: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    rank: np.ndarray  # position of each item among the items of its timestamp


def _atomic_write(path: str, write) -> None:
    """Write through ``write(file)`` atomically (:func:`ava_plugins.utils.atomic_open`)."""
    with atomic_open(path, 'wb') as f:
        write(f)


def _crc32(array: np.ndarray) -> int:
    crc = 0
    flat = array.reshape(-1)
    step = max(1, (64 << 20) // max(array.itemsize, 1))
    for start in range(0, flat.shape[0], step):  # chunks: never a full copy of a mapped shard
        crc = zlib.crc32(np.ascontiguousarray(flat[start:start + step]).data, crc)
    return crc


class FeatureBank:
    """A directory of per-video feature shards with windowed, memory-mapped reads.

    Args:
        bank_dir: directory created by :meth:`create`.
        max_open_shards: memory maps kept open per process (least recently used closed first).

    Raises:
        FeatureBankError: if ``meta.json`` is missing or not a bank description.
    """

    def __init__(self, bank_dir: str, max_open_shards: int = 64):
        self.bank_dir = osp.abspath(bank_dir)
        self.max_open_shards = max_open_shards
        meta_path = osp.join(self.bank_dir, 'meta.json')
        try:
            with open(meta_path) as f:
                meta = json.load(f)
        except FileNotFoundError:
            raise FeatureBankError(f'{meta_path}: no feature bank here (create one with '
                                   f'FeatureBank.create)') from None
        except (OSError, ValueError) as e:
            raise FeatureBankError(f'{meta_path}: unreadable bank description ({e})') from None
        if not isinstance(meta, dict) or meta.get('format') != FORMAT:
            raise FeatureBankError(f'{meta_path}: not an {FORMAT} description')
        if meta.get('version') != VERSION:
            raise FeatureBankError(f'{meta_path}: bank version {meta.get("version")!r}, this '
                                   f'code reads version {VERSION}')
        try:
            self.item_shape = tuple(int(s) for s in meta['item_shape'])
            self.dtype = np.dtype(meta['dtype'])
        except (KeyError, TypeError, ValueError) as e:
            raise FeatureBankError(f'{meta_path}: bad "item_shape" or "dtype" ({e})') from None
        self._shards: 'OrderedDict[str, _Shard]' = OrderedDict()

    @classmethod
    def create(cls,
               bank_dir: str,
               item_shape: Sequence[int],
               dtype='float16',
               **kwargs) -> 'FeatureBank':
        """Create a bank (or open an existing one with the same item shape and dtype).

        Raises:
            FeatureBankError: if ``bank_dir`` holds a bank of another item shape or dtype.
        """
        item_shape = tuple(int(s) for s in item_shape)
        if any(s <= 0 for s in item_shape):
            raise ValueError(f'item_shape must be positive, got {item_shape}')
        dtype = np.dtype(dtype)
        if dtype.kind != 'f':
            raise ValueError(f'a feature bank stores floating point features, got {dtype}')
        meta_path = osp.join(bank_dir, 'meta.json')
        if osp.exists(meta_path):
            bank = cls(bank_dir, **kwargs)
            if bank.item_shape != item_shape or bank.dtype != dtype:
                raise FeatureBankError(
                    f'{meta_path}: bank holds items {bank.item_shape} {bank.dtype}, asked for '
                    f'{item_shape} {dtype}')
            return bank
        os.makedirs(osp.join(bank_dir, _SHARDS), exist_ok=True)
        meta = dict(format=FORMAT, version=VERSION, item_shape=list(item_shape), dtype=dtype.name)
        _atomic_write(meta_path, lambda f: f.write(json.dumps(meta, indent=1).encode()))
        return cls(bank_dir, **kwargs)

    # ---------------------------------------------------------------------------- paths
    def _path(self, video_id: str, suffix: str) -> str:
        if not isinstance(video_id, str) or not video_id:
            raise ValueError(f'video ids are non-empty strings, got {video_id!r}')
        return osp.join(self.bank_dir, _SHARDS, quote(video_id, safe='') + suffix)

    def shard_path(self, video_id: str) -> str:
        """The ``.npy`` file holding the features of ``video_id``."""
        return self._path(video_id, _FEATURES)

    def index_path(self, video_id: str) -> str:
        """The ``.index.npz`` file of ``video_id``; its existence marks the shard finished."""
        return self._path(video_id, _INDEX)

    def has_video(self, video_id: str) -> bool:
        return osp.exists(self.index_path(video_id))

    def videos(self) -> List[str]:
        """Sorted ids of the finished videos."""
        names = os.listdir(osp.join(self.bank_dir, _SHARDS))
        return sorted(unquote(n[:-len(_INDEX)]) for n in names if n.endswith(_INDEX))

    # ---------------------------------------------------------------------------- writing
    def write_video(self, video_id: str, timestamps, features, boxes=None) -> None:
        """Write (or overwrite) the shard of one video atomically.

        Args:
            video_id: the video.
            timestamps: ``(N,)`` integer timestamp of each item (e.g. AVA keyframe seconds).
            features: ``(N, *item_shape)``; cast to the bank dtype.
            boxes: optional ``(N, 4)`` x1, y1, x2, y2 or ``(N, 5)`` with a score.

        Items are stored sorted by timestamp, keeping the given order within a timestamp (that
        order decides which items a window with ``max_items`` keeps).

        Raises:
            ValueError: naming the video, for wrong shapes, non-integer timestamps or features
                that are not finite in the bank dtype (e.g. overflowing float16).
        """
        where = f'feature bank {self.bank_dir}, video {video_id!r}'
        ts = np.asarray(timestamps)
        if ts.ndim != 1:
            raise ValueError(f'{where}: timestamps must have shape (N,), got {ts.shape}')
        if ts.dtype.kind not in 'iu' and not (ts.dtype.kind == 'f' and np.all(np.isfinite(ts))
                                              and np.all(ts == np.round(ts))):
            raise ValueError(f'{where}: timestamps must be integers, got {ts.dtype} values')
        ts = ts.astype(np.int64)
        n = ts.shape[0]
        feats = np.asarray(features)
        if feats.shape != (n, ) + self.item_shape:
            raise ValueError(f'{where}: features must have shape (N, *item_shape) = '
                             f'{(n, ) + self.item_shape}, got {feats.shape}')
        box_arr = np.full((n, 4), np.nan, dtype=np.float32)
        score_arr = np.full((n, ), np.nan, dtype=np.float32)
        if boxes is not None:
            b = np.asarray(boxes, dtype=np.float32)
            if b.shape not in ((n, 4), (n, 5)):
                raise ValueError(f'{where}: boxes must have shape (N, 4) or (N, 5) with N = {n}, '
                                 f'got {b.shape}')
            box_arr = np.ascontiguousarray(b[:, :4])
            if b.shape[1] == 5:
                score_arr = np.ascontiguousarray(b[:, 4])
        order = np.argsort(ts, kind='stable')
        ts, box_arr, score_arr = ts[order], box_arr[order], score_arr[order]
        with np.errstate(over='ignore', invalid='ignore'):  # overflow is reported below
            stored = np.ascontiguousarray(feats[order], dtype=self.dtype)
        if not np.isfinite(stored).all():
            raise ValueError(f'{where}: features are not finite once cast to {self.dtype} '
                             f'(NaN/inf in the input, or values beyond its range '
                             f'{np.finfo(self.dtype).max:g})')
        shard_path = self.shard_path(video_id)
        _atomic_write(shard_path,
                      lambda f: np.lib.format.write_array(f, stored, allow_pickle=False))
        index = dict(timestamps=ts,
                     boxes=box_arr,
                     scores=score_arr,
                     nbytes=np.int64(osp.getsize(shard_path)),
                     crc32=np.int64(_crc32(stored)))
        _atomic_write(self.index_path(video_id), lambda f: np.savez(f, **index))
        self._shards.pop(video_id, None)

    # ---------------------------------------------------------------------------- reading
    def _load_index(self, video_id: str) -> Dict[str, np.ndarray]:
        path = self.index_path(video_id)
        if not osp.exists(path):
            raise FeatureBankError(f'{path}: video {video_id!r} is not in the bank (no index)')
        try:
            with np.load(path, allow_pickle=False) as z:
                index = {k: z[k] for k in ('timestamps', 'boxes', 'scores', 'nbytes', 'crc32')}
        except Exception as e:  # zipfile/numpy raise many types for a damaged archive
            raise FeatureBankError(f'{path}: corrupt shard index ({type(e).__name__}: {e})') \
                from None
        n = index['timestamps'].shape[0]
        if index['timestamps'].shape != (n, ) or index['boxes'].shape != (n, 4) \
                or index['scores'].shape != (n, ):
            raise FeatureBankError(f'{path}: inconsistent index arrays')
        return index

    def _open(self, video_id: str) -> _Shard:
        shard = self._shards.get(video_id)
        if shard is not None:
            self._shards.move_to_end(video_id)
            return shard
        index = self._load_index(video_id)
        path = self.shard_path(video_id)
        size = osp.getsize(path) if osp.exists(path) else None
        if size != int(index['nbytes']):
            raise FeatureBankError(
                f'{path}: shard is {"missing" if size is None else f"{size} bytes"}, its index '
                f'says {int(index["nbytes"])} bytes (truncated or overwritten; re-extract the '
                f'video)')
        try:
            features = np.load(path, mmap_mode='r', allow_pickle=False)
        except Exception as e:
            raise FeatureBankError(f'{path}: corrupt shard ({type(e).__name__}: {e})') from None
        n = index['timestamps'].shape[0]
        if features.shape != (n, ) + self.item_shape or features.dtype != self.dtype:
            raise FeatureBankError(
                f'{path}: shard holds {features.shape} {features.dtype}, expected '
                f'{(n, ) + self.item_shape} {self.dtype}')
        ts = index['timestamps']
        starts = np.searchsorted(ts, ts, side='left')
        shard = _Shard(features, ts, index['boxes'], index['scores'], np.arange(n) - starts)
        self._shards[video_id] = shard
        while len(self._shards) > self.max_open_shards:
            self._shards.popitem(last=False)
        return shard

    def verify(self, video_id: str) -> None:
        """Check the whole shard against the CRC32 stored at write time (reads every byte).

        Raises:
            FeatureBankError: naming the shard file, if it does not match.
        """
        shard = self._open(video_id)
        expected = int(self._load_index(video_id)['crc32'])
        if _crc32(shard.features) != expected:
            raise FeatureBankError(f'{self.shard_path(video_id)}: checksum mismatch, the shard '
                                   f'is corrupt; re-extract the video')

    def timestamps(self, video_id: str) -> np.ndarray:
        """``(N,)`` sorted timestamp of every item of the video."""
        return self._open(video_id).timestamps.copy()

    def read_items(self, video_id: str,
                   timestamp: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All items of one timestamp: features ``(n, *item_shape)``, boxes ``(n, 4)``,
        scores ``(n,)``, in stored order (``n`` may be 0)."""
        shard = self._open(video_id)
        lo, hi = np.searchsorted(shard.timestamps, [timestamp, timestamp + 1])
        return (np.array(shard.features[lo:hi]), shard.boxes[lo:hi].copy(),
                shard.scores[lo:hi].copy())

    def read_window(self,
                    video_id: str,
                    center: int,
                    half_width: int,
                    max_items: Optional[int] = None) -> BankWindow:
        """Items of timestamps ``center - half_width .. center + half_width``.

        Args:
            video_id: the video.
            center: timestamp the window is centred on.
            half_width: ``W``; the window has ``S = 2W + 1`` timestamps, reaching past the video
                borders as empty (masked) timestamps.
            max_items: slots ``P`` per timestamp. ``None``: the most items any timestamp of the
                window holds. Otherwise fixed, and a timestamp with more items keeps its first
                ``P`` in stored order.

        Returns:
            :class:`BankWindow`; only the window's rows are read from the memory map.
        """
        if half_width < 0 or (max_items is not None and max_items < 0):
            raise ValueError(f'half_width and max_items must be >= 0, got {half_width}, '
                             f'{max_items}')
        shard = self._open(video_id)
        first = int(center) - int(half_width)
        num_ts = 2 * int(half_width) + 1
        lo, hi = np.searchsorted(shard.timestamps, [first, first + num_ts])
        slot_t = shard.timestamps[lo:hi] - first
        rank = shard.rank[lo:hi]
        if max_items is None:
            max_items = int(rank.max()) + 1 if hi > lo else 0
        keep = np.flatnonzero(rank < max_items)
        rows, slot_t, rank = lo + keep, slot_t[keep], rank[keep]

        features = np.zeros((num_ts, max_items) + self.item_shape, dtype=self.dtype)
        boxes = np.zeros((num_ts, max_items, 4), dtype=np.float32)
        scores = np.zeros((num_ts, max_items), dtype=np.float32)
        mask = np.zeros((num_ts, max_items), dtype=bool)
        if rows.size:
            # Rows are sorted: read one contiguous slice when nothing was dropped.
            contiguous = rows.size == hi - lo
            features[slot_t, rank] = shard.features[lo:hi] if contiguous \
                else shard.features[rows]
            boxes[slot_t, rank] = shard.boxes[rows]
            scores[slot_t, rank] = shard.scores[rows]
            mask[slot_t, rank] = True
        return BankWindow(features, np.arange(first, first + num_ts, dtype=np.int64), boxes,
                          scores, mask)

    def close(self) -> None:
        """Drop this process's open memory maps (they reopen lazily on the next read)."""
        self._shards.clear()

    # ---------------------------------------------------------------------------- pickling
    def __getstate__(self):
        state = self.__dict__.copy()
        state['_shards'] = OrderedDict()  # memory maps are reopened lazily in each process
        return state

    def __repr__(self):
        return (f'{type(self).__name__}({self.bank_dir!r}, item_shape={self.item_shape}, '
                f'dtype={self.dtype.name})')
