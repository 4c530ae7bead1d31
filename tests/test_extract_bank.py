"""tools/extract_bank.py: a detector's pooled RoI features into the feature bank.

Values are checked against an independent computation (torchvision RoIAlign on the
temporally averaged SlowFast maps); a second run skips finished shards; two gloo processes
write the same bank as one.
"""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from torchvision.ops import roi_align

import ava_plugins  # noqa: F401
from ava_plugins.structures.feature_bank import FeatureBank
from test_tools import CONFIG, data_options


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory, repo_root):
    from mmdet.registry import MODELS
    init_default_scope('mmaction')
    cfg = Config.fromfile(os.path.join(repo_root, CONFIG))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    path = tmp_path_factory.mktemp('ckpt') / 'model.pth'
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


def extract(repo_root, args, nproc=1):
    if nproc == 1:
        cmd = [sys.executable, 'tools/extract_bank.py', *args]
    else:
        cmd = ['bash', 'tools/dist_extract_bank.sh', args[0], args[1], str(nproc), *args[2:]]
    env = dict(os.environ, PYTHON=sys.executable, PORT='29613')
    out = subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    return out.stdout


def load_tool(repo_root):
    """tools/extract_bank.py as a module, to run in this process."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'extract_bank_tool', os.path.join(repo_root, 'tools/extract_bank.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_bank_holds_pooled_roi_features(checkpoint, tiny_ava, repo_root, tmp_path):
    bank_dir = tmp_path / 'bank'
    opts = ['--cfg-options', *data_options(tiny_ava)]
    log = extract(repo_root, [CONFIG, str(checkpoint), '--out', str(bank_dir), '--max-per-second',
                              '2', *opts])
    assert 'computed 2 videos, skipped 0' in log

    bank = FeatureBank(str(bank_dir))
    assert bank.videos() == ['0f39OWEqJ24', '_-Z6wFjXtGQ']
    np.testing.assert_array_equal(bank.timestamps('0f39OWEqJ24'), [902, 903])  # 1 item each
    np.testing.assert_array_equal(bank.timestamps('_-Z6wFjXtGQ'), [902, 902])
    feats, boxes, scores = bank.read_items('_-Z6wFjXtGQ', 902)
    # 3 proposals, 2 above mmaction2's 0.9 score threshold, the best first.
    assert feats.shape == (2, 288)
    np.testing.assert_allclose(boxes, [[0.387, 0.263, 0.916, 0.984], [0.076, 0.051, 0.554, 0.975]],
                               rtol=1e-6)
    np.testing.assert_allclose(scores, [0.996238, 0.994488], rtol=1e-6)

    from mmaction.registry import DATASETS
    from mmdet.registry import MODELS
    from mmengine.runner import load_checkpoint
    cfg = Config.fromfile(os.path.join(repo_root, CONFIG))
    cfg.merge_from_dict(dict(o.split('=', 1) for o in data_options(tiny_ava)))
    model = MODELS.build(cfg.model).eval()
    load_checkpoint(model, str(checkpoint), map_location='cpu')
    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    idx = [i for i in range(len(dataset))
           if dataset.get_data_info(i)['img_key'] == '_-Z6wFjXtGQ,0902'][0]
    with torch.no_grad():
        data = model.data_preprocessor(pseudo_collate([dataset[idx]]), False)
        slow, fast = model.extract_feat(data['inputs'])
        context = torch.cat([slow.mean(2), fast.mean(2)], dim=1)
        boxes = data['data_samples'][0].proposals.bboxes
        rois = torch.cat([boxes.new_zeros(len(boxes), 1), boxes], dim=1)
        extractor = cfg.model.roi_head.bbox_roi_extractor
        ref = roi_align(context, rois, extractor.output_size, spatial_scale=1 / 16,
                        sampling_ratio=extractor.sampling_ratio,
                        aligned=extractor.aligned).amax(dim=(2, 3))
    order = [1, 0]  # the dataset keeps the pkl's order; the bank sorts by score
    np.testing.assert_allclose(feats.astype(np.float32), ref[order].numpy(), rtol=2e-3,
                               atol=2e-3)

    again = extract(repo_root, [CONFIG, str(checkpoint), '--out', str(bank_dir),
                                '--max-per-second', '2', *opts])
    assert 'computed 0 videos, skipped 2' in again


def test_rerun_with_other_settings_is_refused(checkpoint, tiny_ava, repo_root, tmp_path):
    """Before, a rerun into the same --out with another checkpoint (even at the same path) or
    other --boxes / --max-per-second silently kept the old shards."""
    bank_dir = str(tmp_path / 'bank')
    ckpt = tmp_path / 'model.pth'
    ckpt.write_bytes(checkpoint.read_bytes())
    opts = ['--cfg-options', *data_options(tiny_ava)]
    extract(repo_root, [CONFIG, str(ckpt), '--out', bank_dir, *opts])
    before = FeatureBank(bank_dir).read_items('_-Z6wFjXtGQ', 902)[0].copy()

    def refused(args, *names):
        out = subprocess.run([sys.executable, 'tools/extract_bank.py', *args], cwd=repo_root,
                             capture_output=True, text=True)
        assert out.returncode == 2, out.stderr[-3000:]
        line = out.stderr.strip().splitlines()[-1]
        assert line.startswith('error: ') and 'other settings' in line, line
        for name in names:
            assert name in line, line

    refused([CONFIG, str(ckpt), '--out', bank_dir, '--boxes', 'gt', *opts], 'boxes')
    state = torch.load(ckpt, weights_only=True)
    key = next(k for k, v in state['state_dict'].items() if v.is_floating_point())
    state['state_dict'][key] += 1.0  # other weights under the same file name
    torch.save(state, ckpt)
    refused([CONFIG, str(ckpt), '--out', bank_dir, *opts], 'checkpoint')
    log = extract(repo_root, [CONFIG, str(ckpt), '--out', bank_dir, '--overwrite', *opts])
    assert 'computed 2 videos, skipped 0' in log
    after = FeatureBank(bank_dir).read_items('_-Z6wFjXtGQ', 902)[0]
    assert before.shape == after.shape and not np.array_equal(before, after)


def test_two_processes_write_the_same_bank(checkpoint, tiny_ava, repo_root, tmp_path):
    opts = ['--cfg-options', *data_options(tiny_ava)]
    extract(repo_root, [CONFIG, str(checkpoint), '--out', str(tmp_path / 'one'), *opts])
    extract(repo_root, [CONFIG, str(checkpoint), '--out', str(tmp_path / 'two'), *opts], nproc=2)
    one, two = FeatureBank(str(tmp_path / 'one')), FeatureBank(str(tmp_path / 'two'))
    assert one.videos() == two.videos()
    for video in one.videos():
        for t in np.unique(one.timestamps(video)):
            for a, b in zip(one.read_items(video, t), two.read_items(video, t)):
                np.testing.assert_array_equal(a, b)


ACAR_TINY = 'configs/synthetic/acar_slowfast_tiny.py'


def acar_options(d) -> list:
    """The synthetic tiny ACAR config on tiny_ava: its 32 px frames resized to 80 px (5x5
    context cells), AVA's label ids, no excluded timestamps."""
    opts = []
    for split in ('train', 'val', 'test'):
        ds = f'{split}_dataloader.dataset'
        opts += [f'{ds}.ann_file={d["ann_file"]}', f'{ds}.label_file={d["label_file"]}',
                 f'{ds}.proposal_file={d["proposal_file"]}', f'{ds}.exclude_file=None',
                 f'{ds}.data_prefix.img={d["frames"]}', f'{ds}.num_classes=81']
    return opts


