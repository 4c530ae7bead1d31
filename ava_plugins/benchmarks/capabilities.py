"""The capability benchmark end to end: data per seed, plan, run, aggregate, report.

:func:`run_capability_benchmark` is what ``tools/benchmarks/synthetic_capabilities.py`` runs
(its docstring describes the benchmark and its outputs).
"""
import os
import os.path as osp
import sys
from datetime import datetime
from typing import Callable, Optional, Sequence

from .planner import Planner, discover_configs, stem
from .report import read_results, report
from .synthetic_runs import ensure_synthetic_data, read_data_meta
from .task_pool import execute_tasks

#: The reference head every other head is compared with (always run).
BASELINE = 'linear_slowfast_tiny.py'


def run_capability_benchmark(config_dir: str, patterns: Sequence[str], seeds: Sequence[int],
                             work_dir: str, data_root: Optional[str] = None,
                             device: str = 'cpu', jobs: int = 1,
                             num_workers: Optional[int] = None,
                             max_epochs: Optional[int] = None, baseline: str = BASELINE,
                             data_settings: Optional[dict] = None,
                             cfg_options: Optional[dict] = None, report_only: bool = False,
                             dry_run: bool = False, log: Callable = print) -> dict:
    """Train and test every head config of ``config_dir`` matching ``patterns`` (and the
    ``baseline``) for each seed, with their prerequisites, then write the report.

    Returns ``{table, notes, markdown, tasks, status, failed}`` (``{tasks}`` for ``dry_run``);
    ``failed`` maps each unfinished task's key to why.
    """
    work_dir = osp.abspath(work_dir)
    data_root = osp.abspath(data_root or osp.join(work_dir, 'data'))
    settings = dict(data_settings or {})
    cfg_options = dict(cfg_options or {})
    configs = discover_configs(config_dir, patterns)
    baseline = osp.join(config_dir, baseline)
    os.makedirs(work_dir, exist_ok=True)

    data_dirs, metas = {}, {}
    for seed in seeds:
        data_dirs[seed] = osp.join(data_root, f'seed{seed}')
        metas[seed] = (read_data_meta(data_dirs[seed]) if report_only or dry_run else
                       ensure_synthetic_data(data_dirs[seed], seed, **settings))
    threads = max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else None
    planner = Planner(work_dir, data_dirs, settings, max_epochs, cfg_options,
                      num_workers, threads, log_to_files=jobs > 1)
    excluded = [c for c in configs if planner.config(c).get('synthetic_benchmark', True) is False]
    if excluded:
        log('not benchmarked (synthetic_benchmark = False): '
            + ', '.join(osp.basename(c) for c in excluded))
    configs = [c for c in configs if c not in excluded]
    for seed in seeds:
        for path in [baseline] + [c for c in configs if c != baseline]:
            planner.add_run(path, seed)
    tasks = list(planner.tasks.values())
    if dry_run:
        for t in tasks:
            log(f'{"finished" if t.done() else "to do   "}  {t.label}')
        return dict(tasks=tasks)
    status = {} if report_only else execute_tasks(tasks, jobs, log=log)

    # only the runs of this plan: same configs, seeds, data settings, schedule and options
    wanted = {(t.spec['name'], t.spec['seed']): t.fingerprint for t in tasks
              if t.kind == 'run' and t.spec['config'] in [osp.abspath(c)
                                                          for c in configs + [baseline]]}
    results = [r for r in read_results(work_dir)
               if wanted.get((r['config'], r['seed'])) == r.get('fingerprint')]
    meta = next(iter(metas.values()), None) or {}
    data_text = ', '.join(f'{k}={v}' for k, v in (meta.get('config') or settings).items()
                          if k in ('train_videos', 'val_videos', 'seconds', 'fps', 'size'))
    epochs = ('each config\'s own schedule' if max_epochs is None else
              f'{max_epochs} epochs for every config (schedulers stretched)')
    header = (f'# Synthetic AVA capability benchmark ({datetime.now():%Y-%m-%d})\n\n'
              f'Seeds {" ".join(map(str, seeds))} (seed s: data generated with s and '
              f'training seeded with s); schedule: {epochs}; data: {data_text or "defaults"}; '
              f'device: {device}; evaluator: frame-mAP@0.5 on the validation split.')
    out = report(work_dir, results, osp.basename(baseline), header, log=log)
    failed = {k: v for k, v in status.items() if v.startswith(('failed', 'skipped'))}
    for key, why in failed.items():
        print(f'NOT FINISHED: {key[0]} {stem(str(key[1]))} seed {key[-1]}: {why}',
              file=sys.stderr)
    log(f'results: {work_dir}/capabilities.md, capabilities.png, runs/')
    return dict(out, tasks=tasks, status=status, failed=failed)

