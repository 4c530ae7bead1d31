"""ArmRoIHead (Fujitsu 2020, report 003 Sec. 2.1): per-arm-RoI scores reported on person boxes,
each person's score the maximum over its arm RoIs, persons without an arm left out.

Hand-made cases of the mapping, a batch of two clips through the real head against per-clip
forwards, the errors, and the tiny arm config end to end on the synthetic dataset: its test
results equal the person boxes and the maxima of an independent per-arm forward (a plain
``AVARoIHead`` with the same weights, one arm RoI at a time).
"""
import copy
import os.path as osp
import pickle

import cv2
import numpy as np
import pytest
import torch

import ava_plugins  # noqa: F401  (registers ArmRoIHead, ArmRoIs)
from ava_plugins.models.roi_heads.arm_roi_head import ArmRoIHead, persons_from_arms

torch.set_num_threads(1)

TINY = 'configs/synthetic/arm_slowfast_tiny.py'


def load(path):
    with open(path, 'rb') as f:
        return pickle.load(f)


def person_maxima(scores, index, num_persons):
    """Independent reference: per-person maximum with a Python dict."""
    best = {}
    for s, p in zip(np.asarray(scores), np.asarray(index)):
        best[int(p)] = np.maximum(best[int(p)], s) if int(p) in best else s
    return {p: best[p] for p in range(num_persons) if p in best}


# --- the mapping, by hand -------------------------------------------------------------------

def test_two_persons_three_arm_rois_hand_made():
    """Person 0 has two arm RoIs (rows 0, 2), person 1 one (row 1): per-class maxima."""
    scores = torch.tensor([[0.1, 0.9, 0.2], [0.5, 0.4, 0.3], [0.6, 0.3, 0.8]])
    person_boxes = np.array([[0.1, 0.2, 0.4, 0.9], [0.5, 0.1, 0.8, 0.7]], np.float32)
    out, = ArmRoIHead.person_results(scores, [(np.array([0, 1, 0]), person_boxes)])
    torch.testing.assert_close(out.scores, torch.tensor([[0.6, 0.9, 0.8], [0.5, 0.4, 0.3]]))
    torch.testing.assert_close(out.bboxes, torch.from_numpy(person_boxes))
    maxima, has = persons_from_arms(scores, torch.tensor([0, 1, 0]), 2)
    torch.testing.assert_close(maxima, out.scores)
    assert has.tolist() == [True, True]


def test_person_without_arm_is_left_out():
    """Persons 1 and 3 have no arm RoI: only persons 0 and 2 are reported, in person order."""
    scores = torch.tensor([[0.2, 0.7], [0.9, 0.1], [0.4, 0.4]])
    person_boxes = np.arange(16, dtype=np.float32).reshape(4, 4) / 16
    out, = ArmRoIHead.person_results(scores, [(np.array([2, 0, 2]), person_boxes)])
    torch.testing.assert_close(out.bboxes, torch.from_numpy(person_boxes[[0, 2]]))
    torch.testing.assert_close(out.scores, torch.tensor([[0.9, 0.1], [0.4, 0.7]]))
    maxima, has = persons_from_arms(scores, torch.tensor([2, 0, 2]), 4)
    assert has.tolist() == [True, False, True, False]
    # a clip without any arm RoI reports no person
    empty, = ArmRoIHead.person_results(torch.zeros((0, 2)), [(np.zeros(0, np.int64),
                                                              person_boxes[:2])])
    assert empty.bboxes.shape == (0, 4) and empty.scores.shape == (0, 2)


def test_batch_indices_are_per_clip():
    """Two clips, both with persons 0 and 1: clip 1's person 0 is not clip 0's."""
    rng = np.random.default_rng(0)
    scores = torch.from_numpy(rng.uniform(0, 1, (7, 5)).astype(np.float32))
    clips = [(np.array([1, 0, 1]), rng.uniform(0, 1, (3, 4)).astype(np.float32)),
             (np.array([0, 1, 1, 0]), rng.uniform(0, 1, (2, 4)).astype(np.float32))]
    out = ArmRoIHead.person_results(scores, clips)
    start = 0
    for res, (index, boxes) in zip(out, clips):
        ref = person_maxima(scores[start:start + len(index)], index, len(boxes))
        start += len(index)
        np.testing.assert_allclose(res.scores.numpy(), np.stack([ref[p] for p in sorted(ref)]))
        np.testing.assert_array_equal(res.bboxes.numpy(), boxes[sorted(ref)])