def test_acar_bank_holds_the_first_order_maps(tiny_ava, repo_root, tmp_path):
    """``--feature acar`` through the tool: one unpooled 64 x 3 x 3 map per kept proposal,
    equal to BANK_FEATURES['acar'] (tested against ACARHead's own maps in test_acfb.py) on
    the same clip; a larger canvas pads the maps with zeros."""
    from mmaction.registry import DATASETS
    from mmdet.registry import MODELS
    from mmengine.runner import load_checkpoint

    from ava_plugins.engine.bank_features import BANK_FEATURES
    init_default_scope('mmaction')
    cfg = Config.fromfile(os.path.join(repo_root, ACAR_TINY))
    opts = acar_options(tiny_ava) + ['model.roi_head.shared_head.downsample=none']
    cfg.merge_from_dict({k: DictAction._parse_iterable(v)
                         for k, v in (o.split('=', 1) for o in opts)})
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    ckpt = tmp_path / 'acar.pth'
    torch.save(dict(state_dict=model.state_dict()), ckpt)

    log = extract(repo_root, [ACAR_TINY, str(ckpt), '--out', str(tmp_path / 'bank'), '--feature',
                              'acar', '--max-per-second', '2', '--cfg-options', *opts])
    assert 'computed 2 videos, skipped 0' in log
    bank = FeatureBank(str(tmp_path / 'bank'))
    assert bank.item_shape == (64, 3, 3) and bank.dtype == np.float16
    feats, boxes, scores = bank.read_items('_-Z6wFjXtGQ', 902)
    assert feats.shape == (2, 64, 3, 3)
    np.testing.assert_allclose(scores, [0.996238, 0.994488], rtol=1e-6)

    load_checkpoint(model, str(ckpt), map_location='cpu')
    model.eval()
    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    idx = [i for i in range(len(dataset))
           if dataset.get_data_info(i)['img_key'] == '_-Z6wFjXtGQ,0902'][0]
    with torch.no_grad():
        data = model.data_preprocessor(pseudo_collate([dataset[idx]]), False)
        ref = BANK_FEATURES['acar'](model, data)
    assert ref.abs().sum() > 0
    np.testing.assert_allclose(feats.astype(np.float32), ref[[1, 0]].numpy(), rtol=2e-3,
                               atol=2e-3)

    wide = BANK_FEATURES['acar'](model, data, canvas=(4, 5))  # what --canvas 4 5 stores
    assert wide.shape == (2, 64, 4, 5)
    torch.testing.assert_close(wide[:, :, :3, :3], ref, rtol=0, atol=0)
    assert (wide[:, :, 3:] == 0).all() and (wide[:, :, :, 3:] == 0).all()


