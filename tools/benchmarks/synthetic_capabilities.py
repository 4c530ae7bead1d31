"""Capability benchmark: every head of ``configs/synthetic/`` x seeds, mAP per capability group.

    python tools/benchmarks/synthetic_capabilities.py [--configs GLOB ...] [--seeds 0 1 2]
        [--work-dir work_dirs/synthetic_capabilities] [--device cpu|cuda] [--jobs N]
        [--data-root DIR] [--max-epochs E] [--data-settings k=v ...] [--cfg-options k=v ...]

Each head config of ``configs/synthetic/`` (every ``*.py`` there except ``_base_/`` and the
test-time-augmentation ``*_tta.py``; new files are picked up as they appear) is trained once per
seed and evaluated on the validation split with the project's AVA evaluator
(``AVAFrameMetric``, frame-mAP@0.5). The synthetic classes are grouped by the capability that
needs them (:func:`ava_plugins.datasets.synthetic.capability_groups`), so the mean AP of a group
measures a method's claim: the output gives, per head, mAP per group and overall as
mean +- sample std over the seeds, and marks the group(s) the head claims (the config key
``synthetic_claims``) and whether it beats the linear baseline there. A head that does not is
reported as it is, with the difference and whether it lies within the seeds' spread.

Seeds: seed ``s`` changes both the data (the synthetic set is generated with seed ``s``: other
videos, actors, label sequences and detector noise) and the training (mmengine
``randomness.seed = s``: initialisation, sampling order, flips, dropout), so the std covers both.

Prerequisites are declared in the configs (``synthetic_prerequisites``, documented in
``configs/synthetic/_base_/synthetic_ava.py``): a bank written by another trained model
(trained first as a run of the same seed, then ``tools/extract_bank.py``), linked tubes, or
another run's checkpoint to start from (``load_from``). They
are made once per seed in ``WORK_DIR/prerequisites/seed<s>/`` and the run's config is pointed
at them (every string starting with the declared path is re-rooted).

A config that is not a head (e.g. one only used to write a cache) sets
``synthetic_benchmark = False`` and is left out of the table (it can still be a prerequisite).

Outputs in ``--work-dir``: ``runs/<config>/seed<s>/result.json`` (one per run, written
atomically and last: a rerun skips finished runs and redoes one whose config, data settings or
schedule changed), the runs' mmengine logs and checkpoints, ``capabilities.md`` (table) and
``capabilities.png`` (grouped bars with std error bars). ``--jobs N`` runs N tasks at once in
separate processes (for a many-core or GPU machine); their output goes to ``<run>/stdout.log``.
"""
import argparse
import fnmatch
import hashlib
import json
import os
import os.path as osp
import sys
import time
from collections import OrderedDict
from datetime import datetime
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
from mmengine.config import DictAction  # imports no torch: CUDA_VISIBLE_DEVICES is set first

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(REPO, 'configs', 'synthetic')
BASELINE = 'linear_slowfast_tiny.py'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--configs', nargs='+', default=['*'],
                        help='config names or globs in configs/synthetic/ (default: all heads)')
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs',
                                                       'synthetic_capabilities'))
    parser.add_argument('--data-root', default=None,
                        help='where the per-seed datasets go (default WORK_DIR/data)')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument('--jobs', type=int, default=1, help='tasks run at once')
    parser.add_argument('--num-workers', type=int, default=None,
                        help='dataloader workers per run (default: the config\'s)')
    parser.add_argument('--max-epochs', type=int, default=None,
                        help='train every config this many epochs, schedulers stretched '
                        '(default: each config\'s own schedule)')
    parser.add_argument('--baseline', default=BASELINE, help='the reference head (always run)')
    parser.add_argument('--config-dir', default=CONFIG_DIR, help=argparse.SUPPRESS)
    parser.add_argument('--data-settings', nargs='+', default=[], metavar='KEY=VALUE',
                        help='synthetic set settings (SyntheticAVAConfig fields, e.g. '
                        'train_videos=4 seconds=20); default: the generator\'s')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        metavar='KEY=VALUE',
                        help='overrides applied to every run, parsed as tools/train.py does')
    parser.add_argument('--report-only', action='store_true',
                        help='only aggregate the finished runs into the table and chart')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the planned tasks (finished or not) and stop')
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error('--jobs must be >= 1')
    if args.max_epochs is not None and args.max_epochs < 1:
        parser.error('--max-epochs must be >= 1')
    return args


