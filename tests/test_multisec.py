"""Multi-sec (ByteDance AI Lab, AVA 2019): what the 1:3 sampler passes to the loss, stage-1 and
stage-2 heads, tube data, the stage-2 detector's gradients and every config's CPU forward."""
import logging
import os
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

import ava_plugins  # noqa: F401
from ava_plugins.datasets.transforms.load_tube_res4 import (LoadTubeRes4, clip_offsets,
                                                            nearest_valid)
from ava_plugins.models.roi_heads.shared_heads import MultiSecBaselineHead, MultiSecHead
from ava_plugins.structures import FeatureBank, link_tubes, pairwise_iou
from multisec_support import REPO, synthetic_options

STAGE2_TINY = os.path.join(REPO, 'configs/synthetic/multisec_t5_slowfast_tiny.py')


# ------------------------------------------------------------------------ what reaches the loss
def proposals_with_iou(gt, ious):
    """Boxes sharing ``gt``'s top-left corner and height whose IoU with ``gt`` is ``ious``."""
    x1, y1, x2, y2 = gt
    w = (x2 - x1) * np.asarray(ious)  # width scaled: IoU = w' / w for a box inside gt
    return np.stack([np.full_like(w, x1), np.full_like(w, y1), x1 + w, np.full_like(w, y2)], 1)


GTS = np.array([[5., 4., 45., 76.], [80., 2., 136., 78.]])  # pixels of an 80 x 142 frame
GT_LABELS = torch.zeros(2, 12)
GT_LABELS[0, 1] = GT_LABELS[0, 3] = GT_LABELS[1, 2] = 1


def proposal_set():
    """16 + 8 positives (IoU 0.51 .. 1), 50 + 30 negatives (IoU 0.05 .. 0.49), shuffled."""
    pos = np.concatenate([proposals_with_iou(GTS[0], np.linspace(0.51, 1, 16)),
                          proposals_with_iou(GTS[1], np.linspace(0.51, 1, 8))])
    neg = np.concatenate([proposals_with_iou(GTS[0], np.linspace(0.05, 0.49, 50)),
                          proposals_with_iou(GTS[1], np.linspace(0.05, 0.49, 30))])
    return torch.from_numpy(np.concatenate([neg[:40], pos, neg[40:]])).float()


def hand_targets(boxes):
    """Multi-hot target of each box by hand: its best ground truth's labels if IoU >= 0.5."""
    iou = pairwise_iou(boxes.numpy().astype(np.float64), GTS)
    best, arg = iou.max(1), iou.argmax(1)
    return torch.where(torch.from_numpy(best >= 0.5)[:, None], GT_LABELS[arg], 0.)


def roi_head_on_real_stack(stage):
    """The config's roi head (real assigner, sampler, RoIAlign, heads), a clip's features, a
    data sample with the proposals and ground truths, and hooks that catch the RoIs and logits
    entering the bbox head's loss."""
    from mmaction.structures import ActionDataSample
    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    name = 'multisec_baseline_slowfast_tiny.py' if stage == 1 else 'multisec_t5_slowfast_tiny.py'
    cfg = Config.fromfile(os.path.join(REPO, 'configs/synthetic', name))
    roi_cfg = cfg.model.roi_head.copy()
    roi_cfg.update(train_cfg=cfg.model.train_cfg.rcnn, test_cfg=cfg.model.test_cfg.rcnn)
    torch.manual_seed(0)
    head = MODELS.build(roi_cfg)
    head.init_weights()
    clips = 1 if stage == 1 else 5
    x = (torch.randn(clips, 128, 2, 5, 9), torch.randn(clips, 16, 8, 5, 9))
    caught = {}
    head.bbox_roi_extractor.register_forward_pre_hook(
        lambda m, args: caught.__setitem__('rois', args[1]))

    def keep_logits(module, args, out):
        out.retain_grad()
        caught['logits'] = out
        return out + caught.get('shift', 0)

    head.bbox_head.register_forward_hook(keep_logits)

    def loss(boxes):
        sample = ActionDataSample()
        sample.set_metainfo(dict(img_shape=(80, 142), img_key='v,0902'))
        sample.gt_instances = InstanceData(bboxes=torch.from_numpy(GTS).float(),
                                           labels=GT_LABELS.clone())
        if stage == 2:  # a static tube per proposal
            sample.tube_boxes = boxes[:, None].repeat(1, 5, 1)
            sample.tube_clips = torch.arange(5).repeat(len(boxes), 1)
        return head.loss(x, [InstanceData(bboxes=boxes.clone())], [sample])['loss_action_cls']

    return head, loss, caught


