"""tools/train.py, tools/test.py, --resume and tools/dist_train.sh on CPU, end to end.

A tiny SlowFast linear-baseline detector (tests/data/tiny_linear_slowfast.py) is trained with
mmengine's Runner on mmaction2's AVA fixture annotations with random frames.
"""
import os
import pickle
import subprocess
import sys

import pytest
import torch

import ava_plugins  # noqa: F401  (torch.load of mmengine checkpoints needs its compat fixes)

CONFIG = 'tests/data/tiny_linear_slowfast.py'


def data_options(d) -> list:
    opts = []
    for split in ('train', 'val', 'test'):
        ds = f'{split}_dataloader.dataset'
        opts += [f'{ds}.ann_file={d["ann_file"]}', f'{ds}.label_file={d["label_file"]}',
                 f'{ds}.proposal_file={d["proposal_file"]}',
                 f'{ds}.data_prefix.img={d["frames"]}']
    for split in ('val', 'test'):
        opts += [f'{split}_evaluator.ann_file={d["ann_file"]}',
                 f'{split}_evaluator.label_file={d["label_file"]}']
    return opts


def run(cmd, repo_root, timeout=600):
    env = dict(os.environ, PYTHONUNBUFFERED='1', PYTHON=sys.executable)
    out = subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True, env=env,
                         timeout=timeout)
    assert out.returncode == 0, f'{cmd} failed:\n{out.stdout[-3000:]}\n{out.stderr[-5000:]}'
    return out.stdout + out.stderr


def logged_maps(log) -> list:
    """The ``mAP/overall`` values a tool's log reports, in order (as printed)."""
    return [line.split('mAP/overall: ')[1].split()[0] for line in log.splitlines()
            if 'mAP/overall: ' in line]


def state_dict(path):
    return torch.load(path, map_location='cpu')['state_dict']


@pytest.fixture(scope='module')
def trained(tiny_ava, repo_root, tmp_path_factory):
    """Train 4 iterations (checkpoints at 2 and 4) with a fixed seed."""
    work = tmp_path_factory.mktemp('train')
    log = run([sys.executable, 'tools/train.py', CONFIG, '--work-dir', str(work), '--seed', '0',
               '--deterministic', '--cfg-options', *data_options(tiny_ava)], repo_root)
    return work, log


def test_train_writes_checkpoints_with_mmengine_meta(trained):
    work, log = trained
    assert (work / 'iter_2.pth').is_file() and (work / 'iter_4.pth').is_file()
    ckpt = torch.load(work / 'iter_4.pth', map_location='cpu')  # weights_only, numpy allowed
    assert ckpt['meta']['iter'] == 4
    assert 'optimizer' in ckpt and ckpt['state_dict']
    assert 'Iter(train) [4/4]' in log


def test_resume_continues_to_identical_weights(trained, tiny_ava, repo_root, tmp_path):
    """Resuming from iteration 2 restores weights, optimizer state and the iteration count."""
    work, _ = trained
    log = run([sys.executable, 'tools/train.py', CONFIG, '--work-dir', str(tmp_path), '--seed',
               '0', '--deterministic', '--resume', str(work / 'iter_2.pth'), '--cfg-options',
               *data_options(tiny_ava)], repo_root)
    assert 'resumed epoch: 0, iter: 2' in log
    assert not (tmp_path / 'iter_2.pth').exists() and (tmp_path / 'iter_4.pth').exists()
    resumed, original = state_dict(tmp_path / 'iter_4.pth'), state_dict(work / 'iter_4.pth')
    start = state_dict(work / 'iter_2.pth')
    assert resumed.keys() == original.keys()
    moved = [k for k in original if not torch.equal(original[k], start[k])]
    assert moved, 'iterations 3-4 changed no weight'
    for k in original:
        torch.testing.assert_close(resumed[k], original[k], rtol=1e-5, atol=1e-6)


EPOCH_CONFIG = 'tests/data/tiny_linear_slowfast_epochs.py'


def epoch_args(tiny_ava) -> list:
    return ['--seed', '0', '--deterministic', '--cfg-options', *data_options(tiny_ava)]


@pytest.fixture(scope='module')
def epoch_run(tiny_ava, repo_root, tmp_path_factory):
    """An uninterrupted run of EPOCH_CONFIG (3 epochs, checkpoints and validation after each)."""
    full = tmp_path_factory.mktemp('full')
    log = run([sys.executable, 'tools/train.py', EPOCH_CONFIG, '--work-dir', str(full),
               *epoch_args(tiny_ava)], repo_root)
    return full, log