def parse_key_values(items: Sequence[str], what: str) -> dict:
    """``["a=1", "b=x"]`` -> ``{"a": 1, "b": "x"}`` (values read as JSON where they parse)."""
    from ava_plugins.utils import InputError
    out = {}
    for item in items:
        if '=' not in item:
            raise InputError(f'{what}: expected KEY=VALUE, got {item!r}')
        key, value = item.split('=', 1)
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


# ---------------------------------------------------------------------------------- discovery

def discover_configs(config_dir: str, patterns: Sequence[str] = ('*',)) -> List[str]:
    """The head configs of ``config_dir`` matching any of ``patterns`` (names or globs).

    Every ``*.py`` directly in ``config_dir`` except test-time augmentation (``*_tta.py``);
    ``_base_/`` is not searched. Raises InputError for a pattern matching nothing.
    """
    from ava_plugins.utils import InputError
    names = sorted(f for f in os.listdir(config_dir)
                   if f.endswith('.py') and not f.endswith('_tta.py'))
    chosen = []
    for pattern in patterns:
        pattern = osp.basename(pattern)
        hits = [n for n in names if fnmatch.fnmatch(n, pattern) or n == pattern + '.py']
        if not hits:
            raise InputError(f'--configs {pattern!r} matches no head config in {config_dir} '
                             f'(have: {", ".join(names)})')
        chosen += [h for h in hits if h not in chosen]
    return [osp.join(config_dir, n) for n in chosen]


def stem(path: str) -> str:
    return osp.splitext(osp.basename(path))[0]


def fingerprint(*parts) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


# ------------------------------------------------------------------------------------ planning

class Task:
    """One unit of work: train+test a config for a seed, extract a bank, or link tubes.

    Finished exactly when ``marker`` exists and records this task's ``fingerprint``.
    """

    def __init__(self, key, kind, spec, marker, deps, fp, label):
        self.key, self.kind, self.spec, self.marker = key, kind, spec, marker
        self.deps, self.fingerprint, self.label = list(deps), fp, label
        self.spec['meta'] = dict(self.spec.get('meta') or {}, fingerprint=fp)

    def done(self) -> bool:
        if not osp.exists(self.marker):
            return False
        with open(self.marker) as f:
            return json.load(f).get('fingerprint') == self.fingerprint

    def as_job(self) -> dict:
        return dict(kind=self.kind, spec=self.spec)

    def __repr__(self):
        return f'Task({self.label})'


