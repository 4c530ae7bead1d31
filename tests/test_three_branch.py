"""Three Branches model (report 001): scene labels, masked LFB blocks, global branch, fusion,
bank-window loading, configs, and a real mmaction2 detector's loss/backward/predict on CPU."""
import math
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.structures import InstanceData

import ava_plugins  # noqa: F401  (compat first)
import ava_plugins.datasets.transforms.load_lfb_window  # noqa: F401  (registers)
import ava_plugins.models.losses.pose_softmax_focal_loss  # noqa: F401
import ava_plugins.models.roi_heads.shared_heads.three_branch_head  # noqa: F401
import ava_plugins.models.roi_heads.three_branch_roi_head  # noqa: F401
from mmaction.registry import MODELS, TRANSFORMS
from mmaction.structures import ActionDataSample
from mmaction.utils import register_all_modules
from ava_plugins.models.roi_heads.shared_heads.global_branch import (GlobalSceneBranch,
                                                                     scene_labels)
from ava_plugins.models.roi_heads.shared_heads.lfb_branch import LFBBranch
from ava_plugins.models.roi_heads.shared_heads.three_branch_head import ThreeBranchHead
from ava_plugins.structures import FeatureBankError, extract_bank
from third_party_data import LABEL_MAP_60

REPO = Path(__file__).resolve().parents[1]
register_all_modules()
torch.set_num_threads(2)


# ------------------------------------------------------------------------------ global branch
def test_scene_labels_are_union_of_person_labels():
    clip0 = torch.tensor([[0., 1., 0., 0., 1.], [0., 0., 1., 0., 1.]])  # column 0: background
    clip1 = torch.zeros(0, 5)  # no annotated person
    clip2 = torch.tensor([[1., 0., 0., 1., 0.]])
    got = scene_labels([clip0, clip1, clip2])
    assert got.tolist() == [[1., 1., 0., 1.], [0., 0., 0., 0.], [0., 0., 1., 0.]]
    assert scene_labels([clip2], background_class=False).tolist() == [[1., 0., 0., 1., 0.]]
    with pytest.raises(ValueError, match='num_classes'):
        scene_labels([clip0, torch.zeros(1, 4)])


def test_global_branch_pools_and_global_loss_by_hand():
    torch.manual_seed(0)
    branch = GlobalSceneBranch(in_channels=3, num_classes=2, dropout_ratio=0.5,
                               loss_weight=0.5).eval()
    feat = torch.randn(2, 3, 2, 4, 5)
    pooled, logits = branch(feat)
    torch.testing.assert_close(pooled, feat.mean(dim=(2, 3, 4)))
    torch.testing.assert_close(logits, pooled @ branch.fc_scene.weight.t() + branch.fc_scene.bias)
    targets = torch.tensor([[1., 0.], [1., 1.]])
    hand = 0.
    for z, t in zip(logits.detach().flatten().tolist(), targets.flatten().tolist()):
        p = 1 / (1 + math.exp(-z))
        hand += -math.log(p if t else 1 - p) / 4
    assert branch.loss(logits, targets).item() == pytest.approx(0.5 * hand, rel=1e-5)
    with pytest.raises(ValueError, match='scene targets'):
        branch.loss(logits, torch.zeros(2, 3))


# ------------------------------------------------------------------------------ LFB branch
def reference_lfb(branch, st, lt, mask, clip_ids):
    """Per-RoI loop over the valid slots only (no masking needed), eval mode."""
    outs = []
    for i in range(len(st)):
        b = int(clip_ids[i])
        s = branch.st_reduce(st[i:i + 1])
        keep = mask[b].nonzero()[:, 0]
        ltr = branch.lt_reduce(lt[b, keep])
        for blk in branch.blocks:
            if len(keep):
                logits = blk.theta(s) @ blk.phi(ltr).t() / math.sqrt(blk.channels)
                ctx = logits.softmax(-1) @ blk.g(ltr)
            else:
                ctx = torch.zeros_like(s)
            s = s + blk.out(torch.relu(blk.norm(ctx)))
        outs.append(s)
    return torch.cat(outs)


def make_lfb(seed=0):
    torch.manual_seed(seed)
    branch = LFBBranch(st_channels=6, lt_channels=5, latent_channels=4, num_blocks=2)
    branch.init_weights()
    return branch.eval()


