"""CPN (Chen et al., CVPR 2018) as an mmpose 1.x model: ``CPNHead`` (GlobalNet + RefineNet).

Shapes and the top-down pyramid's data flow, hand-worked GlobalNet and hard-keypoint (OHKM)
losses, the official initialisation, the config's codecs, a few iterations through mmpose's
real Runner on a COCO-format set written here, and ``init_model`` + ``inference_topdown``.
"""
import json
import math
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import ava_plugins  # noqa: F401  (registers CPNHead into mmpose's MODELS)
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData, PixelData
from mmpose.registry import MODELS
from mmpose.structures import MultilevelPixelData, PoseDataSample

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / 'configs' / 'cpn_r50_coco_256x192.py'
R18 = (64, 128, 256, 512)
K = 17


@pytest.fixture(autouse=True)
def mmpose_scope():
    """Every test here builds from mmpose's registries (conftest restores the scope after)."""
    init_default_scope('mmpose')


@pytest.fixture
def one_torch_thread():
    """Two threads on two shared cores spin against each other (10x slower here)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _head(**kwargs):
    cfg = dict(type='CPNHead', in_channels=R18, out_shape=(16, 12), channels=32)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _sample(heatmaps, weights):
    """A PoseDataSample with single-level (``heatmaps`` (K, H, W)) or multilevel (list) targets."""
    if isinstance(heatmaps, list):
        fields = MultilevelPixelData()
        fields.set_field([torch.as_tensor(h, dtype=torch.float32) for h in heatmaps], 'heatmaps')
        w = torch.as_tensor(np.stack(weights), dtype=torch.float32)[:, None]  # (L, 1, K)
    else:
        fields = PixelData(heatmaps=torch.as_tensor(heatmaps, dtype=torch.float32))
        w = torch.as_tensor(weights, dtype=torch.float32)[None]  # (1, K)
    return PoseDataSample(gt_fields=fields, gt_instance_labels=InstanceData(keypoint_weights=w))


def _tiny_cfg(work_dir) -> Config:
    """The real config with a ResNet-18, a 32-channel head and a 64x48 input (16x12 heatmaps)."""
    cfg = Config.fromfile(str(CONFIG))
    codec = [dict(c, input_size=(48, 64), heatmap_size=(12, 16)) for c in cfg.codec]
    cfg.model.backbone.update(depth=18, init_cfg=None)
    cfg.model.head.update(in_channels=R18, channels=32, out_shape=(16, 12), decoder=codec[-1])
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for step in cfg[loader].dataset.pipeline:
            if step.type == 'TopdownAffine':
                step.input_size = (48, 64)
            if step.type == 'GenerateTarget':
                step.encoder = codec
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'cpn_{uuid.uuid4().hex[:8]}'
    cfg.visualizer.name = cfg.experiment_name
    return cfg


# A standing figure in its box's unit square, COCO keypoint order.
_FIGURE = np.array([
    (.50, .10),
    (.55, .07),
    (.45, .07),
    (.60, .09),
    (.40, .09),  # nose, eyes, ears
    (.68, .25),
    (.32, .25),
    (.78, .42),
    (.22, .42),
    (.82, .57),
    (.18, .57),  # arms
    (.60, .58),
    (.40, .58),
    (.62, .78),
    (.38, .78),
    (.63, .97),
    (.37, .97)  # legs
])
_BONES = [(5, 7), (7, 9), (6, 8), (8, 10), (5, 6), (5, 11), (6, 12), (11, 12), (11, 13), (13, 15),
          (12, 14), (14, 16), (0, 5), (0, 6)]


def _make_tiny_coco(root: Path, num_images: int = 2, seed: int = 0) -> Path:
    """Images with two drawn figures each and their ``person_keypoints`` json (COCO format)."""
    rng = np.random.default_rng(seed)
    (root / 'images').mkdir(parents=True)
    images, anns = [], []
    for i in range(num_images):
        img = rng.integers(40, 90, (128, 160, 3), dtype=np.uint8)
        for j, x0 in enumerate((10, 85)):
            box = np.array([x0 + rng.uniform(-4, 4), 10 + rng.uniform(-4, 4), 60, 110])
            kpts = box[:2] + (_FIGURE + rng.uniform(-.03, .03, _FIGURE.shape)) * box[2:]
            for a, b in _BONES:
                cv2.line(img, tuple(map(int, kpts[a])), tuple(map(int, kpts[b])), (230, 230, 230),
                         3)
            for k, (x, y) in enumerate(kpts):
                cv2.circle(img, (int(x), int(y)), 3, (40 + 12 * k, 255 - 12 * k, 128), -1)
            vis = np.full(K, 2)
            if j == 1:
                vis[3:5] = 0  # ears not labelled
            flat = np.concatenate([kpts * (vis[:, None] > 0), vis[:, None]], 1).ravel()
            anns.append(
                dict(id=len(anns) + 1,
                     image_id=i + 1,
                     category_id=1,
                     iscrowd=0,
                     keypoints=flat.round(2).tolist(),
                     num_keypoints=int((vis > 0).sum()),
                     bbox=box.round(2).tolist(),
                     area=float(box[2] * box[3])))
        cv2.imwrite(str(root / 'images' / f'{i:03d}.jpg'), img)
        images.append(dict(id=i + 1, file_name=f'{i:03d}.jpg', height=128, width=160))
    names = [
        'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder',
        'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_hip',
        'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle'
    ]
    ann_file = root / 'person_keypoints.json'
    ann_file.write_text(
        json.dumps(
            dict(images=images,
                 annotations=anns,
                 categories=[
                     dict(id=1,
                          name='person',
                          supercategory='person',
                          keypoints=names,
                          skeleton=[[a + 1, b + 1] for a, b in _BONES])
                 ])))
    return ann_file


def test_forward_shapes_and_top_down_flow(one_torch_thread):
    """Every GlobalNet level and RefineNet at the output size; the pyramid flows top-down only."""
    model = MODELS.build(_tiny_cfg('/unused').model)
    model.eval()
    head = model.head
    assert [len(s) for s in head.refine_net.stacks] == [0, 1, 2, 3]  # paper: fine to coarse
    img = torch.randn(2, 3, 64, 48)
    with torch.no_grad():
        feats = model.extract_feat(img)
        assert [tuple(f.shape) for f in feats] == [(2, 64, 16, 12), (2, 128, 8, 6), (2, 256, 4, 3),
                                                   (2, 512, 2, 2)]
        levels, global_heatmaps = head.global_net(feats)
        global_heatmaps2, refined = head(feats)
        assert [tuple(x.shape) for x in levels] == [(2, 32, 16, 12), (2, 32, 8, 6), (2, 32, 4, 3),
                                                    (2, 32, 2, 2)]
        assert [tuple(h.shape) for h in global_heatmaps] == [(2, K, 16, 12)] * 4
        assert tuple(refined.shape) == (2, K, 16, 12)
        torch.testing.assert_close(global_heatmaps2[0], global_heatmaps[0])
        # the coarsest level is the lateral of C5 alone
        torch.testing.assert_close(levels[3], head.global_net.laterals[3](feats[3]))
        # changing C2 changes only the finest pyramid level; changing C5 changes all of them
        bumped = list(feats)
        bumped[0] = feats[0] + 1.
        levels_c2 = head.global_net.pyramid(bumped)
        assert not torch.allclose(levels_c2[0], levels[0])
        for a, b in zip(levels_c2[1:], levels[1:]):
            torch.testing.assert_close(a, b)
        bumped = list(feats)
        bumped[3] = feats[3] + 1.
        assert all(not torch.allclose(a, b)
                   for a, b in zip(head.global_net.pyramid(bumped), levels))
        # the test-time path (RefineNet only) gives RefineNet's training-path output
        torch.testing.assert_close(head._refined(feats), refined)


def test_refine_loss_keeps_the_8_hardest_keypoints():
    """OHKM: per-keypoint losses known -> the 8 largest labelled ones, averaged over 8."""
    head = _head()
    H, W = 4, 3
    c0 = np.arange(1, K + 1, dtype=np.float32)  # sample 0: keypoint k has loss (k+1)^2
    c1 = np.full(K, 100., dtype=np.float32)  # sample 1: only keypoints 0-4 labelled
    c1[:5] = np.arange(1, 6)
    w0, w1 = np.ones(K), (np.arange(K) < 5).astype(float)
    samples = [_sample(np.tile(c[:, None, None], (1, H, W)), w) for c, w in ((c0, w0), (c1, w1))]
    refined = torch.zeros(2, K, H, W, requires_grad=True)
    globals_ = [torch.zeros(2, K, H, W) for _ in range(4)]
    losses = head.loss_by_heatmaps(globals_, refined, samples)
    # by hand: sample 0 keeps 10^2..17^2 = 1500 -> 187.5; sample 1 keeps 1+4+9+16+25 = 55
    # (plus three zero losses of unlabelled keypoints) -> 6.875; mean 97.1875
    assert losses['loss_refine'].item() == pytest.approx(97.1875)
    losses['loss_refine'].backward()
    hard = refined.grad.abs().flatten(2).sum(2) > 0
    assert hard[0].nonzero().flatten().tolist() == list(range(9, 17))
    assert hard[1].nonzero().flatten().tolist() == [0, 1, 2, 3, 4]


def test_global_loss_is_the_sum_over_levels():
    """Per-level L2 losses with their own target level, summed (hand-worked tiny case)."""
    H, W = 2, 2
    a = [1., 2., 3., 4.]  # constant prediction per level
    t = [0., 0., 1., 1.]  # constant target per target level
    w = np.ones(K)
    w[:9] = 0  # 8 labelled keypoints
    targets = [np.full((K, H, W), v, np.float32) for v in t]
    sample = _sample(targets, [w] * 4)
    globals_ = [torch.full((1, K, H, W), v) for v in a]
    refined = torch.zeros(1, K, H, W)

    # the official loss (default): unlabelled keypoints count too, weight 1/8 per level
    head = _head(global_target_levels=(0, 1, 2, 3), refine_target_level=3)
    got = head.loss_by_heatmaps(globals_, refined, [sample])['loss_global'].item()
    assert got == pytest.approx((1 + 4 + 4 + 9) / 8)  # 2.25
    # weighted per-keypoint L2, weight 1: the labelled fraction of each level's mean
    head = _head(global_target_levels=(0, 1, 2, 3),
                 refine_target_level=3,
                 global_loss=dict(type='KeypointMSELoss', use_target_weight=True))
    got = head.loss_by_heatmaps(globals_, refined, [sample])['loss_global'].item()
    assert got == pytest.approx(18 * 8 / K)
    # one loss per level: weights 1, 0, 0, 2 -> 1 + 2 * 9
    head = _head(global_target_levels=(0, 1, 2, 3),
                 refine_target_level=3,
                 global_loss=[dict(type='KeypointMSELoss', loss_weight=v) for v in (1, 0, 0, 2)])
    got = head.loss_by_heatmaps(globals_, refined, [sample])['loss_global'].item()
    assert got == pytest.approx(19.)


def test_bad_inputs_name_what_is_wrong():
    head = _head()
    feats = [torch.zeros(1, c, 2, 2) for c in R18]
    with pytest.raises(ValueError, match='expects 4 backbone levels'):
        head(feats[:3])
    with pytest.raises(ValueError, match=r'in_channels=\[64, 128, 256, 512\]'):
        head([torch.zeros(1, 32, 2, 2)] + feats[1:])
    with pytest.raises(ValueError, match='GenerateTarget'):
        head.loss(feats, [PoseDataSample()])
    sample = _sample(np.zeros((K, 16, 12)), np.ones(K))
    with pytest.raises(ValueError, match='multilevel=True'):
        _head(global_target_levels=(0, 1, 2, 3)).loss(feats, [sample])
    with pytest.raises(ValueError, match='refine_num_blocks'):
        _head(refine_num_blocks=(0, 1, 2))


def test_initialisation_follows_the_official_code():
    """Xavier for GlobalNet and heatmap convs, He (fan-in) for RefineNet's bottlenecks."""
    torch.manual_seed(0)
    head = MODELS.build(dict(type='CPNHead', in_channels=R18, out_shape=(16, 12)))
    head.init_weights()

    def std(conv):
        return conv.weight.std().item()

    def fans(conv):
        rf = conv.weight[0, 0].numel()
        return conv.weight.shape[1] * rf, conv.weight.shape[0] * rf

    for conv in (head.global_net.laterals[3].conv, head.global_net.merges[0].conv,
                 head.refine_net.heatmap[0]):
        fan_in, fan_out = fans(conv)
        assert std(conv) == pytest.approx(math.sqrt(2 / (fan_in + fan_out)), rel=0.05)
    for conv in (head.refine_net.stacks[3][2].conv2, head.refine_net.final.conv1):
        assert std(conv) == pytest.approx(math.sqrt(2 / fans(conv)[0]), rel=0.05)


