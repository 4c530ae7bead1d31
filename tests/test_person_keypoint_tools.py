"""tools/detect_persons.py and tools/extract_keypoints.py on frames of the real demo video
(``tests/data/mmaction2/demo_spatiotemporal_det.mp4``) with small, randomly initialised mmdet and
mmpose models (saved as checkpoints so the tests can recompute every number with mmdet's and
mmpose's own inference APIs): format, alignment with the proposals, resumption."""
import os
import os.path as osp
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

import ava_plugins  # noqa: F401
from ava_plugins.engine import keyframe_jobs
from ava_plugins.engine import keypoint_extraction as extract_keypoints
from ava_plugins.engine import person_detection as detect_persons
from third_party_data import DEMO_VIDEO
from tiny_detector import det_config
from tool_runs import run_ok

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

FPS = 6  # the demo video's frame rate
DET_CFG = det_config(max_per_img=50, loader='LoadImageFromFile')  # frames are files here
POSE_CFG = """
_base_ = 'mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_res50_8xb64-210e_coco-256x192.py'
model = dict(backbone=dict(depth=18, init_cfg=None),
             head=dict(in_channels=512, deconv_out_channels=(16, 16), deconv_kernel_sizes=(4, 4)),
             test_cfg=dict(flip_test=False))
"""


def _save_random(build, cfg_path, ckpt_path, seed):
    torch.manual_seed(seed)
    model = build(str(cfg_path), None, device='cpu')
    for p in model.parameters():  # random, not zero-initialised heads: real score spread
        torch.nn.init.normal_(p, std=0.05) if p.dim() > 1 else torch.nn.init.normal_(p, std=0.1)
    if hasattr(model, 'roi_head'):  # favour COCO's person class (0): scores around 0.65
        model.roi_head.bbox_head.fc_cls.bias.data[0] = 5.0
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt_path)


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    """Two 'videos' of the demo video's frames (the second reversed) as rawframes, a tiny
    detector and a tiny top-down pose model with saved random weights."""
    import cv2
    from mmdet.apis import init_detector
    from mmpose.apis import init_model
    root = tmp_path_factory.mktemp('person_tools')
    cap = cv2.VideoCapture(str(DEMO_VIDEO))
    frames = []
    ok, img = cap.read()
    while ok:
        frames.append(img)
        ok, img = cap.read()
    assert len(frames) >= 4 * FPS
    for video, seq in (('vidA', frames), ('vidB', frames[::-1])):
        (root / 'frames' / video).mkdir(parents=True)
        for i, img in enumerate(seq[:4 * FPS], 1):
            cv2.imwrite(str(root / 'frames' / video / f'img_{i:05d}.jpg'), img)
    (root / 'det.py').write_text(DET_CFG)
    (root / 'pose.py').write_text(POSE_CFG)
    _save_random(init_detector, root / 'det.py', root / 'det.pth', 0)
    _save_random(init_model, root / 'pose.py', root / 'pose.pth', 1)
    return root


def frame_args(root):
    return ['--frames', str(root / 'frames'), '--fps', str(FPS), '--timestamp-start', '900']


def reference_detections(root, video, t, thr):
    """mmdet's inference_detector on the keyframe, persons above ``thr``, normalised."""
    from mmdet.apis import inference_detector, init_detector
    model = init_detector(str(root / 'det.py'), str(root / 'det.pth'), device='cpu')
    frame = root / 'frames' / video / f'img_{(t - 900) * FPS + 1:05d}.jpg'
    img = detect_persons.read_frame(str(frame))
    pred = inference_detector(model, img).pred_instances
    keep = (pred.labels == 0) & (pred.scores >= thr)
    boxes, scores = pred.bboxes[keep].numpy(), pred.scores[keep].numpy()
    order = np.argsort(-scores, kind='stable')
    h, w = img.shape[:2]
    return np.concatenate([np.clip(boxes[order] / [w, h, w, h], 0, 1), scores[order, None]], 1)


def run_stopped_after_the_first_video(root, args):
    """Run detect_persons with an unreadable keyframe in the second video: the run stops with
    vidA's part written."""
    bad = root / 'frames' / 'vidB' / f'img_{2 * FPS + 1:05d}.jpg'
    good = bad.read_bytes()
    bad.write_bytes(b'not a jpeg')
    try:
        with pytest.raises(ValueError, match='not a readable image'):
            detect_persons.main(args)
    finally:
        bad.write_bytes(good)


