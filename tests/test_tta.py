"""Tests of AVA test-time augmentation (ava_plugins.models.tta).

Flip/resize of the RoIs by mmaction2's own transforms maps back exactly; one view equals no
TTA (linear, ACAR relation and three-branch heads, two clips per batch); several views equal an
independent merge of per-view forward passes (logits averaged then the head's activation, mean
or summed probabilities); the TTA configs inherit their base; a misconfigured pipeline is
refused; and tools/test.py runs a TTA config end to end with a checkpoint of the plain model.
"""
import os.path as osp
import importlib.util

import numpy as np
import pytest
import torch
import mmengine
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

import ava_plugins  # noqa: F401
from ava_plugins.models.tta import AVATTAModel, ava_tta_pipeline, boxes_to_original
from mmaction.datasets.transforms import Flip, Resize
from mmaction.registry import DATASETS, MODELS
from mmdet.structures.bbox import bbox2roi

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY = osp.join(REPO, 'tests', 'data', 'tiny_linear_slowfast.py')
ACAR_TINY = osp.join(REPO, 'configs', 'synthetic', 'acar_slowfast_tiny.py')
HEAD = [
    dict(type='SampleAVAFrames', clip_len=8, frame_interval=2, test_mode=True),
    dict(type='RawFrameDecode')
]


def plain_pipeline(size=(32, 32)):
    return [
        *HEAD,
        dict(type='Resize', scale=size, keep_ratio=False),
        dict(type='FormatShape', input_format='NCTHW', collapse=True),
        dict(type='PackActionInputs')
    ]


@pytest.fixture(scope='module', autouse=True)
def scope():
    init_default_scope('mmaction')


def dataset(tiny_ava, pipeline):
    cfg = Config.fromfile(TINY).test_dataloader.dataset
    cfg.update(ann_file=str(tiny_ava['ann_file']),
               label_file=str(tiny_ava['label_file']),
               proposal_file=str(tiny_ava['proposal_file']),
               data_prefix=dict(img=str(tiny_ava['frames'])),
               pipeline=pipeline)
    return DATASETS.build(cfg)


def build(config, **bbox_head):
    cfg = Config.fromfile(config)
    cfg.model.roi_head.bbox_head.update(bbox_head)
    torch.manual_seed(0)
    return MODELS.build(cfg.model).eval()


def linear_model():
    """The tiny linear baseline and two view sizes (w, h)."""
    return build(TINY), [(32, 32), (48, 40)]


def acar_model():
    """The tiny ACAR-Net (HR2O relation head) and two view sizes; its context maps (stride
    16) need >= 3x3."""
    return build(ACAR_TINY, num_classes=81, pose_id_range=(1, 14)), [(48, 48), (64, 56)]


def plain_outputs(model, ds, idx):
    with torch.no_grad():
        return [model.test_step(pseudo_collate([ds[i]]))[0] for i in idx]


def test_flip_maps_boxes_back_exactly():
    """mmaction2's Resize + Flip of the RoIs, undone by boxes_to_original (hand case too)."""
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, .6, (5, 2))
    norm = np.hstack([xy, xy + rng.uniform(.05, .4, (5, 2))])
    w0, h0, w1, h1 = 320, 240, 427, 320
    pix = norm * [w0, h0, w0, h0]
    pix = Resize._box_resize(pix, np.array([w1 / w0, h1 / h0]))
    flipped = Flip._box_flip(pix, w1)
    back = boxes_to_original(torch.from_numpy(flipped), dict(img_shape=(h1, w1), flip=True))
    np.testing.assert_allclose(back.numpy(), norm, atol=1e-12)
    hand = boxes_to_original(torch.tensor([[0., 70., 20., 90., 40.]]),
                             dict(img_shape=(50, 100), flip=True))
    np.testing.assert_allclose(hand.numpy(), [[.1, .4, .3, .8]], atol=1e-7)
    crop = boxes_to_original(torch.tensor([[0., 50., 0., 100., 50.]]),
                             dict(img_shape=(50, 100), crop_quadruple=(.1, .2, .5, .4)))
    np.testing.assert_allclose(crop.numpy(), [[.1 + .25, .2, .1 + .5, .2 + .4]], atol=1e-7)


