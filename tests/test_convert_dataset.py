"""``tools/convert_dataset.py`` and ``configs/custom/acar_slowfast_r50_custom.py``: a hand-written
CSV and a hand-written CVAT for video 1.1 XML over generated mp4s become the AVA layout, which
mmaction2's dataset loads with the annotated boxes and labels, and on which a tiny ACAR config
trains and evaluates."""
import json
import os
import os.path as osp
import pickle
import subprocess
import sys

import numpy as np
import pytest

import ava_plugins  # noqa: F401
from tiny_detector import save_random_detector

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TEMPLATE = osp.join(REPO, 'configs', 'custom', 'acar_slowfast_r50_custom.py')
W, H, FPS = 96, 64, 10
CLASSES = ['stand', 'walk', 'wave']
CSV = """video,second,x1,y1,x2,y2,action,person_id
clipA.mp4,1,10,8,40,60,stand,1
clipA.mp4,1,10,8,40,60,wave,1
clipA.mp4,1,50,4,90,62,2,7
clipA.mp4,3,12,8,42,60,walk,1
"""
CVAT = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta><task><size>30</size><original_size><width>96</width><height>64</height></original_size>
  <source>clipB.mp4</source></task></meta>
  <track id="3" label="person" source="manual">
    <box frame="10" outside="0" occluded="0" keyframe="1" xtl="20" ytl="10" xbr="60" ybr="50">
      <attribute name="action">walk,wave</attribute>
    </box>
    <box frame="15" outside="0" occluded="0" keyframe="0" xtl="22" ytl="10" xbr="62" ybr="50">
      <attribute name="action">walk</attribute>
    </box>
    <box frame="20" outside="1" occluded="0" keyframe="1" xtl="24" ytl="10" xbr="64" ybr="50">
      <attribute name="action">walk</attribute>
    </box>
  </track>
  <track id="4" label="stand" source="manual">
    <box frame="20" outside="0" occluded="0" keyframe="1" xtl="0" ytl="0" xbr="96" ybr="64">
    </box>
  </track>
</annotations>
"""
# (video, timestamp, normalised box, action id, person id), by hand from the two files above
EXPECTED = [
    ('clipA', 1, (10 / W, 8 / H, 40 / W, 60 / H), 1, 1),
    ('clipA', 1, (10 / W, 8 / H, 40 / W, 60 / H), 3, 1),
    ('clipA', 1, (50 / W, 4 / H, 90 / W, 62 / H), 2, 7),
    ('clipA', 3, (12 / W, 8 / H, 42 / W, 60 / H), 2, 1),
    ('clipB', 1, (20 / W, 10 / H, 60 / W, 50 / H), 2, 3),
    ('clipB', 1, (20 / W, 10 / H, 60 / W, 50 / H), 3, 3),
    ('clipB', 2, (0, 0, 1, 1), 1, 4),
]


def write_video(path, seconds):
    """Frames of brightness 4 * frame index (so a frame's source can be read back)."""
    import cv2
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), FPS, (W, H))
    for i in range(seconds * FPS):
        writer.write(np.full((H, W, 3), 4 * i, np.uint8))
    writer.release()


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
    root = tmp_path_factory.mktemp('convert')
    videos = root / 'videos'
    videos.mkdir()
    write_video(videos / 'clipA.mp4', 5)
    write_video(videos / 'clipB.mp4', 3)
    (root / 'classes.txt').write_text('\n'.join(CLASSES) + '\n')
    (root / 'ann.csv').write_text(CSV)
    (root / 'ann.xml').write_text(CVAT)
    out = root / 'data'
    common = ['--videos', str(videos), '--classes', str(root / 'classes.txt'), '--out', str(out),
              '--fps', '5']
    from ava_plugins.conversion import command as tool
    tool.main([str(root / 'ann.csv'), str(root / 'ann.xml'), '--split', 'train', *common])
    tool.main([str(root / 'ann.csv'), '--split', 'val', *common])
    return dict(root=root, out=out, common=common, tool=tool)