class Planner:
    """Turns (configs x seeds) into an ordered, de-duplicated task list with prerequisites.

    Args:
        work_dir: the benchmark folder.
        data_dirs: ``{seed: dataset folder}``.
        data_settings: the synthetic set's settings (part of every fingerprint).
        max_epochs, cfg_options, num_workers, threads, log_to_files: passed to the runs.
        load_config: ``path -> mmengine Config`` (tests may pass a cheaper loader).
    """

    def __init__(self, work_dir: str, data_dirs: Dict[int, str], data_settings: dict = None,
                 max_epochs: Optional[int] = None, cfg_options: dict = None,
                 num_workers: Optional[int] = None, threads: Optional[int] = None,
                 log_to_files: bool = False, load_config: Callable = None):
        self.work_dir = work_dir
        self.data_dirs = data_dirs
        self.data_settings = data_settings or {}
        self.max_epochs = max_epochs
        self.cfg_options = cfg_options or {}
        self.num_workers = num_workers
        self.threads = threads
        self.log_to_files = log_to_files
        self._load = load_config or _load_config
        self._configs = {}
        self.tasks: 'OrderedDict[tuple, Task]' = OrderedDict()

    def config(self, path: str):
        if path not in self._configs:
            if not osp.exists(path):
                raise ValueError(f'{path}: config not found')
            self._configs[path] = self._load(path)
        return self._configs[path]

    def claims(self, path: str) -> List[str]:
        """The capability groups the config claims (``synthetic_claims``), validated."""
        from ava_plugins.datasets.synthetic import GROUPS
        claims = list(self.config(path).get('synthetic_claims', None) or [])
        bad = [c for c in claims if c not in GROUPS]
        if bad:
            raise ValueError(f'{path}: synthetic_claims {bad} are not capability groups; '
                             f'expected some of {list(GROUPS)}')
        return claims

    def run_dir(self, path: str, seed: int) -> str:
        return osp.join(self.work_dir, 'runs', stem(path), f'seed{seed}')

    def add_run(self, path: str, seed: int, _stack=()) -> Task:
        """The task training ``path`` with ``seed``, after the tasks it needs (added first)."""
        path = osp.abspath(path)
        key = ('run', path, seed)
        if key in self.tasks:
            return self.tasks[key]
        if path in _stack:
            chain = ' -> '.join(stem(p) for p in _stack + (path,))
            raise ValueError(f'{path}: synthetic_prerequisites form a cycle: {chain}')
        cfg = self.config(path)
        deps, paths, prereq_fps, load_from = [], {}, [], None
        for i, p in enumerate(cfg.get('synthetic_prerequisites', None) or []):
            task, declared, actual = self._add_prerequisite(path, i, p, seed, _stack + (path,))
            deps.append(task.key)
            prereq_fps.append(task.fingerprint)
            if declared is None:
                load_from = actual
            else:
                paths[declared] = actual
        run_dir = self.run_dir(path, seed)
        fp = fingerprint(cfg.pretty_text, seed, self.data_settings, self.max_epochs,
                         self.cfg_options, prereq_fps)
        spec = dict(config=path, name=osp.basename(path), seed=seed,
                    data=self.data_dirs[seed], run_dir=run_dir, paths=paths,
                    load_from_run=load_from,
                    max_epochs=self.max_epochs, cfg_options=self.cfg_options,
                    num_workers=self.num_workers, threads=self.threads,
                    log_file=osp.join(run_dir, 'stdout.log') if self.log_to_files else None,
                    meta=dict(claims=self.claims(path), data_settings=self.data_settings,
                              prerequisites=paths))
        task = Task(key, 'run', spec, osp.join(run_dir, 'result.json'), deps, fp,
                    f'train+test {stem(path)} seed {seed}')
        self.tasks[key] = task
        return task

    def _add_prerequisite(self, path, index, p, seed, stack):
        where = f'{path}: synthetic_prerequisites[{index}]'
        required = dict(bank=('config', 'feature', 'path'), tubes=('split', 'span', 'path'),
                        checkpoint=('config', ))
        if not isinstance(p, dict) or p.get('type') not in required:
            raise ValueError(f'{where}: expected dict(type="bank" | "tubes" | "checkpoint", '
                             f'...), got {p!r}')
        missing = [k for k in required[p['type']] if k not in p]
        if missing:
            raise ValueError(f'{where}: missing key(s) {missing}')
        out_root = osp.join(self.work_dir, 'prerequisites', f'seed{seed}')
        if p['type'] == 'checkpoint':
            trained = self.add_run(osp.join(osp.dirname(path), p['config']), seed, stack)
            return trained, None, trained.spec['run_dir']
        if p['type'] == 'bank':
            source = osp.abspath(osp.join(osp.dirname(path), p['config']))
            extract = osp.abspath(osp.join(osp.dirname(path), p.get('extract_config',
                                                                     p['config'])))
            trained = self.add_run(source, seed, stack)
            splits = tuple(p.get('splits', ('train', 'val')))
            per_second = int(p.get('max_per_second', 5))
            options = dict(self.cfg_options, **(p.get('cfg_options') or {}))
            extra = [str(a) for a in p.get('extract_args') or []]
            fp = fingerprint(trained.fingerprint, self.config(extract).pretty_text,
                             p['feature'], splits, per_second, options, extra)
            key = ('bank', source, fp, seed)
            if key not in self.tasks:
                bank_dir = osp.join(out_root, f'{stem(extract)}_{p["feature"]}_'
                                    f'{"_".join(splits)}_{fp[:6]}')
                self.tasks[key] = Task(
                    key, 'bank',
                    dict(run_dir=trained.spec['run_dir'], bank_dir=bank_dir,
                         extract_config=extract, data=self.data_dirs[seed], cfg_options=options,
                         feature=p['feature'], splits=splits, max_per_second=per_second,
                         extract_args=extra, marker=bank_dir + '.done.json', threads=self.threads,
                         log_file=bank_dir + '.log' if self.log_to_files else None),
                    bank_dir + '.done.json', [trained.key], fp,
                    f'{p["feature"]} bank of {stem(source)} seed {seed}')
            return self.tasks[key], p['path'], self.tasks[key].spec['bank_dir']
        from ava_plugins.structures import DEFAULT_MAX_GAP
        args = dict(split=p['split'], span=int(p['span']), lam=float(p.get('lam', 1.0)),
                    min_iou=float(p.get('min_iou', 0.3)),
                    max_gap=int(p.get('max_gap', DEFAULT_MAX_GAP)))
        key = ('tubes', tuple(sorted(args.items())), seed)
        if key not in self.tasks:
            name = 'tubes_{split}_T{span}_l{lam}_i{min_iou}_g{max_gap}'.format(**args)
            out = osp.join(out_root, name + '.pkl')
            self.tasks[key] = Task(key, 'tubes',
                                   dict(data=self.data_dirs[seed], out=out,
                                        marker=out + '.done.json', **args),
                                   out + '.done.json', [],
                                   fingerprint(self.data_settings, seed, args),
                                   f'{args["split"]} tubes (T={args["span"]}) seed {seed}')
        return self.tasks[key], p['path'], self.tasks[key].spec['out']


