"""Time the AVA evaluator against mmaction2's ``ava_eval`` at AVA-val scale, whole process.

Generates (once, cached in ``--workdir``) an AVA-val-sized case: 51,000 keyframes (64 videos)
with 3 annotated persons each and 1-3 of the 60 challenge classes per person; detections for
1.5 boxes per keyframe on average (jittered persons, some missed, some false) times all 60
classes, about 4.6M rows written with 3 decimals as result files are. Every keyframe has ground
truth and every class has ground truth and detections, so mmaction2's rules are the official
ones here and both must give identical APs.

What is timed: the whole process, as a user runs it, interpreter start-up, imports and file
reading included: ``python tools/eval_ava.py GT DET --label-map L --ignore-empty-frames`` for
ours (``--repeats`` times before and again after mmaction2's run, median of all), and a
process that imports mmaction2 and calls its ``ava_eval`` once; CPU times are printed too.
Peak RSS is each process's own (``os.wait4``; mmaction2's pool workers are reported apart).
The machine's load average and core count are printed before, between and after, since other
jobs on a shared machine change both figures. Targets: >= 80x faster, peak RSS
<= 1 GB, identical mAP and group means (1e-6). Usage::

    python tools/benchmarks/ava_evaluator.py [--workdir work_dirs/bench_ava_eval] [--repeats 3]
        [--keyframes 51000] [--skip-mmaction2]
"""
import argparse
import json
import os
import os.path as osp
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)
from ava_eval.atomic_io import atomic_open  # noqa: E402  (numpy-only, as the tool it times)

CLASSES = 60
TARGET_SPEEDUP = 80.0
TARGET_RSS_MB = 1024.0
CPU_TIMES = []


def _write_csv(path, columns, fmt):
    with atomic_open(path, 'w') as f:
        n = len(columns[0])
        for start in range(0, n, 200_000):
            rows = zip(*(c[start:start + 200_000].tolist() for c in columns))
            f.write(''.join(fmt % row for row in rows))