@pytest.mark.parametrize('make_model', [linear_model, acar_model], ids=['linear', 'acar'])
def test_one_view_equals_no_tta(tiny_ava, make_model):
    model, sizes = make_model()
    plain_ds = dataset(tiny_ava, plain_pipeline(sizes[0]))
    tta_ds = dataset(tiny_ava, ava_tta_pipeline(HEAD, sizes[:1], flip=False, keep_ratio=False))
    tta = AVATTAModel(module=model)
    with torch.no_grad():
        merged = tta.test_step(pseudo_collate([tta_ds[0], tta_ds[1]]))  # two clips a batch
    ref = plain_outputs(model, plain_ds, [0, 1])
    for got, exp in zip(merged, ref):
        assert got.metainfo['video_id'] == exp.metainfo['video_id']
        assert len(exp.pred_instances.bboxes) > 0
        torch.testing.assert_close(got.pred_instances.bboxes,
                                   exp.pred_instances.bboxes,
                                   rtol=0,
                                   atol=0)
        torch.testing.assert_close(got.pred_instances.scores,
                                   exp.pred_instances.scores,
                                   rtol=0,
                                   atol=0)


def view_reference(model, tiny_ava, views, idx):
    """Per view: an own dataset with that single fixed view, and the logits computed from the
    model's parts (preprocessor, backbone, RoI head forward) with the view's own RoIs."""
    logits = []
    for size, flip in views:
        pipe = [
            *HEAD,
            dict(type='Resize', scale=size, keep_ratio=False),
            dict(type='Flip', flip_ratio=float(flip)),
            dict(type='FormatShape', input_format='NCTHW', collapse=True),
            dict(type='PackActionInputs')
        ]
        ds = dataset(tiny_ava, pipe)
        view_logits = []
        for i in idx:
            with torch.no_grad():
                data = model.data_preprocessor(pseudo_collate([ds[i]]), False)
                x = model.extract_feat(data['inputs'])
                rois = bbox2roi([s.proposals.bboxes for s in data['data_samples']])
                metas = [s.metainfo for s in data['data_samples']]
                view_logits.append(model.roi_head._bbox_forward(x, rois, metas)['cls_score'])
        logits.append(view_logits)
    return logits


@pytest.mark.parametrize('make_model,num_sizes,merges,clips',
                         [(linear_model, 2, ('logits', 'sum'), [2]),
                          (acar_model, 1, ('logits', ), [0, 2])],
                         ids=['linear', 'acar'])
def test_views_merge_like_independent_reference(tiny_ava, make_model, num_sizes, merges, clips):
    """Linear head: 2 scales x flip, logits and summed probabilities; ACAR relation head: flip
    views of 2 clips in a batch. The reference runs each view alone from the model's parts."""
    model, sizes = make_model()
    sizes = sizes[:num_sizes]
    views = [(s, f) for s in sizes for f in (False, True)]  # ava_tta_pipeline's order
    logits = view_reference(model, tiny_ava, views, clips)
    activation = model.roi_head.bbox_head.activation
    tta_ds = dataset(tiny_ava, ava_tta_pipeline(HEAD, sizes, flip=True, keep_ratio=False))
    batch = pseudo_collate([tta_ds[i] for i in clips])
    plain = plain_outputs(model, dataset(tiny_ava, plain_pipeline(sizes[0])), clips)
    for merge in merges:
        with torch.no_grad():
            merged = AVATTAModel(module=model, merge=merge).test_step(batch)
        for c, got in enumerate(merged):
            view_logits = torch.stack([v[c] for v in logits])
            if merge == 'logits':
                expected = activation(view_logits.mean(0))
            else:
                probs = torch.stack([activation(v) for v in view_logits])
                expected = probs.mean(0) if merge == 'mean' else probs.sum(0)
            torch.testing.assert_close(got.pred_instances.scores, expected, rtol=1e-5, atol=1e-6)
            # the views differ, so the merge is not the single view
            assert not torch.allclose(got.pred_instances.scores,
                                      activation(logits[0][c]) *
                                      (len(views) if merge == 'sum' else 1),
                                      atol=1e-4)
            torch.testing.assert_close(got.pred_instances.bboxes,
                                       plain[c].pred_instances.bboxes,
                                       rtol=0,
                                       atol=1e-5)


def test_pipeline_without_flip_meta_is_refused(tiny_ava):
    pipe = ava_tta_pipeline(HEAD, [(32, 32)],
                            flip=True,
                            keep_ratio=False,
                            meta_keys=('img_shape', 'img_key', 'video_id', 'timestamp'))
    ds = dataset(tiny_ava, pipe)
    with pytest.raises(ValueError, match=r"boxes differ by .* 'flip' in"):
        with torch.no_grad():
            AVATTAModel(module=linear_model()[0]).test_step(pseudo_collate([ds[0]]))
    with pytest.raises(ValueError, match="merge must be one of"):
        AVATTAModel(module=linear_model()[0], merge='max')