def test_detect_persons_format_resumption_and_values(setup, tmp_path, capsys):
    root = setup
    out = tmp_path / 'props.pkl'
    args = [str(root / 'det.py'), str(root / 'det.pth'), '--out', str(out), '--timestamps',
            '901', '902', '--score-thr', '0.6', *frame_args(root)]
    run_stopped_after_the_first_video(root, args)
    assert (tmp_path / 'props.pkl.parts' / 'vidA.pkl').is_file() and not out.exists()
    done = detect_persons.main(args)
    assert done == {'computed': ['vidB'], 'skipped': ['vidA']}
    assert not (tmp_path / 'props.pkl.parts').exists()
    with open(out, 'rb') as f:
        props = pickle.load(f)
    assert set(props) <= {'vidA,0901', 'vidA,0902', 'vidB,0901', 'vidB,0902'}
    assert props, 'the random detector found no person above 0.6 on any keyframe'
    for key, arr in props.items():
        assert arr.dtype == np.float32 and arr.ndim == 2 and arr.shape[1] == 5 and len(arr)
        assert (arr[:, :4] >= 0).all() and (arr[:, :4] <= 1).all()
        assert (arr[:, 2] >= arr[:, 0]).all() and (arr[:, 3] >= arr[:, 1]).all()
        assert (np.diff(arr[:, 4]) <= 0).all() and (arr[:, 4] >= 0.6).all()
    key = max(props, key=lambda k: len(props[k]))
    video, t = key.split(',')
    np.testing.assert_allclose(props[key], reference_detections(root, video, int(t), 0.6),
                               rtol=1e-5, atol=1e-6)
    # the proposal file is what mmaction2's AVADataset reads
    from ava_plugins.datasets import load_proposals
    assert set(load_proposals(out)) == set(props)


def test_detect_persons_parts_are_keyed_on_the_checkpoint_content(setup, tmp_path):
    """Parts were keyed on the checkpoint's path: other weights under the same name reused the
    finished videos of the first weights."""
    root = setup
    ckpt = tmp_path / 'det.pth'
    ckpt.write_bytes((root / 'det.pth').read_bytes())
    out = tmp_path / 'props.pkl'
    args = [str(root / 'det.py'), str(ckpt), '--out', str(out), '--timestamps', '901', '902',
            '--score-thr', '0.6', *frame_args(root)]
    run_stopped_after_the_first_video(root, args)
    state = torch.load(ckpt, weights_only=False)
    key = next(k for k, v in state['state_dict'].items() if v.is_floating_point())
    state['state_dict'][key] = state['state_dict'][key] * 0.5
    torch.save(state, ckpt)
    assert detect_persons.main(args) == {'computed': ['vidA', 'vidB'], 'skipped': []}


def test_detect_persons_rejects_bad_input(setup, tmp_path):
    root = setup
    base = [str(root / 'det.py'), str(root / 'det.pth'), '--out', str(tmp_path / 'p.pkl')]
    ann = tmp_path / 'ann.csv'
    ann.write_text('vidA,0901,0.1,0.1,0.5,0.5,12,0\nvidC,0901,0.1,0.1,0.5,0.5,12,0\n')
    with pytest.raises(ValueError, match=r'ann.csv: 1 keyframes have no frame .*vidC,901'):
        detect_persons.main(base + ['--ann-file', str(ann), *frame_args(root)])
    with pytest.raises(ValueError, match='no keyframe found'):
        detect_persons.main(base + ['--timestamps', '950', '951', *frame_args(root)])
    assert detect_persons.parse_args(base + frame_args(root)).score_thr == 0.8
    assert detect_persons.parse_args(base + ['--dataset', 'kinetics'] +
                                     frame_args(root)).score_thr == 0.7


def test_kinetics_clip_names_give_their_own_start(setup):
    args = detect_persons.parse_args(['c', 'k', '--out', 'o', '--frames', 'f', '--fps', '30'])
    assert detect_persons.keyframe_path('abcdefghijk', 902, args).endswith(
        osp.join('abcdefghijk', 'img_00061.jpg'))  # AVA: (902 - 900) * 30 + 1
    assert detect_persons.keyframe_path('abcdefghijk_000010_000020', 15, args).endswith(
        'img_00151.jpg')  # AVA-Kinetics clip starting at second 10