# --- the real head ---------------------------------------------------------------------------

@pytest.fixture(scope='module')
def tiny_cfg():
    from mmengine.config import Config
    return Config.fromfile(TINY)


def data_sample(meta, rois=None):
    from mmaction.structures import ActionDataSample
    from mmengine.structures import InstanceData
    sample = ActionDataSample()
    sample.set_metainfo(meta)
    if rois is not None:
        sample.proposals = InstanceData(bboxes=rois)
    return sample


def test_predict_on_a_batch_of_two_clips_equals_per_clip_forwards(tiny_cfg):
    """The tiny config's head on random features of 2 clips (64 px frames): each clip's
    results are the per-person maxima of mmaction2's AVARoIHead.predict run on that clip
    alone; the second clip has a person without an arm."""
    from mmaction.models.roi_heads import AVARoIHead
    from mmdet.registry import MODELS
    from mmengine.structures import InstanceData
    assert tiny_cfg.model.roi_head.type == 'ArmRoIHead'
    torch.manual_seed(0)
    head = MODELS.build(dict(tiny_cfg.model.roi_head, _scope_='mmdet')).eval()
    assert isinstance(head, ArmRoIHead)
    x = (torch.randn(2, 128, 2, 4, 4), torch.randn(2, 16, 8, 4, 4))
    rois = [torch.tensor([[4., 4., 30., 40.], [20., 8., 60., 50.], [2., 30., 20., 62.]]),
            torch.tensor([[10., 10., 40., 40.], [0., 0., 63., 63.]])]
    index = [np.array([1, 0, 1]), np.array([2, 2])]
    persons = [np.array([[0.0, 0.0, 0.5, 1.0], [0.3, 0.1, 1.0, 0.9]], np.float32),
               np.array([[0.1, 0.1, 0.4, 0.4], [0.5, 0.5, 0.9, 0.9], [0.0, 0.0, 1.0, 1.0]],
                        np.float32)]
    metas = [dict(img_shape=(64, 64), img_key=f'v,090{i}', arm_person_index=index[i],
                  arm_person_bboxes=persons[i]) for i in range(2)]
    with torch.no_grad():
        out = head.predict(x, [InstanceData(bboxes=r.clone()) for r in rois],
                           [data_sample(m) for m in metas])
        for i in range(2):
            one = AVARoIHead.predict(head, tuple(f[i:i + 1] for f in x),
                                     [InstanceData(bboxes=rois[i].clone())],
                                     [data_sample(metas[i])])[0]
            ref = person_maxima(one.scores, index[i], len(persons[i]))
            np.testing.assert_allclose(out[i].scores.numpy(),
                                       np.stack([ref[p] for p in sorted(ref)]), rtol=1e-6)
            np.testing.assert_array_equal(out[i].bboxes.numpy(), persons[i][sorted(ref)])
    assert len(out[1]) == 1  # persons 0 and 1 of clip 1 have no arm


def test_missing_or_inconsistent_arm_meta_is_named(tiny_cfg):
    from mmdet.registry import MODELS
    from mmengine.structures import InstanceData
    head = MODELS.build(dict(tiny_cfg.model.roi_head, _scope_='mmdet')).eval()
    x = (torch.randn(1, 128, 2, 4, 4), torch.randn(1, 16, 8, 4, 4))
    rois = [InstanceData(bboxes=torch.tensor([[4., 4., 30., 40.]]))]
    with pytest.raises(ValueError, match=r"v,0902 has no \['arm_person_index', "
                       r"'arm_person_bboxes'\].*PackActionInputs"):
        head.predict(x, rois, [data_sample(dict(img_shape=(64, 64), img_key='v,0902'))])
    bad = dict(img_shape=(64, 64), img_key='v,0902', arm_person_index=np.array([3]),
               arm_person_bboxes=np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match=r'arm_person_index must give, for each of the 1 RoIs, '
                       r'a person in \[0, 2\)'):
        head.predict(x, rois, [data_sample(bad)])


# --- end to end -----------------------------------------------------------------------------

