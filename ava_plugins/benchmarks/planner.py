"""The capability benchmark's plan: (head configs x seeds) -> ordered tasks with prerequisites.

A :class:`Task` is finished exactly when its marker file exists and records the task's
fingerprint (config text, seed, data settings, schedule, options and the prerequisites'
fingerprints), so a rerun redoes only what changed. Prerequisites are declared in the configs
(``synthetic_prerequisites``, documented in ``configs/synthetic/_base_/synthetic_ava.py``).
"""
import fnmatch
import hashlib
import json
import os
import os.path as osp
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Sequence

from mmengine.config import Config

from ..datasets.synthetic import GROUPS
from ..structures import DEFAULT_MAX_GAP
from ..utils import InputError


def discover_configs(config_dir: str, patterns: Sequence[str] = ('*',)) -> List[str]:
    """The head configs of ``config_dir`` matching any of ``patterns`` (names or globs).

    Every ``*.py`` directly in ``config_dir`` except test-time augmentation (``*_tta.py``);
    ``_base_/`` is not searched. Raises InputError for a pattern matching nothing.
    """
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
            extra = dict(p.get('extract_options') or {})
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
                         extract_options=extra, marker=bank_dir + '.done.json', threads=self.threads,
                         log_file=bank_dir + '.log' if self.log_to_files else None),
                    bank_dir + '.done.json', [trained.key], fp,
                    f'{p["feature"]} bank of {stem(source)} seed {seed}')
            return self.tasks[key], p['path'], self.tasks[key].spec['bank_dir']
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
    return Config.fromfile(path)
