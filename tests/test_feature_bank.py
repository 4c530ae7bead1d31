"""Feature-bank storage (ACAR-Net ACFB, Sec. 1.3) and its resumable, rank-sharded extraction."""
import filecmp
import os
import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from ava_plugins.engine import assign_videos, extract_bank
from ava_plugins.structures import FeatureBank, FeatureBankError

ITEM = (4, 3, 3)


def _video(video_id, num_ts=6, seed=0):
    """Deterministic items: 0..3 per timestamp, timestamps shuffled, features and boxes."""
    rng = np.random.default_rng([seed, sum(map(ord, video_id))])
    counts = rng.integers(0, 4, num_ts)
    counts[0] = 2
    ts = np.repeat(np.arange(100, 100 + num_ts), counts)
    order = rng.permutation(ts.size)
    feats = rng.normal(0, 3, (ts.size, ) + ITEM).astype(np.float32)
    boxes = rng.uniform(0, 1, (ts.size, 5)).astype(np.float32)
    return ts[order], feats[order], boxes[order]


def _reference_window(ts, feats, boxes, center, half, max_items):
    """Window built item by item from the raw arrays (stable order within a timestamp)."""
    num = 2 * half + 1
    out_f = np.zeros((num, max_items) + ITEM, np.float16)
    out_b = np.zeros((num, max_items, 4), np.float32)
    out_m = np.zeros((num, max_items), bool)
    for s, t in enumerate(range(center - half, center + half + 1)):
        rows = np.flatnonzero(ts == t)[:max_items]
        out_f[s, :len(rows)] = feats[rows].astype(np.float16)
        out_b[s, :len(rows)] = boxes[rows, :4]
        out_m[s, :len(rows)] = True
    return out_f, out_b, out_m


def test_round_trip_fp16(tmp_path):
    bank = FeatureBank.create(str(tmp_path), ITEM)
    ts, feats, boxes = _video('-5KQ66BBWC4')
    bank.write_video('-5KQ66BBWC4', ts, feats, boxes)
    assert FeatureBank(str(tmp_path)).videos() == ['-5KQ66BBWC4']
    for t in np.unique(ts):
        f, b, s = bank.read_items('-5KQ66BBWC4', t)
        rows = np.flatnonzero(ts == t)  # stored order within a timestamp is the given order
        assert f.dtype == np.float16
        np.testing.assert_array_equal(f, feats[rows].astype(np.float16))
        np.testing.assert_allclose(f.astype(np.float32), feats[rows], rtol=2**-11, atol=2**-24)
        np.testing.assert_array_equal(b, boxes[rows, :4])
        np.testing.assert_array_equal(s, boxes[rows, 4])
    np.testing.assert_array_equal(bank.timestamps('-5KQ66BBWC4'), np.sort(ts))
    assert bank.read_items('-5KQ66BBWC4', 99)[0].shape == (0, ) + ITEM
    bank.verify('-5KQ66BBWC4')


def test_boxes_optional_and_video_ids_escaped(tmp_path):
    bank = FeatureBank.create(str(tmp_path), (2, ))
    bank.write_video('a/b c', [1, 1], np.ones((2, 2)))
    _, boxes, scores = bank.read_items('a/b c', 1)
    assert np.isnan(boxes).all() and np.isnan(scores).all()
    assert bank.videos() == ['a/b c']
    assert sorted(os.listdir(tmp_path / 'shards')) == ['a%2Fb%20c.index.npz', 'a%2Fb%20c.npy']


@pytest.mark.parametrize('center,half,max_items', [(100, 3, None), (105, 2, None), (102, 1, 1),
                                                   (90, 2, None), (103, 20, 5)])