@pytest.mark.parametrize('name,scales,merge,head', [
    ('acar_slowfast_r101', (256, 288, 320), 'logits', 2),
    ('linear_slowfast_r50', (256, 288, 320), 'logits', 2),
    ('synthetic/linear_slowfast_tiny', (64, 80, 96), 'logits', 2),
    ('arm_slowfast_r50', (224, 256, 320), 'sum', 3),  # Fujitsu; ArmRoIs before the views
    ('fujitsu_slowfast_r50_kinetics', (224, 256, 320), 'sum', 2)])
def test_tta_configs_inherit_their_base(name, scales, merge, head):
    cfg = Config.fromfile(osp.join(REPO, 'configs', f'{name}_tta.py'))
    base = Config.fromfile(osp.join(REPO, 'configs', f'{name}.py'))
    assert cfg.model.type == 'AVATTAModel' and cfg.model['merge'] == merge
    assert cfg.model.module == base.model
    pipe, base_pipe = cfg.test_dataloader.dataset.pipeline, base.test_dataloader.dataset.pipeline
    assert pipe[:head] == base_pipe[:head] and len(pipe) == head + 1
    resizes, flips, _, pack = pipe[head]['transforms']
    assert set(base_pipe[-1].get('meta_keys', ())) <= set(pack[0]['meta_keys'])
    assert [r['scale'] for r in resizes] == [(-1, s) for s in scales]
    assert [f['flip_ratio'] for f in flips] == [0.0, 1.0]
    assert 'flip' in pack[0]['meta_keys']
    assert cfg.test_evaluator == base.test_evaluator
    assert cfg.val_dataloader.dataset.pipeline == base.val_dataloader.dataset.pipeline


@pytest.mark.filterwarnings('ignore::ava_plugins.evaluation.AVAEvalWarning')
def test_test_tool_runs_tta_config(tiny_ava, tmp_path):
    """tools/test.py (in-process) with a TTA child of the tiny config and a plain-model
    checkpoint: the dumped predictions equal AVATTAModel run here (the checkpoint loads into
    the wrapper) and the AVA metric evaluates them."""
    model = linear_model()[0]
    ckpt = tmp_path / 'plain.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    cfg = tmp_path / 'tiny_tta.py'
    pipe = ava_tta_pipeline(HEAD, [(40, 32)], flip=True, keep_ratio=False)
    cfg.write_text(f"_base_ = '{TINY}'\n"
                   "custom_imports = dict(imports=['ava_plugins', 'ava_plugins.models.tta'], "
                   "allow_failed_imports=False)\n"
                   "model = dict(_delete_=True, type='AVATTAModel', module=_base_.model)\n"
                   f"test_dataloader = dict(batch_size=2, dataset=dict(pipeline={pipe!r}))\n")
    opts = []
    ds = 'test_dataloader.dataset'
    opts += [
        f'{ds}.ann_file={tiny_ava["ann_file"]}', f'{ds}.label_file={tiny_ava["label_file"]}',
        f'{ds}.proposal_file={tiny_ava["proposal_file"]}',
        f'{ds}.data_prefix.img={tiny_ava["frames"]}',
        f'test_evaluator.ann_file={tiny_ava["ann_file"]}',
        f'test_evaluator.label_file={tiny_ava["label_file"]}'
    ]
    dump = tmp_path / 'preds.pkl'
    spec = importlib.util.spec_from_file_location('ava_test_tool',
                                                  osp.join(REPO, 'tools', 'test.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    metrics = tool.main([
        str(cfg),
        str(ckpt), '--work-dir',
        str(tmp_path / 'work'), '--dump',
        str(dump), '--cfg-options', *opts
    ])
    assert 0 <= metrics['mAP/overall'] <= 1
    preds = mmengine.load(dump)
    tta_ds = dataset(tiny_ava, pipe)
    assert len(preds) == len(tta_ds)
    with torch.no_grad():
        ref = AVATTAModel(module=model).test_step(pseudo_collate([tta_ds[0], tta_ds[1]]))
    for got, exp in zip(preds[:2], ref):
        np.testing.assert_allclose(np.asarray(got['pred_instances']['scores']),
                                   exp.pred_instances.scores.numpy(),
                                   rtol=1e-5,
                                   atol=1e-6)
        np.testing.assert_allclose(np.asarray(got['pred_instances']['bboxes']),
                                   exp.pred_instances.bboxes.numpy(),
                                   atol=1e-6)


THREE_BRANCH_TINY = osp.join(REPO, 'configs', 'synthetic', 'three_branch_slowfast_tiny.py')