def test_layout_files_equal_the_annotations(converted):
    from ava_plugins.evaluation import read_ava_csv, read_label_map
    out = converted['out']
    ann = out / 'annotations'
    gt = read_ava_csv(str(ann / 'train.csv'), is_gt=True)
    got = sorted(zip(gt.video_names[gt.video_codes].tolist(), gt.timestamps.tolist(),
                     map(tuple, gt.boxes.round(3).tolist()), gt.labels.tolist(),
                     gt.scores.astype(int).tolist()))
    want = sorted((v, t, tuple(np.round(b, 3).tolist()), a, p) for v, t, b, a, p in EXPECTED)
    assert got == want
    assert read_label_map(str(ann / 'action_list.pbtxt')) == dict(enumerate(CLASSES, 1))
    assert read_label_map(str(ann / 'label_map.txt')) == dict(enumerate(CLASSES, 1))
    assert (ann / 'train_excluded_timestamps.csv').read_text() == ''
    with open(ann / 'train_proposals.pkl', 'rb') as f:
        props = pickle.load(f)
    assert sorted(props) == ['clipA,0001', 'clipA,0003', 'clipB,0001', 'clipB,0002']
    assert np.allclose(props['clipA,0001'], [[10 / W, 8 / H, 40 / W, 60 / H, 1],
                                             [50 / W, 4 / H, 90 / W, 62 / H, 1]], atol=1e-6)
    # rawframes at 5 fps: frame j is source frame 2j (brightness 8j); clipB (3 s) is padded to
    # clipA's 25 frames with its last frame
    import cv2
    frames_a = sorted(os.listdir(out / 'rawframes' / 'clipA'))
    frames_b = sorted(os.listdir(out / 'rawframes' / 'clipB'))
    assert [f for f in frames_a if f.endswith('.jpg')] == [f'img_{k:05d}.jpg'
                                                          for k in range(1, 26)]
    assert len([f for f in frames_b if f.endswith('.jpg')]) == 25
    for j in (0, 7, 14):
        img = cv2.imread(str(out / 'rawframes' / 'clipA' / f'img_{j + 1:05d}.jpg'))
        assert abs(img.mean() - 8 * j) < 3
    last = cv2.imread(str(out / 'rawframes' / 'clipB' / 'img_00015.jpg'))
    pad = cv2.imread(str(out / 'rawframes' / 'clipB' / 'img_00025.jpg'))
    assert abs(last.mean() - 8 * 14) < 3 and (pad == last).all()
    meta = json.loads((ann / 'train_meta.json').read_text())
    assert (meta['fps'], meta['timestamp_end'], meta['frames']) == (5, 5, 25)


def test_mmaction_dataset_loads_the_boxes_and_labels(converted, monkeypatch):
    from mmaction.datasets import AVADataset
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    monkeypatch.setenv('AVA_CUSTOM_DATA', str(converted['out']))
    cfg = Config.fromfile(TEMPLATE)
    ds_cfg = cfg.train_dataloader.dataset
    assert cfg.model.roi_head.bbox_head.num_classes == 4
    init_default_scope('mmaction')
    ds = AVADataset(ann_file=ds_cfg.ann_file, exclude_file=ds_cfg.exclude_file,
                    label_file=ds_cfg.label_file, proposal_file=ds_cfg.proposal_file,
                    data_prefix=ds_cfg.data_prefix, pipeline=[], num_classes=4, fps=ds_cfg.fps,
                    timestamp_start=ds_cfg.timestamp_start, timestamp_end=ds_cfg.timestamp_end,
                    test_mode=True)
    got = {}
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        for box, labels, ent in zip(info['gt_bboxes'], info['gt_labels'], info['entity_ids']):
            got[(info['video_id'], info['timestamp'], int(ent))] = (
                tuple(np.round(box, 3)), set(np.nonzero(labels)[0].tolist()))
    want = {}
    for v, t, b, a, p in EXPECTED:
        want.setdefault((v, t, p), (tuple(np.round(b, 3)), set()))[1].add(a)
    assert got == want
    # the project's validated dataset reads the frames of every clip the recipe samples
    from mmaction.registry import DATASETS
    ds_cfg.pipeline = [s for s in ds_cfg.pipeline if s['type'] not in ('Flip', 'PadToSquare')]
    dataset = DATASETS.build(ds_cfg)
    sample = dataset[len(dataset) - 1]
    assert tuple(sample['inputs'].shape[:2]) == (3, 32)


