"""ACFBHead (ACAR-Net report §1.3) against an independent per-clip restatement of the bank
attention, and the ``acar`` bank feature against the maps ACARHead computes in a forward pass.
"""
import math
import os

import pytest
import torch
import torch.nn.functional as F
from mmaction.registry import MODELS as MMACTION_MODELS
from mmaction.structures import ActionDataSample
from mmaction.utils import register_all_modules
from mmengine.config import Config
from mmengine.structures import InstanceData

import ava_plugins  # noqa: F401
from ava_plugins.engine.bank_features import BANK_FEATURES
from ava_plugins.models import ACFBHead
from ava_plugins.models.roi_heads.shared_heads.acar_head import clip_geometry

register_all_modules()
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
D = 4  # hidden channels


def make_head(**kw):
    torch.manual_seed(0)
    head = ACFBHead(in_channels=8, reduce_channels=6, hidden_channels=D, **kw)
    for block in head.hr2o:  # non-trivial affine GroupNorm parameters
        torch.nn.init.normal_(block.norm.weight)
        torch.nn.init.normal_(block.norm.bias)
    return head.eval()


def make_inputs(seed=0, flips=(False, True, False), banks=(3, 2, 0)):
    """3 clips padded to 80x80 px with 10x10 context maps (8x8 first-order maps); clip 1 holds
    56x64 px (5x6 maps); 2, 3 and 1 actors; ``banks`` filled slots per clip among 4."""
    g = torch.Generator().manual_seed(seed)
    feat = torch.randn(3, 8, 2, 10, 10, generator=g)
    shapes = [(80, 80), (56, 64), (80, 80)]
    rois = torch.tensor([[0, 4., 4, 40, 60], [1, 10, 8, 50, 40], [0, 30, 10, 76, 70],
                         [1, 2, 2, 30, 50], [2, 8, 8, 70, 74], [1, 40, 4, 78, 52]])
    metas = []
    for b in range(3):
        feats = torch.randn(4, D, 8, 8, generator=g).abs().half()
        mask = torch.zeros(4, dtype=torch.bool)
        mask[torch.randperm(4, generator=g)[:banks[b]]] = True
        metas.append(dict(img_shape=shapes[b], pad_shape=(80, 80), flip=flips[b],
                          flip_direction='horizontal', acfb_feat=feats, acfb_mask=mask))
    return feat, rois, metas


def reference_block(block, x, bank):
    """One HR2O_NL block of one clip, official style, attending from x (n) to bank (m)."""
    q = F.conv2d(x, block.conv_q.weight, padding=1)
    if len(bank):
        k = F.conv2d(bank, block.conv_k.weight, padding=1)
        v = F.conv2d(bank, block.conv_v.weight, padding=1)
        att = torch.einsum('nchw,mchw->nmhw', q, k) / math.sqrt(D)
        rel = torch.einsum('nmhw,mchw->nchw', att.softmax(dim=1), v)
    else:
        rel = torch.zeros_like(q)
    rel = F.group_norm(rel, 1, block.norm.weight, block.norm.bias, block.norm.eps)
    return x + block.conv(F.relu(rel))


def reference(head, feat, rois, metas):
    """Per clip: its own maps (valid size), its filled bank slots cropped to that size and
    mirrored when the clip was flipped, then the blocks, pooling and fc1."""
    context = head.context(feat)
    valid_hw, box_scale = clip_geometry(metas, tuple(context.shape[-2:]))
    actors = head.actor_features(context, rois, box_scale)
    out = torch.zeros(len(rois), 2 * D)
    for b in range(len(metas)):
        idx = (rois[:, 0] == b).nonzero()[:, 0]
        if not len(idx):
            continue
        maps, _ = head.first_order(context[b:b + 1], actors[idx], torch.zeros(len(idx)).long(),
                                   valid_hw[b:b + 1])
        h, w = maps.shape[-2:]
        bank = metas[b]['acfb_feat'][metas[b]['acfb_mask']].float()[:, :, :h, :w]
        if metas[b]['flip']:
            bank = bank.flip(-1)
        for block in head.hr2o:
            maps = reference_block(block, maps, bank)
        out[idx] = torch.cat([F.relu(head.fc1(actors[idx])), maps.mean(dim=(2, 3))], dim=1)
    return out