def test_lfb_equals_per_roi_reference_over_valid_slots():
    branch = make_lfb()
    g = torch.Generator().manual_seed(1)
    st = torch.randn(5, 6, generator=g)
    lt = torch.randn(3, 10, 5, generator=g)
    mask = torch.rand(3, 10, generator=g) > 0.4
    mask[2] = False  # a clip whose window is empty
    clip_ids = torch.tensor([0, 1, 1, 2, 0])
    with torch.no_grad():
        got = branch(st, lt, mask, clip_ids)
        expected = reference_lfb(branch, st, lt, mask, clip_ids)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    assert got.shape == (5, 4)


def test_lfb_empty_slots_take_no_attention():
    """Filling empty slots with garbage (huge values, NaN, inf) changes nothing, outputs and
    gradients alike; filling a valid slot does change the output."""
    branch = make_lfb(2)
    g = torch.Generator().manual_seed(3)
    st = torch.randn(4, 6, generator=g)
    lt = torch.randn(2, 8, 5, generator=g)
    mask = torch.ones(2, 8, dtype=torch.bool)
    mask[0, 5:] = False
    mask[1, ::2] = False
    clip_ids = torch.tensor([0, 1, 0, 1])
    garbage = lt.clone()
    garbage[~mask] = torch.randn(int((~mask).sum()), 5, generator=g) * 1e4
    garbage[0, 6, 0] = float('nan')
    garbage[1, 0, 3] = float('inf')

    def run(lt_in):
        lt_in = lt_in.clone().requires_grad_(True)
        out = branch(st, lt_in, mask, clip_ids)
        out.sum().backward()
        return out.detach(), lt_in.grad, [p.grad.clone() for p in branch.parameters()]

    out_a, grad_a, pgrads_a = run(lt)
    branch.zero_grad()
    out_b, grad_b, pgrads_b = run(garbage)
    branch.zero_grad()
    torch.testing.assert_close(out_a, out_b, rtol=0, atol=0)
    torch.testing.assert_close(grad_a[mask], grad_b[mask], rtol=0, atol=0)
    assert (grad_b[~mask] == 0).all()
    for pa, pb in zip(pgrads_a, pgrads_b):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)
    changed = lt.clone()
    changed[0, 0] += 5.
    with torch.no_grad():
        assert not torch.allclose(branch(st, changed, mask, clip_ids)[[0, 2]], out_a[[0, 2]])
        torch.testing.assert_close(branch(st, changed, mask, clip_ids)[[1, 3]], out_a[[1, 3]])


def test_lfb_batch_of_clips_equals_clips_one_by_one():
    branch = make_lfb(4)
    g = torch.Generator().manual_seed(5)
    st = torch.randn(6, 6, generator=g)
    lt = torch.randn(3, 7, 5, generator=g)
    mask = torch.rand(3, 7, generator=g) > 0.3
    clip_ids = torch.tensor([2, 0, 1, 2, 0, 1])
    with torch.no_grad():
        batched = branch(st, lt, mask, clip_ids)
        for b in range(3):
            sel = clip_ids == b
            one = branch(st[sel], lt[b:b + 1], mask[b:b + 1])
            torch.testing.assert_close(batched[sel], one, rtol=1e-6, atol=1e-6)