def test_config_targets_are_the_official_labels():
    """The config's codecs give tf-cpn's labels: cv2 Gaussian kernels 15/11/9/7, peak 255."""
    from mmpose.codecs import MegviiHeatmap
    cfg = Config.fromfile(str(CONFIG))
    assert [c.kernel_size for c in cfg.codec] == [15, 11, 9, 7]
    assert cfg.model.head.decoder == cfg.codec[-1]
    assert cfg.model.head.global_target_levels == (0, 1, 2, 3)
    assert cfg.model.head.refine_target_level == 3
    kpts = np.array([[[81., 123.]]])  # heatmap pixel (x, y) = (20, 30)
    for c in cfg.codec:
        codec = MegviiHeatmap(**{k: v for k, v in c.items() if k != 'type'})
        hm = codec.encode(kpts, np.ones((1, 1)))['heatmaps'][0]
        g = cv2.getGaussianKernel(c.kernel_size, 0)
        r = c.kernel_size // 2
        expected = np.zeros((64, 48))
        expected[30 - r:31 + r, 20 - r:21 + r] = g @ g.T / g.max()**2 * 255
        np.testing.assert_allclose(hm, expected, atol=1e-3)


def test_runner_trains_on_a_tiny_coco_set(tmp_path, one_torch_thread):
    """mmpose's real Runner, dataset and pipeline on a fixed batch: both losses go down.

    The random augmentations are left out so that every iteration sees the same batch and the
    losses must fall monotonically. They fall slowly: the heatmap layers end in BN (official),
    so the output scale grows by about Adam's lr per step towards the 0-255 targets.
    """
    from mmengine.runner import Runner
    ann_file = _make_tiny_coco(tmp_path / 'coco')
    cfg = _tiny_cfg(tmp_path / 'work')
    cfg.train_dataloader.update(batch_size=4, num_workers=0, persistent_workers=False)
    dataset = cfg.train_dataloader.dataset
    dataset.update(data_root=str(tmp_path / 'coco'),
                   ann_file=ann_file.name,
                   data_prefix=dict(img='images/'))
    dataset.pipeline = [s for s in dataset.pipeline if not s.type.startswith('Random')]
    assert [s.type for s in dataset.pipeline] == [
        'LoadImage', 'GetBBoxCenterScale', 'TopdownAffine', 'GenerateTarget', 'PackPoseInputs'
    ]
    cfg.train_cfg = dict(by_epoch=True, max_epochs=12, val_interval=1000)  # 1 iteration each
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.param_scheduler = None
    cfg.optim_wrapper.optimizer.lr = 1e-2
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1000)
    cfg.randomness = dict(seed=0)
    runner = Runner.from_cfg(cfg)
    runner.train()
    hub = runner.message_hub
    total = hub.get_scalar('train/loss').data[0]
    assert len(total) == 12 and np.isfinite(total).all()
    for key in ('train/loss_global', 'train/loss_refine'):
        history = hub.get_scalar(key).data[0]
        assert (np.diff(history) < 0).all(), (key, history)
    assert total[-1] < 0.98 * total[0], total
    # 0-255 targets: zero heatmaps would cost about mean(target^2), i.e. thousands here
    assert 1000 < total[0] < 10000


