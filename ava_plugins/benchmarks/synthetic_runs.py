"""Train and evaluate one tiny config on the synthetic AVA set; write what the next step needs.

Shared by ``tools/run_demo.py`` (one run) and the capability benchmark (every head x seed,
with prerequisites: :mod:`ava_plugins.benchmarks.planner`). The configs of ``configs/synthetic/``
read their data under ``data/synthetic_ava`` (:data:`CONFIG_DATA_ROOT`); a run re-roots those
paths at its own dataset (:func:`point_config_at_data`) and at the prerequisites it was given (a feature bank of a
trained model, linked tubes), so runs with different seeds never share a file.

Task functions (:func:`execute_run`, :func:`execute_bank`, :func:`execute_tubes`) take one
plain ``dict`` so that a process pool can run them; each writes its output atomically and last
a small JSON marker (``result.json`` / ``done.json``): a task is finished exactly when its
marker exists, so a killed benchmark resumes where it stopped.
"""
import contextlib
import json
import os
import os.path as osp
import pickle
import shutil
import sys
import time
from typing import Dict, List, Optional

import numpy as np

from ava_eval.keyframe_pickles import load_proposals
from mmengine.config import Config

from ..datasets.synthetic import (SyntheticAVAConfig, capability_groups, generate_synthetic_ava,
                                  synthetic_ava_files)
from ..engine.bank_features import extract_bank_from_config
from ..engine.launch import build_runner
from ..structures import link_tubes
from ..utils import atomic_open

#: Where the synthetic configs expect the dataset (relative to the repository root).
CONFIG_DATA_ROOT = 'data/synthetic_ava'


# ---------------------------------------------------------------------------------------- data

def read_data_meta(data: str) -> Optional[dict]:
    """The generator's ``synthetic_ava_meta.json`` (written last: the set is complete) or None."""
    meta = osp.join(data, 'annotations', 'synthetic_ava_meta.json')
    if not osp.exists(meta):
        return None
    with open(meta) as f:
        return json.load(f)


def ensure_synthetic_data(data: str, seed: int, verbose: bool = True, any_settings: bool = False,
                          **settings) -> dict:
    """Generate the synthetic AVA set into ``data`` unless a complete one with the same seed and
    settings (:class:`~ava_plugins.datasets.synthetic.SyntheticAVAConfig` fields) is there;
    ``any_settings`` accepts a complete set of that seed whatever its settings (the demo).

    Returns the dataset's meta (seed, settings, timestamps, fps, videos).
    """
    wanted = SyntheticAVAConfig.from_kwargs(**settings).to_dict()
    meta = read_data_meta(data)
    if meta is not None and meta.get('seed') == seed and (any_settings
                                                          or meta.get('config') == wanted):
        if verbose:
            print(f'reusing {data} (seed {seed})', flush=True)
        return meta
    t = time.time()
    generate_synthetic_ava(data, seed=seed, **settings)
    if verbose:
        print(f'generated {data} (seed {seed}) in {time.time() - t:.0f} s', flush=True)
    return read_data_meta(data)


# ------------------------------------------------------------------------------ config paths