def _load_config(path: str):
    import ava_plugins  # noqa: F401  (``ava_plugins::`` / ``mmaction::`` bases resolve)
    from mmengine.config import Config
    return Config.fromfile(path)


# ----------------------------------------------------------------------------------- execution

def execute_tasks(tasks: Sequence[Task], jobs: int = 1, execute: Callable = None,
                  log: Callable = print) -> Dict[tuple, str]:
    """Run the unfinished tasks in dependency order; ``{key: status}``.

    Status: ``done`` (finished before), ``ok``, ``failed: <error>``, ``skipped: <dep> failed``.
    One task's failure does not stop the others (only its dependents). ``jobs > 1`` runs tasks
    in a pool of fresh (spawned) processes, one task per process.
    """
    from ava_plugins.engine.synthetic_runs import execute as default_execute
    execute = execute or default_execute
    status = {t.key: 'done' for t in tasks if t.done()}
    todo = [t for t in tasks if t.key not in status]
    log(f'{len(tasks)} tasks, {len(status)} finished before, {len(todo)} to do')
    start, count = time.time(), [0]

    def finish(task, outcome, t0):
        status[task.key] = outcome
        count[0] += 1
        took = time.time() - t0
        extra = ''
        if outcome == 'ok' and task.kind == 'run':
            with open(task.marker) as f:
                extra = f', mAP {json.load(f)["mAP"]:.4f}'
        log(f'[{count[0]}/{len(todo)}] {task.label}: {outcome} in {took:.0f} s{extra} '
            f'(elapsed {(time.time() - start) / 60:.1f} min)')

    def blocked(task):
        bad = [d for d in task.deps if d in status and status[d] not in ('done', 'ok')]
        return bad[0] if bad else None

    if jobs == 1:
        for task in todo:
            dep = blocked(task)
            t0 = time.time()
            if dep is not None:
                finish(task, f'skipped: {dep[0]} {stem(str(dep[1]))} failed', t0)
                continue
            log(f'--> {task.label}')
            try:
                execute(task.as_job())
                finish(task, 'ok', t0)
            except Exception as e:  # report, go on with the tasks that do not depend on it
                finish(task, f'failed: {type(e).__name__}: {e}', t0)
        return status

    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    pending = list(todo)
    running = {}
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context('spawn'),
                             max_tasks_per_child=1) as pool:
        while pending or running:
            for task in list(pending):
                dep = blocked(task)
                if dep is not None:
                    pending.remove(task)
                    finish(task, f'skipped: {dep[0]} {stem(str(dep[1]))} failed', time.time())
                elif all(status.get(d) in ('done', 'ok') for d in task.deps):
                    pending.remove(task)
                    log(f'--> {task.label} (log: {task.spec.get("log_file")})')
                    running[pool.submit(execute, task.as_job())] = (task, time.time())
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                task, t0 = running.pop(future)
                error = future.exception()
                finish(task, 'ok' if error is None else
                       f'failed: {type(error).__name__}: {error}', t0)
    return status