@pytest.fixture(scope='module')
def lfb_bank(tiny_ava, tmp_path_factory):
    """A 144-d long-term bank (the tiny three-branch width) for the fixture's two videos."""
    from ava_plugins.structures import extract_bank
    rng = np.random.default_rng(0)

    def compute(video):
        ts = np.repeat(np.arange(895, 910), 2)
        return ts, rng.standard_normal((len(ts), 144)).astype(np.float32), None

    root = tmp_path_factory.mktemp('tta_lfb') / 'bank'
    extract_bank(str(root), ['0f39OWEqJ24', '_-Z6wFjXtGQ'], compute, rank=0, world_size=1,
                 progress=False)
    return str(root)


def test_three_branch_one_view_and_flip_views(tiny_ava, lfb_bank):
    """The three-branch head (long-term bank read per clip) under TTA: one view equals no TTA,
    and with flip the merged logits equal the mean of the two single-view runs' logits."""
    model = build(THREE_BRANCH_TINY, num_classes=81, class_ids=list(range(1, 81)),
                  pose_id_range=(1, 14))
    lfb = dict(type='LoadLFBWindow', bank_dir=lfb_bank, half_width=4, max_items=2)
    keys = ('lfb_feat', 'lfb_mask')
    meta = ('img_shape', 'img_key', 'video_id', 'timestamp', 'flip', 'flip_direction',
            'crop_quadruple', 'scale_factor')

    def pipeline(flips):
        views = [dict(type='Flip', flip_ratio=float(f)) for f in flips]
        return [*HEAD, lfb, dict(type='TestTimeAug', transforms=[
            [dict(type='Resize', scale=(48, 48), keep_ratio=False)], views,
            [dict(type='FormatShape', input_format='NCTHW', collapse=True)],
            [dict(type='PackActionInputs', algorithm_keys=keys, meta_keys=meta)]])]

    plain = dataset(tiny_ava, [*HEAD, lfb, dict(type='Resize', scale=(48, 48), keep_ratio=False),
                               dict(type='FormatShape', input_format='NCTHW', collapse=True),
                               dict(type='PackActionInputs', algorithm_keys=keys)])
    with torch.no_grad():
        ref = plain_outputs(model, plain, [0, 1])
        one = AVATTAModel(module=model).test_step(
            pseudo_collate([dataset(tiny_ava, pipeline([0]))[i] for i in (0, 1)]))
        for got, exp in zip(one, ref):
            assert len(exp.pred_instances.bboxes) > 0
            torch.testing.assert_close(got.pred_instances.scores, exp.pred_instances.scores,
                                       rtol=0, atol=0)
        both = AVATTAModel(module=model, merge='mean').test_step(
            pseudo_collate([dataset(tiny_ava, pipeline([0, 1]))[0]]))[0]
        flipped = AVATTAModel(module=model).test_step(
            pseudo_collate([dataset(tiny_ava, pipeline([1]))[0]]))[0]
    torch.testing.assert_close(both.pred_instances.bboxes, ref[0].pred_instances.bboxes)
    torch.testing.assert_close(both.pred_instances.scores,
                               (ref[0].pred_instances.scores + flipped.pred_instances.scores) / 2)
    assert not torch.allclose(flipped.pred_instances.scores, ref[0].pred_instances.scores)