@pytest.mark.parametrize('stage', [1, 2])
def test_sampled_negatives_reach_the_loss(stage):
    """Every sampled row, negatives with all-zero targets, enters the BCE (stage 1 and 2).

    Would have caught mmaction2's ``BBoxHeadAVA`` dropping the rows whose label sum is 0: a
    negative's logit did not change the loss and got no gradient, so the 1:3 sampler only
    capped the positives.
    """
    head, loss_of, caught = roi_head_on_real_stack(stage)
    torch.manual_seed(1)
    loss = loss_of(proposal_set())
    logits, rois = caught['logits'], caught['rois']
    full_rois = rois.clone()
    if stage == 2:  # tube RoIs: K per proposal, the keyframe's box at every clip
        rois = rois.view(-1, 5, 5)[:, 0]
    target = hand_targets(rois[:, 1:])
    assert logits.shape == (40, 12)
    # the loss by hand: mean BCE over the 40 sampled rows x 11 foreground classes
    z, y = logits.detach()[:, 1:], target[:, 1:]
    hand = (torch.clamp(z, min=0) - z * y + torch.log1p(torch.exp(-z.abs()))).mean()
    torch.testing.assert_close(loss, hand, rtol=1e-5, atol=1e-6)
    loss.backward()
    neg = np.flatnonzero(target.sum(1).numpy() == 0)
    assert len(neg) == 30
    assert (logits.grad[neg, 1:].abs().sum(1) > 0).all()  # each negative has a gradient
    # perturbing one sampled negative's logit (same seed: same sample) changes the loss
    caught['shift'] = torch.zeros(40, 12)
    caught['shift'][neg[0], 1:] = 3.
    torch.manual_seed(1)
    shifted = loss_of(proposal_set())
    assert torch.equal(caught['rois'], full_rois)  # the same sample
    assert shifted > loss + 1e-3


def test_loss_sees_forty_rows_at_one_to_three():
    """The rows with a loss gradient: 40 per clip, 10 positive (IoU >= 0.5) and 30 negative;
    with only 3 positive proposals, 3 + 37.

    Replaces a check of the sampler's output, which passed while the loss saw only the 10
    positive rows.
    """
    head, loss_of, caught = roi_head_on_real_stack(1)
    boxes = proposal_set()
    for seed in range(3):
        torch.manual_seed(seed)
        loss_of(boxes).backward()
        in_loss = caught['logits'].grad.abs().sum(1) > 0
        positive = hand_targets(caught['rois'][:, 1:]).sum(1) > 0
        assert int(in_loss.sum()) == 40
        assert int((in_loss & positive).sum()) == 10 and int((in_loss & ~positive).sum()) == 30
    few = torch.cat([boxes[40:43], boxes[:40], boxes[-40:]])  # 3 positives, 80 negatives
    loss_of(few).backward()
    in_loss = caught['logits'].grad.abs().sum(1) > 0
    positive = hand_targets(caught['rois'][:, 1:]).sum(1) > 0
    assert int((in_loss & positive).sum()) == 3 and int((in_loss & ~positive).sum()) == 37


# ------------------------------------------------------------------------------ heads
def test_baseline_head_pools_time_then_reduces_then_convolves():
    torch.manual_seed(0)
    head = MultiSecBaselineHead(in_channels=6, channels=4, temporal_size=4).eval()
    for m in head.modules():
        if isinstance(m, torch.nn.BatchNorm3d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 2)
    x = torch.randn(3, 6, 8, 7, 7)
    with torch.no_grad():
        out = head(x)
        pooled = (x[:, :, 0::2] + x[:, :, 1::2]) / 2  # 8 frames -> 4, by hand
        v = F.conv3d(pooled, head.reduce.weight, head.reduce.bias)
        for layer in head.convs:
            bn = layer.bn
            v = F.conv3d(v, layer.conv.weight, layer.conv.bias, padding=1)
            v = (v - bn.running_mean[:, None, None, None]) / torch.sqrt(
                bn.running_var[:, None, None, None] + bn.eps)
            v = torch.relu(v * bn.weight[:, None, None, None] + bn.bias[:, None, None, None])
    assert out.shape == (3, 4, 4, 7, 7)
    torch.testing.assert_close(out, v, rtol=1e-5, atol=1e-5)


