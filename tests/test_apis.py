"""The inference API (``ava_plugins.apis``) and ``tools/demo_video.py``.

On the real demo video (``tests/data/mmaction2/demo_spatiotemporal_det.mp4``, 57 frames at
6 fps) with hand-written proposals and with a small randomly initialised mmdet detector; and on
a generated synthetic validation video against ``tools/test.py`` (the tiny ACAR config with
random weights, saved as a checkpoint: the two paths must agree, accuracy is not the point).
"""
import os
import os.path as osp
import pickle

import numpy as np
import pytest
import torch

import ava_plugins  # noqa: F401
from ava_plugins.apis import (KeyframePrediction, VideoSource, inference_video, init_model,
                              predictions_to_table, smooth_predictions)
from ava_plugins.apis import demo_command
from ava_plugins.evaluation import evaluate_ava, read_ava_csv
from ava_plugins.utils import InputError
from third_party_data import DEMO_VIDEO
import tool_runs
from tiny_detector import save_random_detector

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
ACAR_TINY = osp.join(REPO, 'configs', 'synthetic', 'acar_slowfast_tiny.py')
DEMO_FPS, DEMO_FRAMES = 6, 57
# Two persons of the demo video (the arm wrestlers), normalised, with their person scores.
PERSONS = np.array([[0.05, 0.10, 0.55, 0.98, 0.95], [0.45, 0.15, 0.95, 0.95, 0.85]], np.float32)


def decode(path):
    import av
    with av.open(str(path)) as c:
        rate = c.streams.video[0].average_rate
        frames = [f.to_ndarray(format='rgb24') for f in c.decode(video=0)]
    return frames, float(rate)


@pytest.fixture(scope='module')
def acar(tmp_path_factory):
    """The tiny ACAR config with saved random weights."""
    root = tmp_path_factory.mktemp('apis')
    torch.manual_seed(0)
    model = init_model(ACAR_TINY)
    ckpt = root / 'acar.pth'
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    props = {f'demo,{t:04d}': PERSONS.copy() for t in range(10)}
    with open(root / 'props.pkl', 'wb') as f:
        pickle.dump(props, f)
    return dict(root=root, ckpt=ckpt, props=root / 'props.pkl')


def test_no_person_found_is_a_one_line_error(acar, tmp_path):
    """Proposals without a box at any keyframe, or a detector that finds nobody: an error
    naming the video, not a silent video without boxes."""
    model = init_model(ACAR_TINY, str(acar['ckpt']))
    empty = {f'demo,{t:04d}': np.zeros((0, 5), np.float32) for t in range(10)}
    with pytest.raises(InputError, match=r'demo_spatiotemporal_det\.mp4: the proposals hold no '
                       'person box at any keyframe'):
        inference_video(model, str(DEMO_VIDEO), proposals=empty, video_id='demo')
    from mmdet.apis import init_detector
    det_cfg, det_ckpt = save_random_detector(tmp_path)
    detector = init_detector(str(det_cfg), str(det_ckpt), device='cpu')
    with pytest.raises(InputError, match=r'the detector found no person \(score >= 1\.0\)'):
        inference_video(model, str(DEMO_VIDEO), detector=detector, det_score_thr=1.0,
                        interval=3)


