"""Run the benchmark's tasks in dependency order, in this process or a pool of fresh ones."""
import json
import time
from typing import Callable, Dict, Sequence

from .planner import Task, stem
from .synthetic_runs import execute as execute_task


def execute_tasks(tasks: Sequence[Task], jobs: int = 1, execute: Callable = None,
                  log: Callable = print) -> Dict[tuple, str]:
    """Run the unfinished tasks in dependency order; ``{key: status}``.

    Status: ``done`` (finished before), ``ok``, ``failed: <error>``, ``skipped: <dep> failed``.
    One task's failure does not stop the others (only its dependents). ``jobs > 1`` runs tasks
    in a pool of fresh (spawned) processes, one task per process.
    """
    execute = execute or execute_task
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