def identity_reduce(head):
    with torch.no_grad():
        head.reduce.weight.copy_(torch.eye(head.channels)[:, :, None, None, None])
        head.reduce.bias.zero_()


def test_multisec_head_avg_and_max_pooling_by_hand():
    x = torch.tensor([1., 5., -2., 4.])  # one clip's RoI value over 4 frames
    clips = torch.stack([x, x * 2, -x, x + 1, x * 0]).view(5, 1, 4, 1, 1)  # 1 proposal x 5
    clips = clips.repeat(1, 2, 1, 1, 1)
    clips[:, 1] *= 10  # second channel
    for pool, per_clip in (('avg', [2., 4., -2., 3., 0.]), ('max', [5., 10., 2., 6., 0.])):
        head = MultiSecHead(in_channels=2, channels=2, num_clips=5, temporal_pool=pool,
                            temporal_size=None).eval()
        identity_reduce(head)
        vm = head.stacked_volume(clips)
        assert vm.shape == (1, 2, 5, 1, 1)
        torch.testing.assert_close(vm[0, 0, :, 0, 0], torch.tensor(per_clip))
        torch.testing.assert_close(vm[0, 1, :, 0, 0], torch.tensor(per_clip) * 10)
    # two proposals: clips are taken proposal-major
    head = MultiSecHead(in_channels=2, channels=2, num_clips=5, temporal_size=None)
    identity_reduce(head)
    two = torch.cat([clips, clips + 100])
    vm = head.stacked_volume(two)
    torch.testing.assert_close(vm[1], vm[0] + 100)


@pytest.mark.parametrize('pool', ['avg', 'max'])
def test_identical_clips_reduce_to_the_stage1_computation(pool):
    """5 identical, time-constant clips: V_m equals stage 1's V of 5 frames, weights shared."""
    torch.manual_seed(1)
    stage1 = MultiSecBaselineHead(in_channels=6, channels=4, temporal_size=5).eval()
    stage2 = MultiSecHead(in_channels=6, channels=4, num_clips=5, temporal_pool=pool).eval()
    stage2.load_state_dict(stage1.state_dict(), strict=True)  # initialised from stage 1 by name
    frame = torch.randn(3, 6, 1, 7, 7)
    roi = frame.expand(3, 6, 8, 7, 7)  # the RoI volume of one clip, constant in time
    with torch.no_grad():
        ref = stage1(roi)
        out = stage2(roi.repeat_interleave(5, dim=0))
    assert out.shape == ref.shape == (3, 4, 5, 7, 7)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------------------ tube data
def test_clip_offsets_and_nearest_valid():
    np.testing.assert_array_equal(clip_offsets(5, 5), [-2, -1, 0, 1, 2])
    np.testing.assert_array_equal(clip_offsets(9, 5), [-4, -2, 0, 2, 4])
    np.testing.assert_array_equal(clip_offsets(1, 1), [0])
    valid = np.array([[True] * 5,
                      [False, False, True, True, True],
                      [False, True, True, False, False],
                      [False, False, True, False, False],
                      [True, False, True, False, True]])
    np.testing.assert_array_equal(nearest_valid(valid), [[0, 1, 2, 3, 4],
                                                         [2, 2, 2, 3, 4],
                                                         [1, 1, 2, 2, 2],
                                                         [2, 2, 2, 2, 2],
                                                         [0, 2, 2, 2, 4]])  # ties: to centre


@pytest.fixture(scope='module')
def tubes(synthetic, tmp_path_factory):
    with open(synthetic['val_proposals'], 'rb') as f:
        proposals = pickle.load(f)
    tubes = link_tubes(proposals, span=5)
    key = sorted(tubes)[3]  # a keyframe whose +-2 s are inside the video
    tubes[key] = tubes[key].copy()
    tubes[key][0, :2] = np.nan  # proposal 0's tube: starts at the keyframe, then stays put
    tubes[key][0, 3:] = tubes[key][0, 2]
    path = tmp_path_factory.mktemp('tubes') / 'tubes_val_T5.pkl'
    with open(path, 'wb') as f:
        pickle.dump(tubes, f)
    return dict(path=str(path), tubes=tubes, key=key)