def test_resumed_run_equals_the_uninterrupted_run(epoch_run, tiny_ava, repo_root, tmp_path):
    """With flips, dropout and validation between epochs, a run resumed from ``epoch_1.pth``
    gives the uninterrupted run's weights and validation mAP bit for bit. Before, checkpoints
    held no random state: the first iteration after resuming already drew other flips."""
    full, log_full = epoch_run
    part = tmp_path / 'part'
    log_part = run([sys.executable, 'tools/train.py', EPOCH_CONFIG, '--work-dir', str(part),
                    '--resume', str(full / 'epoch_1.pth'), *epoch_args(tiny_ava)], repo_root)
    assert 'resumed epoch: 1' in log_part
    resumed, original = state_dict(part / 'epoch_3.pth'), state_dict(full / 'epoch_3.pth')
    start = state_dict(full / 'epoch_1.pth')
    assert any(not torch.equal(original[k], start[k]) for k in original)
    for k in original:
        assert torch.equal(resumed[k], original[k]), k
    assert logged_maps(log_part) == logged_maps(log_full)[1:]
    ckpt = torch.load(full / 'epoch_1.pth', map_location='cpu', weights_only=True)
    assert set(ckpt['random_state']) >= {'python', 'numpy', 'torch'}


ITER_CONFIG = 'tests/data/tiny_linear_slowfast_iters.py'


def test_resumed_iteration_based_run_equals_the_uninterrupted_run(tiny_ava, repo_root,
                                                                  tmp_path):
    """IterBasedTrainLoop (the three-branch recipe's): resumed from ``iter_3.pth`` of 6, with
    flips, dropout and a validation at 3, the run ends with the uninterrupted run's weights
    and validation mAP bit for bit. mmengine replays the 3 skipped batches from the fresh seed;
    without restoring the saved states (as before, for iteration-based loops) the weights
    differ."""
    full, part = tmp_path / 'full', tmp_path / 'part'
    log_full = run([sys.executable, 'tools/train.py', ITER_CONFIG, '--work-dir', str(full),
                    *epoch_args(tiny_ava)], repo_root)
    log_part = run([sys.executable, 'tools/train.py', ITER_CONFIG, '--work-dir', str(part),
                    '--resume', str(full / 'iter_3.pth'), *epoch_args(tiny_ava)], repo_root)
    assert 'resumed epoch: 0, iter: 3' in log_part
    resumed, original = state_dict(part / 'iter_6.pth'), state_dict(full / 'iter_6.pth')
    start = state_dict(full / 'iter_3.pth')
    assert any(not torch.equal(original[k], start[k]) for k in original)
    for k in original:
        assert torch.equal(resumed[k], original[k]), k
    assert logged_maps(log_part) == logged_maps(log_full)[1:]


def train_progress(work, before):
    """Fraction of its iterations the run logging to a new file under ``work`` (none of the
    logs in ``before``) has logged."""
    import glob
    import re
    done = 0.0
    for log in set(glob.glob(str(work / '*' / '*.log'))) - before:
        with open(log) as f:
            for m in re.finditer(r'Epoch\(train\) *\[(\d+)\]\[ *(\d+)/(\d+)\]', f.read()):
                epoch, it, n = map(int, m.groups())
                done = max(done, ((epoch - 1) * n + it) / (3 * n))  # max_epochs=3
    return done


@pytest.mark.timeout(600)
def test_kill_9_during_training_then_resume_equals_the_uninterrupted_run(
        epoch_run, tiny_ava, repo_root, tmp_path):
    """tools/train.py SIGKILLed while it renames epoch_2.pth into place, while it writes
    last_checkpoint after it, and from outside during epoch 2, each time followed by
    ``--resume``: the checkpoints and the validation mAP equal the uninterrupted run's bit for
    bit and no temporary is left. Before, a kill while mmengine wrote last_checkpoint (in
    place) left it empty, so that --resume failed, and the temporary of a checkpoint killed
    before its rename stayed in the work directory for good."""
    import glob

    from kill_helpers import kill_at, killed_at_write, temporaries
    full, log_full = epoch_run
    work = tmp_path / 'work'
    args = epoch_args(tiny_ava)
    train = [sys.executable, 'tools/train.py', EPOCH_CONFIG, '--work-dir', str(work)]
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    killed_at_write('epoch_2.pth', train + args, cwd=repo_root, env=env)
    assert (work / 'epoch_1.pth').is_file() and not (work / 'epoch_2.pth').exists()
    assert temporaries(work)
    killed_at_write('last_checkpoint', train + ['--resume'] + args, cwd=repo_root, env=env)
    assert (work / 'epoch_2.pth').is_file()
    assert (work / 'last_checkpoint').read_text().strip() == str(work / 'epoch_1.pth')
    before = set(glob.glob(str(work / '*' / '*.log')))
    kill_at(train + ['--resume'] + args, lambda: train_progress(work, before), 4 / 9,
            cwd=repo_root, env=env)  # from its first iteration of epoch 2 on
    log = run(train + ['--resume'] + args, repo_root)
    assert 'resumed epoch: ' in log
    for name in ('epoch_1.pth', 'epoch_2.pth', 'epoch_3.pth'):
        resumed, original = state_dict(work / name), state_dict(full / name)
        assert resumed.keys() == original.keys()
        for k in original:
            assert torch.equal(resumed[k], original[k]), (name, k)
    maps = logged_maps(log)
    assert maps and maps == logged_maps(log_full)[-len(maps):]
    assert (work / 'last_checkpoint').read_text().strip() == str(work / 'epoch_3.pth')
    assert not temporaries(work)