def test_keypoints_aligned_with_given_proposals(setup, tmp_path):
    """Hand-made proposals (one key without boxes): the keypoints of row ``i`` equal mmpose's
    inference_topdown on box ``i`` alone."""
    from mmpose.apis import inference_topdown, init_model
    root = setup
    boxes = np.array([[0.1, 0.2, 0.4, 0.9, 0.99], [0.5, 0.1, 0.9, 0.8, 0.95],
                      [0.3, 0.3, 0.6, 0.7, 0.9]], np.float32)
    props = {'vidA,0901': boxes, 'vidA,0903': boxes[:0], 'vidB,0902': boxes[:2]}
    pfile, out = tmp_path / 'props.pkl', tmp_path / 'props_kp.pkl'
    with open(pfile, 'wb') as f:
        pickle.dump(props, f)
    extract_keypoints.main([str(root / 'pose.py'), str(root / 'pose.pth'), '--proposals',
                            str(pfile), '--out', str(out), *frame_args(root)])
    with open(out, 'rb') as f:
        kp = pickle.load(f)
    assert set(kp) == set(props)
    assert kp['vidA,0903'].shape == (0, 17, 3) and kp['vidB,0902'].shape == (2, 17, 3)
    assert all(v.dtype == np.float32 for v in kp.values())
    model = init_model(str(root / 'pose.py'), str(root / 'pose.pth'), device='cpu')
    img = detect_persons.read_frame(str(root / 'frames' / 'vidA' / f'img_{FPS + 1:05d}.jpg'))
    h, w = img.shape[:2]
    for i, box in enumerate(boxes[:, :4]):
        s = inference_topdown(model, img, box[None] * [w, h, w, h], bbox_format='xyxy')[0]
        np.testing.assert_allclose(kp['vidA,0901'][i, :, :2],
                                   s.pred_instances.keypoints[0] / [w, h], rtol=1e-4, atol=1e-5)
        # MSRAHeatmap: the score is the heatmap maximum (targets peak at 1), stored clipped
        np.testing.assert_allclose(kp['vidA,0901'][i, :, 2],
                                   np.clip(s.pred_instances.keypoint_scores[0], 0, 1),
                                   rtol=1e-4, atol=1e-5)
    # the keypoint file is what ArmRoIs reads (ava_eval.keyframe_pickles checks the alignment)
    from ava_plugins.datasets import load_keypoints, load_proposals
    load_keypoints(out, load_proposals(pfile), str(pfile))


def test_dist_scripts_pass_their_arguments(repo_root):
    for script, tool in (('dist_detect_persons.sh', 'detect_persons.py'),
                         ('dist_extract_keypoints.sh', 'extract_keypoints.py')):
        text = (repo_root / 'tools' / script).read_text()
        assert f'dist_launch.sh" {tool} "$3" "$1" "$2" "${{@:4}}"' in text
        assert osp.isfile(repo_root / 'tools' / tool)
        out = subprocess.run(['bash', '-n', str(repo_root / 'tools' / script)],
                             capture_output=True, text=True)
        assert out.returncode == 0, out.stderr