def test_lfb_bad_shapes():
    branch = make_lfb()
    with pytest.raises(ValueError, match='mask must be'):
        branch(torch.zeros(2, 6), torch.zeros(1, 3, 5), torch.ones(1, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match='clip ids'):
        branch(torch.zeros(2, 6), torch.zeros(1, 3, 5), torch.ones(1, 3, dtype=torch.bool),
               torch.tensor([0, 1]))


# ------------------------------------------------------------------------------ fused head
@pytest.mark.parametrize('fusion', ['concat', 'sum'])
def test_three_branch_head_layout(fusion):
    torch.manual_seed(0)
    head = ThreeBranchHead(in_channels=6,
                           num_scene_classes=3,
                           fusion=fusion,
                           lfb=dict(lt_channels=5, latent_channels=4)).eval()
    head.init_weights()
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 6, 2, 3, 3, generator=g)
    feat = torch.randn(2, 6, 1, 4, 4, generator=g)
    rois = torch.tensor([[1, 0., 0., 5., 5.], [0, 1., 1., 3., 3.], [1, 2., 2., 4., 4.]])
    lt = torch.randn(2, 7, 5, generator=g)
    mask = torch.ones(2, 7, dtype=torch.bool)
    with torch.no_grad():
        fused, scene = head(x, feat, rois, lt, mask)
        person = x.mean(2).amax(dim=(2, 3))
        long_term = head.lfb(person, lt, mask, rois[:, 0].long())
    assert fused.shape == (3, head.out_channels, 1, 1, 1)
    fused = fused.flatten(1)
    pooled = feat.mean(dim=(2, 3, 4))[[1, 0, 1]]
    if fusion == 'concat':
        assert head.out_channels == 6 + 4 + 6
        torch.testing.assert_close(fused[:, :6], person)
        torch.testing.assert_close(fused[:, 6:10], long_term)
    else:
        assert head.out_channels == 6 + 6
        torch.testing.assert_close(fused[:, :6], person + head.lfb_proj(long_term))
    torch.testing.assert_close(fused[:, -6:], pooled)
    torch.testing.assert_close(scene, head.global_branch.fc_scene(feat.mean(dim=(2, 3, 4))))


def test_three_branch_head_without_branches():
    head = ThreeBranchHead(in_channels=6, with_global=False, with_lfb=False).eval()
    x = torch.randn(2, 6, 1, 3, 3)
    fused, scene = head(x, torch.randn(1, 6, 1, 4, 4), torch.zeros(2, 5))
    assert scene is None and head.out_channels == 6
    torch.testing.assert_close(fused.flatten(1), x.mean(2).amax(dim=(2, 3)))
    with pytest.raises(ValueError, match='LoadLFBWindow'):
        ThreeBranchHead(in_channels=6)(x, torch.randn(1, 6, 1, 4, 4), torch.zeros(2, 5))


# ------------------------------------------------------------------------------ bank window
@pytest.fixture(scope='module')
def bank(tmp_path_factory):
    """A bank written by the project's extraction loop: video 'v' has 0-3 persons a second
    over seconds 900..910, 4-d features equal to (second, person, 0, 1)."""
    root = tmp_path_factory.mktemp('lfb') / 'bank'

    def compute(video):
        ts, feats = [], []
        for sec in range(900, 911):
            for p in range(sec % 4):
                ts.append(sec)
                feats.append([sec - 900, p, 0., 1.])
        return np.array(ts), np.array(feats, dtype=np.float32), None

    extract_bank(str(root), ['v'], compute, rank=0, world_size=1, progress=False)
    return root


def test_load_lfb_window_reads_the_bank_window(bank):
    t = TRANSFORMS.build(dict(type='LoadLFBWindow', bank_dir=str(bank), half_width=2, max_items=2))
    out = t(dict(video_id='v', timestamp=909))
    feats, mask = out['lfb_feat'], out['lfb_mask']
    assert feats.shape == (5 * 2, 4) and feats.dtype == torch.float16
    # seconds 907..911: 3, 0, 1, 2, 0 persons (911 beyond the video); at most 2 kept
    assert mask.view(5, 2).tolist() == [[True, True], [False, False], [True, False], [True, True],
                                        [False, False]]
    assert feats.view(5, 2, 4)[0, 1].tolist() == [7., 1., 0., 1.]
    assert feats.view(5, 2, 4)[3, 1].tolist() == [10., 1., 0., 1.]
    assert (feats[~mask] == 0).all()
    clone = pickle.loads(pickle.dumps(t))
    torch.testing.assert_close(clone(dict(video_id='v', timestamp=909))['lfb_feat'], feats)
    with pytest.raises(FeatureBankError, match="'missing'"):
        t(dict(video_id='missing', timestamp=909))
    with pytest.raises(ValueError, match="'timestamp'"):
        t(dict(video_id='v'))