def test_demo_video_with_proposals(acar, tmp_path):
    out, csv = tmp_path / 'out.mp4', tmp_path / 'out.csv'
    thr = 0.3
    result = demo_command.main([
        ACAR_TINY, str(acar['ckpt']), str(DEMO_VIDEO), str(out), '--proposals',
        str(acar['props']), '--video-id', 'demo', '--out-csv', str(csv), '--score-thr', str(thr)])
    src, src_fps = decode(DEMO_VIDEO)
    frames, fps = decode(out)
    assert (len(src), src_fps) == (DEMO_FRAMES, DEMO_FPS)
    assert len(frames) == len(src) and fps == src_fps
    assert frames[0].shape == src[0].shape

    preds = result['predictions']
    assert [p.second for p in preds] == list(range(10))  # 57 frames at 6 fps: 9.5 s
    assert [p.frame_index for p in preds] == [6 * t for t in range(10)]
    table = read_ava_csv(str(csv), is_gt=False)
    expected = sum(int((p.scores > thr).sum()) for p in preds)
    assert expected > 0 and len(table) == expected
    assert set(table.timestamps.tolist()) <= set(range(10))
    # every row's box is one of the proposals (3 decimals in the file)
    dist = np.abs(table.boxes[:, None] - PERSONS[None, :, :4]).max(-1).min(1)
    assert dist.max() < 1e-3
    assert (table.scores > thr - 1e-3).all()

    # the boxes are drawn where the proposals are: the left edge of each box changed, a strip
    # half way between the box edges did not (beyond H.264 noise)
    h, w = src[0].shape[:2]
    for k in (0, 12, 24):  # keyframes 0, 2, 4
        diff = np.abs(frames[k].astype(int) - src[k].astype(int)).sum(-1)
        for x1, y1, x2, y2 in PERSONS[:, :4] * [w, h, w, h]:
            ys = slice(int(y1 + 0.4 * (y2 - y1)), int(y2 - 2))
            edge = diff[ys, int(round(x1)) - 1:int(round(x1)) + 2].max(1).mean()
            middle = diff[ys, int((x1 + x2) / 2) - 3:int((x1 + x2) / 2) + 3].mean()
            assert edge > 60 and middle < 30, (k, edge, middle)


def test_demo_video_with_an_mmdet_detector(acar, tmp_path):
    from mmdet.apis import inference_detector, init_detector
    det_cfg, det_ckpt = save_random_detector(tmp_path)
    out, csv = tmp_path / 'out.mp4', tmp_path / 'out.csv'
    result = demo_command.main([
        ACAR_TINY, str(acar['ckpt']), str(DEMO_VIDEO), str(out), '--det-config', str(det_cfg),
        '--det-checkpoint', str(det_ckpt), '--det-score-thr', '0.6',
        '--out-csv', str(csv), '--score-thr', '0.2', '--interval', '3', '--link-tubes'])
    frames, fps = decode(out)
    assert len(frames) == DEMO_FRAMES and fps == DEMO_FPS
    preds = result['predictions']
    assert [p.second for p in preds] == [0, 3, 6, 9]
    # persons are mmdet's own inference_detector output on the keyframe, person class >= 0.6
    ref = init_detector(str(det_cfg), str(det_ckpt), device='cpu')
    src, _ = decode(DEMO_VIDEO)
    found = 0
    for p in preds:
        bgr = np.ascontiguousarray(src[p.frame_index][:, :, ::-1])
        inst = inference_detector(ref, bgr).pred_instances
        keep = (inst.labels == 0) & (inst.scores >= 0.6)
        scores = np.sort(inst.scores[keep].numpy())[::-1]
        assert np.allclose(np.sort(p.person_scores)[::-1], scores, atol=1e-5)
        found += len(scores)
    assert found > 0
    assert len(read_ava_csv(str(csv), is_gt=False)) == sum(int((p.scores > 0.2).sum())
                                                         for p in preds)


def _prediction(boxes, scores, second):
    boxes = np.asarray(boxes, np.float32)
    return KeyframePrediction(
        video_id='v', timestamp=second, second=second, frame_index=second * 10,
        bboxes=boxes * [100, 50, 100, 50], bboxes_norm=boxes,
        person_scores=np.ones(len(boxes), np.float32), scores=np.asarray(scores, np.float32),
        class_ids=np.array([1, 2]), label_names=['a', 'b'], frame_size=(100, 50))