def stage2_cfg(synthetic, res4_bank, tubes):
    cfg = Config.fromfile(STAGE2_TINY)
    cfg.merge_from_dict(synthetic_options(synthetic))
    for split in ('train', 'val'):
        cfg[f'{split}_dataloader'].dataset.pipeline[0].update(
            bank_dir=str(res4_bank['bank_dir']), tube_file=tubes['path'])
    cfg.load_from = None
    return cfg


def test_load_tube_res4_aligns_boxes_volumes_and_fills_gaps(synthetic, res4_bank, tubes):
    from mmaction.registry import DATASETS
    cfg = stage2_cfg(synthetic, res4_bank, tubes)
    ds_cfg = cfg.val_dataloader.dataset.copy()
    ds_cfg.pipeline = []
    dataset = DATASETS.build(ds_cfg)
    load = LoadTubeRes4(bank_dir=str(res4_bank['bank_dir']), tube_file=tubes['path'],
                        num_clips=5, img_shape=(80, 142))
    bank = FeatureBank(str(res4_bank['bank_dir']))
    keys = [dataset.get_data_info(i)['img_key'] for i in range(len(dataset))]
    info = dataset.get_data_info(keys.index(tubes['key']))
    t = info['timestamp']
    props = info['proposals'].copy()
    out = load(info)
    scale = np.array([142, 80, 142, 80], dtype=np.float32)
    n = len(props)
    assert out['imgs'].shape == (5, 192, 5, 9) and out['img_shape'] == (80, 142)
    for k, dt in enumerate(range(-2, 3)):
        np.testing.assert_array_equal(out['imgs'][k], bank.read_items('val_000', t + dt)[0][0])
    np.testing.assert_allclose(out['proposals'], props * scale, rtol=1e-6)
    # the file's proposals above the dataset's score threshold, in order
    full = tubes['tubes'][tubes['key']]
    rows = np.flatnonzero(full[:, 2, 4] >= 0.9)[:n]
    boxes, clips = out['tube_boxes'].numpy(), out['tube_clips'].numpy()
    assert boxes.shape == (n, 5, 4) and clips.shape == (n, 5)
    np.testing.assert_allclose(boxes[:, 2], props * scale, rtol=1e-5)
    for i, r in enumerate(rows):
        for k in range(5):
            src = clips[i, k]
            assert np.isfinite(full[r, src, :4]).all()
            np.testing.assert_allclose(boxes[i, k], full[r, src, :4] * scale, rtol=1e-5)
            if np.isfinite(full[r, k]).all():
                assert src == k
    assert rows[0] == 0 and list(clips[0]) == [2, 2, 2, 3, 4]  # the NaN rows borrow the centre


def test_load_tube_res4_borrows_where_the_bank_has_no_volume(synthetic, res4_bank, tubes):
    from mmaction.registry import DATASETS
    cfg = stage2_cfg(synthetic, res4_bank, tubes)
    ds_cfg = cfg.val_dataloader.dataset.copy()
    ds_cfg.pipeline = []
    dataset = DATASETS.build(ds_cfg)
    load = LoadTubeRes4(bank_dir=str(res4_bank['bank_dir']), tube_file=tubes['path'],
                        num_clips=5, img_shape=(80, 142))
    stamps = FeatureBank(str(res4_bank['bank_dir'])).timestamps('val_000')
    first = [i for i in range(len(dataset))
             if dataset.get_data_info(i)['timestamp'] == stamps.min()][0]
    out = load(dataset.get_data_info(first))
    assert (out['tube_clips'].numpy()[:, :2] >= 2).all()  # t-2, t-1: not in the bank
    assert not out['imgs'][:2].any()
    bad = LoadTubeRes4(bank_dir=str(res4_bank['bank_dir']), tube_file=tubes['path'],
                       num_clips=5, img_shape=(96, 142))
    with pytest.raises(ValueError, match='expected packed res4 volumes'):
        bad(dataset.get_data_info(first))


