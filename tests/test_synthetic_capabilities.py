"""The synthetic capability benchmark: discovery, aggregation, prerequisites, resume, one real run.

:mod:`ava_plugins.benchmarks` (the library behind ``tools/benchmarks/synthetic_capabilities.py``)
plans (configs x seeds) with the prerequisites the configs declare, runs them resumably and
aggregates per-class APs into capability groups.
"""
import json
import os
import os.path as osp

import numpy as np
import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SYNTHETIC = osp.join(REPO, 'configs', 'synthetic')
TINY_DATA = dict(train_videos=1, val_videos=1, seconds=10, fps=10, size=48)


@pytest.fixture(scope='module')
def tool():
    import ava_plugins.benchmarks
    return ava_plugins.benchmarks


@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory):
    from ava_plugins.benchmarks.synthetic_runs import ensure_synthetic_data
    out = str(tmp_path_factory.mktemp('caps_data') / 'seed0')
    ensure_synthetic_data(out, 0, verbose=False, **TINY_DATA)
    return out


# ---------------------------------------------------------------------------------- discovery

def test_discovery_takes_every_head_but_tta_and_base(tool, tmp_path):
    for name in ('linear.py', 'acfb_tiny.py', 'linear_tta.py', 'notes.txt'):
        (tmp_path / name).write_text('')
    (tmp_path / '_base_').mkdir()
    (tmp_path / '_base_' / 'data.py').write_text('')
    names = lambda ps: [osp.basename(p) for p in ps]  # noqa: E731
    assert names(tool.discover_configs(str(tmp_path))) == ['acfb_tiny.py', 'linear.py']
    assert names(tool.discover_configs(str(tmp_path), ['acfb_*', 'linear'])) == [
        'acfb_tiny.py', 'linear.py']
    with pytest.raises(ValueError, match=r"--configs 'arm_\*' matches no head config"):
        tool.discover_configs(str(tmp_path), ['arm_*'])
    real = names(tool.discover_configs(SYNTHETIC))
    assert 'linear_slowfast_tiny.py' in real and 'three_branch_slowfast_tiny.py' in real
    assert not [n for n in real if n.endswith('_tta.py')]


# -------------------------------------------------------------------------------- aggregation

def _per_class(pose, actor, interaction, scene, long_term, arm):
    """Per-class APs of the 11 synthetic classes (ids 1-4 pose, 5-7 actor, 8, 9, 10, 11)."""
    values = list(pose) + list(actor) + [interaction, scene, long_term, arm]
    return {str(i + 1): v for i, v in enumerate(values)}


def _run(config, seed, m_ap, per_class, claims=()):
    return dict(config=config, seed=seed, mAP=m_ap, per_class=per_class, claims=list(claims),
                max_epochs=8, seconds=dict(total=60.0 * (seed + 1)), device='cpu')


