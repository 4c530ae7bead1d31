"""Time DP tube linking of one AVA-sized video (target: at most 50 ms per video).

Workload: 900 keyframes (one AVA video, 15 min at 1 keyframe/s), 20 proposals per keyframe
drifting like slowly moving people, scores uniform in [0.5, 1], tubes of T = 9 keyframes. Times
``link_tubes`` on the mmaction2-format dict (key parsing and validation included) and the linking
core ``link_video`` alone. Usage::

    python tools/benchmarks/tube_linking.py [--keyframes 900] [--boxes 20] [--span 9]
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

from ava_plugins.structures import link_tubes, link_video

BUDGET_MS = 50.0


def make_video(num_kf, num_boxes, seed=0):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 0.7, (num_boxes, 2))
    wh = rng.uniform(0.1, 0.3, (num_boxes, 2))
    props = {}
    for t in range(num_kf):
        xy = np.clip(xy + rng.normal(0, 0.01, xy.shape), 0, 0.7)
        props[f'benchvideo0,{902 + t:04d}'] = np.concatenate(
            [xy, xy + wh, rng.uniform(0.5, 1, (num_boxes, 1))], 1).astype(np.float32)
    return props


def time_ms(fn, repeats):
    """Median wall time and median CPU time of this process (ms) of ``fn``, after a warm-up.

    The CPU time does not count waiting for a core, so it stays meaningful on a machine shared
    with other jobs (the linking is single-threaded numpy).
    """
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return 1000 * statistics.median(wall), 1000 * statistics.median(cpu)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--keyframes', type=int, default=900)
    parser.add_argument('--boxes', type=int, default=20)
    parser.add_argument('--span', type=int, default=9)
    parser.add_argument('--max-gap', type=int, default=0)
    parser.add_argument('--repeats', type=int, default=20)
    args = parser.parse_args(argv)
    props = make_video(args.keyframes, args.boxes)
    by_ts = {int(k.split(',')[1]): v for k, v in props.items()}
    wall_tool, cpu_tool = time_ms(lambda: link_tubes(props, args.span, max_gap=args.max_gap),
                                  args.repeats)
    wall_core, cpu_core = time_ms(lambda: link_video(by_ts, args.span, max_gap=args.max_gap),
                                  args.repeats)
    tubes = link_tubes(props, args.span, max_gap=args.max_gap)
    filled = np.mean([np.isfinite(v[..., 4]).mean() for v in tubes.values()])
    print(f'{args.keyframes} keyframes x {args.boxes} proposals, T = {args.span}, '
          f'max_gap = {args.max_gap}; {100 * filled:.1f} % of tube rows hold a box')
    print(f'median of {args.repeats} runs ({os.cpu_count()} cores, load average '
          f'{os.getloadavg()[0]:.1f}):')
    print(f'  link_tubes (pkl dict, validated): {cpu_tool:.1f} ms CPU, {wall_tool:.1f} ms wall')
    print(f'  link_video (core):                {cpu_core:.1f} ms CPU, {wall_core:.1f} ms wall')
    print(f'budget {BUDGET_MS:.0f} ms per video: {"met" if cpu_tool <= BUDGET_MS else "NOT met"} '
          f'in CPU time, {"met" if wall_tool <= BUDGET_MS else "NOT met"} in wall time')


if __name__ == '__main__':
    from ava_eval.cli import run_cli
    sys.exit(run_cli(main))
