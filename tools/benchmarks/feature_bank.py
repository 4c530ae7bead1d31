"""Size per video and random-window read throughput of the feature bank.

Workload (AVA-like ACFB): ``--videos`` videos of 900 keyframes (15 min at 1/s) with 5 actors
each, one ``512 x 7 x 7`` fp16 actor-context map per actor (~226 MB per video), written with
``extract_bank``; then random windows (random video, random centre) of ``2 * 10 + 1`` keyframes
(ACAR-Net's ~20 s span) are read through the memory-mapped index. Reads are timed warm (shards
in the page cache, the steady state of training on a machine whose RAM holds the bank) and cold
(``posix_fadvise(DONTNEED)`` evicts the shards before every read, so each window comes from the
disk). The SJTU LFB layout is ``--item-shape 2304 --half-width 30 --max-items 5``. Usage::

    python tools/benchmarks/feature_bank.py [--dir /tmp/bank] [--videos 3] [--reads 200]
"""
import argparse
import os
import os.path as osp
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

from ava_plugins.engine import extract_bank
from ava_plugins.structures import FeatureBank


def evict(bank, videos):
    for v in videos:
        for path in (bank.shard_path(v), bank.index_path(v)):
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def rss_mib():
    """Anonymous (private) and file-backed resident memory of this process, MiB (Linux)."""
    fields = {}
    with open('/proc/self/status') as f:
        for line in f:
            key, _, value = line.partition(':')
            if key in ('RssAnon', 'RssFile'):
                fields[key] = int(value.split()[0]) / 1024
    return fields.get('RssAnon', float('nan')), fields.get('RssFile', float('nan'))


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--dir', help='bank directory (default: a temporary one, removed)')
    parser.add_argument('--videos', type=int, default=3)
    parser.add_argument('--keyframes', type=int, default=900)
    parser.add_argument('--actors', type=int, default=5)
    parser.add_argument('--item-shape', type=int, nargs='+', default=[512, 7, 7])
    parser.add_argument('--half-width', type=int, default=10)
    parser.add_argument('--max-items', type=int, default=None)
    parser.add_argument('--reads', type=int, default=200)
    args = parser.parse_args(argv)
    root = args.dir or tempfile.mkdtemp(prefix='bank_bench_')
    bank_dir = osp.join(root, 'bank')
    shape = tuple(args.item_shape)
    rng = np.random.default_rng(0)
    base = rng.standard_normal((64, ) + shape, dtype=np.float32).astype(np.float16)
    n = args.keyframes * args.actors
    videos = [f'video{i:03d}' for i in range(args.videos)]

    def compute(video):
        ts = np.repeat(np.arange(902, 902 + args.keyframes), args.actors)
        boxes = rng.uniform(0, 1, (n, 5)).astype(np.float32)
        return ts, base[np.arange(n) % 64], boxes

    try:
        t0 = time.perf_counter()
        extract_bank(bank_dir,
                     videos,
                     compute,
                     rank=0,
                     world_size=1,
                     progress=False,
                     item_shape=shape)
        t_write = time.perf_counter() - t0
        bank = FeatureBank(bank_dir)
        sizes = [osp.getsize(bank.shard_path(v)) + osp.getsize(bank.index_path(v)) for v in videos]
        index_size = statistics.mean(osp.getsize(bank.index_path(v)) for v in videos)
        size = statistics.mean(sizes)

        picks = [(videos[rng.integers(len(videos))], int(rng.integers(902, 902 + args.keyframes)))
                 for _ in range(args.reads)]
        for v, c in picks[:20]:  # warm the page cache and the open maps
            bank.read_window(v, c, args.half_width, args.max_items)
        for v in videos:
            bank.verify(v)  # reads every byte: also leaves the shards in the page cache
        bank.close()
        anon0, file0 = rss_mib()
        t0 = time.perf_counter()
        window_bytes = 0
        for v, c in picks:
            window_bytes += bank.read_window(v, c, args.half_width, args.max_items).features.nbytes
        t_warm = time.perf_counter() - t0
        anon1, file1 = rss_mib()
        cold = []
        bank.close()  # pages still mapped by a process are not evicted
        for v, c in picks[:max(1, args.reads // 4)]:
            evict(bank, videos)
            t0 = time.perf_counter()
            bank.read_window(v, c, args.half_width, args.max_items)
            cold.append(time.perf_counter() - t0)
            bank.close()
    finally:
        if args.dir is None:
            shutil.rmtree(root, ignore_errors=True)

    mb = 1024**2
    print(f'{args.videos} videos x {args.keyframes} keyframes x {args.actors} actors, item '
          f'{shape} float16, window {2 * args.half_width + 1} keyframes'
          f'{f", {args.max_items} slots" if args.max_items else ""}')
    print(f'size per video: {size / mb:.1f} MiB (index {index_size / 1024:.0f} KiB); '
          f'write {args.videos * size / mb / t_write:.0f} MiB/s')
    print(f'random windows, warm: {args.reads / t_warm:.0f} windows/s '
          f'({window_bytes / args.reads / mb:.1f} MiB each, '
          f'{window_bytes / mb / t_warm:.0f} MiB/s)')
    print(f'random windows, cold (evicted): {1 / statistics.median(cold):.0f} windows/s '
          f'(median of {len(cold)})')
    print(f'reader memory after {args.reads} windows: private {anon1 - anon0:+.1f} MiB, '
          f'file-backed (shared page cache, reclaimable) {file1 - file0:+.0f} MiB, of a '
          f'{args.videos * size / mb:.0f} MiB bank')


if __name__ == '__main__':
    from ava_eval.cli import run_cli
    sys.exit(run_cli(main))