def test_window_reads_at_borders(tmp_path, center, half, max_items):
    bank = FeatureBank.create(str(tmp_path), ITEM)
    ts, feats, boxes = _video('v')
    bank.write_video('v', ts, feats, boxes)
    win = bank.read_window('v', center, half, max_items)
    in_win = (ts >= center - half) & (ts <= center + half)
    expected_p = max_items if max_items is not None else \
        max([int((ts == t).sum()) for t in np.unique(ts[in_win])] or [0])
    ref_f, ref_b, ref_m = _reference_window(ts, feats, boxes, center, half, expected_p)
    np.testing.assert_array_equal(win.timestamps, np.arange(center - half, center + half + 1))
    np.testing.assert_array_equal(win.mask, ref_m)
    np.testing.assert_array_equal(win.features, ref_f)
    np.testing.assert_array_equal(win.boxes, ref_b)
    assert win.mask.sum() == sum(
        min(int((ts == t).sum()), expected_p) for t in range(center - half, center + half + 1))


def test_window_keeps_first_slots_lfb_style(tmp_path):
    # SJTU's LFB: 5 persons per second; a second with 7 keeps its first 5 in stored order.
    bank = FeatureBank.create(str(tmp_path), (3, ))
    feats = np.arange(27, dtype=np.float32).reshape(9, 3)
    bank.write_video('v', [7, 5, 5, 5, 5, 5, 5, 5, 9], feats)
    win = bank.read_window('v', 6, 1, max_items=5)
    np.testing.assert_array_equal(win.mask.sum(1), [5, 0, 1])
    np.testing.assert_array_equal(win.features[0], feats[1:6].astype(np.float16))
    np.testing.assert_array_equal(win.features[2, 0], feats[0].astype(np.float16))
    assert not win.features[1].any() and not win.features[2, 1:].any()


def test_resumed_extraction_computes_only_missing(tmp_path):
    videos = [f'vid{i}' for i in range(5)]
    calls, crashed = [], []

    def compute(video):
        if video == 'vid2' and not crashed:
            crashed.append(video)
            raise RuntimeError('killed')
        calls.append(video)
        return _video(video)

    with pytest.raises(RuntimeError, match='killed'):
        extract_bank(str(tmp_path), videos, compute, rank=0, world_size=1, progress=False)
    assert calls == ['vid0', 'vid1'] and crashed == ['vid2']
    # A shard whose index never got written (killed between the two files) is not finished.
    os.remove(FeatureBank(str(tmp_path)).index_path('vid1'))
    calls.clear()
    done = extract_bank(str(tmp_path), videos, compute, rank=0, world_size=1, progress=False)
    assert calls == ['vid1', 'vid2', 'vid3', 'vid4']
    assert done == {'computed': ['vid1', 'vid2', 'vid3', 'vid4'], 'skipped': ['vid0']}
    calls.clear()
    assert extract_bank(str(tmp_path), videos, compute, rank=0, world_size=1,
                        progress=False)['computed'] == []
    assert calls == []
    bank = FeatureBank(str(tmp_path))
    assert bank.videos() == videos
    for v in videos:
        ref_f, _, ref_m = _reference_window(*_video(v), 102, 2, 3)
        win = bank.read_window(v, 102, 2, max_items=3)
        np.testing.assert_array_equal(win.features, ref_f)
        np.testing.assert_array_equal(win.mask, ref_m)


def test_rank_sharding_matches_single_rank(tmp_path):
    videos = ['c', 'a', 'e', 'b', 'd']
    shares = [assign_videos(videos, r, 2) for r in range(2)]
    assert shares == [['a', 'c', 'e'], ['b', 'd']]
    for r in (1, 0):  # ranks in any order
        done = extract_bank(str(tmp_path / 'two'),
                            videos,
                            _video,
                            rank=r,
                            world_size=2,
                            progress=False)
        assert done['computed'] == shares[r]
    extract_bank(str(tmp_path / 'one'), videos, _video, rank=0, world_size=1, progress=False)
    one, two = FeatureBank(str(tmp_path / 'one')), FeatureBank(str(tmp_path / 'two'))
    assert one.videos() == two.videos() == sorted(videos)
    assert sorted(os.listdir(tmp_path / 'one' / 'shards')) == \
        sorted(os.listdir(tmp_path / 'two' / 'shards'))
    for v in videos:
        assert filecmp.cmp(one.shard_path(v), two.shard_path(v), shallow=False)
        # .npz archives carry their write time: compare the index arrays instead.
        with np.load(one.index_path(v)) as a, np.load(two.index_path(v)) as b:
            assert sorted(a.files) == sorted(b.files)
            for key in a.files:
                np.testing.assert_array_equal(a[key], b[key])
    with pytest.raises(ValueError, match='listed twice'):
        assign_videos(['a', 'a'], 0, 1)