def armless_synthetic_val(tmp_path, tiny_cfg):
    """A small synthetic set whose every keyframe's first person is armless (keypoint scores
    0; every synthetic arm is valid otherwise) and the tiny config's val dataset on it.

    Returns the generator's files, the config and the keypoints."""
    from ava_plugins.datasets import generate_synthetic_ava
    files = generate_synthetic_ava(str(tmp_path), seed=3, train_videos=1, val_videos=1,
                                   seconds=8, fps=4, size=64)
    kps = load(files['val_keypoints'])
    for key in kps:
        if len(kps[key]) > 1:
            kps[key][0, :, 2] = 0
    with open(files['val_keypoints'], 'wb') as f:
        pickle.dump(kps, f)
    cfg = copy.deepcopy(tiny_cfg)
    ds_cfg = cfg.val_dataloader.dataset
    ds_cfg.update(ann_file=files['val_csv'], exclude_file=files['val_excluded'],
                  label_file=files['label_map'], proposal_file=files['val_proposals'],
                  data_prefix=dict(img=files['rawframes']), timestamp_end=908, fps=4)
    arm_step = next(t for t in ds_cfg.pipeline if t['type'] == 'ArmRoIs')
    arm_step.update(keypoint_file=files['val_keypoints'], proposal_file=files['val_proposals'])
    return files, cfg, kps


def test_tiny_arm_config_test_step_reports_person_boxes(tmp_path, tiny_cfg):
    """configs/synthetic/arm_slowfast_tiny.py, randomly initialised, on a synthetic val sample
    with a person made armless (keypoint scores 0): ``model.test_step`` reports the sample's
    person boxes (the proposals above the dataset's threshold) of the persons with a valid arm,
    the same boxes the plain model reports when run on those person boxes, and scores equal to
    the maximum over each person's arm RoIs of a per-arm forward (a plain AVARoIHead with the
    same weights, one arm RoI at a time)."""
    from mmaction.registry import DATASETS
    from mmdet.registry import MODELS
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope
    from mmengine.structures import InstanceData

    from ava_plugins.datasets.transforms.arm_rois import arm_boxes
    files, cfg, kps = armless_synthetic_val(tmp_path, tiny_cfg)
    ds_cfg = cfg.val_dataloader.dataset
    init_default_scope('mmaction')
    ds = DATASETS.build(ds_cfg)
    props = load(files['val_proposals'])

    # the first sample with a person with an arm and a person without
    for i in range(len(ds)):
        sample = ds[i]
        meta = sample['data_samples'].metainfo
        has_arm = np.isin(np.arange(len(meta['arm_person_bboxes'])), meta['arm_person_index'])
        if has_arm.any() and not has_arm.all():
            break
    else:
        pytest.fail('no synthetic val sample has persons with and without an arm')
    meta = sample['data_samples'].metainfo
    info = ds.get_data_info(i)

    # independent: the dataset's kept proposals and their valid arms, from the pickles
    key = info['img_key']
    scores = props[key][:, 4]
    rows = np.flatnonzero(scores >= min(ds.person_det_score_thr, scores.max()))
    person_boxes = props[key][rows, :4]
    h, w = cv2.imread(osp.join(files['rawframes'], info['video_id'], 'img_00001.jpg')).shape[:2]
    _, valid = arm_boxes(kps[key][rows] * [w, h, 1], (w, h), score_thr=0.3, scale=1.5,
                         min_side_ratio=0.5)
    np.testing.assert_array_equal(has_arm, valid.any(1))
    np.testing.assert_allclose(meta['arm_person_bboxes'], person_boxes, atol=1e-6)

    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    assert isinstance(model.roi_head, ArmRoIHead)
    with torch.no_grad():
        result = model.test_step(pseudo_collate([sample]))[0].pred_instances
    np.testing.assert_allclose(result.bboxes.numpy(), person_boxes[has_arm], atol=1e-6)

    # the plain model (mmaction2's AVARoIHead, same weights) on the arm RoIs, one at a time,
    # and on the person boxes (in the sample's pixels, as Resize scales proposals)
    plain = MODELS.build(dict(cfg.model, roi_head=dict(cfg.model.roi_head,
                                                       type='AVARoIHead'))).eval()
    plain.load_state_dict(model.state_dict())
    arm_rois = sample['data_samples'].proposals.bboxes.clone()
    per_arm = []
    with torch.no_grad():
        for roi in arm_rois:
            one = sample['data_samples'].clone()
            one.proposals = InstanceData(bboxes=roi[None].clone())
            per_arm.append(plain.test_step(pseudo_collate([dict(sample, data_samples=one)]))[0]
                           .pred_instances.scores[0].numpy())
        nh, nw = meta['img_shape']
        on_persons = sample['data_samples'].clone()
        on_persons.proposals = InstanceData(bboxes=torch.from_numpy(
            (person_boxes * [nw, nh, nw, nh]).astype(np.float32)))
        plain_boxes = plain.test_step(pseudo_collate([dict(sample, data_samples=on_persons)]))[0]
    ref = person_maxima(np.stack(per_arm), meta['arm_person_index'], len(person_boxes))
    assert sorted(ref) == np.flatnonzero(has_arm).tolist()
    np.testing.assert_allclose(result.scores.numpy(), np.stack([ref[p] for p in sorted(ref)]),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.bboxes.numpy(),
                               plain_boxes.pred_instances.bboxes.numpy()[has_arm], atol=1e-5)