@pytest.mark.parametrize('banks', [(3, 2, 0), (0, 0, 0), (4, 1, 2)])
def test_batched_equals_per_clip_reference(banks):
    head = make_head()
    feat, rois, metas = make_inputs(banks=banks)
    with torch.no_grad():
        out = head(None, feat, rois, metas).flatten(1)
        ref = reference(head, feat, rois, metas)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


def test_empty_slots_take_no_attention_and_clips_stay_apart():
    head = make_head()
    feat, rois, metas = make_inputs()
    with torch.no_grad():
        out = head(None, feat, rois, metas)
        for meta in metas:  # garbage in every empty slot
            meta['acfb_feat'][~meta['acfb_mask']] = 1000.
        torch.testing.assert_close(head(None, feat, rois, metas), out)
        # another clip's bank leaves clip 0's actors unchanged, changes clip 1's
        metas[1]['acfb_feat'][metas[1]['acfb_mask']] += 3.
        moved = head(None, feat, rois, metas)
    clip0 = rois[:, 0] == 0
    torch.testing.assert_close(moved[clip0], out[clip0])
    assert not torch.allclose(moved[rois[:, 0] == 1], out[rois[:, 0] == 1])


def test_flip_mirrors_the_bank_inside_the_valid_area():
    head = make_head()
    feat, rois, metas = make_inputs(flips=(False, False, False))
    flipped = [dict(m) for m in metas]
    flipped[1]['flip'] = True
    with torch.no_grad():
        out = head(None, feat, rois, flipped)
        # mirroring by hand inside clip 1's valid map area (64 of 80 px: 8 of 10 context
        # columns, 6 of 8 map columns) equals the head's flip
        bank = metas[1]['acfb_feat'].clone()
        bank[:, :, :, :6] = bank[:, :, :, :6].flip(-1)
        metas[1] = dict(metas[1], acfb_feat=bank)
        torch.testing.assert_close(head(None, feat, rois, metas), out)


def test_gradients_reach_every_parameter():
    head = make_head()
    head.train()
    feat, rois, metas = make_inputs()
    feat.requires_grad_(True)
    head(None, feat, rois, metas).square().sum().backward()
    for name, p in head.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert feat.grad.abs().sum() > 0


def test_clear_errors():
    head = make_head()
    feat, rois, metas = make_inputs()
    del metas[2]['acfb_mask']
    with pytest.raises(ValueError, match=r"img_metas\[2\].*LoadBankWindow"):
        head(None, feat, rois, metas)
    feat, rois, metas = make_inputs()
    metas[0]['acfb_feat'] = metas[0]['acfb_feat'][:, :, :5]
    with pytest.raises(ValueError, match=r'clip 0 are \(5, 8\), smaller than its own'):
        head(None, feat, rois, metas)


def test_bank_canvas_needs_to_cover_only_its_own_clip():
    """Clip 1's bank cropped to its own 5 x 6 maps while clip 0 makes the batch canvas 8 x 8:
    the head places it on the canvas and equals the per-clip reference. Would have caught:
    the bank canvas having to cover the largest clip of the batch (an error on a batch mixing
    a narrow video with a wide one, though each bank holds its clip's maps)."""
    head = make_head()
    feat, rois, metas = make_inputs(banks=(3, 2, 1))
    metas[1]['acfb_feat'] = metas[1]['acfb_feat'][:, :, :5, :6].clone()
    with torch.no_grad():
        out = head(None, feat, rois, metas).flatten(1)
        ref = reference(head, feat, rois, metas)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


def test_pooled_bank_is_tiled_over_the_valid_area():
    """The pooled layout (``d x 1 x 1`` items) equals the full layout holding that vector at
    every location: the per-clip reference on the tiled maps."""
    head = make_head()
    feat, rois, metas = make_inputs(banks=(3, 2, 1))
    tiled = [dict(m) for m in metas]
    for m, t in zip(metas, tiled):
        m['acfb_feat'] = m['acfb_feat'].float().mean(dim=(2, 3), keepdim=True)
        t['acfb_feat'] = m['acfb_feat'].expand(-1, -1, 8, 8)
    with torch.no_grad():
        out = head(None, feat, rois, metas).flatten(1)
        ref = reference(head, feat, rois, tiled)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