def test_training_log_reports_the_borrowed_tube_slots():
    """The stage-2 configs' ``TubeSlotsHook`` puts the fraction of borrowed slots into the log.

    Would have caught slots that borrow the nearest keyframe's box and res4 volume (a tube that
    ended, a keyframe without a cached volume) going unreported in training. By hand: clips
    ``[2, 2, 2, 3, 4]`` borrow at slots 0 and 1, ``[0, 1, 2, 3, 3]`` at slot 4: 3 of 10.
    """
    from mmaction.registry import HOOKS
    from mmaction.structures import ActionDataSample
    from mmengine.logging import MessageHub, MMLogger
    cfg = Config.fromfile(STAGE2_TINY)
    hooks = [HOOKS.build(h) for h in cfg.custom_hooks if h.type == 'TubeSlotsHook']
    assert len(hooks) == 1
    hook = hooks[0]
    sample = ActionDataSample()
    sample.tube_clips = torch.tensor([[2, 2, 2, 3, 4], [0, 1, 2, 3, 3]])
    other = ActionDataSample()
    other.tube_clips = torch.arange(5)[None]  # a proposal whose five keyframes are its own

    class Runner:  # the two members of mmengine's Runner the hook uses, real ones
        message_hub = MessageHub.get_instance('test_tube_slots')
        logger = MMLogger.get_instance('test_tube_slots')

    runner = Runner()
    hook.before_train_epoch(runner)
    hook.after_train_iter(runner, 0, dict(inputs=None, data_samples=[sample]))
    assert runner.message_hub.get_scalar('train/tube_borrowed').current() == 0.3
    hook.after_train_iter(runner, 1, dict(inputs=None, data_samples=[other]))
    assert runner.message_hub.get_scalar('train/tube_borrowed').current() == 0.
    lines = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    runner.logger.addHandler(handler)
    try:
        hook.after_train_epoch(runner)
    finally:
        runner.logger.removeHandler(handler)
    assert lines == ['tubes: 3 of 15 (proposal, keyframe) slots (20.0%) borrowed the nearest '
                     "valid keyframe's box and res4 volume this epoch"]


# ------------------------------------------------------------------------------ stage 2 model
def test_stage2_loss_gradients_reach_res5_and_head_only(synthetic, res4_bank, tubes):
    from mmaction.registry import DATASETS
    from mmdet.registry import MODELS
    init_default_scope('mmaction')
    cfg = stage2_cfg(synthetic, res4_bank, tubes)
    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    for m in model.modules():  # undo the zero-initialised last BN of each residual block
        if isinstance(m, torch.nn.BatchNorm3d):
            torch.nn.init.ones_(m.weight)
    model.train()
    data = model.data_preprocessor(pseudo_collate([dataset[2], dataset[3]]), True)
    assert data['inputs'].shape == (2, 5, 192, 5, 9)
    losses = model.loss(data['inputs'], data['data_samples'])
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(loss) and loss > 0
    loss.backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    for name in ('backbone.slow_path.layer4.0.conv1.conv.weight',
                 'backbone.fast_path.layer4.0.conv1.conv.weight',
                 'roi_head.shared_head.reduce.weight', 'roi_head.shared_head.convs.1.conv.weight',
                 'roi_head.bbox_head.fc_cls.weight'):
        assert grads[name] is not None and grads[name].abs().sum() > 0, name
    frozen = [n for n in grads if n.startswith(('backbone.slow_path.layer1', 'backbone.slow_path.'
                                                'layer3', 'backbone.fast_path.layer2',
                                                'backbone.slow_path.conv1',
                                                'backbone.slow_path.layer3_lateral'))]
    assert frozen and all(grads[n] is None for n in frozen)

    model.eval()
    with torch.no_grad():
        sample = model.data_preprocessor(pseudo_collate([dataset[3]]), False)
        pred = model.predict(sample['inputs'], sample['data_samples'])[0].pred_instances
    assert pred.scores.shape == (len(dataset.get_data_info(3)['proposals']), 12)
    assert ((pred.scores >= 0) & (pred.scores <= 1)).all()