def test_keypoints_with_the_projects_cpn_config(setup, tmp_path, repo_root):
    """configs/cpn_r50_coco_256x192.py (shrunk by --cfg-options: ResNet-18, 32 channels, no
    flip) through the tool equals mmpose's inference_topdown with the same weights."""
    from mmengine.config import Config
    from mmpose.apis import inference_topdown, init_model
    root = setup
    shrink = {'model.backbone.depth': 18, 'model.backbone.init_cfg': None,
              'model.head.in_channels': (64, 128, 256, 512), 'model.head.channels': 32,
              'model.test_cfg.flip_test': False}
    cfg = Config.fromfile(str(repo_root / 'configs' / 'cpn_r50_coco_256x192.py'))
    cfg.merge_from_dict(shrink)
    torch.manual_seed(3)
    model = init_model(cfg, None, device='cpu')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, tmp_path / 'cpn.pth')
    box = np.array([[0.2, 0.1, 0.6, 0.95, 0.9]], np.float32)
    pfile, out = tmp_path / 'p.pkl', tmp_path / 'k.pkl'
    with open(pfile, 'wb') as f:
        pickle.dump({'vidB,0903': box}, f)
    extract_keypoints.main([
        str(repo_root / 'configs' / 'cpn_r50_coco_256x192.py'), str(tmp_path / 'cpn.pth'),
        '--proposals', str(pfile), '--out', str(out), *frame_args(root), '--cfg-options',
        *[f'{k}={v}' for k, v in shrink.items()]
    ])
    with open(out, 'rb') as f:
        kp = pickle.load(f)['vidB,0903']
    model = init_model(cfg, str(tmp_path / 'cpn.pth'), device='cpu')
    img = detect_persons.read_frame(str(root / 'frames' / 'vidB' / f'img_{3 * FPS + 1:05d}.jpg'))
    h, w = img.shape[:2]
    s = inference_topdown(model, img, box[:, :4] * [w, h, w, h], bbox_format='xyxy')[0]
    np.testing.assert_allclose(kp[0, :, :2], s.pred_instances.keypoints[0] / [w, h], rtol=1e-4,
                               atol=1e-5)
    # MegviiHeatmap scores max / 255 + 0.5: stored as max / 255, clipped to [0, 1]
    np.testing.assert_allclose(kp[0, :, 2], np.clip(s.pred_instances.keypoint_scores[0] - 0.5,
                                                    0, 1), rtol=1e-4, atol=1e-5)


def test_videos_are_sharded_across_ranks_and_joined_by_rank_0(tmp_path):
    """run_videos as two ranks would run it: each computes its share of the sorted videos
    into parts, rank 0 joins all parts; a rerun computes nothing."""
    keyframes = {'c': [901], 'a': [901, 902], 'b': [903]}
    calls = []

    def compute(video, seconds, tick):
        calls.append(video)
        return {f'{video},{t:04d}': np.full((1, 5), t, np.float32) for t in seconds}

    out = str(tmp_path / 'p.pkl')
    params = dict(format=1, thr=0.8)
    r1 = detect_persons.run_videos(out, keyframes, compute, params, 1, 2, 'test')
    assert r1 == {'computed': ['b'], 'skipped': []} and not osp.exists(out)  # rank 1: b
    r0 = detect_persons.run_videos(out, keyframes, compute, params, 0, 2, 'test')
    assert r0 == {'computed': ['a', 'c'], 'skipped': []} and calls == ['b', 'a', 'c']
    with open(out, 'rb') as f:
        merged = pickle.load(f)
    assert sorted(merged) == ['a,0901', 'a,0902', 'b,0903', 'c,0901']
    assert merged['a,0902'][0, 0] == 902 and not osp.exists(out + '.parts')
    # parts made with other settings are not reused
    detect_persons.run_videos(out, {'a': [901]}, compute, params, 0, 1, 'test')
    assert calls[-1] == 'a'
    os.makedirs(out + '.parts')
    with open(keyframe_jobs.part_path(out, 'd'), 'wb') as f:
        pickle.dump(dict(params=dict(params, thr=0.7), result={'d,0901': np.zeros((1, 5))}), f)
    detect_persons.run_videos(out, {'d': [901]}, compute, params, 0, 1, 'test')
    assert calls[-1] == 'd'


def many_videos(root, frames_dir, num):
    """``num`` videos ``v00``, ``v01``, ... of two keyframes (seconds 901 and 902), each pair
    of frames another one of the demo video's."""
    for k in range(num):
        (frames_dir / f'v{k:02d}').mkdir(parents=True)
        for t, src in ((901, root / 'frames' / 'vidA' / f'img_{k % (4 * FPS) + 1:05d}.jpg'),
                       (902, root / 'frames' / 'vidB' / f'img_{(5 * k) % (4 * FPS) + 1:05d}.jpg')):
            dst = frames_dir / f'v{k:02d}' / f'img_{(t - 900) * FPS + 1:05d}.jpg'
            dst.write_bytes(src.read_bytes())


def reference_run(tool, args):
    """The uninterrupted run, a process like the killed ones (the same torch thread count: a
    run inside this test process may compute in another order, to the last float bit)."""
    run_ok([osp.join('tools', tool), *args])