def test_tube_smoothing_averages_along_the_linked_tube():
    """Hand-worked: one person drifting right over three keyframes plus a far-away person at the
    middle one only; span 3 averages each box with its linked neighbours."""
    b = [[0.10, 0.1, 0.30, 0.9], [0.12, 0.1, 0.32, 0.9], [0.14, 0.1, 0.34, 0.9]]
    far = [0.7, 0.1, 0.9, 0.5]
    preds = [_prediction([b[0]], [[0.9, 0.0]], 0),
             _prediction([far, b[1]], [[0.1, 0.8], [0.6, 0.3]], 1),
             _prediction([b[2]], [[0.3, 0.0]], 2)]
    out = smooth_predictions(preds, span=3)
    assert np.allclose(out[1].bboxes_norm[1], np.mean(b, 0), atol=1e-6)
    assert np.allclose(out[1].scores[1], [0.6, 0.1], atol=1e-6)  # mean of 0.9 / 0.6 / 0.3
    assert np.allclose(out[0].bboxes_norm[0], np.mean(b[:2], 0), atol=1e-6)  # no keyframe -1
    assert np.allclose(out[0].scores[0], [0.75, 0.15], atol=1e-6)
    assert np.allclose(out[1].bboxes_norm[0], far) and np.allclose(out[1].scores[0], [0.1, 0.8])
    assert np.allclose(out[1].bboxes, out[1].bboxes_norm * [100, 50, 100, 50])
    assert np.allclose(preds[1].bboxes_norm[1], b[1])  # input unchanged


@pytest.fixture(scope='module')
def synthetic_val(tmp_path_factory, acar):
    """A 10 s synthetic set, its validation video as mp4 (OpenCV, 10 fps), and the tiny ACAR
    config pointed at it."""
    import cv2
    from mmengine.config import Config

    from ava_plugins.benchmarks.synthetic_runs import ensure_synthetic_data, point_config_at_data
    root = tmp_path_factory.mktemp('synthetic_apis')
    data = str(root / 'data')
    meta = ensure_synthetic_data(data, 0, verbose=False, train_videos=1, val_videos=1,
                                 seconds=10, fps=10, size=64)
    cfg = Config.fromfile(ACAR_TINY)
    point_config_at_data(cfg, data)
    cfg.test_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.test_evaluator['out_dir'] = str(root / 'eval')
    config = str(root / 'acar_tiny.py')
    cfg.dump(config)
    frame_dir = osp.join(data, 'rawframes', 'val_000')
    names = sorted(os.listdir(frame_dir))
    first = cv2.imread(osp.join(frame_dir, names[0]))
    mp4 = str(root / 'val_000.mp4')
    writer = cv2.VideoWriter(mp4, cv2.VideoWriter_fourcc(*'mp4v'), 10,
                             (first.shape[1], first.shape[0]))
    for name in names:
        writer.write(cv2.imread(osp.join(frame_dir, name)))
    writer.release()
    return dict(root=root, data=data, meta=meta, config=config, frame_dir=frame_dir, mp4=mp4,
                cfg=cfg)


def test_inference_agrees_with_tools_test(synthetic_val, acar):
    """Same checkpoint, same proposals: on the rawframes folder the scores equal
    ``tools/test.py``'s; on the mp4 made from them the mAP is within 0.02 of it."""
    s = synthetic_val
    test = tool_runs.run_tool(['tools/test.py', s['config'], acar['ckpt'], '--work-dir',
                     s['root'] / 'work'], timeout=600)
    assert test.returncode == 0, test.stderr[-3000:]
    csvs = sorted(f for f in os.listdir(s['root'] / 'eval') if f.endswith('.csv'))
    ref = read_ava_csv(str(s['root'] / 'eval' / csvs[-1]), is_gt=False)
    gt_file = s['cfg'].test_evaluator.ann_file
    excluded = s['cfg'].test_evaluator.exclude_file
    label_map = s['cfg'].test_evaluator.label_file
    gt = read_ava_csv(gt_file, is_gt=True)
    seconds = sorted({int(t) - 900 for t in gt.timestamps})
    model = init_model(s['config'], str(acar['ckpt']))
    proposals = s['cfg'].test_dataloader.dataset.proposal_file

    kwargs = dict(proposals=proposals, keyframes=seconds, video_id='val_000',
                  timestamp_start=900)
    frames = predictions_to_table(inference_video(model, s['frame_dir'], fps=10, **kwargs),
                                  0.002)  # AVAFrameMetric's action_thr
    assert len(frames) == len(ref) > 0
    order_ref = np.lexsort((ref.labels, ref.boxes[:, 1], ref.boxes[:, 0], ref.timestamps))
    order = np.lexsort((frames.labels, np.round(frames.boxes[:, 1], 4),
                        np.round(frames.boxes[:, 0], 4), frames.timestamps))
    assert (frames.labels[order] == ref.labels[order_ref]).all()
    assert np.allclose(frames.boxes[order], ref.boxes[order_ref], atol=1e-4)
    assert np.allclose(frames.scores[order], ref.scores[order_ref], atol=1e-4)

    ref_map = evaluate_ava(gt_file, ref, label_map, excluded).mAP
    video = predictions_to_table(inference_video(model, s['mp4'], **kwargs), 0.002)
    video_map = evaluate_ava(gt_file, video, label_map, excluded).mAP
    assert abs(video_map - ref_map) <= 0.02, (video_map, ref_map)