# --------------------------------------------------------------------------------- aggregation

def mean_std(values: Sequence[Optional[float]]):
    """``(mean, sample std or None for one value, n)`` of the non-None values."""
    v = np.array([x for x in values if x is not None], dtype=np.float64)
    if len(v) == 0:
        return None, None, 0
    return float(v.mean()), (float(v.std(ddof=1)) if len(v) > 1 else None), len(v)


def aggregate(results: Sequence[dict], groups: Dict[str, List[int]]) -> 'OrderedDict':
    """Per config: mAP and each group's mean AP over its runs (seeds), as ``mean_std``.

    Group APs are recomputed from each run's per-class APs (the evaluator's) with ``groups``,
    so the table never depends on how a run summarised itself.
    """
    from ava_plugins.engine.synthetic_runs import group_aps
    by_config = OrderedDict()
    for r in sorted(results, key=lambda r: (r['config'], r['seed'])):
        by_config.setdefault(r['config'], []).append(r)
    out = OrderedDict()
    for name, runs in by_config.items():
        per_run = [group_aps(r['per_class'], groups) for r in runs]
        out[name] = dict(
            seeds=[r['seed'] for r in runs],
            mAP=mean_std([r['mAP'] for r in runs]),
            groups={g: mean_std([p[g] for p in per_run]) for g in groups},
            claims=list(runs[0].get('claims') or []),
            max_epochs=sorted({r.get('max_epochs') for r in runs}),
            seconds=mean_std([r['seconds']['total'] for r in runs]) if all(
                'seconds' in r for r in runs) else (None, None, 0),
            device=sorted({r.get('device', '?') for r in runs}))
    return out


def compare_claims(table: dict, baseline: str) -> Dict[str, List[dict]]:
    """For each head, each claimed group: its mean vs the baseline's, and whether it beats it.

    ``within_noise``: the difference is at most the combined std of the two means'
    seed spreads (``sqrt(s_a^2 + s_b^2)``), i.e. the seeds cannot tell them apart.
    """
    out = {}
    base = table.get(baseline)
    for name, row in table.items():
        notes = []
        for g in row['claims']:
            mean, std, _ = row['groups'][g]
            if base is None or base['groups'][g][0] is None or mean is None:
                notes.append(dict(group=g, beats=None, diff=None, within_noise=None))
                continue
            b_mean, b_std, _ = base['groups'][g]
            diff = mean - b_mean
            spread = np.hypot(std or 0.0, b_std or 0.0)
            notes.append(dict(group=g, beats=bool(diff > 0), diff=float(diff),
                              within_noise=bool(abs(diff) <= spread) if spread > 0 else None))
        out[name] = notes
    return out


def _fmt(ms, digits=3):
    mean, std, _ = ms
    if mean is None:
        return 'n/a'
    return f'{mean:.{digits}f}' + ('' if std is None else f' ± {std:.{digits}f}')


def _verdict(note) -> str:
    if note['beats'] is None:
        return f'{note["group"]}: no baseline result'
    word = 'beats' if note['beats'] else 'does not beat'
    noise = {True: ', within the seeds\' spread', False: '', None: ''}[note['within_noise']]
    return f'{note["group"]}: {word} ({note["diff"]:+.3f}{noise})'