def killed_and_resumed(tool, args, out, num, reference, first=None, last=None):
    """Run ``tool`` (a script under tools/) with ``args``: SIGKILLed as it renames a file
    called ``first`` into place, then at about 20, 50 and 80% of its ``num`` videos (finished
    parts), then as it renames one called ``last``, then to its end; check its output equals
    ``reference`` (key order, dtypes, bit-equal arrays), that the last run computed only the
    unfinished videos and that nothing but the output is left."""
    from kill_helpers import kill_at, killed_at_write, temporaries
    parts = out.parent / (out.name + '.parts')
    cmd = [sys.executable, osp.join(REPO, 'tools', tool), *args]

    def progress():
        names = os.listdir(parts) if parts.is_dir() else []
        return sum(n.endswith('.pkl') and not n.startswith('.') for n in names) / num

    if first:
        killed_at_write(first, cmd, cwd=REPO)
        assert temporaries(out.parent)
    for fraction in (0.2, 0.5, 0.8):
        kill_at(cmd, progress, fraction, cwd=REPO)
    if last:
        killed_at_write(last, cmd, cwd=REPO)
        assert temporaries(out.parent)
    kept = round(progress() * num)
    final = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert final.returncode == 0, final.stderr[-3000:]
    assert kept >= 0.8 * num and f'{num - kept} videos, skipped {kept} finished' in final.stdout
    with open(out, 'rb') as f:
        resumed = pickle.load(f)
    assert list(resumed) == list(reference)
    for key, arr in reference.items():
        assert resumed[key].dtype == arr.dtype
        np.testing.assert_array_equal(resumed[key], arr, err_msg=key)
    assert sorted(os.listdir(out.parent)) == [out.name] and not temporaries(out.parent)


@pytest.mark.timeout(600)
def test_detect_persons_kill_9_at_several_points_then_resume_is_bit_identical(setup, tmp_path):
    """SIGKILL of tools/detect_persons.py at about 20, 50 and 80% of 10 videos and as it
    renames the joined output into place, each time rerun: the proposals equal an
    uninterrupted run's bit for bit."""
    root, num = setup, 10
    many_videos(root, tmp_path / 'frames', num)
    out = tmp_path / 'out' / 'props.pkl'
    args = [str(root / 'det.py'), str(root / 'det.pth'), '--timestamps', '901', '902',
            '--score-thr', '0.6', '--frames', str(tmp_path / 'frames'), '--fps', str(FPS),
            '--timestamp-start', '900']
    reference_run('detect_persons.py', args + ['--out', str(tmp_path / 'ref.pkl')])
    with open(tmp_path / 'ref.pkl', 'rb') as f:
        reference = pickle.load(f)
    assert len({k.split(',')[0] for k in reference}) >= num // 2, 'too few detections'
    killed_and_resumed('detect_persons.py', args + ['--out', str(out)], out, num, reference,
                       last='props.pkl')  # every part written, the joined output not renamed


@pytest.mark.timeout(600)
def test_extract_keypoints_kill_9_at_several_points_then_resume_is_bit_identical(setup,
                                                                                 tmp_path):
    """SIGKILL of tools/extract_keypoints.py as it renames the second video's part into place,
    then at about 20, 50 and 80% of 10 videos (three boxes per keyframe), each time rerun: the
    keypoints equal an uninterrupted run's bit for bit."""
    root, num = setup, 10
    many_videos(root, tmp_path / 'frames', num)
    rng = np.random.default_rng(0)
    props = {}
    for k in range(num):
        for t in (901, 902):
            xy = rng.uniform(0, 0.5, (3, 2))
            wh = rng.uniform(0.2, 0.5, (3, 2))
            props[f'v{k:02d},{t:04d}'] = np.concatenate(
                [xy, xy + wh, rng.uniform(0.8, 1, (3, 1))], 1).astype(np.float32)
    pfile = tmp_path / 'props.pkl'
    with open(pfile, 'wb') as f:
        pickle.dump(props, f)
    out = tmp_path / 'out' / 'kp.pkl'
    args = [str(root / 'pose.py'), str(root / 'pose.pth'), '--proposals', str(pfile),
            '--frames', str(tmp_path / 'frames'), '--fps', str(FPS), '--timestamp-start', '900']
    reference_run('extract_keypoints.py', args + ['--out', str(tmp_path / 'ref.pkl')])
    with open(tmp_path / 'ref.pkl', 'rb') as f:
        reference = pickle.load(f)
    killed_and_resumed('extract_keypoints.py', args + ['--out', str(out)], out, num, reference,
                       first='v01.pkl')  # a part written, not renamed