def test_window_reaches_the_roi_head_through_pack_action_inputs(bank):
    """LoadLFBWindow -> PackActionInputs(algorithm_keys) -> data-sample fields the head reads."""
    results = dict(imgs=np.zeros((1, 3, 2, 4, 4), np.float32),
                   video_id='v',
                   timestamp=905,
                   img_shape=(4, 4),
                   gt_bboxes=np.zeros((1, 4), np.float32),
                   gt_labels=np.zeros((1, 3), np.float32),
                   proposals=np.zeros((1, 4)))
    for cfg in (dict(type='LoadLFBWindow', bank_dir=str(bank)),
                dict(type='PackActionInputs', algorithm_keys=('lfb_feat', 'lfb_mask'))):
        results = TRANSFORMS.build(cfg)(results)
    sample = results['data_samples']
    assert sample.lfb_feat.shape == (61 * 5, 4) and int(sample.lfb_mask.sum()) == 15
    from ava_plugins.models.roi_heads.three_branch_roi_head import ThreeBranchRoIHead
    feats, masks = ThreeBranchRoIHead.bank_windows(
        type('H', (), dict(shared_head=type('S', (), dict(with_lfb=True))))(), [sample, sample])
    assert feats.shape == (2, 305, 4) and masks.dtype == torch.bool
    with pytest.raises(ValueError, match='LoadLFBWindow'):
        ThreeBranchRoIHead.bank_windows(
            type('H', (), dict(shared_head=type('S', (), dict(with_lfb=True))))(),
            [ActionDataSample()])


# ------------------------------------------------------------------------------ configs
AVA60 = [
    int(line.split(':')[0]) for line in LABEL_MAP_60.read_text().splitlines()
    if line.strip()
]
ABLATIONS = {
    'three_branch_slowfast_r101.py': (True, True, 'concat', 2.0, 5120),
    'three_branch_slowfast_r101_no_global.py': (False, True, 'concat', 2.0, 2816),
    'three_branch_slowfast_r101_no_lfb.py': (True, False, 'concat', 2.0, 4608),
    'three_branch_slowfast_r101_no_focal.py': (True, True, 'concat', 0.0, 5120),
    'three_branch_slowfast_r101_sum_fusion.py': (True, True, 'sum', 2.0, 4608),
}


def load(name):
    cfg = Config.fromfile(str(REPO / 'configs' / name))
    cfg.model.init_cfg = None
    return cfg


@pytest.mark.parametrize('name', sorted(ABLATIONS))
def test_recipe_and_ablation_values(name):
    with_global, with_lfb, fusion, gamma, width = ABLATIONS[name]
    cfg = load(name)
    rh = cfg.model.roi_head
    sh, bh = rh.shared_head, rh.bbox_head
    assert (sh.with_global, sh.with_lfb, sh.fusion) == (with_global, with_lfb, fusion)
    assert bh.loss_cls.type == 'PoseSoftmaxFocalLoss' and bh.loss_cls.gamma == gamma
    assert bh.class_ids == cfg.custom_classes == AVA60 and bh.pose_id_range == (1, 14)
    assert bh.dropout_ratio == 0.5 and bh.num_classes == 61 and sh.num_scene_classes == 60
    for path in ('slow_pathway', 'fast_pathway'):
        p = cfg.model.backbone[path]
        assert p.depth == 101 and p.dilations == (1, 1, 1, 2) and p.spatial_strides[-1] == 1
        assert p.norm_eval and p.norm_cfg.requires_grad is False
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.momentum, opt.weight_decay) == ('SGD', 0.9, 1e-7)
    assert cfg.val_dataloader.dataset.person_det_score_thr == 0.8
    kinds = [t.type for t in cfg.train_dataloader.dataset.pipeline]
    assert {'Flip', 'ColorJitter'} <= set(kinds) and rh.train_box_jitter > 0
    assert ('LoadLFBWindow' in kinds) == with_lfb
    if with_lfb:
        window = cfg.train_dataloader.dataset.pipeline[kinds.index('LoadLFBWindow')]
        assert (2 * window.half_width + 1) * window.max_items == 305
    # the classifier input width matches what the shared head produces
    head = ThreeBranchHead(**{k: v for k, v in sh.items() if k != 'type'})
    assert head.out_channels == bh.in_channels == width