def official_first_order_maps(head, feats, boxes, img_hw, pad_hw):
    """The official ``ACARHead.forward`` (github.com/Siyu-C/ACAR-Net, ``models/heads/acar.py``)
    restated up to its HR2O input, for one clip: the pathways averaged over time and
    concatenated, ``conv_reduce``, torchvision ``roi_align`` (aligned=False, adaptive sampling)
    on the boxes normalised by the padded frame and scaled by the feature size, max pool; the
    context cropped to ``ceil(H * h / H_pad)`` x ``ceil(W * w / W_pad)``, conv1 on
    [context; tiled actor], ReLU, conv2, ReLU, the downsampling. Weights are ``head``'s."""
    import torchvision
    h, w = feats[0].shape[3:]
    v = F.conv2d(torch.cat([f.mean(dim=2) for f in feats], dim=1), head.conv_reduce.weight)
    rois = boxes / torch.tensor([pad_hw[1], pad_hw[0]] * 2) * torch.tensor([w, h, w, h])
    rois = torch.cat([torch.zeros(len(rois), 1), rois], dim=1)
    actors = torchvision.ops.roi_align(v, rois, (7, 7), spatial_scale=1., sampling_ratio=-1,
                                       aligned=False).amax(dim=(2, 3))
    eff_h = math.ceil(h * (1. / (pad_hw[0] / img_hw[0])))
    eff_w = math.ceil(w * (1. / (pad_hw[1] / img_hw[1])))
    bg = v[0][:, :eff_h, :eff_w].unsqueeze(0).repeat(len(rois), 1, 1, 1)
    maps = torch.cat([bg, actors[:, :, None, None].expand(-1, -1, eff_h, eff_w)], dim=1)
    maps = F.relu(F.conv2d(maps, head.conv1.weight))
    maps = F.relu(F.conv2d(maps, head.conv2.weight))
    if isinstance(head.downsample, torch.nn.MaxPool2d):
        maps = F.max_pool2d(maps, 3, stride=2, padding=1)
    return maps


@pytest.mark.parametrize('downsample', ['none', 'max2x2'])
def test_acar_bank_feature_equals_the_official_first_order_maps(downsample):
    """``BANK_FEATURES['acar']`` of a tiny ACAR model on a padded clip (64x96 px in 96x96) equals
    the official head's first-order maps restated from the backbone's output (not from our
    head's code path), at the top-left of the padded input's map canvas, zero elsewhere.

    Would have caught: bank items that are not the official first-order maps (wrong crop of the
    unpadded context, box scale, RoIAlign settings or pooling). Replaces a test that compared
    the head's ``first_order`` with its own output through a hook."""
    cfg = Config.fromfile(os.path.join(REPO, 'configs/synthetic/acar_slowfast_tiny.py'))
    cfg.model.init_cfg = None
    cfg.model.roi_head.shared_head.downsample = downsample
    torch.manual_seed(0)
    model = MMACTION_MODELS.build(cfg.model).eval()
    g = torch.Generator().manual_seed(0)
    sample = ActionDataSample()
    sample.set_metainfo(dict(img_shape=(64, 96), pad_shape=(96, 96)))
    boxes = torch.tensor([[2., 4., 40, 60], [30, 1, 90, 50], [10, 10, 60, 62]])
    sample.proposals = InstanceData(bboxes=boxes)
    sample.gt_instances = InstanceData(bboxes=boxes, labels=torch.zeros(3, 12))
    data = model.data_preprocessor(
        dict(inputs=[torch.randint(0, 256, (3, 8, 96, 96), generator=g, dtype=torch.uint8)],
             data_samples=[sample]), False)
    with torch.no_grad():
        bank = BANK_FEATURES['acar'](model, data)
        official = official_first_order_maps(model.roi_head.shared_head,
                                             model.extract_feat(data['inputs']), boxes,
                                             (64, 96), (96, 96))
    # context 6x6 cells (96 / 16), 4x6 unpadded: conv2 2x4 maps (canvas 4x4), max pool 1x2 (2x2)
    h, w = official.shape[-2:]
    assert (h, w) == ((2, 4) if downsample == 'none' else (1, 2))
    assert bank.shape == (3, 64) + ((4, 4) if downsample == 'none' else (2, 2))
    torch.testing.assert_close(bank[:, :, :h, :w], official, rtol=1e-4, atol=1e-5)
    assert (bank[:, :, h:] == 0).all() and (bank[:, :, :, w:] == 0).all()
    assert official.abs().sum() > 0