def markdown_table(table: dict, notes: dict, groups: Sequence[str], baseline: str,
                   header: str) -> str:
    """``capabilities.md``: schedule/data header, the table (claimed groups in bold), verdicts."""
    cols = ['head', 'epochs', 'seeds', 'mAP'] + list(groups) + ['claims vs baseline',
                                                               'min per run']
    lines = [header, '', '| ' + ' | '.join(cols) + ' |', '|' + '---|' * len(cols)]
    for name, row in table.items():
        cells = [stem(name) + (' (baseline)' if name == baseline else ''),
                 '/'.join(str(e) for e in row['max_epochs']),
                 ' '.join(str(s) for s in row['seeds']), _fmt(row['mAP'])]
        for g in groups:
            text = _fmt(row['groups'][g])
            cells.append(f'**{text}**' if g in row['claims'] else text)
        cells.append('; '.join(_verdict(n) for n in notes.get(name, [])) or '—')
        sec = row['seconds'][0]
        cells.append('n/a' if sec is None else f'{sec / 60:.1f}')
        lines.append('| ' + ' | '.join(cells) + ' |')
    lines += ['', 'Cells: mean ± sample std over the seeds of the frame-mAP@0.5 (overall) and '
              'of the mean AP of each capability group\'s classes; **bold**: a group the head '
              'claims (config key `synthetic_claims`). "within the seeds\' spread": the '
              'difference from the baseline is at most sqrt(std_head² + std_baseline²).']
    return '\n'.join(lines) + '\n'


def plot_table(table: dict, groups: Sequence[str], path: str, title: str) -> str:
    """Grouped bars: one group of bars per capability group (and overall mAP), one bar per
    head, std error bars. Written atomically."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from ava_plugins.utils import atomic_open
    cats = list(groups) + ['overall mAP']
    names = list(table)
    width = 0.8 / max(len(names), 1)
    fig, ax = plt.subplots(figsize=(max(8, 1.4 * len(cats) * max(1, len(names) / 3)), 4.5))
    x = np.arange(len(cats))
    for i, name in enumerate(names):
        row = table[name]
        stats = [row['groups'][g] for g in groups] + [row['mAP']]
        means = [np.nan if s[0] is None else s[0] for s in stats]
        stds = [0.0 if s[1] is None else s[1] for s in stats]
        ax.bar(x - 0.4 + width * (i + 0.5), means, width, yerr=stds, capsize=2,
               label=stem(name))
    ax.set_xticks(x, cats)
    ax.set_ylabel('AP (mean ± std over seeds)')
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=9)
    if names:
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    with atomic_open(path, 'wb') as f:
        fig.savefig(f, format='png', dpi=110)
    plt.close(fig)
    return path


def read_results(work_dir: str) -> List[dict]:
    """Every finished run's ``result.json`` under ``work_dir/runs``."""
    out = []
    root = osp.join(work_dir, 'runs')
    if not osp.isdir(root):
        return out
    for config in sorted(os.listdir(root)):
        for seed_dir in sorted(os.listdir(osp.join(root, config))):
            path = osp.join(root, config, seed_dir, 'result.json')
            if osp.exists(path):
                with open(path) as f:
                    out.append(json.load(f))
    return out


def report(work_dir: str, results: Sequence[dict], baseline: str, header: str,
           log: Callable = print) -> dict:
    """Aggregate, print, and write ``capabilities.md`` / ``capabilities.png``."""
    from ava_plugins.datasets.synthetic import GROUPS, capability_groups
    from ava_plugins.utils import atomic_open
    table = aggregate(results, capability_groups())
    notes = compare_claims(table, baseline)
    text = markdown_table(table, notes, GROUPS, baseline, header)
    with atomic_open(osp.join(work_dir, 'capabilities.md'), 'w') as f:
        f.write(text)
    plot_table(table, GROUPS, osp.join(work_dir, 'capabilities.png'),
               header.splitlines()[0].lstrip('# '))
    log('\n' + text)
    return dict(table=table, notes=notes, markdown=text)