def test_init_model_and_inference_topdown(one_torch_thread):
    """mmpose's inference API on the real config: 17 keypoints per box, inside its crop."""
    from mmpose.apis import inference_topdown, init_model
    torch.manual_seed(0)
    model = init_model(str(CONFIG), None, device='cpu')
    assert type(model.head).__name__ == 'CPNHead'
    assert model.dataset_meta['num_keypoints'] == K
    img = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    bboxes = np.array([[10, 20, 110, 220], [150, 40, 300, 120]], dtype=np.float32)
    results = inference_topdown(model, img, bboxes)
    assert len(results) == 2
    for result, (x1, y1, x2, y2) in zip(results, bboxes):
        kpts = result.pred_instances.keypoints
        scores = result.pred_instances.keypoint_scores
        assert kpts.shape == (1, K, 2) and scores.shape == (1, K)
        # the crop: the box padded by 1.25 and widened/heightened to 192:256
        w, h = (x2 - x1) * 1.25, (y2 - y1) * 1.25
        w, h = max(w, h * 0.75), max(h, w / 0.75)
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        # a heatmap with no positive value decodes to mmpose's invalid marker (score <= 0.5)
        valid = scores[0] > 0.5
        assert valid.sum() >= K // 2
        assert (np.abs(kpts[0, valid, 0] - cx) <= w / 2 + 1e-3).all()
        assert (np.abs(kpts[0, valid, 1] - cy) <= h / 2 + 1e-3).all()