def load_config(name):
    cfg = Config.fromfile(os.path.join(REPO, 'configs', name))
    cfg.model.init_cfg = None
    return cfg


@pytest.mark.parametrize('name', ['acfb_slowfast_r101.py', 'synthetic/acfb_slowfast_tiny.py'])
def test_acfb_configs(name):
    cfg = load_config(name)
    head = cfg.model.roi_head.shared_head
    assert (head.type, head.depth, head.downsample) == ('ACFBHead', 2, 'none')
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        steps = loader.dataset.pipeline
        window = steps[[s.type for s in steps].index('LoadBankWindow')]
        assert (window.half_width, window.max_items, window.item_ndim) == (10, 5, 3)
        assert window.bank_dir.endswith('acfb') and steps[-1].type == 'PackActionInputs'
        assert {'flip', 'img_shape'} <= set(steps[-1].meta_keys)
        assert set(steps[-1].algorithm_keys) == {'acfb_feat', 'acfb_mask'}
    if 'r101' in name:
        kinds = [s.type for s in cfg.train_dataloader.dataset.pipeline]
        assert kinds.index('Flip') < kinds.index('PadToSquare')
        model = MMACTION_MODELS.build(cfg.model)
        assert len(model.roi_head.shared_head.hr2o) == 2
        assert model.backbone.slow_path.layer4[0].conv2.conv.dilation == (1, 2, 2)


def test_tiny_acfb_config_loss_and_predict_on_a_tiny_bank():
    """Through the config's model (``ACFBRoIHead``): the window arrives as data-sample fields,
    as LFB's and the tubes' do; the loss trains every RoI-head parameter; a sample without the
    fields (e.g. the window packed as metainfo) is an error naming the clip and the fix."""
    cfg = load_config('synthetic/acfb_slowfast_tiny.py')
    torch.manual_seed(0)
    model = MMACTION_MODELS.build(cfg.model)
    model.backbone.requires_grad_(False)
    g = torch.Generator().manual_seed(0)

    def batch(num_clips, banks, as_metainfo=False):
        inputs, samples = [], []
        for i in range(num_clips):
            inputs.append(torch.randint(0, 256, (3, 8, 80, 80), generator=g, dtype=torch.uint8))
            boxes = torch.tensor([[2., 4., 40., 78.], [30., 1., 77., 72.]])
            labels = torch.zeros(2, 12)
            labels[0, [1, 9]] = labels[1, [3, 6]] = 1
            mask = torch.arange(6) < banks[i]
            sample = ActionDataSample()
            # context 5x5 -> maps 3x3; the bank canvas may be larger
            window = dict(acfb_feat=torch.rand(6, 64, 4, 4, generator=g).half(), acfb_mask=mask)
            sample.set_metainfo(dict(img_shape=(80, 80), flip=i == 1, flip_direction='horizontal',
                                     img_key=f'v{i},0902'))
            if as_metainfo:
                sample.set_metainfo(window)
            else:
                sample.acfb_feat, sample.acfb_mask = window['acfb_feat'], window['acfb_mask']
            sample.gt_instances = InstanceData(bboxes=boxes, labels=labels)
            sample.proposals = InstanceData(bboxes=boxes + 1)
            samples.append(sample)
        return dict(inputs=inputs, data_samples=samples)

    model.train()
    data = model.data_preprocessor(batch(3, [4, 1, 0]), True)
    loss = model(**data, mode='loss')['loss_action_cls']
    assert torch.isfinite(loss) and loss > 0
    loss.backward()
    for name, p in model.roi_head.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    model.eval()
    with torch.no_grad():
        pred = model(**model.data_preprocessor(batch(1, [3]), False), mode='predict')[0]
    assert pred.pred_instances.scores.shape == (2, 12)
    torch.testing.assert_close(pred.pred_instances.scores[:, 1:5].sum(1), torch.ones(2))
    with pytest.raises(ValueError, match=r"data sample v0,0902 has no bank window.*LoadBankWindow"
                       r".*algorithm_keys"):
        model(**model.data_preprocessor(batch(1, [3], as_metainfo=True), False), mode='predict')