@pytest.mark.parametrize('name', sorted(ABLATIONS))
def test_tiny_variants_mirror_the_ablations(name):
    with_global, with_lfb, fusion, gamma, _ = ABLATIONS[name]
    tiny = name.replace('three_branch_slowfast_r101', 'synthetic/three_branch_slowfast_tiny')
    cfg = load(tiny)
    sh, bh = cfg.model.roi_head.shared_head, cfg.model.roi_head.bbox_head
    assert (sh.with_global, sh.with_lfb, sh.fusion) == (with_global, with_lfb, fusion)
    assert bh.loss_cls.gamma == gamma and bh.num_classes == 12 and bh.pose_id_range == (1, 4)
    head = ThreeBranchHead(**{k: v for k, v in sh.items() if k != 'type'})
    assert head.out_channels == bh.in_channels
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        kinds = [t.type for t in loader.dataset.pipeline]
        assert ('LoadLFBWindow' in kinds) == with_lfb and kinds[-1] == 'PackActionInputs'
        assert loader.dataset.ann_file.startswith('data/synthetic_ava/')


def test_r101_builds():
    model = MODELS.build(load('three_branch_slowfast_r101.py').model)
    assert len(model.backbone.slow_path.layer3) == 23
    assert model.backbone.slow_path.layer4[0].conv2.conv.dilation == (1, 2, 2)
    bn = model.backbone.slow_path.layer1[0].conv1.bn
    assert not bn.weight.requires_grad
    assert len(model.roi_head.shared_head.lfb.blocks) == 2