def _rewrite(node, mapping):
    if isinstance(node, dict):
        return {k: _rewrite(v, mapping) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return type(node)(_rewrite(v, mapping) for v in node)
    if isinstance(node, str):
        for old, new in mapping:
            if node == old or node.startswith(old + '/'):
                return new + node[len(old):]
    return node


def rewrite_paths(cfg, mapping: Dict[str, str]) -> None:
    """Replace, in every string of ``cfg``, a leading path ``old`` by ``mapping[old]``.

    The longest matching ``old`` wins, so a prerequisite's path under ``data/synthetic_ava``
    (e.g. ``data/synthetic_ava/lfb_bank``) is not re-rooted as ordinary data. In place.
    """
    pairs = sorted(((k.rstrip('/'), v) for k, v in mapping.items()), key=lambda kv: -len(kv[0]))
    for key in list(cfg.keys()):
        value = cfg[key]
        plain = value.to_dict() if hasattr(value, 'to_dict') else value
        cfg[key] = _rewrite(plain, pairs)


def _datasets(node):
    """Every dataset dict (one with ``ann_file`` and ``timestamp_end``) inside ``node``."""
    if isinstance(node, dict):
        if 'ann_file' in node and 'timestamp_end' in node:
            yield node
        for v in node.values():
            yield from _datasets(v)
    elif isinstance(node, (list, tuple)):
        for v in node:
            yield from _datasets(v)


def point_config_at_data(cfg, data: str, extra: Optional[Dict[str, str]] = None) -> None:
    """Re-root ``data/synthetic_ava`` (and the ``extra`` prerequisite paths) at ``data``.

    When the dataset's meta is there, the AVA datasets' ``timestamp_start``, ``timestamp_end``
    and ``fps`` are set from it, so sets generated with other ``--seconds`` / ``--fps`` load.
    """
    mapping = {CONFIG_DATA_ROOT: data}
    mapping.update(extra or {})
    rewrite_paths(cfg, mapping)
    meta = read_data_meta(data)
    if meta is None:
        return
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(key) is not None:
            for ds in _datasets(cfg[key]):
                ds.update(timestamp_start=meta['timestamp_start'],
                          timestamp_end=meta['timestamp_end'], fps=meta['fps'])


def scale_schedule(cfg, max_epochs: int) -> None:
    """Train ``max_epochs`` epochs, stretching every epoch-based scheduler to the new length.

    ``begin``, ``end`` and ``T_max`` are multiplied by ``max_epochs / old``; the schedulers
    must be ``convert_to_iter_based`` (fractional epochs become whole iterations), as the
    synthetic configs' are. Raises ValueError naming the scheduler otherwise.
    """
    old = cfg.train_cfg['max_epochs']
    factor = max_epochs / old
    schedulers = cfg.get('param_scheduler') or []
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    for s in schedulers:
        if factor != 1 and s.get('by_epoch', True) and not s.get('convert_to_iter_based'):
            raise ValueError(f'{cfg.filename}: cannot rescale scheduler {s.get("type")} to '
                             f'{max_epochs} epochs: it needs convert_to_iter_based=True')
        for k in ('begin', 'end', 'T_max'):
            if k in s and s.get('by_epoch', True):
                s[k] = s[k] * factor
    cfg.train_cfg.update(max_epochs=max_epochs, val_begin=max_epochs, val_interval=max_epochs)
    if cfg.get('default_hooks', {}).get('checkpoint') is not None:
        cfg.default_hooks.checkpoint['interval'] = max_epochs


def prepare_run_config(cfg, work_dir: str, seed: int, eval_dir: str,
                       num_workers: Optional[int] = None) -> None:
    """One training + final test run: no validation during training, seeded, results into
    ``eval_dir``. In place."""
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    cfg.randomness = dict(seed=seed)
    cfg.val_cfg = None
    cfg.val_dataloader = None
    cfg.val_evaluator = None
    evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else [
        cfg.test_evaluator]
    for evaluator in evaluators:
        evaluator['out_dir'] = eval_dir
    if num_workers is not None:
        for key in ('train_dataloader', 'test_dataloader'):
            cfg[key]['num_workers'] = num_workers
            cfg[key]['persistent_workers'] = num_workers > 0 and cfg[key].get(
                'persistent_workers', False)


# ----------------------------------------------------------------------------------- results

def group_aps(per_class: Dict, groups: Dict[str, List[int]]) -> Dict[str, Optional[float]]:
    """Mean AP of each group's classes (classes without GT, AP ``None``, left out)."""
    per_class = {int(k): v for k, v in per_class.items()}
    out = {}
    for name, ids in groups.items():
        aps = [per_class[i] for i in ids if per_class.get(i) is not None]
        out[name] = float(np.mean(aps)) if aps else None
    return out


def summarise(result_json: str, groups: Dict[str, List[int]]) -> dict:
    """``{mAP, capability_groups, per_class}`` from an ``ava_result_*.json`` of AVAFrameMetric."""
    with open(result_json) as f:
        result = json.load(f)
    return dict(mAP=result['mAP'], capability_groups=group_aps(result['per_class'], groups),
                per_class=result['per_class'])


def latest_file(folder: str, prefix: str, suffix: str) -> str:
    """The newest ``prefix*suffix`` file of ``folder`` (AVAFrameMetric names them by time)."""
    names = sorted(f for f in os.listdir(folder) if f.startswith(prefix) and f.endswith(suffix))
    if not names:
        raise FileNotFoundError(f'{folder}: no {prefix}*{suffix} file was written')
    return osp.join(folder, names[-1])


def write_json(path: str, data: dict) -> None:
    with atomic_open(path, 'w') as f:
        json.dump(data, f, indent=1)


# -------------------------------------------------------------------------------- task bodies

@contextlib.contextmanager
def _output_to(log_file: Optional[str]):
    """Send this process's stdout/stderr (file descriptors) to ``log_file`` while inside."""
    if log_file is None:
        yield
        return
    os.makedirs(osp.dirname(osp.abspath(log_file)), exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_file, 'a') as f:
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _set_threads(threads: Optional[int]) -> None:
    if threads:
        import torch
        torch.set_num_threads(threads)


def build_run_config(spec: dict):
    """The config of one run: file + options, schedule, data and prerequisite paths, run dirs."""
    cfg = Config.fromfile(spec['config'])
    if spec.get('cfg_options'):
        cfg.merge_from_dict(spec['cfg_options'])
    if spec.get('max_epochs'):
        scale_schedule(cfg, spec['max_epochs'])
    point_config_at_data(cfg, spec['data'], spec.get('paths'))
    if spec.get('load_from_run'):
        with open(osp.join(spec['load_from_run'], 'result.json')) as f:
            cfg.load_from = json.load(f)['checkpoint']
    return cfg


def execute_run(spec: dict) -> dict:
    """Train ``spec['config']`` with seed ``spec['seed']``, test it, write ``result.json``.

    ``spec``: ``config``, ``seed``, ``data`` (the seed's dataset), ``run_dir``, optional
    ``paths`` (prerequisite path map), ``max_epochs``, ``cfg_options``, ``num_workers``,
    ``threads``, ``log_file``, ``groups`` and ``meta`` (copied into the result). The result
    holds the AVA evaluator's mAP and per-class AP, the per-group means, the checkpoint, the
    detections CSV and the seconds spent.
    """
    run_dir = spec['run_dir']
    os.makedirs(run_dir, exist_ok=True)
    eval_dir = osp.join(run_dir, 'eval')
    shutil.rmtree(eval_dir, ignore_errors=True)
    start = time.time()
    with _output_to(spec.get('log_file')):
        _set_threads(spec.get('threads'))
        cfg = build_run_config(spec)
        cfg.dump(osp.join(run_dir, 'config.py'))  # what extract_bank reads for this model
        prepare_run_config(cfg, osp.join(run_dir, 'work'), spec['seed'], eval_dir,
                           spec.get('num_workers'))
        runner = build_runner(cfg)
        runner.train()
        trained = time.time()
        runner.test()
        with open(osp.join(cfg.work_dir, 'last_checkpoint')) as f:
            checkpoint = f.read().strip()
    result = summarise(latest_file(eval_dir, 'ava_result_', '.json'),
                       spec.get('groups') or capability_groups())
    result.update(
        config=spec.get('name', osp.basename(spec['config'])),
        seed=spec['seed'],
        max_epochs=int(cfg.train_cfg['max_epochs']),
        device=str(next(runner.model.parameters()).device),
        checkpoint=checkpoint,
        detections=latest_file(eval_dir, 'ava_result_', '.csv'),
        seconds=dict(train=round(trained - start, 1), test=round(time.time() - trained, 1),
                     total=round(time.time() - start, 1)),
        **(spec.get('meta') or {}))
    write_json(osp.join(run_dir, 'result.json'), result)
    return result


def execute_bank(spec: dict) -> dict:
    """Extract a feature bank from a trained run (what ``tools/extract_bank.py`` does); mark it
    done.

    ``spec``: ``run_dir`` (a finished :func:`execute_run` folder: its checkpoint),
    ``extract_config`` (the model/pipeline config extraction builds, usually the trained
    config), ``data``, ``cfg_options``, ``bank_dir``, ``feature``, ``splits``,
    ``max_per_second``, ``marker``, optional ``extract_options`` (more keyword arguments of
    :func:`~ava_plugins.engine.bank_features.extract_bank_from_config`, e.g.
    ``dict(canvas=(5, 9))``), ``threads``, ``log_file`` and ``meta``. The config
    pointed at the seed's data is written beside the bank; extraction resumes per video.
    """
    with open(osp.join(spec['run_dir'], 'result.json')) as f:
        trained = json.load(f)
    start = time.time()
    with _output_to(spec.get('log_file')):
        _set_threads(spec.get('threads'))
        cfg = build_run_config(dict(config=spec['extract_config'], data=spec['data'],
                                    cfg_options=spec.get('cfg_options')))
        config_file = spec['bank_dir'] + '.config.py'
        os.makedirs(osp.dirname(config_file), exist_ok=True)
        cfg.dump(config_file)
        cfg = Config.fromfile(config_file)
        for split in spec['splits']:
            extract_bank_from_config(cfg.copy(), trained['checkpoint'], spec['bank_dir'],
                                     split=split, feature=spec['feature'],
                                     max_per_second=int(spec['max_per_second']),
                                     config_name=config_file,
                                     **(spec.get('extract_options') or {}))
    done = dict(bank_dir=spec['bank_dir'], checkpoint=trained['checkpoint'],
                seconds=round(time.time() - start, 1), **(spec.get('meta') or {}))
    write_json(spec['marker'], done)
    return done


def execute_tubes(spec: dict) -> dict:
    """Link the seed's proposals of ``spec['split']`` into tubes
    (:func:`ava_plugins.structures.link_tubes`) and write them atomically to ``spec['out']``.

    ``spec``: ``data``, ``split``, ``out``, ``span``, ``lam``, ``min_iou``, ``max_gap``,
    ``marker``, optional ``meta``.
    """
    start = time.time()
    proposals = load_proposals(synthetic_ava_files(spec['data'])[f'{spec["split"]}_proposals'])
    tubes = link_tubes(proposals, spec['span'], spec['lam'], spec['min_iou'], spec['max_gap'])
    with atomic_open(spec['out'], 'wb') as f:
        pickle.dump(tubes, f)
    done = dict(out=spec['out'], seconds=round(time.time() - start, 1),
                **(spec.get('meta') or {}))
    write_json(spec['marker'], done)
    return done


TASKS = dict(run=execute_run, bank=execute_bank, tubes=execute_tubes)


def execute(task: dict) -> dict:
    """Run one task ``{"kind": "run" | "bank" | "tubes", "spec": {...}}`` (a pool's entry)."""
    if task['kind'] not in TASKS:
        raise ValueError(f'unknown task kind {task["kind"]!r}; expected one of {sorted(TASKS)}')
    return TASKS[task['kind']](task['spec'])