def test_aggregation_mean_std_and_claims_hand_worked(tool):
    from ava_plugins.datasets.synthetic import GROUPS, capability_groups
    runs = [
        # pose means 0.4, 0.5, 0.6 (jump has no GT in seed 0: None is left out)
        _run('lin.py', 0, 0.3, _per_class([0.2, 0.4, None, 0.6], [0.3] * 3, 0.1, 0.2, 0.1, 0.5)),
        _run('lin.py', 1, 0.4, _per_class([0.5] * 4, [0.4, 0.5, 0.6], 0.1, 0.3, 0.1, 0.5)),
        _run('lin.py', 2, 0.5, _per_class([0.6] * 4, [0.6] * 3, 0.1, 0.4, 0.1, 0.5)),
        _run('head.py', 0, 0.5, _per_class([0.5] * 4, [0.5] * 3, 0.2, 0.5, 0.1, 0.45),
             claims=['scene', 'arm']),
        _run('head.py', 1, 0.6, _per_class([0.5] * 4, [0.5] * 3, 0.2, 0.7, 0.1, 0.53),
             claims=['scene', 'arm']),
    ]
    table = tool.aggregate(runs, capability_groups())
    lin, head = table['lin.py'], table['head.py']
    assert lin['seeds'] == [0, 1, 2] and head['seeds'] == [0, 1]
    np.testing.assert_allclose(lin['mAP'][:2], (0.4, 0.1))  # sample std of 0.3, 0.4, 0.5
    np.testing.assert_allclose(lin['groups']['pose'][:2], (0.5, 0.1))
    actor = [0.3, 0.5, 0.6]
    np.testing.assert_allclose(lin['groups']['actor'][:2], (np.mean(actor), np.std(actor, ddof=1)))
    np.testing.assert_allclose(lin['groups']['scene'][:2], (0.3, 0.1))
    np.testing.assert_allclose(head['groups']['scene'][:2], (0.6, np.sqrt(0.02)))
    assert lin['groups']['arm'][1] == 0.0 and lin['seconds'][0] == 120.0
    single = tool.aggregate(runs[:1], capability_groups())['lin.py']
    assert single['mAP'] == (0.3, None, 1)  # one seed: no std

    notes = tool.compare_claims(table, 'lin.py')
    assert notes['lin.py'] == []
    scene, arm = notes['head.py']
    assert scene['group'] == 'scene' and scene['beats'] and not scene['within_noise']
    np.testing.assert_allclose(scene['diff'], 0.3)
    # arm: 0.49 vs 0.5, std 0.0566 vs 0: does not beat, inside the seeds' spread
    assert arm['beats'] is False and arm['within_noise'] is True
    np.testing.assert_allclose(arm['diff'], -0.01)

    text = tool.markdown_table(table, notes, GROUPS, 'lin.py', '# header')
    rows = {line.split(' | ')[0]: line for line in text.splitlines() if line.startswith('| ')}
    assert '**0.600 ± 0.141**' in rows['| head'] and '**0.490 ± 0.057**' in rows['| head']
    assert 'scene: beats (+0.300)' in rows['| head']
    assert "arm: does not beat (-0.010, within the seeds' spread)" in rows['| head']
    assert rows['| lin (baseline)'].split(' | ')[3] == '0.400 ± 0.100'