def test_gt_boxes_bank_holds_the_annotated_persons(checkpoint, tiny_ava, repo_root, tmp_path):
    """``--boxes gt`` (ACAR-Net's training banks): one item per annotated person of each
    keyframe, at its GT box with score 1, equal to the pooled features at that box."""
    import csv

    from mmaction.registry import DATASETS
    from mmdet.registry import MODELS
    from mmengine.runner import load_checkpoint
    bank_dir = tmp_path / 'gt_bank'
    load_tool(repo_root).main([os.path.join(repo_root, CONFIG), str(checkpoint), '--out',
                               str(bank_dir), '--boxes', 'gt', '--max-per-second', '10',
                               '--cfg-options', *data_options(tiny_ava)])

    persons = {}  # (video, t) -> {person id: box}, from the annotation CSV itself
    with open(tiny_ava['ann_file']) as f:
        for row in csv.reader(f):
            persons.setdefault((row[0], int(row[1])), {})[row[7]] = [float(v) for v in row[2:6]]
    bank = FeatureBank(str(bank_dir))
    cfg = Config.fromfile(os.path.join(repo_root, CONFIG))
    cfg.merge_from_dict(dict(o.split('=', 1) for o in data_options(tiny_ava)))
    model = MODELS.build(cfg.model).eval()
    load_checkpoint(model, str(checkpoint), map_location='cpu')
    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    assert sorted((v, t) for v in bank.videos() for t in np.unique(bank.timestamps(v))) == \
        sorted(persons)
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        feats, boxes, scores = bank.read_items(info['video_id'], info['timestamp'])
        expected = sorted(persons[(info['video_id'], info['timestamp'])].values())
        np.testing.assert_allclose(sorted(boxes.tolist()), expected, atol=1e-6)
        np.testing.assert_array_equal(scores, 1)
        sample = dataset[idx]
        gt = sample['data_samples'].gt_instances.bboxes
        with torch.no_grad():
            data = model.data_preprocessor(pseudo_collate([sample]), False)
            slow, fast = model.extract_feat(data['inputs'])
            context = torch.cat([slow.mean(2), fast.mean(2)], dim=1)
            extractor = cfg.model.roi_head.bbox_roi_extractor
            ref = roi_align(context, torch.cat([gt.new_zeros(len(gt), 1), gt], dim=1),
                            extractor.output_size, spatial_scale=1 / 16,
                            sampling_ratio=extractor.sampling_ratio,
                            aligned=extractor.aligned).amax(dim=(2, 3))
        np.testing.assert_allclose(feats.astype(np.float32), ref.numpy(), rtol=2e-3, atol=2e-3)