def lr_trace(cfg, iterations, epoch_length):
    """lr at each of ``iterations`` from mmengine's real optimiser wrapper and param schedulers
    built from ``cfg`` as the Runner builds them (``epoch_length`` iterations per epoch)."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import PARAM_SCHEDULERS
    wrapper = build_optim_wrapper(torch.nn.Linear(1, 1), cfg.optim_wrapper)
    schedulers = [
        PARAM_SCHEDULERS.build(dict(s), default_args=dict(optimizer=wrapper,
                                                          epoch_length=epoch_length))
        for s in cfg.param_scheduler
    ]
    wanted, trace = set(iterations), {}
    for it in range(max(iterations) + 1):
        if it in wanted:
            trace[it] = wrapper.get_lr()['lr'][0]
        for s in schedulers:  # ParamSchedulerHook: after every iteration (by_epoch=False
            # or converted to iterations)
            s.step()
    return trace


@pytest.mark.filterwarnings('ignore:Detected call of `scheduler.step\(\)`')
def test_default_schedule_is_the_reports_ava_step_schedule():
    """The default recipe trains with the report's AVA fine-tuning schedule (§4: "26k
    iterations, with a learning rate of 0.016, which is decreased by a factor of 10 at
    iteration 16k, 21k", minibatch 64): mmengine's schedulers built from the config, stepped per
    iteration. Would have caught the old default (warm-up from 0.0016 then half-cosine over 8
    epochs: lr 0.0016 at iteration 0, no step at 16k)."""
    cfg = load('three_branch_slowfast_r101.py')
    assert cfg.train_cfg.type == 'IterBasedTrainLoop' and cfg.train_cfg.max_iters == 26000
    # 8 clips per GPU x 8 GPUs = the report's 64; auto_scale_lr rescales from 64 when enabled
    assert cfg.train_dataloader.batch_size * 8 == cfg.auto_scale_lr.base_batch_size == 64
    assert not cfg.default_hooks.checkpoint.by_epoch and not cfg.log_processor.by_epoch
    trace = lr_trace(cfg, [0, 1, 15999, 16000, 20999, 21000, 25999], epoch_length=3300)
    expected = {0: 0.016, 1: 0.016, 15999: 0.016, 16000: 0.0016, 20999: 0.0016,
                21000: 0.00016, 25999: 0.00016}
    assert trace == pytest.approx(expected, rel=1e-9)


@pytest.mark.filterwarnings('ignore:Detected call of `scheduler.step\(\)`')
def test_cosine_ablation_keeps_warmup_half_cosine():
    """``three_branch_slowfast_r101_cosine.py`` keeps the former default: one epoch of linear
    warm-up from lr / 10, then half-cosine to 0 at the end of epoch 8 (10 iterations an epoch
    here). Would have caught the ablation being lost when the default moved to steps."""
    cfg = load('three_branch_slowfast_r101_cosine.py')
    assert cfg.train_cfg.type == 'EpochBasedTrainLoop' and cfg.train_cfg.max_epochs == 8
    trace = lr_trace(cfg, [0, 5, 10, 45, 79], epoch_length=10)
    half_cosine = [0.008 * (1 + math.cos(math.pi * (it - 10) / 70)) for it in (45, 79)]
    # mmengine's LinearLR reaches the full lr at its last iteration (9 of 0-9)
    assert trace == pytest.approx({0: 0.0016, 5: 0.0016 + 0.0144 * 5 / 9, 10: 0.016,
                                   45: half_cosine[0], 79: half_cosine[1]}, rel=1e-6)


def alphaction_loss(logits, labels, class_ids, pose_weight=1.2, gamma=2.0):
    """AlphAction's action loss restated (github.com/MVIG-SJTU/AlphAction: ``loss.py``
    ``ActionLossComputation``, ``csrc/cuda/{Softmax,Sigmoid}FocalLoss_cuda.cu``, defaults in
    ``config/defaults.py``), one box at a time with ``math``: ``alpha < 0`` (no alpha weight);
    pose softmax focal term ``-(1 - p_t)^gamma log p_t`` at the ``argmax`` pose label, summed
    over boxes and weighted by ``POSE_LOSS_WEIGHT``; sigmoid focal element ``-(1 - p)^gamma
    log p`` (positive) or ``-p^gamma log(1 - p)`` (negative), averaged over the object (person)
    columns per box, summed over boxes and weighted by ``OBJECT_LOSS_WEIGHT`` (``PERSON_...``)
    = their class counts; every term divided by the number of boxes, the trainer sums them."""
    pose = [k for k, c in enumerate(class_ids) if 1 <= c <= 14]
    obj = [k for k, c in enumerate(class_ids) if 15 <= c <= 63]
    per = [k for k, c in enumerate(class_ids) if c >= 64]
    n = len(logits)
    pose_sum = obj_sum = per_sum = 0.
    for x, y in zip(logits, labels):
        z = [math.exp(x[k]) for k in pose]
        t = max(range(len(pose)), key=lambda j: y[pose[j]])  # argmax, first on ties
        p_t = z[t] / sum(z)
        pose_sum += -(1 - p_t)**gamma * math.log(p_t)
        for cols, acc in ((obj, 'o'), (per, 'p')):
            row = 0.
            for k in cols:
                p = 1 / (1 + math.exp(-x[k]))
                row += (-(1 - p)**gamma * math.log(p) if y[k] else -p**gamma * math.log(1 - p))
            if acc == 'o':
                obj_sum += row / len(cols)
            else:
                per_sum += row / len(cols)
    return (pose_weight * pose_sum / n + len(obj) * obj_sum / n + len(per) * per_sum / n)


def test_action_loss_equals_alphaction_on_a_hand_made_batch():
    """The recipe's action loss, through the config's RoI head (mmaction2's ``MaxIoUAssignerAVA``
    and ``RandomSampler`` from ``train_cfg``, the config's ``PoseSoftmaxBBoxHeadAVA`` and its
    loss), equals AlphAction's restated formula on three hand-labelled persons of two clips:
    ``(1.2 x sum of pose terms + sum of sigmoid terms) / 3``. Negative proposals take no part,
    as in AlphAction (trained on GT boxes). Would have caught the mean over the n x 60 elements
    (60x smaller) and the missing pose weight."""
    from mmdet.registry import MODELS as MMDET_MODELS
    from mmdet.structures.bbox import bbox2roi
    cfg = load('three_branch_slowfast_r101.py')
    head = MMDET_MODELS.build(dict(cfg.model.roi_head, train_cfg=cfg.model.train_cfg.rcnn,
                                   _scope_='mmdet'))
    ids = cfg.custom_classes
    col = {c: k + 1 for k, c in enumerate(ids)}  # AVA id -> label column (0: background)
    persons = [  # (clip, box, AVA ids): one pose label each, objects and interactions
        (0, [10., 10., 60., 120.], [11, 17, 80]),
        (0, [100., 20., 160., 140.], [1, 59, 74, 79]),
        (1, [30., 5., 90., 100.], [12, 64]),
    ]
    sampling = []
    for clip in (0, 1):
        mine = [p for p in persons if p[0] == clip]
        labels = torch.zeros(len(mine), len(ids) + 1)
        for i, (_, _, act) in enumerate(mine):
            labels[i, [col[a] for a in act]] = 1
        gt = InstanceData(bboxes=torch.tensor([p[1] for p in mine]), labels=labels)
        # two detections far (IoU < 0.9) from every person: negatives, no loss term
        props = InstanceData(priors=torch.tensor([[0., 150., 40., 200.], [200., 0., 250., 60.]]))
        assign = head.bbox_assigner.assign(props, gt, None)
        sampling.append(head.bbox_sampler.sample(assign, props, gt))
    rois = bbox2roi([r.priors for r in sampling])
    g = torch.Generator().manual_seed(0)
    cls_score = torch.randn(len(rois), len(ids) + 1, generator=g) * 2
    got = head.bbox_head.loss_and_target(cls_score, rois, sampling,
                                         head.train_cfg)['loss_bbox']['loss_action_cls']
    # the reference: rows whose box is a person's box, with that person's labels
    logits, labels = [], []
    for row, roi in enumerate(rois.tolist()):
        match = [p for p in persons if p[0] == int(roi[0]) and p[1] == roi[1:]]
        if match:
            y = [0] * len(ids)
            for a in match[0][2]:
                y[ids.index(a)] = 1
            logits.append(cls_score[row, 1:].tolist())
            labels.append(y)
    assert len(logits) == 3
    expected = alphaction_loss(logits, labels, ids)
    assert got.item() == pytest.approx(expected, rel=1e-5)


def tiny_nl_backbone(cfg):
    """The config's SlowFast backbone settings with narrow channels (slow 8, fast 1 base
    channels), so that the R101 depth and the non-local layout are kept on CPU."""
    bb = cfg.model.backbone.copy()
    bb.slow_pathway = dict(bb.slow_pathway, base_channels=8)
    bb.fast_pathway = dict(bb.fast_pathway, base_channels=1)
    return bb


def test_nl_config_puts_non_local_blocks_where_configured_and_runs():
    """``three_branch_slowfast_r101_nl.py``: mmaction2's ResNet3dSlowFast built from it (and
    initialised as in training) holds NonLocal3d blocks exactly in slow res3 blocks 0, 2 and
    res4 blocks 0, 2, 4 (none in the fast pathway), runs forward on a tiny clip, and the blocks
    are residual additions on the path: with their output BN zeroed it equals the plain backbone
    with the same weights, as initialised it differs. Would have caught: no non-local blocks
    (the old recipe had none although the report uses them), keys ResNet3d ignores, or blocks
    built but never reached."""
    from mmcv.cnn import NonLocal3d
    cfg = load('three_branch_slowfast_r101_nl.py')
    torch.manual_seed(0)
    nl = MODELS.build(tiny_nl_backbone(cfg))
    nl.init_weights()
    blocks = {name: m for name, m in nl.named_modules() if isinstance(m, NonLocal3d)}
    assert sorted(blocks) == [f'slow_path.layer{s}.{b}.non_local_block'
                              for s, b in ((2, 0), (2, 2), (3, 0), (3, 2), (3, 4))]
    assert len(nl.slow_path.layer3) == 23
    plain = MODELS.build(tiny_nl_backbone(load('three_branch_slowfast_r101.py')))
    missing, unexpected = plain.load_state_dict(nl.state_dict(), strict=False)
    assert not missing and unexpected and all('non_local_block' in k for k in unexpected)
    nl.eval(), plain.eval()
    x = torch.randn(1, 3, 16, 64, 64)
    with torch.no_grad():
        ref = plain(x)
        out = nl(x)
        assert [o.shape for o in out] == [r.shape for r in ref]
        assert not torch.allclose(out[0], ref[0])
        for m in blocks.values():
            m.conv_out.norm.weight.zero_()
            m.conv_out.norm.bias.zero_()
        for o, r in zip(nl(x), ref):
            torch.testing.assert_close(o, r)


def make_batch(num_clips, size, frames, num_classes, window, channels, seed=0):
    """Random clips with two gt persons each and random bank windows with empty slots."""
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for i in range(num_clips):
        inputs.append(
            torch.randint(0, 256, (3, frames, size, size), generator=g, dtype=torch.uint8))
        boxes = torch.tensor([[2., 4., size * 0.5, size - 2.],
                              [size * 0.4, 1., size - 3., size * 0.9]])
        labels = torch.zeros(2, num_classes)
        labels[0, [1, num_classes - 1]] = 1
        labels[1, [3, num_classes - 2]] = 1
        sample = ActionDataSample()
        sample.set_metainfo(dict(img_shape=(size, size), img_key=f'v{i},0902'))
        sample.gt_instances = InstanceData(bboxes=boxes, labels=labels)
        sample.proposals = InstanceData(bboxes=boxes + torch.tensor([1., -1., 1., 0.]))
        sample.set_field(torch.randn(window, channels, generator=g).half(), 'lfb_feat')
        sample.set_field(torch.rand(window, generator=g) > 0.5, 'lfb_mask')
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def test_tiny_synthetic_loss_backward_predict_on_cpu():
    cfg = load('synthetic/three_branch_slowfast_tiny.py')
    assert cfg.train_dataloader.dataset.custom_classes is None
    kinds = [t.type for t in cfg.train_dataloader.dataset.pipeline]
    assert kinds[-2:] == ['LoadLFBWindow', 'PackActionInputs']
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    head = model.roi_head
    assert head.bbox_head.pose_mask.nonzero()[:, 0].tolist() == [1, 2, 3, 4]
    assert head.bbox_head.loss_cls.pose_mask.nonzero()[:, 0].tolist() == [0, 1, 2, 3]
    channels = cfg.feat_channels
    batch = make_batch(2, 64, 8, 12, 305, channels)
    data = model.data_preprocessor(batch, True)
    model.train()
    losses = model(**data, mode='loss')
    for key in ('loss_action_cls', 'loss_global'):
        assert torch.isfinite(losses[key]) and losses[key] > 0
    # the global loss is the scene BCE of the union of the two persons' labels
    scene = scene_labels([s.gt_instances.labels for s in batch['data_samples']])
    assert scene[0].nonzero()[:, 0].tolist() == [0, 2, 9, 10]
    (losses['loss_action_cls'] + losses['loss_global']).backward()
    for name, p in head.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(make_batch(1, 64, 8, 12, 305, channels, seed=1), False)
        pred = model(**data, mode='predict')[0].pred_instances
        # garbage in the empty bank slots changes no score
        data['data_samples'][0].lfb_feat[~data['data_samples'][0].lfb_mask] = 1e4
        pred2 = model(**data, mode='predict')[0].pred_instances
    assert pred.scores.shape == (2, 12)
    torch.testing.assert_close(pred.scores[:, 1:5].sum(1), torch.ones(2))
    torch.testing.assert_close(pred.scores, pred2.scores, rtol=0, atol=0)


def test_roi_box_jitter_bounds():
    cfg = load('synthetic/three_branch_slowfast_tiny.py')
    rh_cfg = cfg.model.roi_head.copy()
    rh_cfg.update(_scope_='mmdet', train_box_jitter=0.2)
    from mmdet.registry import MODELS as MMDET_MODELS
    head = MMDET_MODELS.build(rh_cfg)
    rois = torch.tensor([[0, 10., 10., 30., 50.], [1, 0., 0., 40., 20.]]).repeat(50, 1)
    torch.manual_seed(0)
    out = head.jitter_rois(rois, [dict(img_shape=(60, 60)), dict(img_shape=(20, 40))])
    assert (out[:, 0] == rois[:, 0]).all()
    wh = (rois[:, 3:] - rois[:, 1:3]).repeat(1, 2)
    shift = (out[:, 1:] - rois[:, 1:]).abs()
    assert (shift <= 0.2 * wh + 1e-5).all() and shift.max() > 0.1 * wh.min()
    assert (out[1::2, 1:] >= 0).all() and (out[1::2, [3]] <= 40).all()
    assert (out[1::2, [4]] <= 20).all()
    assert torch.equal(head.jitter_rois(rois[:0], []), rois[:0])
    with pytest.raises(ValueError, match='train_box_jitter'):
        MMDET_MODELS.build(dict(rh_cfg, train_box_jitter=0.7))