def test_truncated_and_corrupt_shards_name_the_file(tmp_path):
    bank = FeatureBank.create(str(tmp_path), ITEM)
    for v in ('trunc', 'flip', 'index'):
        bank.write_video(v, *_video(v))
    path = bank.shard_path('trunc')
    with open(path, 'r+b') as f:
        f.truncate(os.path.getsize(path) - 10)
    fresh = FeatureBank(str(tmp_path))
    with pytest.raises(FeatureBankError, match=r'trunc\.npy.*truncated'):
        fresh.read_window('trunc', 100, 1)

    path = bank.shard_path('flip')
    with open(path, 'r+b') as f:
        f.seek(-3, os.SEEK_END)
        f.write(b'\x7f\x7f\x7f')
    fresh.read_window('flip', 100, 1)  # same size: only the checksum can tell
    with pytest.raises(FeatureBankError, match=r'flip\.npy.*checksum'):
        fresh.verify('flip')

    with open(bank.index_path('index'), 'wb') as f:
        f.write(b'not a zip')
    with pytest.raises(FeatureBankError, match=r'index\.index\.npz.*corrupt shard index'):
        fresh.read_window('index', 100, 1)
    with pytest.raises(FeatureBankError, match=r"missing\.index\.npz.*'missing' is not in"):
        fresh.read_window('missing', 100, 1)


def test_bad_writes_and_bank_mismatch(tmp_path):
    bank = FeatureBank.create(str(tmp_path), ITEM)
    with pytest.raises(ValueError, match=r"video 'v'.*\(2, 4, 3, 3\), got \(2, 4, 3\)"):
        bank.write_video('v', [1, 2], np.zeros((2, 4, 3)))
    with pytest.raises(ValueError, match=r"video 'v'.*not finite once cast to float16"):
        bank.write_video('v', [1], np.full((1, ) + ITEM, 1e5))
    with pytest.raises(ValueError, match=r"video 'v'.*timestamps must be integers"):
        bank.write_video('v', [1.5], np.zeros((1, ) + ITEM))
    assert bank.videos() == []
    with pytest.raises(FeatureBankError, match=r'meta\.json.*\(4, 3, 3\) float16, asked for'):
        FeatureBank.create(str(tmp_path), (512, 7, 7))
    with pytest.raises(FeatureBankError, match='no feature bank here'):
        FeatureBank(str(tmp_path / 'nothing'))


class _WindowDataset(Dataset):
    """What a training dataset does with a bank: one window per sample, read in the worker."""

    def __init__(self, bank, videos):
        self.bank, self.videos = bank, videos

    def __len__(self):
        return len(self.videos)

    def __getitem__(self, i):
        win = self.bank.read_window(self.videos[i], 102, 3, max_items=3)
        return torch.from_numpy(win.features.astype(np.float32)), torch.from_numpy(win.mask)


def test_pickles_for_dataloader_workers(tmp_path):
    videos = ['a', 'b', 'c']
    extract_bank(str(tmp_path), videos, _video, rank=0, world_size=1, progress=False)
    bank = FeatureBank(str(tmp_path))
    expected = [bank.read_window(v, 102, 3, max_items=3) for v in videos]  # maps now open
    blob = pickle.dumps(bank)
    assert len(blob) < 2000  # no shard data, no memory maps
    clone = pickle.loads(blob)
    assert clone._shards == {} and clone.item_shape == ITEM
    loader = DataLoader(_WindowDataset(bank, videos),
                        batch_size=None,
                        num_workers=1,
                        multiprocessing_context='spawn')
    for (feats, mask), exp in zip(loader, expected):
        np.testing.assert_array_equal(feats.numpy(), exp.features.astype(np.float32))
        np.testing.assert_array_equal(mask.numpy(), exp.mask)