def test_tta_merges_arm_rois_before_the_person_maximum(tmp_path, tiny_cfg):
    """``AVATTAModel`` around the arm model: one view equals no TTA; 2 sizes x flip with
    ``merge='mean'`` give, per person, the maximum over its arm RoIs of the per-RoI mean over
    the views of the plain model's probabilities (each view run on its own pipeline)."""
    from mmaction.registry import DATASETS
    from mmdet.registry import MODELS
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope

    from ava_plugins.models import AVATTAModel, ava_tta_pipeline
    from ava_plugins.models.roi_heads.arm_roi_head import ARM_META_KEYS
    from ava_plugins.models.tta.ava_tta_model import TTA_META_KEYS
    _, cfg, _ = armless_synthetic_val(tmp_path, tiny_cfg)
    ds_cfg = cfg.val_dataloader.dataset
    steps = list(ds_cfg.pipeline)
    head = steps[:[t['type'] for t in steps].index('ArmRoIs') + 1]
    meta_keys = TTA_META_KEYS + ARM_META_KEYS
    sizes = [(96, 54), (128, 72)]

    def build_ds(pipeline):
        init_default_scope('mmaction')
        return DATASETS.build(dict(ds_cfg, pipeline=pipeline))

    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    plain = MODELS.build(dict(cfg.model, roi_head=dict(cfg.model.roi_head,
                                                       type='AVARoIHead'))).eval()
    plain.load_state_dict(model.state_dict())
    idx = 0
    with torch.no_grad():
        one = build_ds(ava_tta_pipeline(head, sizes[:1], flip=False, keep_ratio=False,
                                        meta_keys=meta_keys))
        tta = AVATTAModel(module=model, merge='logits')
        out = tta.test_step(pseudo_collate([one[idx]]))[0].pred_instances
        plain_view = build_ds(head + [
            dict(type='Resize', scale=sizes[0], keep_ratio=False),
            dict(type='FormatShape', input_format='NCTHW', collapse=True),
            dict(type='PackActionInputs', meta_keys=meta_keys)])
        ref = model.test_step(pseudo_collate([plain_view[idx]]))[0].pred_instances
        torch.testing.assert_close(out.scores, ref.scores)
        torch.testing.assert_close(out.bboxes, ref.bboxes)

        views, meta = [], None
        for size in sizes:
            for flip in (0.0, 1.0):
                view = build_ds(head + [
                    dict(type='Resize', scale=size, keep_ratio=False),
                    dict(type='Flip', flip_ratio=flip),
                    dict(type='FormatShape', input_format='NCTHW', collapse=True),
                    dict(type='PackActionInputs', meta_keys=meta_keys)])[idx]
                meta = view['data_samples'].metainfo
                views.append(plain.test_step(pseudo_collate([view]))[0].pred_instances.scores)
        mean = torch.stack(views).mean(0).numpy()
        expected = person_maxima(mean, meta['arm_person_index'], len(meta['arm_person_bboxes']))
        many = build_ds(ava_tta_pipeline(head, sizes, flip=True, keep_ratio=False,
                                         meta_keys=meta_keys))
        out = AVATTAModel(module=model, merge='mean').test_step(
            pseudo_collate([many[idx]]))[0].pred_instances
    np.testing.assert_allclose(out.scores.numpy(), np.stack([expected[p] for p in sorted(expected)]),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.bboxes.numpy(),
                               np.asarray(meta['arm_person_bboxes'])[sorted(expected)], atol=1e-6)