def test_tiny_acar_trains_and_evaluates_on_the_converted_data(converted, monkeypatch, tmp_path):
    from mmengine.config import Config

    from ava_plugins.engine import build_runner
    monkeypatch.setenv('AVA_CUSTOM_DATA', str(converted['out']))
    custom = Config.fromfile(TEMPLATE)
    cfg = Config.fromfile(osp.join(REPO, 'configs/synthetic/acar_slowfast_tiny.py'))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        data = {k: custom[key].dataset[k] for k in (
            'ann_file', 'exclude_file', 'proposal_file', 'label_file', 'data_prefix',
            'custom_classes', 'num_classes', 'fps', 'timestamp_start', 'timestamp_end')}
        cfg[key].dataset.update(data)
        cfg[key].update(num_workers=0, persistent_workers=False,
                        batch_size=2 if key == 'train_dataloader' else 1)
    for key in ('val_evaluator', 'test_evaluator'):
        cfg[key].update(custom[key])
    head = custom.model.roi_head.bbox_head
    cfg.model.roi_head.bbox_head.update({k: head[k] for k in (
        'num_classes', 'class_ids', 'pose_id_range', 'topk')})
    cfg.train_cfg.update(max_epochs=1, val_begin=1, val_interval=1)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.val_evaluator['out_dir'] = cfg.test_evaluator['out_dir'] = str(tmp_path / 'eval')
    runner = build_runner(cfg)
    runner.train()
    assert runner.iter >= 2  # 4 training keyframes, batches of 2
    metrics = runner.test()
    overall = [v for k, v in metrics.items() if k.endswith('overall')]
    assert len(overall) == 1 and 0 <= overall[0] <= 1
    assert any(f.endswith('.csv') for f in os.listdir(tmp_path / 'eval'))


def test_rerun_keeps_the_extracted_frames(converted):
    frame = converted['out'] / 'rawframes' / 'clipA' / 'img_00003.jpg'
    before = frame.stat().st_mtime_ns
    converted['tool'].main([str(converted['root'] / 'ann.csv'), '--split', 'val',
                            *converted['common']])
    assert frame.stat().st_mtime_ns == before


@pytest.mark.parametrize('row, message', [
    ('clipA.mp4,2,10,8,40,60,dance,1', 'line 2: unknown action \'dance\''),
    ('clipA.mp4,2,10,8,140,60,walk,1', 'line 2: box [10.0, 8.0, 140.0, 60.0] lies outside'),
    ('clipA.mp4,5,10,8,40,60,walk,1', 'line 2: second 5 lies beyond the end'),
    ('clipC.mp4,1,10,8,40,60,walk,1', "line 2: video 'clipC.mp4' not found"),
    ('clipA.mp4,1,10,8,40,walk,1', 'line 2: expected 8 columns'),
])
def test_bad_annotations_are_one_line_errors(converted, tmp_path, row, message):
    bad = tmp_path / 'bad.csv'
    bad.write_text('video,second,x1,y1,x2,y2,action,person_id\n' + row + '\n')
    common = [*converted['common'][:4], '--out', str(tmp_path / 'out'), '--fps', '5']
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'convert_dataset.py'),
                           str(bad), '--split', 'train', *common], capture_output=True,
                          text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
    assert len(lines) == 1 and f'{bad}, {message}' in lines[0], proc.stderr[-2000:]
    assert not (tmp_path / 'out' / 'annotations').exists()


def test_bad_cvat_is_a_one_line_error(converted, tmp_path):
    bad = tmp_path / 'bad.xml'
    bad.write_text(CVAT.replace('<track id="4" label="stand"', '<track id="4" label="person"'))
    with pytest.raises(ValueError, match=r'bad\.xml, line 18: no <attribute name="action">'):
        converted['tool'].main([str(bad), '--split', 'train', *converted['common'][:4],
                                '--out', str(tmp_path / 'o')])


def test_missing_video_folder_is_a_one_line_error(converted, tmp_path):
    """CVAT and VIA inputs look their videos up in ``--videos``: a missing folder is named (it
    was a FileNotFoundError from ``os.listdir``)."""
    from tool_runs import assert_one_error_line, run_tool
    out = run_tool(['tools/convert_dataset.py', converted['root'] / 'ann.xml', '--split', 'train',
                    '--videos', tmp_path / 'missing', '--classes',
                    converted['root'] / 'classes.txt', '--out', tmp_path / 'o', '--fps', '5'])
    assert_one_error_line(out, 'missing: not a directory')