# --- the arm gate on the project's CPN output (hand-made heatmaps) -----------------------------

# A person in the CPN input crop (192 x 256, COCO order): nose, eyes, ears, shoulders, elbows,
# wrists, hips, knees, ankles (left then right).
CPN_PERSON = np.array([[96, 30], [104, 25], [88, 25], [112, 28], [80, 28], [120, 70], [72, 70],
                       [135, 115], [57, 115], [140, 155], [52, 155], [112, 150], [80, 150],
                       [112, 200], [80, 200], [112, 240], [80, 240]], np.float64)
LEFT_ELBOW = 7


def cpn_heatmaps(codec_cfg):
    """(5, 17, 64, 48) RefineNet outputs for five boxes, built with the config's own
    MegviiHeatmap target generator (a fully seen keypoint is the training target, peak 255):
    0 fully seen; 1-3 left elbow unseen, as an all-negative response, as faint noise, as an
    all-zero channel; 4 nobody (every channel all-negative)."""
    from mmpose.registry import KEYPOINT_CODECS
    codec = KEYPOINT_CODECS.build(codec_cfg)
    seen = codec.encode(CPN_PERSON[None], np.ones((1, 17)))['heatmaps']
    rng = np.random.default_rng(0)
    maps = np.repeat(seen[None], 5, axis=0).astype(np.float32)
    maps[1, LEFT_ELBOW] = rng.uniform(-20, -0.5, maps.shape[2:])
    maps[2, LEFT_ELBOW] = rng.normal(0, 0.4, maps.shape[2:])
    maps[3, LEFT_ELBOW] = 0
    maps[4] = rng.uniform(-20, -0.5, maps.shape[1:])
    return maps


def test_arm_gate_on_the_projects_cpn_decode(tmp_path, repo_root, monkeypatch):
    """configs/cpn_r50_coco_256x192.py (its MegviiHeatmap decode and flip test; ResNet-18,
    random weights) through tools/extract_keypoints.py, its RefineNet output replaced by
    hand-made heatmaps, then configs/arm_slowfast_r50.py's ArmRoIs gate: a fully seen person
    gives two arm RoIs, a person whose left elbow is unseen (all-negative response, faint noise
    or an all-zero channel) only the right arm's, nobody none. Would have caught: the gate
    being inert on CPN scores (max / 255 + 0.5, so 0.498 and 0.504 passed 0.3 and the unseen
    elbow, decoded at the crop corner inside the image, gave an arm RoI) and the NaN score of
    an all-zero channel (written to the file, which the keypoint loader then rejected)."""
    import cv2
    import mmpose.apis
    from mmengine.config import Config

    from ava_plugins.datasets import load_keypoints, load_proposals
    from ava_plugins.datasets.transforms.arm_rois import ArmRoIs
    cpn_cfg = repo_root / 'configs' / 'cpn_r50_coco_256x192.py'
    shrink = {'model.backbone.depth': 18, 'model.backbone.init_cfg': None,
              'model.head.in_channels': (64, 128, 256, 512), 'model.head.channels': 32}
    cfg = Config.fromfile(str(cpn_cfg))
    assert cfg.model.test_cfg.flip_test and cfg.model.head.decoder.type == 'MegviiHeatmap'
    maps = torch.from_numpy(cpn_heatmaps(cfg.model.head.decoder))
    calls = []
    real_init_model = mmpose.apis.init_model

    def init_model(*args, **kwargs):
        """The real model; its RefineNet output replaced by ``maps`` (for the flip test's
        second pass, their mirror image with left and right swapped, as a flip-consistent
        network gives; the head flips it back and averages)."""
        model = real_init_model(*args, **kwargs)
        flip = model.dataset_meta['flip_indices']

        def hook(module, inputs, output):
            calls.append(output.shape)
            return maps if len(calls) % 2 else maps[:, flip].flip(-1)

        model.head.refine_net.register_forward_hook(hook)
        return model

    monkeypatch.setattr(mmpose.apis, 'init_model', init_model)
    (tmp_path / 'frames' / 'vid').mkdir(parents=True)
    cv2.imwrite(str(tmp_path / 'frames' / 'vid' / 'img_00001.jpg'),
                np.full((480, 640, 3), 128, np.uint8))
    w, h = 640, 480
    boxes = np.array([[50 + 120 * b, 160, 110 + 120 * b, 320] for b in range(5)], np.float64)
    props = {'vid,0900': np.concatenate([boxes / [w, h, w, h], np.full((5, 1), 0.95)],
                                        1).astype(np.float32)}
    pfile, out = tmp_path / 'props.pkl', tmp_path / 'kp.pkl'
    with open(pfile, 'wb') as f:
        pickle.dump(props, f)
    extract_keypoints.main([
        str(cpn_cfg), 'none', '--proposals', str(pfile), '--out', str(out), '--frames',
        str(tmp_path / 'frames'), '--fps', '1', '--timestamp-start', '900', '--cfg-options',
        *[f'{k}={v}' for k, v in shrink.items()]])
    assert [tuple(s) for s in calls] == [(5, 17, 64, 48)] * 2  # one batch, and its flip
    with open(out, 'rb') as f:
        raw = pickle.load(f)['vid,0900']
    assert np.isfinite(raw).all()  # never NaN, whatever the heatmap
    kps = load_keypoints(out, load_proposals(pfile), str(pfile))['vid,0900']
    # the crops lie inside the frame: unseen keypoints are placed inside the image too
    assert ((kps[..., :2] >= 0) & (kps[..., :2] <= 1)).all()

    arm_cfg = Config.fromfile(str(repo_root / 'configs' / 'arm_slowfast_r50.py'))
    gate_cfg = dict(arm_cfg.arm_rois)
    assert gate_cfg.pop('type') == 'ArmRoIs'
    gate = ArmRoIs(**gate_cfg, keypoint_file=str(out), proposal_file=str(pfile), test_mode=True)
    res = gate(dict(img_key='vid,0900', img_shape=(h, w), proposals=boxes.astype(np.float32),
                    scores=np.full(5, 0.95, np.float32)))
    rois = list(zip(res['arm_person_index'].tolist(), res['arm_side'].tolist()))
    assert rois == [(0, 0), (0, 1), (1, 1), (2, 1), (3, 1)]
    # the fully seen arms' boxes hold their decoded elbow and wrist, inside the person's crop
    for (person, side), box in zip(rois, res['proposals']):
        for joint in ((7, 9), (8, 10))[side]:
            x, y = kps[person, joint, :2] * [w, h]
            assert box[0] <= x <= box[2] and box[1] <= y <= box[3]