# ---------------------------------------------------------------------------------------- main

def main(argv=None):
    args = parse_args(argv)
    if args.device == 'cpu':
        os.environ['CUDA_VISIBLE_DEVICES'] = ''  # before torch initialises CUDA
    import torch

    from ava_plugins.utils import InputError
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise InputError('--device cuda: torch sees no GPU on this machine')
    from ava_plugins.engine.synthetic_runs import ensure_synthetic_data, read_data_meta

    work_dir = osp.abspath(args.work_dir)
    data_root = osp.abspath(args.data_root or osp.join(work_dir, 'data'))
    settings = parse_key_values(args.data_settings, '--data-settings')
    cfg_options = dict(args.cfg_options)
    configs = discover_configs(args.config_dir, args.configs)
    baseline = osp.join(args.config_dir, args.baseline)
    os.makedirs(work_dir, exist_ok=True)

    data_dirs, metas = {}, {}
    for seed in args.seeds:
        data_dirs[seed] = osp.join(data_root, f'seed{seed}')
        metas[seed] = (read_data_meta(data_dirs[seed]) if args.report_only or args.dry_run else
                       ensure_synthetic_data(data_dirs[seed], seed, **settings))
    threads = max(1, (os.cpu_count() or 1) // args.jobs) if args.jobs > 1 else None
    planner = Planner(work_dir, data_dirs, settings, args.max_epochs, cfg_options,
                      args.num_workers, threads, log_to_files=args.jobs > 1)
    excluded = [c for c in configs if planner.config(c).get('synthetic_benchmark', True) is False]
    if excluded:
        print('not benchmarked (synthetic_benchmark = False): '
              + ', '.join(osp.basename(c) for c in excluded))
    configs = [c for c in configs if c not in excluded]
    for seed in args.seeds:
        for path in [baseline] + [c for c in configs if c != baseline]:
            planner.add_run(path, seed)
    tasks = list(planner.tasks.values())
    if args.dry_run:
        for t in tasks:
            print(f'{"finished" if t.done() else "to do   "}  {t.label}')
        return tasks
    status = {} if args.report_only else execute_tasks(tasks, args.jobs)

    # only the runs of this plan: same configs, seeds, data settings, schedule and options
    wanted = {(t.spec['name'], t.spec['seed']): t.fingerprint for t in tasks
              if t.kind == 'run' and t.spec['config'] in [osp.abspath(c)
                                                          for c in configs + [baseline]]}
    results = [r for r in read_results(work_dir)
               if wanted.get((r['config'], r['seed'])) == r.get('fingerprint')]
    meta = next(iter(metas.values()), None) or {}
    data_text = ', '.join(f'{k}={v}' for k, v in (meta.get('config') or settings).items()
                          if k in ('train_videos', 'val_videos', 'seconds', 'fps', 'size'))
    epochs = ('each config\'s own schedule' if args.max_epochs is None else
              f'{args.max_epochs} epochs for every config (schedulers stretched)')
    header = (f'# Synthetic AVA capability benchmark ({datetime.now():%Y-%m-%d})\n\n'
              f'Seeds {" ".join(map(str, args.seeds))} (seed s: data generated with s and '
              f'training seeded with s); schedule: {epochs}; data: {data_text or "defaults"}; '
              f'device: {args.device}; evaluator: frame-mAP@0.5 on the validation split.')
    out = report(work_dir, results, osp.basename(baseline), header)
    failed = {k: v for k, v in status.items() if v.startswith(('failed', 'skipped'))}
    for key, why in failed.items():
        print(f'NOT FINISHED: {key[0]} {stem(str(key[1]))} seed {key[-1]}: {why}',
              file=sys.stderr)
    print(f'results: {work_dir}/capabilities.md, capabilities.png, runs/')
    if failed:
        raise SystemExit(1)
    return out


if __name__ == '__main__':
    from ava_plugins.engine.cli import run_cli
    sys.exit(run_cli(main))
