"""Resumable, rank-sharded filling of a :class:`~ava_plugins.structures.FeatureBank` (the job
mechanism of :mod:`.jobs` with the bank as its store).

ACAR-Net (https://arxiv.org/abs/2006.07976, Sec. 1.3) builds its bank "by running a
trained ACAR-Net over the entire video at evenly spaced intervals (by default 1 second)". That
is hours of inference for AVA, so the loop here is written to be interrupted and relaunched:
videos are dealt to ranks deterministically (the same ranks and world size as training, from
``mmengine.dist`` when not given), finished shards are skipped, and each video's shard is
written atomically, so a crash costs at most the videos in flight. The model-specific part is
``compute_fn(video_id) -> (timestamps, features, boxes)``.

A bank records the settings that made it (``settings.json``: config, checkpoint fingerprint,
boxes, feature options), one record per ``settings_key`` (the tool's split: one bank may hold
a training split extracted at GT boxes and a validation split at detections); a rerun with other
settings for a key is refused rather than mixing old shards with new ones (``overwrite=True``
removes that key's videos first).
"""
import json
import os
import os.path as osp
import time
from typing import Callable, Dict, List, Optional, Sequence

from ..structures.feature_bank import FeatureBank, FeatureBankError
from ..utils import atomic_open, changed_settings, remove_stale_temporaries
from .jobs import assign_videos, run_jobs

SETTINGS = 'settings.json'

__all__ = ['extract_bank']


def extract_bank(bank_dir: str,
                 videos: Sequence[str],
                 compute_fn: Callable,
                 rank: Optional[int] = None,
                 world_size: Optional[int] = None,
                 progress: bool = True,
                 item_shape: Optional[Sequence[int]] = None,
                 dtype='float16',
                 settings: Optional[dict] = None,
                 settings_key: str = 'default',
                 overwrite: bool = False) -> Dict[str, List[str]]:
    """Fill ``bank_dir`` with the shards of this rank's share of ``videos``.

    Args:
        bank_dir: the bank; created on first write when it does not exist.
        videos: every video id of the bank (all ranks pass the same list).
        compute_fn: ``video_id -> (timestamps (N,), features (N, *item_shape),
            boxes (N, 4) | (N, 5) | None)``.
        rank, world_size: this process's share; ``None`` takes both from
            ``mmengine.dist.get_dist_info()`` (``0, 1`` when not distributed).
        progress: show a progress bar (on rank 0).
        item_shape, dtype: of a new bank; ``None`` takes the shape of the first computed
            features. An existing bank must match.
        settings: JSON-serialisable description of what computes the features; the videos
            recorded under ``settings_key`` must have been made with the same (else
            :class:`FeatureBankError`, naming the keys that differ), unless ``overwrite``
            removes their shards first.

    Returns:
        ``{"computed": [...], "skipped": [...]}`` video ids of this rank.
    """
    if rank is None or world_size is None:
        from mmengine.dist import get_dist_info
        dist_rank, dist_world = get_dist_info()
        rank = dist_rank if rank is None else rank
        world_size = dist_world if world_size is None else world_size
    assign_videos(videos, rank, world_size)  # a repeated id or a bad rank fails first
    remove_stale_temporaries(osp.join(bank_dir, 'shards'))  # of writers killed earlier
    remove_stale_temporaries(bank_dir)
    if settings is not None:
        _check_settings(bank_dir, settings, settings_key, videos, overwrite, rank)
    if item_shape is not None:
        FeatureBank.create(bank_dir, item_shape, dtype)
    opened = []  # the bank, once it exists (created with the first computed features' shape)

    def bank():
        if not opened and osp.exists(osp.join(bank_dir, 'meta.json')):
            opened.append(FeatureBank(bank_dir))
        return opened[0] if opened else None

    def done(video):
        return bank() is not None and bank().has_video(video)

    def work(video, tick):
        timestamps, features, boxes = compute_fn(video)
        if bank() is None:
            shape = getattr(features, 'shape', None)
            if shape is None or len(shape) < 2:
                raise ValueError(f'compute_fn({video!r}) returned features of shape {shape}, '
                                 f'expected (N, *item_shape)')
            opened.append(FeatureBank.create(bank_dir, shape[1:], dtype))
        bank().write_video(video, timestamps, features, boxes)

    return run_jobs(videos, work, done, rank=rank, world_size=world_size,
                    desc='extracting bank', progress=progress)


def _remove_videos(bank_dir: str, videos: Sequence[str]) -> None:
    """Remove the shards and indexes of ``videos`` from the bank in ``bank_dir``."""
    if not osp.exists(osp.join(bank_dir, 'meta.json')):
        return
    bank = FeatureBank(bank_dir)
    for video in videos:
        for path in (bank.index_path(video), bank.shard_path(video)):  # index first: unfinished
            if osp.exists(path):
                os.remove(path)


def _check_settings(bank_dir: str, settings: dict, key: str, videos: Sequence[str],
                    overwrite: bool, rank: int) -> None:
    """Rank 0 refuses to add to a bank whose ``key`` record holds other settings, and records
    them; the other ranks wait until the record is there."""
    path = osp.join(bank_dir, SETTINGS)
    settings = json.loads(json.dumps(settings))  # the form they take on disk
    if rank != 0:
        for _ in range(600):
            if _read_settings(path).get(key) == settings:
                return
            time.sleep(1)
        raise FeatureBankError(f'{path}: rank 0 did not record the settings of this run')
    records = _read_settings(path)
    old = records.get(key)
    if old == settings:
        return
    done = (FeatureBank(bank_dir).videos()
            if osp.exists(osp.join(bank_dir, 'meta.json')) else [])
    done = sorted(set(done) & set(videos))
    if old is not None or done:
        if not overwrite:
            if old is None:
                why = (f'holds {len(done)} of these videos but no record of the settings that '
                       'made them')
            else:
                why = (f'was extracted ({key}) with other settings: '
                       f'{changed_settings(old, settings)}')
            raise FeatureBankError(f'{bank_dir}: the bank {why}; extract into a new folder or '
                                   'pass --overwrite to recompute it')
        _remove_videos(bank_dir, done)
    records[key] = settings
    with atomic_open(path, 'w') as f:
        json.dump(records, f, indent=1, sort_keys=True)


def _read_settings(path: str) -> dict:
    if not osp.exists(path):
        return {}
    try:
        with open(path) as f:
            records = json.load(f)
    except (OSError, ValueError) as e:
        raise FeatureBankError(f'{path}: unreadable settings record ({e})') from None
    if not isinstance(records, dict):
        raise FeatureBankError(f'{path}: expected a settings record per split')
    return records