def test_stored_scores_are_normalised_and_never_nan():
    """Hand-worked rows: CPN scores 1.5, 0.5, 0.498, 1.0 are stored as 1, 0, 0, 0.5; a NaN score
    as 0; a NaN position at the box's centre with score 0. An unknown codec needs
    --score-range. Would catch raw or NaN scores reaching the keypoint file."""
    from mmengine.config import Config
    xy = np.array([[[10, 20], [30, 40], [50, 60], [70, 80], [90, 100], [np.nan, 5]]], float)
    score = np.array([[1.5, 0.5, 0.498, 1.0, np.nan, 1.2]])
    boxes = np.array([[100, 50, 300, 250]], float)
    out = extract_keypoints.stored_keypoints(xy, score, boxes, (400, 200), 0.5, 1.5)
    assert out.dtype == np.float32 and np.isfinite(out).all()
    np.testing.assert_allclose(out[0, :, 2], [1, 0, 0, 0.5, 0, 0], atol=1e-6)
    np.testing.assert_allclose(out[0, :5, :2], xy[0, :5] / [400, 200])
    np.testing.assert_allclose(out[0, 5, :2], [0.5, 0.75])  # centre (200, 150) of the box
    args = extract_keypoints.parse_args(['cfg.py', 'none', '--proposals', 'p', '--out', 'o',
                                         '--frames', 'f'])
    cfg = Config(dict(model=dict(head=dict(decoder=dict(type='SimCCLabel')))))
    with pytest.raises(ValueError, match="codec 'SimCCLabel'.*--score-range"):
        extract_keypoints.score_range(cfg, args)
    args.score_range = [0.0, 2.0]
    assert extract_keypoints.score_range(cfg, args) == (0.0, 2.0)
    cfg.model.head.decoder.type = 'MegviiHeatmap'
    args.score_range = None
    assert extract_keypoints.score_range(cfg, args) == (0.5, 1.5)