def many_videos(tiny_ava, root, n):
    """tiny_ava's annotations and proposals repeated for ``n`` videos ``v00``, ``v01``, ... (one
    or two keyframes each), each with its own random frames."""
    import csv
    import pickle

    from conftest import write_random_frames
    with open(tiny_ava['ann_file']) as f:
        rows = list(csv.reader(f))
    with open(tiny_ava['proposal_file'], 'rb') as f:
        proposals = pickle.load(f)
    sources = sorted({r[0] for r in rows})
    new_rows, new_props = [], {}
    for k in range(n):
        video, src = f'v{k:02d}', sources[k % len(sources)]
        new_rows += [[video] + r[1:] for r in rows if r[0] == src]
        new_props.update({f'{video},{key.split(",")[1]}': v for key, v in proposals.items()
                          if key.startswith(src + ',')})
        write_random_frames(root / 'rawframes' / video, num_frames=110, size=32, seed=100 + k)
    with open(root / 'ann.csv', 'w', newline='') as f:
        csv.writer(f).writerows(new_rows)
    with open(root / 'proposals.pkl', 'wb') as f:
        pickle.dump(new_props, f)
    return dict(ann_file=root / 'ann.csv', label_file=tiny_ava['label_file'],
                proposal_file=root / 'proposals.pkl', frames=root / 'rawframes')


def bank_files(bank_dir) -> dict:
    """``{relative path: bytes}`` of every file of a bank."""
    return {str(p.relative_to(bank_dir)): p.read_bytes()
            for p in sorted(bank_dir.rglob('*')) if p.is_file()}


@pytest.mark.timeout(600)
def test_kill_9_at_several_points_then_resume_is_bit_identical(checkpoint, tiny_ava, repo_root,
                                                               tmp_path):
    """SIGKILL of the tool as it renames a video's index into place (its features written),
    then at about 20, 50 and 80% of 12 videos, each time rerun: the finished shards are kept
    (the last run computes only the rest), the bank equals an uninterrupted run's file for
    file, byte for byte, and no temporary is left."""
    from kill_helpers import kill_at, killed_at_write, temporaries
    num = 12
    data = many_videos(tiny_ava, tmp_path / 'data', num)
    opts = ['--cfg-options', *data_options(data)]
    ref, bank = tmp_path / 'ref', tmp_path / 'bank'
    config = os.path.join(repo_root, CONFIG)
    load_tool(repo_root).main([config, str(checkpoint), '--out', str(ref), *opts])
    args = [config, str(checkpoint), '--out', str(bank), *opts]

    def progress():
        shards = bank / 'shards'
        names = os.listdir(shards) if shards.is_dir() else []
        return sum(n.endswith('.index.npz') and not n.startswith('.') for n in names) / num

    cmd = [sys.executable, 'tools/extract_bank.py', *args]
    killed_at_write('v02.index.npz', cmd, cwd=repo_root)  # v02's features written, index not
    assert (bank / 'shards' / 'v02.npy').is_file() and temporaries(bank)
    for fraction in (0.2, 0.5, 0.8):
        kill_at(cmd, progress, fraction, cwd=repo_root)
    kept = round(progress() * num)
    log = extract(repo_root, args)
    assert kept >= 0.8 * num and f'computed {num - kept} videos, skipped {kept}' in log
    expected, resumed = bank_files(ref), bank_files(bank)
    assert sorted(resumed) == sorted(expected)
    assert len([n for n in expected if n.endswith('.index.npz')]) == num
    for name in expected:
        assert resumed[name] == expected[name], name
    assert not temporaries(bank)