def generate(workdir, keyframes, seed=0):
    """Writes gt.csv, det.csv and labels.txt under ``workdir`` (skipped if present)."""
    paths = {k: osp.join(workdir, f'{k}.{ext}') for k, ext in
             (('gt', 'csv'), ('det', 'csv'), ('labels', 'txt'))}
    stamp = osp.join(workdir, f'case_{keyframes}_{seed}.done')
    if osp.exists(stamp):
        return paths
    os.makedirs(workdir, exist_ok=True)
    rng = np.random.default_rng(seed)
    label_ids = np.array([1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 20, 22, 24, 26,
                          27, 28, 29, 30, 34, 36, 37, 38, 41, 43, 45, 46, 47, 48, 49, 51, 52,
                          54, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71,
                          72, 73, 74, 76, 77, 79, 80])
    with open(paths['labels'], 'w') as f:
        f.writelines(f'{i}: action_{i}\n' for i in label_ids)
    videos = np.array([f'{i:03d}vid{rng.integers(1e6):06d}'[:11] for i in range(64)])
    kf_video = np.repeat(np.arange(64), -(-keyframes // 64))[:keyframes]
    kf_ts = 902 + np.concatenate([np.arange((kf_video == v).sum()) for v in range(64)])
    # Ground truth: 3 persons per keyframe, 1-3 classes each (class frequencies skewed).
    persons = 3
    xy = rng.uniform(0, 0.6, (keyframes, persons, 2))
    wh = rng.uniform(0.15, 0.4, (keyframes, persons, 2))
    p_boxes = np.concatenate([xy, np.minimum(xy + wh, 1.0)], axis=2).reshape(-1, 4)
    p_kf = np.repeat(np.arange(keyframes), persons)
    n_labels = rng.integers(1, 4, len(p_kf))
    g_person = np.repeat(np.arange(len(p_kf)), n_labels)
    freq = 1.0 / np.arange(1, CLASSES + 1)**0.8
    g_class = label_ids[rng.choice(CLASSES, len(g_person), p=freq / freq.sum())]
    _write_csv(paths['gt'], [videos[kf_video[p_kf[g_person]]], kf_ts[p_kf[g_person]],
                             *p_boxes[g_person].T, g_class, g_person % persons],
               '%s,%04d,%.3f,%.3f,%.3f,%.3f,%d,%d\n')
    # Detections: each person found with p=0.45 (jittered), plus false boxes: 1.5 per keyframe.
    found = rng.random(len(p_kf)) < 0.45
    d_src = np.flatnonzero(found)
    n_false = int(1.5 * keyframes) - len(d_src)
    d_kf = np.r_[p_kf[d_src], rng.integers(0, keyframes, n_false)]
    jitter = rng.normal(0, 0.03, (len(d_src), 4))
    fxy = rng.uniform(0, 0.6, (n_false, 2))
    d_boxes = np.r_[p_boxes[d_src] + jitter,
                    np.c_[fxy, fxy + rng.uniform(0.1, 0.4, (n_false, 2))]]
    d_boxes = np.clip(d_boxes, 0, 1)
    d_boxes[:, 2:] = np.maximum(d_boxes[:, 2:], d_boxes[:, :2] + 0.01)
    d_boxes = np.clip(d_boxes, 0, 1)
    order = np.argsort(d_kf, kind='stable')
    d_kf, d_boxes = d_kf[order], d_boxes[order]
    n_det = len(d_kf)
    rows_kf = np.repeat(d_kf, CLASSES)
    rows_box = np.repeat(d_boxes, CLASSES, axis=0)
    rows_cls = np.tile(label_ids, n_det)
    scores = rng.beta(0.5, 4.0, n_det * CLASSES)
    # Detections of a found person score higher on that person's classes.
    src = np.repeat(np.r_[d_src, np.full(n_false, -1)][order], CLASSES)
    true_pair = np.isin(src * 1000 + rows_cls, g_person * 1000 + g_class) & (src >= 0)
    scores[true_pair] = rng.beta(3.0, 2.0, int(true_pair.sum()))
    scores = np.round(scores, 3)
    _write_csv(paths['det'], [videos[kf_video[rows_kf]], kf_ts[rows_kf], *rows_box.T, rows_cls,
                              scores], '%s,%04d,%.3f,%.3f,%.3f,%.3f,%d,%.3f\n')
    open(stamp, 'w').close()
    return paths


def _timed(cmd):
    """Runs ``cmd``; returns (wall s, peak RSS MB, stdout, stderr) of that one process, and
    records its CPU time (user + system, its reaped workers included) in ``CPU_TIMES``."""
    with tempfile.TemporaryFile('w+') as out, tempfile.TemporaryFile('w+') as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=REPO, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        CPU_TIMES.append(usage.ru_utime + usage.ru_stime)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode:
        raise RuntimeError(f'{" ".join(cmd)} failed ({proc.returncode}):\n{stderr[-3000:]}')
    return wall, usage.ru_maxrss / 1024, stdout, stderr


def run_ours(paths, repeats, workdir):
    out = osp.join(workdir, 'ours.json')
    cmd = [sys.executable, osp.join(REPO, 'tools', 'eval_ava.py'), paths['gt'], paths['det'],
           '--label-map', paths['labels'], '--ignore-empty-frames', '--out', out]
    walls, rss, cpus = [], [], []
    for _ in range(repeats):
        wall, peak, _, _ = _timed(cmd)
        walls.append(wall)
        rss.append(peak)
        cpus.append(CPU_TIMES[-1])
    with open(out) as f:
        result = json.load(f)
    return dict(wall=walls, cpu=cpus, maxrss_mb=max(rss), mAP=result['mAP'],
                groups=result['groups'])


def run_mmaction2(paths):
    """In the child process: mmaction2's ``ava_eval`` on the case; prints a RESULT line."""
    import io
    from contextlib import redirect_stdout

    from mmaction.evaluation.functional import ava_eval
    pbtxt = paths['labels'] + '.pbtxt'
    with open(paths['labels']) as f, open(pbtxt, 'w') as out:
        for line in f:
            cid, name = line.strip().split(': ', 1)
            out.write(f'item {{\n  name: "{name}"\n  id: {cid}\n}}\n')
    with redirect_stdout(io.StringIO()):
        res = ava_eval(paths['det'], 'mAP', pbtxt, paths['gt'], None, verbose=False)
    out = dict(mAP=float(res['overall']),
               groups={k: float(res[k]) for k in
                       ('person_movement', 'object_manipulation', 'person_interaction')},
               children_maxrss_mb=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    print('RESULT ' + json.dumps(out))


def _spawn_mmaction2(paths):
    cmd = [sys.executable, osp.abspath(__file__), '--child', 'mmaction2', '--paths',
           json.dumps(paths)]
    wall, peak, stdout, _ = _timed(cmd)
    line = [ln for ln in stdout.splitlines() if ln.startswith('RESULT ')][-1]
    out = json.loads(line[len('RESULT '):])
    out.update(wall=wall, cpu=CPU_TIMES[-1], maxrss_mb=peak)
    return out


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return (f'load average {one:.1f} / {five:.1f} / {fifteen:.1f} (1/5/15 min) on '
            f'{os.cpu_count()} cores')


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--workdir', default='work_dirs/bench_ava_eval')
    parser.add_argument('--keyframes', type=int, default=51000)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--skip-mmaction2', action='store_true')
    parser.add_argument('--child', choices=['mmaction2'], help=argparse.SUPPRESS)
    parser.add_argument('--paths', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return run_mmaction2(json.loads(args.paths))
    t0 = time.perf_counter()
    paths = generate(osp.abspath(args.workdir), args.keyframes)
    n_gt = sum(1 for _ in open(paths['gt']))
    n_det = sum(1 for _ in open(paths['det']))
    print(f'case: {args.keyframes} keyframes, {n_gt} GT rows, {n_det} detection rows '
          f'({time.perf_counter() - t0:.1f} s to generate or load)')
    print(f'machine before: {_load()}')
    workdir = osp.abspath(args.workdir)
    ours = run_ours(paths, args.repeats, workdir)
    if not args.skip_mmaction2:
        theirs = _spawn_mmaction2(paths)
        print(f'machine after mmaction2: {_load()}')
        # Ours again after it, so that both sides see the load of the whole run.
        again = run_ours(paths, args.repeats, workdir)
        for key in ('wall', 'cpu'):
            ours[key] += again[key]
        ours['maxrss_mb'] = max(ours['maxrss_mb'], again['maxrss_mb'])
    ours_s = statistics.median(ours['wall'])
    runs = ', '.join(f'{t:.2f}' for t in ours['wall'])
    print(f'ours      : median {ours_s:.2f} s wall, whole process (runs {runs}; cpu median '
          f'{statistics.median(ours["cpu"]):.2f} s), peak RSS {ours["maxrss_mb"]:.0f} MB, '
          f'mAP {ours["mAP"]:.6f}')
    ok = ours['maxrss_mb'] <= TARGET_RSS_MB
    if not args.skip_mmaction2:
        ratio = theirs['wall'] / ours_s
        print(f'mmaction2 : {theirs["wall"]:.1f} s wall, whole process (cpu {theirs["cpu"]:.1f} '
              f's, pool workers included), peak RSS {theirs["maxrss_mb"]:.0f} MB (its pool '
              f'workers: {theirs["children_maxrss_mb"]:.0f} MB each at most), '
              f'mAP {theirs["mAP"]:.6f}')
        same = abs(ours['mAP'] - theirs['mAP']) <= 1e-6 and all(
            abs(ours['groups'][g] - theirs['groups'][g]) <= 1e-6 for g in theirs['groups'])
        print(f'speed-up  : {ratio:.1f}x wall (target >= {TARGET_SPEEDUP:.0f}x), '
              f'{theirs["cpu"] / statistics.median(ours["cpu"]):.1f}x cpu time')
        print(f'same APs  : {same} (mAP and group means within 1e-6)')
        ok = ok and same and ratio >= TARGET_SPEEDUP
    print(f'peak RSS  : {ours["maxrss_mb"]:.0f} MB (target <= {TARGET_RSS_MB:.0f} MB)')
    print(f'machine after: {_load()}')
    print('PASS' if ok else 'FAIL')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