def test_report_writes_table_and_chart(tool, tmp_path):
    from ava_plugins.datasets.synthetic import capability_groups
    runs = [_run('lin.py', s, 0.4, _per_class([0.5] * 4, [0.4] * 3, 0.1, 0.2, 0.1, 0.3))
            for s in (0, 1)]
    for r in runs:
        run_dir = tmp_path / 'runs' / 'lin' / f'seed{r["seed"]}'
        run_dir.mkdir(parents=True)
        (run_dir / 'result.json').write_text(json.dumps(r))
    results = tool.read_results(str(tmp_path))
    assert [r['seed'] for r in results] == [0, 1]
    out = tool.report(str(tmp_path), results, 'lin.py', '# title', log=lambda *a: None)
    np.testing.assert_allclose(out['table']['lin.py']['groups']['actor'][:2], (0.4, 0.0))
    assert (tmp_path / 'capabilities.md').read_text() == out['markdown']
    png = (tmp_path / 'capabilities.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 5000
    assert set(capability_groups()) <= set(out['markdown'].splitlines()[2].split(' | '))


# ------------------------------------------------------------------------------ prerequisites

def _write_configs(root, specs):
    for name, body in specs.items():
        (root / name).write_text(body)


def _bank(config, path):
    return f"dict(type='bank', config='{config}', feature='roi', path='{path}')"


@pytest.fixture
def fake_configs(tmp_path):
    root = tmp_path / 'configs'
    root.mkdir()
    _write_configs(root, {
        'base.py': 'synthetic_claims = []\nx = 1\n',
        'a.py': f"synthetic_prerequisites = [{_bank('base.py', 'data/synthetic_ava/bank')}]\n"
                "synthetic_claims = ['long_term']\n"
                "p = dict(bank_dir='data/synthetic_ava/bank', ann='data/synthetic_ava/a.csv')\n",
        'b.py': f"synthetic_prerequisites = [{_bank('base.py', 'data/synthetic_ava/bank')}, "
                "dict(type='tubes', split='val', span=5, path='data/tubes.pkl')]\n",
        'c.py': f"synthetic_prerequisites = [{_bank('a.py', 'data/synthetic_ava/bank_a')}]\n",
        'd.py': f"synthetic_prerequisites = [{_bank('e.py', 'x')}]\n",
        'e.py': f"synthetic_prerequisites = [{_bank('d.py', 'y')}]\n",
        'bad.py': "synthetic_prerequisites = [dict(type='bank', config='base.py')]\n",
        'f.py': "synthetic_prerequisites = [dict(type='checkpoint', config='base.py'), "
                "dict(type='bank', config='base.py', extract_config='a.py', feature='res4', "
                "splits=('train',), path='data/synthetic_ava/res4', cfg_options=dict(x=3), "
                "extract_options=dict(canvas=(5, 9)))]\n",
    })
    return root


def _planner(tool, tmp_path, **kw):
    return tool.Planner(str(tmp_path / 'work'), {0: '/data/s0', 1: '/data/s1'}, dict(seconds=10),
                        **kw)


def test_prerequisites_are_ordered_shared_and_pointed_at(tool, tmp_path, fake_configs):
    planner = _planner(tool, tmp_path)
    for seed in (0, 1):
        for name in ('a.py', 'b.py', 'c.py'):
            planner.add_run(str(fake_configs / name), seed)
    tasks = list(planner.tasks.values())
    position = {t.key: i for i, t in enumerate(tasks)}
    for t in tasks:
        assert all(position[d] < position[t.key] for d in t.deps), t
    labels = [t.label for t in tasks if t.key[-1] == 0]
    assert labels == [
        'train+test base seed 0', 'roi bank of base seed 0', 'train+test a seed 0',
        'val tubes (T=5) seed 0', 'train+test b seed 0', 'roi bank of a seed 0',
        'train+test c seed 0'
    ]
    assert len(tasks) == 2 * len(labels)  # per seed, base's bank is made once for a and b
    work = str(tmp_path / 'work')
    a0 = planner.tasks[('run', str(fake_configs / 'a.py'), 0)]
    bank = a0.spec['paths']['data/synthetic_ava/bank']
    assert osp.dirname(bank) == osp.join(work, 'prerequisites', 'seed0')
    assert osp.basename(bank).startswith('base_roi_train_val_') and len(a0.spec['paths']) == 1
    assert planner.tasks[a0.deps[0]].spec['bank_dir'] == bank
    assert a0.spec['run_dir'] == osp.join(work, 'runs', 'a', 'seed0')
    assert a0.spec['meta']['claims'] == ['long_term']
    b1 = planner.tasks[('run', str(fake_configs / 'b.py'), 1)]
    assert b1.spec['paths']['data/tubes.pkl'] == osp.join(
        work, 'prerequisites', 'seed1', 'tubes_val_T5_l1.0_i0.3_g1.pkl')
    bank_task = planner.tasks[b1.deps[0]]
    assert bank_task.spec['run_dir'] == osp.join(work, 'runs', 'base', 'seed1')
    assert bank_task.spec['splits'] == ('train', 'val')

    # the run config is pointed at the seed's data and at its own bank (longest prefix first)
    from ava_plugins.benchmarks.synthetic_runs import build_run_config
    cfg = build_run_config(dict(a0.spec, data='/data/s0'))
    assert cfg.p == dict(bank_dir=bank, ann='/data/s0/a.csv')

    # initialised from another run's checkpoint; a bank extracted with another config
    f0 = planner.add_run(str(fake_configs / 'f.py'), 0)
    base0 = planner.tasks[('run', str(fake_configs / 'base.py'), 0)]
    res4 = planner.tasks[f0.deps[1]]
    assert f0.deps[0] == base0.key and f0.spec['load_from_run'] == base0.spec['run_dir']
    assert res4.spec['run_dir'] == base0.spec['run_dir'] and res4.deps == [base0.key]
    assert res4.spec['extract_config'] == str(fake_configs / 'a.py')
    assert (res4.spec['splits'], res4.spec['cfg_options']) == (('train', ), {'x': 3})
    assert res4.spec['extract_options'] == dict(canvas=(5, 9))
    assert res4.spec['bank_dir'] != bank and f0.spec['paths'] == {
        'data/synthetic_ava/res4': res4.spec['bank_dir']}
    os.makedirs(base0.spec['run_dir'])
    with open(osp.join(base0.spec['run_dir'], 'result.json'), 'w') as f:
        json.dump(dict(checkpoint='/ckpt/epoch_8.pth'), f)
    assert build_run_config(f0.spec).load_from == '/ckpt/epoch_8.pth'

    with pytest.raises(ValueError, match='cycle: d -> e -> d'):
        planner.add_run(str(fake_configs / 'd.py'), 0)
    with pytest.raises(ValueError, match=r"bad.py: synthetic_prerequisites\[0\]: missing key\(s\) "
                       r"\['feature', 'path'\]"):
        planner.add_run(str(fake_configs / 'bad.py'), 0)


def test_fingerprints_follow_config_schedule_and_prerequisites(tool, tmp_path, fake_configs):
    one = _planner(tool, tmp_path)
    c = one.add_run(str(fake_configs / 'c.py'), 0)
    assert c.fingerprint == _planner(tool, tmp_path).add_run(str(fake_configs / 'c.py'),
                                                             0).fingerprint
    assert c.fingerprint != _planner(tool, tmp_path, max_epochs=3).add_run(
        str(fake_configs / 'c.py'), 0).fingerprint
    (fake_configs / 'base.py').write_text('synthetic_claims = []\nx = 2\n')  # upstream change
    assert c.fingerprint != _planner(tool, tmp_path).add_run(str(fake_configs / 'c.py'),
                                                             0).fingerprint


class FakeExecutor:
    """Writes each task's marker as the real task bodies do (atomically, last); can be killed."""

    def __init__(self, kill_at=None, fail=()):
        self.calls, self.kill_at, self.fail = [], kill_at, fail

    def __call__(self, job):
        from ava_plugins.utils import atomic_open
        spec = job['spec']
        marker = (osp.join(spec['run_dir'], 'result.json') if job['kind'] == 'run' else
                  spec['marker'])
        name = osp.basename(spec.get('run_dir', spec.get('out', '')))
        self.calls.append((job['kind'], spec.get('name'), name))
        if len(self.calls) == self.kill_at:
            with atomic_open(marker, 'w') as f:
                f.write('{"half": ')
                raise KeyboardInterrupt  # killed while writing
        if job['kind'] in self.fail:
            raise RuntimeError('boom')
        with atomic_open(marker, 'w') as f:
            json.dump(dict(mAP=0.5, **spec['meta']), f)


def test_resume_after_kill_skips_finished_runs(tool, tmp_path, fake_configs):
    planner = _planner(tool, tmp_path)
    planner.add_run(str(fake_configs / 'a.py'), 0)
    planner.add_run(str(fake_configs / 'base.py'), 1)
    tasks = list(planner.tasks.values())
    quiet = dict(log=lambda *a: None)
    killed = FakeExecutor(kill_at=3)
    with pytest.raises(KeyboardInterrupt):
        tool.execute_tasks(tasks, execute=killed, **quiet)
    run_a = tasks[2]
    assert [t.done() for t in tasks] == [True, True, False, False]
    assert os.listdir(run_a.spec['run_dir']) == []  # no half-written result.json, no temp file

    again = FakeExecutor()
    status = tool.execute_tasks(tasks, execute=again, **quiet)
    assert [c[1] for c in again.calls] == ['a.py', 'base.py']
    assert list(status.values()) == ['done', 'done', 'ok', 'ok']
    assert tool.execute_tasks(tasks, execute=FakeExecutor(), **quiet) == {
        t.key: 'done' for t in tasks}

    # a changed schedule makes every task stale; a failed bank skips only its dependents
    stale = _planner(tool, tmp_path, max_epochs=2)
    stale.add_run(str(fake_configs / 'a.py'), 0)
    stale.add_run(str(fake_configs / 'base.py'), 1)
    status = tool.execute_tasks(list(stale.tasks.values()), execute=FakeExecutor(fail=('bank',)),
                                **quiet)
    assert list(status.values()) == ['ok', 'failed: RuntimeError: boom',
                                     'skipped: bank base failed', 'ok']


def test_real_configs_declare_the_three_branch_bank(tool, tmp_path, tiny_data):
    from ava_plugins.benchmarks.synthetic_runs import build_run_config
    planner = tool.Planner(str(tmp_path / 'work'), {0: tiny_data}, TINY_DATA)
    task = planner.add_run(osp.join(SYNTHETIC, 'three_branch_slowfast_tiny.py'), 0)
    labels = [t.label for t in planner.tasks.values()]
    assert labels == ['train+test linear_slowfast_tiny seed 0',
                      'roi bank of linear_slowfast_tiny seed 0',
                      'train+test three_branch_slowfast_tiny seed 0']
    assert task.spec['meta']['claims'] == ['scene', 'long_term']
    no_lfb = planner.add_run(osp.join(SYNTHETIC, 'three_branch_slowfast_tiny_no_lfb.py'), 0)
    assert no_lfb.deps == [] and no_lfb.spec['paths'] == {}

    bank = planner.tasks[task.deps[0]].spec['bank_dir']
    cfg = build_run_config(task.spec)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds = cfg[key]['dataset']
        windows = [t for t in ds['pipeline'] if t['type'] == 'LoadLFBWindow']
        assert [w['bank_dir'] for w in windows] == [bank]
        assert ds['ann_file'].startswith(tiny_data + '/annotations/')
        assert ds['data_prefix']['img'] == tiny_data + '/rawframes'
        assert (ds['timestamp_start'], ds['timestamp_end']) == (900, 910)


def test_schedule_is_stretched_to_max_epochs():
    import ava_plugins  # noqa: F401
    from ava_plugins.benchmarks.synthetic_runs import scale_schedule
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(SYNTHETIC, 'linear_slowfast_tiny.py'))
    scale_schedule(cfg, 4)
    warmup, cosine = cfg.param_scheduler
    assert (warmup.begin, warmup.end) == (0, 0.5)
    assert (cosine.begin, cosine.end, cosine.T_max) == (0.5, 4, 3.5)
    assert cfg.train_cfg.max_epochs == 4 and cfg.default_hooks.checkpoint.interval == 4
    cfg.param_scheduler = [dict(type='MultiStepLR', by_epoch=True, begin=0, end=4,
                                milestones=[2])]
    with pytest.raises(ValueError, match='cannot rescale scheduler MultiStepLR'):
        scale_schedule(cfg, 2)