def test_prepooling_before_roialign_is_exact():
    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    cfg = Config.fromfile(STAGE2_TINY)
    head = MODELS.build(cfg.model.roi_head)
    rois = torch.tensor([[0, 3., 4., 60., 70.], [1, 10., 0., 50., 79.], [1, 0., 0., 141., 79.]])
    for t_slow, t_fast in ((2, 8), (3, 12)):
        x = (torch.randn(2, 5, t_slow, 5, 9), torch.randn(2, 3, t_fast, 5, 9))
        full, _ = head.bbox_roi_extractor(x, rois)
        ref = F.adaptive_avg_pool3d(full, (4, 7, 7))
        out, _ = head.bbox_roi_extractor(head._prepool(x), rois)
        torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


def test_tube_rois_index_the_clips_of_each_sample():
    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    head = MODELS.build(Config.fromfile(STAGE2_TINY).model.roi_head)
    boxes = [torch.arange(2 * 5 * 4.).view(2, 5, 4), torch.ones(1, 5, 4)]
    clips = [torch.tensor([[0, 1, 2, 3, 4], [2, 2, 2, 3, 3]]), torch.tensor([[1, 1, 2, 3, 4]])]
    rois = head.tube_rois(boxes, clips)
    assert rois.shape == (15, 5)
    np.testing.assert_array_equal(rois[:, 0], [0, 1, 2, 3, 4, 2, 2, 2, 3, 3, 6, 6, 7, 8, 9])
    torch.testing.assert_close(rois[5:10, 1:], boxes[0][1])


# ------------------------------------------------------------------------------ configs
REAL = ['multisec_baseline_slowfast_r50', 'multisec_res4_cache_slowfast_r50',
        'multisec_t5_slowfast_r50', 'multisec_t9_slowfast_r50',
        'multisec_t9_slowfast_r50_maxpool']
TINY = ['multisec_baseline_slowfast_tiny', 'multisec_res4_cache_slowfast_tiny',
        'multisec_t5_slowfast_tiny', 'multisec_t9_slowfast_tiny',
        'multisec_t9_slowfast_tiny_maxpool']


@pytest.mark.parametrize('name', REAL + TINY)
def test_every_config_builds_and_runs_a_cpu_forward(name):
    from mmaction.structures import ActionDataSample
    from mmdet.registry import MODELS
    init_default_scope('mmaction')
    folder = 'configs/synthetic' if name in TINY else 'configs'
    cfg = Config.fromfile(os.path.join(REPO, folder, f'{name}.py'))
    cfg.model.init_cfg = None
    model = MODELS.build(cfg.model).eval()
    head = model.roi_head.shared_head
    stage2 = cfg.model.type == 'MultiSecFastRCNN'
    span = {'t5': 5, 't9': 9}.get(name.split('_')[1])
    if stage2:
        pipe = cfg.val_dataloader.dataset.pipeline[0]
        assert pipe.type == 'LoadTubeRes4' and pipe.num_clips == head.num_clips == 5
        assert pipe.tube_file.endswith(f'_T{span}.pkl')
        assert head.temporal_pool == ('max' if name.endswith('maxpool') else 'avg')
        # frames of the pipeline's size would work too; a small res4 map keeps R50's res5 fast
        h, w = pipe.img_shape if name in TINY else (32, 48)
        h4, w4 = -(-h // 16), -(-w // 16)
        from ava_plugins.models.roi_heads.slowfast_res4 import res4_channels
        c_s, c_f = res4_channels(model.backbone)
        t_s = 8 if name in REAL else 2
        inputs = torch.randn(1, 5, c_s * t_s + c_f * t_s * 4, h4, w4)
    else:
        h, w = 32, 48
        t = 32 if name in REAL else 8
        inputs = torch.randn(1, 3, t, h, w)
    sample = ActionDataSample()
    sample.set_metainfo(dict(img_shape=(h, w), img_key='v,0902'))
    boxes = torch.tensor([[2., 2., 20., 30.], [15., 1., 45., 31.]])
    sample.proposals = InstanceData(bboxes=boxes)
    if stage2:
        sample.tube_boxes = boxes[:, None].repeat(1, 5, 1)
        sample.tube_clips = torch.arange(5).repeat(2, 1)
    with torch.no_grad():
        pred = model.predict(inputs, [sample])[0].pred_instances
    assert pred.scores.shape == (2, cfg.model.roi_head.bbox_head.num_classes)
    assert torch.isfinite(pred.scores).all()