def test_three_branch_tta_config_runs_and_merges_all_views(tiny_ava, lfb_bank):
    """``three_branch_slowfast_r101_tta.py`` built as configured (its model wrapper and its
    TestTimeAug views; only the R101 detector swapped for the tiny three-branch one and the
    clip/bank sizes shrunk): each clip runs 3 scales x 2 flips = 6 views (counted by a forward
    hook on the bbox head, independent of AVATTAModel's own capture), and the merged scores
    equal the head's activation of the hand-averaged hooked logits. Would have caught: the old
    recipe's ``tta_scales``/``tta_flip`` keys that no pipeline read (no TTA config existed), a
    view dropped or a scale never applied, or views not merged (first view returned)."""
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'three_branch_slowfast_r101_tta.py'))
    tiny = Config.fromfile(THREE_BRANCH_TINY)
    tiny.model.roi_head.bbox_head.update(num_classes=81, class_ids=list(range(1, 81)),
                                         pose_id_range=(1, 14))
    cfg.model.module = tiny.model
    torch.manual_seed(0)
    tta = MODELS.build(cfg.model).eval()
    assert isinstance(tta, AVATTAModel) and tta.merge == 'logits'
    pipe = [dict(t) for t in cfg.test_dataloader.dataset.pipeline]
    kinds = [t['type'] for t in pipe]
    assert kinds == ['SampleAVAFrames', 'RawFrameDecode', 'LoadLFBWindow', 'TestTimeAug']
    pipe[0] = HEAD[0]  # 8 frames
    pipe[2].update(bank_dir=lfb_bank, half_width=4, max_items=2)
    ds = dataset(tiny_ava, pipe)

    head = tta.module.roi_head.bbox_head
    seen = []  # (img_shape, flip, logits) of each bbox head forward
    pending = []
    orig_test_step = tta.module.test_step

    def test_step(data):
        meta = data['data_samples'][0].metainfo
        pending.append((tuple(meta['img_shape']), bool(meta['flip'])))
        return orig_test_step(data)

    def hook(module, args, output):  # output: cls_score (num_rois, num_classes)
        seen.append((*pending[-1], output.detach().clone()))

    tta.module.test_step = test_step
    handle = head.register_forward_hook(hook)
    try:
        with torch.no_grad():
            merged = tta.test_step(pseudo_collate([ds[0]]))
    finally:
        handle.remove()
        del tta.module.test_step
    views = {((s, s), f) for s in (224, 256, 320) for f in (False, True)}  # 32 px square frames
    assert len(merged) == 1 and len(seen) == len(views)
    for c, got in enumerate(merged):
        clip = seen[c * len(views):(c + 1) * len(views)]
        assert {(shape, flip) for shape, flip, _ in clip} == views
        logits = torch.stack([v[2] for v in clip])
        assert len(got.pred_instances.scores) == logits.shape[1] > 0
        torch.testing.assert_close(got.pred_instances.scores, head.activation(logits.mean(0)),
                                   rtol=1e-5, atol=1e-6)
        for v in logits:  # the views differ, so the merge is none of them
            assert not torch.allclose(got.pred_instances.scores, head.activation(v), atol=1e-4)


def test_fujitsu_tta_config_sums_all_views(tiny_ava, lfb_bank):
    """``fujitsu_slowfast_r50_ava_tta.py`` built as configured (its wrapper and TestTimeAug
    views; only the SlowFast R50 swapped for the tiny synthetic backbone and the clip/bank sizes
    shrunk): each clip runs 3 scales x 2 flips = 6 views (counted by a forward hook on the bbox
    head), and the merged scores are the sum of the 6 views' sigmoid scores (the report's
    "combined with summation"). Would have caught a missing TTA config, a dropped view or
    averaged logits instead of summed scores."""
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'fujitsu_slowfast_r50_ava_tta.py'))
    synthetic = Config.fromfile(osp.join(REPO, 'configs', 'synthetic', '_base_',
                                         'synthetic_ava.py'))
    module = Config(dict(model=cfg.model.module.to_dict()))
    module.merge_from_dict(dict(model=dict(
        init_cfg=None, backbone=synthetic.synthetic_backbone.to_dict(),
        roi_head=dict(shared_head=dict(in_channels=144, lfb=dict(lt_channels=144)),
                      bbox_head=dict(in_channels=144 + 512 + 256)))))
    cfg.model.module = module.model
    torch.manual_seed(0)
    tta = MODELS.build(cfg.model).eval()
    assert isinstance(tta, AVATTAModel) and tta.merge == 'sum'
    pipe = [dict(t) for t in cfg.test_dataloader.dataset.pipeline]
    assert [t['type'] for t in pipe] == ['SampleAVAFrames', 'RawFrameDecode', 'LoadLFBWindow',
                                         'TestTimeAug']
    pipe[0] = HEAD[0]  # 8 frames
    pipe[2].update(bank_dir=lfb_bank, half_width=4, max_items=2)
    ds = dataset(tiny_ava, pipe)
    seen, pending = [], []
    orig_test_step = tta.module.test_step

    def test_step(data):
        meta = data['data_samples'][0].metainfo
        pending.append((tuple(meta['img_shape']), bool(meta['flip'])))
        return orig_test_step(data)

    def hook(module, args, output):
        seen.append((*pending[-1], output.detach().clone()))

    tta.module.test_step = test_step
    handle = tta.module.roi_head.bbox_head.register_forward_hook(hook)
    try:
        with torch.no_grad():
            merged = tta.test_step(pseudo_collate([ds[0]]))[0]
    finally:
        handle.remove()
        del tta.module.test_step
    views = {((s, s), f) for s in (224, 256, 320) for f in (False, True)}  # 32 px square frames
    assert len(seen) == 6 and {(shape, flip) for shape, flip, _ in seen} == views
    logits = torch.stack([v[2] for v in seen])
    assert len(merged.pred_instances.scores) == logits.shape[1] > 0
    torch.testing.assert_close(merged.pred_instances.scores, logits.sigmoid().sum(0),
                               rtol=1e-5, atol=1e-6)