# --------------------------------------------------------------------------- end to end (real)

def test_tiny_real_run_matches_the_evaluator_and_resumes(tool, tmp_path, tiny_data, monkeypatch):
    """linear tiny, 1 epoch, 1 seed: the JSON's numbers are the AVA evaluator's on the dumped
    detections; a second call finds the run finished and trains nothing."""
    from ava_plugins.datasets.synthetic import capability_groups, synthetic_ava_files
    from ava_plugins.evaluation import evaluate_ava, read_label_map
    work = tmp_path / 'bench'
    out = tool.run_capability_benchmark(
        SYNTHETIC, ['linear_slowfast_tiny.py'], [0], str(work), data_root=osp.dirname(tiny_data),
        max_epochs=1, num_workers=0, data_settings=TINY_DATA,
        cfg_options={'param_scheduler': [], 'train_dataloader.batch_size': 4},
        log=lambda *a: None)
    result_path = work / 'runs' / 'linear_slowfast_tiny' / 'seed0' / 'result.json'
    result = json.loads(result_path.read_text())
    files = synthetic_ava_files(tiny_data)
    ref = evaluate_ava(files['val_csv'], result['detections'], read_label_map(files['label_map']),
                       excluded=files['val_excluded'])
    assert result['mAP'] == pytest.approx(ref.mAP, abs=1e-12) and ref.mAP > 0
    for group, ids in capability_groups().items():
        aps = [ref.per_class[i] for i in ids if ref.per_class[i] is not None]
        assert result['capability_groups'][group] == pytest.approx(np.mean(aps))
    assert result['max_epochs'] == 1 and result['seed'] == 0 and result['device'] == 'cpu'
    assert osp.exists(result['checkpoint'])
    row = out['table']['linear_slowfast_tiny.py']
    assert row['mAP'][0] == pytest.approx(ref.mAP)
    assert '| linear_slowfast_tiny (baseline) | 1 | 0 |' in (work / 'capabilities.md').read_text()

    mtime = result_path.stat().st_mtime_ns
    logs = []
    status = tool.execute_tasks(
        [tool.Planner(str(work), {0: tiny_data}, TINY_DATA, 1,
                      {'param_scheduler': [], 'train_dataloader.batch_size': 4},
                      0).add_run(osp.join(SYNTHETIC, 'linear_slowfast_tiny.py'), 0)],
        log=logs.append)
    assert list(status.values()) == ['done'] and result_path.stat().st_mtime_ns == mtime
    assert logs == ['1 tasks, 1 finished before, 0 to do']