def test_make_demo_renders_the_validation_video_with_the_model_it_trains(synthetic_val, tmp_path):
    """``tools/run_demo.py`` (``make demo``) on the 10 s set, 2 epochs: its step 5 writes the
    validation video (every frame, at the set's fps) and its CSV, which scores what the demo's
    own evaluation scored; the model it trained, run through the API on the mp4 of the same
    frames, is within 0.02 mAP of that evaluation."""
    s = synthetic_val
    work = tmp_path / 'demo'
    run = tool_runs.run_tool(['tools/run_demo.py', '--data', osp.dirname(s['frame_dir'])[:-len(
        '/rawframes')], '--work-dir', work, '--cfg-options', 'train_cfg.max_epochs=2'],
        timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    frames, fps = decode(work / 'detections.mp4')
    assert len(frames) == len(os.listdir(s['frame_dir'])) and fps == 10
    gt_file = s['cfg'].test_evaluator.ann_file
    excluded = s['cfg'].test_evaluator.exclude_file
    label_map = s['cfg'].test_evaluator.label_file
    import json
    summary = json.loads((work / 'summary.json').read_text())
    # step 5's CSV: the demo evaluation's rows of that video above the drawing threshold (0.4)
    evaluated = read_ava_csv(str(next(work.glob('ava_result_*.csv'))), is_gt=False)
    keep = (evaluated.scores > 0.4) & (evaluated.video_names[evaluated.video_codes] == 'val_000')
    drawn = read_ava_csv(str(work / 'detections.csv'), is_gt=False)
    def rows(t, m):
        """(second, class, box, score) rows in one order; the CSVs differ in decimals (3, 4)."""
        out = np.column_stack([t.timestamps[m], t.labels[m], t.boxes[m], t.scores[m]])
        return out[np.lexsort((out[:, 3], out[:, 2], out[:, 1], out[:, 0]))]

    assert len(drawn) == int(keep.sum()) > 0
    np.testing.assert_allclose(rows(drawn, np.ones(len(drawn), bool)), rows(evaluated, keep),
                               atol=1e-3)
    # the trained model on the mp4 of the same frames (tools/demo_video.py, the evaluator's
    # threshold): within 0.02 mAP of the demo's evaluation
    ckpt = (work / 'last_checkpoint').read_text().strip()
    gt = read_ava_csv(gt_file, is_gt=True)
    seconds = sorted({int(t) - 900 for t in gt.timestamps})
    assert seconds == list(range(seconds[0], seconds[-1] + 1))
    csv = tmp_path / 'mp4.csv'
    demo_command.main([s['config'], ckpt, s['mp4'], str(tmp_path / 'mp4_out.mp4'), '--proposals',
                       s['cfg'].test_dataloader.dataset.proposal_file, '--video-id', 'val_000',
                       '--timestamp-start', '900', '--score-thr', '0.002', '--out-csv', str(csv)])
    video_map = evaluate_ava(gt_file, str(csv), label_map, excluded).mAP
    assert abs(video_map - summary['mAP']) <= 0.02, (video_map, summary['mAP'])
    assert summary['mAP'] > 0


def test_tta_config_runs_on_a_video(synthetic_val):
    s = synthetic_val
    from mmengine.config import Config

    from ava_plugins.benchmarks.synthetic_runs import point_config_at_data
    cfg = Config.fromfile(osp.join(REPO, 'configs/synthetic/linear_slowfast_tiny_tta.py'))
    point_config_at_data(cfg, s['data'])
    torch.manual_seed(0)
    model = init_model(cfg)
    preds = inference_video(model, s['mp4'], cfg.test_dataloader.dataset.proposal_file,
                            keyframes=[3, 4], video_id='val_000', timestamp_start=900)
    assert [p.timestamp for p in preds] == [903, 904]
    assert all(p.scores.shape == (len(p.bboxes), 11) for p in preds)
    assert all(np.isfinite(p.scores).all() for p in preds) and len(preds[0].bboxes)


def run_tool(*args):
    return tool_runs.run_tool(['tools/demo_video.py', *args], env={'OMP_NUM_THREADS': '1'})


def test_demo_video_bad_input_is_one_line(acar, tmp_path):
    bad = tmp_path / 'broken.mp4'
    bad.write_text('not a video')
    base = [ACAR_TINY, acar['ckpt']]
    out = tmp_path / 'o.mp4'
    cases = [
        ([*base, bad, out, '--proposals', acar['props']], 'broken.mp4: not a readable video'),
        ([*base, DEMO_VIDEO, out, '--proposals', acar['props'], '--video-id', 'other'],
         "no proposal for video 'other'"),
        ([osp.join(REPO, 'configs/cpn_r50_coco_256x192.py'), acar['ckpt'], DEMO_VIDEO, out,
          '--proposals', acar['props']], 'no detection head'),
        ([osp.join(REPO, 'configs/synthetic/acfb_slowfast_tiny.py'), 'none', DEMO_VIDEO, out,
          '--proposals', acar['props'], '--video-id', 'demo'],
         'LoadBankWindow needs a feature bank'),
        ([*base, DEMO_VIDEO, tmp_path / 'o.gif', '--proposals', acar['props']],
         'o.gif: the output video must end in'),
    ]
    for argv, message in cases:
        proc = run_tool(*argv)
        assert proc.returncode == 2, (argv, proc.stderr[-2000:])
        lines = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
        assert len(lines) == 1 and message in lines[0], proc.stderr[-2000:]
    assert not out.exists()


def test_video_source_reads_a_frame_folder_in_name_order(tmp_path):
    import cv2
    for i in (3, 1, 2):
        cv2.imwrite(str(tmp_path / f'img_{i:05d}.png'), np.full((4, 6, 3), i * 40, np.uint8))
    src = VideoSource(str(tmp_path), fps=5)
    assert (src.num_frames, src.width, src.height, float(src.fps)) == (3, 6, 4, 5.0)
    assert [int(f[0, 0, 0]) for f in src.frames()] == [40, 80, 120]


EXTERNAL = {'acfb': 'LoadBankWindow', 'three_branch_slowfast_tiny.py': 'LoadLFBWindow',
            'no_focal': 'LoadLFBWindow', 'no_global': 'LoadLFBWindow',
            'sum_fusion': 'LoadLFBWindow', 'multisec_t': 'LoadTubeRes4', 'arm': 'ArmRoIs'}


@pytest.mark.parametrize('name', sorted(
    f for f in os.listdir(osp.join(REPO, 'configs', 'synthetic')) if f.endswith('.py')))
def test_every_tiny_config_builds_and_runs_or_names_its_missing_input(name, acar):
    """init_model builds every tiny head; inference either runs on the demo video or refuses
    before decoding, naming the pipeline step whose input a video cannot give."""
    from ava_plugins.utils import InputError
    model = init_model(osp.join(REPO, 'configs', 'synthetic', name))
    step = next((v for k, v in EXTERNAL.items() if k in name), None)
    with open(acar['props'], 'rb') as f:
        props = pickle.load(f)
    if step is None:
        preds = inference_video(model, str(DEMO_VIDEO), props, keyframes=[4], video_id='demo')
        thr = model.cfg.test_dataloader.dataset.get('person_det_score_thr', 0.9)  # AVADataset's
        kept = PERSONS[PERSONS[:, 4] >= min(thr, PERSONS[:, 4].max())]
        assert np.allclose(preds[0].bboxes_norm, kept[:, :4], atol=1e-6)
        assert preds[0].scores.shape == (len(kept), 11) and np.isfinite(preds[0].scores).all()
    else:
        with pytest.raises(InputError, match=f'test pipeline step {step} needs'):
            inference_video(model, str(DEMO_VIDEO), props, keyframes=[4], video_id='demo')