def test_detector_proposals_are_mmdets_persons_on_the_keyframes(converted, tmp_path):
    """With a detector the proposals are mmdet's ``inference_detector`` persons (>= the
    threshold) on each annotated keyframe's frame, normalised."""
    import mmcv
    from mmdet.apis import inference_detector, init_detector
    det_cfg, det_ckpt = save_random_detector(tmp_path)
    out = tmp_path / 'out'
    converted['tool'].main([str(converted['root'] / 'ann.csv'), '--split', 'train',
                            *converted['common'][:4], '--out', str(out), '--fps', '5',
                            '--det-config', str(det_cfg), '--det-checkpoint', str(det_ckpt),
                            '--det-score-thr', '0.6'])
    with open(out / 'annotations' / 'train_proposals.pkl', 'rb') as f:
        props = pickle.load(f)
    ref = init_detector(str(det_cfg), str(det_ckpt), device='cpu')
    found = 0
    for t in (1, 3):
        img = mmcv.imread(str(out / 'rawframes' / 'clipA' / f'img_{t * 5 + 1:05d}.jpg'))
        inst = inference_detector(ref, img).pred_instances
        keep = (inst.labels == 0) & (inst.scores >= 0.6)
        order = np.argsort(-inst.scores[keep].numpy(), kind='stable')
        boxes = inst.bboxes[keep].numpy()[order] / [W, H, W, H]
        want = np.concatenate([np.clip(boxes, 0, 1), inst.scores[keep].numpy()[order, None]], 1)
        got = props.get(f'clipA,{t:04d}', np.zeros((0, 5)))
        assert np.allclose(got, want, atol=1e-5)
        found += len(got)
    assert found > 0


VIA = {
    'project': {'pid': '__VIA_PROJECT_ID__', 'vid_list': ['1']},
    'config': {},
    'attribute': {
        '1': {'aname': 'action', 'anchor_id': 'FILE1_Z1_XY1', 'type': 4,
              'options': {'0': 'stand', '1': 'walk', '2': 'wave'}},
        '2': {'aname': 'person_id', 'anchor_id': 'FILE1_Z1_XY1', 'type': 1, 'options': {}}},
    'file': {'1': {'fid': '1', 'fname': 'clipB.mp4', 'type': 4, 'loc': 1, 'src': ''}},
    'view': {'1': {'fid_list': ['1']}},
    'metadata': {
        '1_a': {'vid': '1', 'flg': 0, 'z': [1.0], 'xy': [2, 20, 10, 40, 40],
                'av': {'1': '1,2', '2': '3'}},
        '1_b': {'vid': '1', 'flg': 0, 'z': [1.55], 'xy': [2, 0, 0, 10, 10],
                'av': {'1': '0', '2': '3'}},          # between seconds: not a keyframe
        '1_c': {'vid': '1', 'flg': 0, 'z': [0.5, 2.5], 'xy': [], 'av': {'1': '0'}},  # segment
        '1_d': {'vid': '1', 'flg': 0, 'z': [2.02], 'xy': [2, 0, 0, 96, 64],
                'av': {'1': '0', '2': '4'}},
    },
}


def test_via_project_converts_like_the_equivalent_cvat_export(converted, tmp_path):
    """The VIA project above holds clipB's boxes of the CVAT export (same seconds, boxes,
    actions, persons): the converted annotation rows are the same."""
    from ava_plugins.evaluation import read_ava_csv
    via = tmp_path / 'ann.json'
    via.write_text(json.dumps(VIA))
    out = tmp_path / 'out'
    converted['tool'].main([str(via), '--split', 'train', *converted['common'][:4],
                            '--out', str(out), '--fps', '5'])
    gt = read_ava_csv(str(out / 'annotations' / 'train.csv'), is_gt=True)
    got = sorted(zip(gt.video_names[gt.video_codes].tolist(), gt.timestamps.tolist(),
                     map(tuple, gt.boxes.round(3).tolist()), gt.labels.tolist(),
                     gt.scores.astype(int).tolist()))
    want = sorted((v, t, tuple(np.round(b, 3).tolist()), a, p) for v, t, b, a, p in EXPECTED
                  if v == 'clipB')
    assert got == want
    bad = json.loads(json.dumps(VIA))
    bad['metadata']['1_a']['av']['1'] = ''
    via.write_text(json.dumps(bad))
    with pytest.raises(ValueError, match=r"ann\.json, metadata '1_a': no 'action' value"):
        converted['tool'].main([str(via), '--split', 'train', *converted['common'][:4],
                                '--out', str(tmp_path / 'o2'), '--fps', '5'])