def test_checkpoints_are_written_atomically(tmp_path, monkeypatch):
    """mmengine wrote checkpoints in place: a kill mid-write left a truncated file under the
    final name. Through mmengine's own save function, a write that dies before it completes
    (here: at the rename) leaves the previous file and no temporary."""
    import os as os_module

    from mmengine.runner.checkpoint import save_checkpoint

    path = tmp_path / 'epoch_1.pth'
    save_checkpoint({'state_dict': {'w': torch.ones(2)}}, str(path))
    good = path.read_bytes()

    def killed(*args, **kwargs):
        raise KeyboardInterrupt('killed before the write completed')

    monkeypatch.setattr(os_module, 'replace', killed)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint({'state_dict': {'w': torch.zeros(1000)}}, str(path))
    monkeypatch.undo()
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ['epoch_1.pth']


def test_test_tool_loads_the_checkpoint(trained, tiny_ava, repo_root, tmp_path):
    """tools/test.py --dump on iter_4 equals the model rebuilt here from the same checkpoint."""
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate
    from mmengine.runner import load_checkpoint
    from mmaction.registry import DATASETS
    from mmdet.registry import MODELS

    work, _ = trained
    dump = tmp_path / 'preds.pkl'
    run([sys.executable, 'tools/test.py', CONFIG, str(work / 'iter_4.pth'), '--work-dir',
         str(tmp_path), '--dump', str(dump), '--cfg-options', *data_options(tiny_ava)],
        repo_root)
    with open(dump, 'rb') as f:
        preds = pickle.load(f)

    cfg = Config.fromfile(os.path.join(repo_root, CONFIG))
    cfg.merge_from_dict(dict(o.split('=', 1) for o in data_options(tiny_ava)))
    model = MODELS.build(cfg.model)
    load_checkpoint(model, str(work / 'iter_4.pth'), map_location='cpu')
    model.eval()
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    assert len(preds) == len(dataset) == 3
    for i in range(len(dataset)):
        with torch.no_grad():
            ours = model.test_step(pseudo_collate([dataset[i]]))[0].pred_instances
        torch.testing.assert_close(torch.as_tensor(preds[i]['pred_instances']['scores']),
                                   ours.scores, rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(torch.as_tensor(preds[i]['pred_instances']['bboxes']),
                                   ours.bboxes)


def test_dist_train_two_cpu_processes(tiny_ava, repo_root, tmp_path):
    """tools/dist_train.sh with 2 gloo processes trains and saves one checkpoint set."""
    log = run(['bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir', str(tmp_path), '--seed',
               '0', '--cfg-options', *data_options(tiny_ava)], repo_root)
    assert 'Distributed training: True' in log
    assert "'backend': 'gloo'" in log
    ckpt = torch.load(tmp_path / 'iter_4.pth', map_location='cpu')
    assert ckpt['meta']['iter'] == 4


def test_dist_test_two_processes_equals_one(trained, tiny_ava, repo_root, tmp_path):
    """tools/dist_test.sh with 2 gloo processes gathers each keyframe once (3 keyframes: the
    sampler pads rank 1) and gives the single-process predictions and mAP."""
    work, _ = trained
    ckpt = str(work / 'iter_4.pth')
    one, two = tmp_path / 'one.pkl', tmp_path / 'two.pkl'
    log1 = run([sys.executable, 'tools/test.py', CONFIG, ckpt, '--work-dir', str(tmp_path / 'a'),
                '--dump', str(one), '--cfg-options', *data_options(tiny_ava)], repo_root)
    log2 = run(['bash', 'tools/dist_test.sh', CONFIG, ckpt, '2', '--work-dir',
                str(tmp_path / 'b'), '--dump', str(two), '--cfg-options',
                *data_options(tiny_ava)], repo_root)
    with open(one, 'rb') as f:
        preds1 = pickle.load(f)
    with open(two, 'rb') as f:
        preds2 = pickle.load(f)
    assert len(preds1) == len(preds2) == 3
    key = lambda p: (p['video_id'], int(p['timestamp']))  # noqa: E731
    assert sorted(map(key, preds1)) == sorted(map(key, preds2))
    for a, b in zip(sorted(preds1, key=key), sorted(preds2, key=key)):
        torch.testing.assert_close(torch.as_tensor(a['pred_instances']['scores']),
                                   torch.as_tensor(b['pred_instances']['scores']))
    assert logged_maps(log1) and logged_maps(log1)[-1] == logged_maps(log2)[-1]


def test_fixed_seed_training_is_deterministic(trained, tiny_ava, repo_root, tmp_path):
    """Training and evaluating twice with the same seed on CPU: same weights, same mAP."""
    work, log = trained
    again = run([sys.executable, 'tools/train.py', CONFIG, '--work-dir', str(tmp_path), '--seed',
                 '0', '--deterministic', '--cfg-options', *data_options(tiny_ava)], repo_root)
    first, second = state_dict(work / 'iter_4.pth'), state_dict(tmp_path / 'iter_4.pth')
    for k in first:
        assert torch.equal(first[k], second[k]), k
    assert logged_maps(log) and logged_maps(log) == logged_maps(again)
