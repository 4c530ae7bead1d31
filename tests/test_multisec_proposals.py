"""Multi-sec training proposals (ByteDance AI Lab, AVA 2019, Sec. 1.1: RPN proposals): the RPN
path of tools/detect_persons.py with the project's mmdet RPN config (shrunk; random weights,
then briefly trained on the synthetic keyframes), and what its proposals give the multi-sec
config's assigner and 1:3 sampler of 40 on the synthetic set, against the FAIR-style
detections at mmaction2's 0.9 that the config read before."""
import os.path as osp
import pickle
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

import ava_plugins  # noqa: F401
from ava_plugins.structures import batched_iou

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(REPO, 'tools'))
import detect_persons  # noqa: E402

RPN_CONFIG = osp.join(REPO, 'configs/multisec_rpn_r50_fpn.py')
STAGE1 = osp.join(REPO, 'configs/multisec_baseline_slowfast_r50.py')
STAGE1_TINY = osp.join(REPO, 'configs/synthetic/multisec_baseline_slowfast_tiny.py')
FPS = 10  # the synthetic set's
# configs/multisec_rpn_r50_fpn.py shrunk for the CPU: ResNet-18 of 1/4 width, 16 FPN channels,
# frames resized to 216 px high instead of 800 (persons about 36 x 90 px, the size of the RPN's
# stride-8 anchors of aspect 2)
SHRINK = {'model.backbone.depth': 18, 'model.backbone.base_channels': 16,
          'model.backbone.init_cfg': None, 'model.neck.in_channels': [16, 32, 64, 128],
          'model.neck.out_channels': 16, 'model.rpn_head.in_channels': 16,
          'model.rpn_head.feat_channels': 16,
          'test_dataloader.dataset.pipeline.1.scale': (384, 216)}


def frame_args(synthetic):
    return ['--frames', synthetic['rawframes'], '--fps', str(FPS), '--timestamp-start', '900']


@pytest.fixture(scope='module')
def rpn(tmp_path_factory):
    """The shrunk RPN config and a checkpoint of its random initialisation whose only class
    is not "person" (so a person filter could not pass)."""
    from mmdet.apis import init_detector
    work = tmp_path_factory.mktemp('rpn')
    cfg = Config.fromfile(RPN_CONFIG)
    cfg.merge_from_dict(SHRINK)
    torch.manual_seed(0)
    model = init_detector(cfg, None, device='cpu')
    assert detect_persons.is_rpn(model)
    ckpt = work / 'rpn.pth'
    save_checkpoint(model, ckpt)
    return dict(cfg=cfg, ckpt=ckpt, work=work)


def save_checkpoint(model, path):
    torch.save({'state_dict': model.state_dict(),
                'meta': {'dataset_meta': {'classes': ('object', )}}}, path)


@pytest.fixture(scope='module')
def trained_rpn(synthetic, rpn):
    """The random RPN after 60 steps of mmdet's own RPN training (``train_step``: its anchor
    assigner, sampler and losses; Adam at 3e-3, batches of 4) on the synthetic train keyframes
    and their ground-truth boxes. A random RPN's boxes are its anchors ranked by noise (on a
    synthetic keyframe with four persons one of its top 300 was at IoU >= 0.5 with one), too
    few positives for the 1:3 sampler; this one's top 300 held 17 to 40 per keyframe (four
    seeds tried), as a trained RPN's would."""
    from mmdet.apis import init_detector
    from mmengine.dataset import Compose
    from mmengine.optim import OptimWrapper
    gts = {}
    with open(synthetic['train_csv']) as f:
        for line in f:
            cols = line.strip().split(',')
            gts.setdefault((cols[0], int(cols[1])), set()).add(tuple(map(float, cols[2:6])))
    init_default_scope('mmdet')
    pipeline = Compose([dict(type='LoadImageFromNDArray'),
                        dict(type='LoadAnnotations', with_bbox=True),
                        dict(type='Resize', scale=(384, 216), keep_ratio=True),
                        dict(type='PackDetInputs')])
    data = []
    for (video, t), boxes in sorted(gts.items()):
        img = detect_persons.read_frame(keyframe_file(synthetic, f'{video},{t}'))
        h, w = img.shape[:2]
        instances = [dict(bbox=(np.array(b) * [w, h, w, h]).tolist(), bbox_label=0,
                          ignore_flag=0) for b in sorted(boxes)]
        data.append(pipeline(dict(img=img, img_id=len(data), instances=instances)))
    model = init_detector(rpn['cfg'], str(rpn['ckpt']), device='cpu').train()
    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=3e-3))
    torch.manual_seed(0)  # mmdet's anchor sampler draws from torch's global generator
    gen = torch.Generator().manual_seed(0)
    for _ in range(60):
        batch = [data[i] for i in torch.randperm(len(data), generator=gen)[:4].tolist()]
        model.train_step(pseudo_collate(batch), optim)
    ckpt = rpn['work'] / 'rpn_trained.pth'
    save_checkpoint(model, ckpt)
    return dict(cfg=rpn['cfg'], ckpt=ckpt, work=rpn['work'])


def keyframe_file(synthetic, key):
    video, t = key.split(',')
    return osp.join(synthetic['rawframes'], video, f'img_{(int(t) - 900) * FPS + 1:05d}.jpg')


def run_tool(synthetic, rpn, out, *extra):
    args = [RPN_CONFIG, str(rpn['ckpt']), '--out', str(out), '--ann-file',
            synthetic['train_csv'], *frame_args(synthetic), '--cfg-options',
            *[f'{k}={v}' for k, v in SHRINK.items()], *extra]
    detect_persons.main(args)
    with open(out, 'rb') as f:
        return pickle.load(f)


@pytest.fixture(scope='module')
def rpn_proposals(synthetic, rpn):
    """``tools/detect_persons.py`` with the random RPN on the synthetic train keyframes,
    default settings."""
    out = rpn['work'] / 'rpn_train.pkl'
    return dict(file=out, props=run_tool(synthetic, rpn, out))


@pytest.fixture(scope='module')
def trained_rpn_proposals(synthetic, trained_rpn):
    """The same with the trained RPN."""
    out = trained_rpn['work'] / 'rpn_trained_train.pkl'
    return dict(file=out, props=run_tool(synthetic, trained_rpn, out))


def mmdet_proposals(rpn, synthetic, key):
    """mmdet's own inference of the RPN on a keyframe: (N, 5) normalised rows, mmdet's order."""
    from mmdet.apis import inference_detector, init_detector
    model = init_detector(rpn['cfg'], str(rpn['ckpt']), device='cpu')
    img = detect_persons.read_frame(keyframe_file(synthetic, key))
    h, w = img.shape[:2]
    with torch.no_grad():
        pred = inference_detector(model, img).pred_instances
    boxes = np.clip(pred.bboxes.numpy() / [w, h, w, h], 0, 1)
    return np.concatenate([boxes, pred.scores.numpy()[:, None]], 1)


def test_rpn_proposals_are_the_top_k_class_agnostic_boxes_with_scores(synthetic, rpn,
                                                                       rpn_proposals, tmp_path):
    """Every annotated keyframe gets the RPN's best 300 boxes (mmdet returns them by decreasing
    score after its NMS), their scores kept and sorted, no class filter (the checkpoint has no
    person class) and no score threshold (the random RPN scores about 0.5); ``--top-k 20``
    keeps the first 20."""
    props = rpn_proposals['props']
    with open(synthetic['train_csv']) as f:
        keys = {','.join(line.split(',')[:2]) for line in f if line.strip()}
    assert set(props) == keys
    for key, rows in props.items():
        assert rows.dtype == np.float32 and rows.shape == (300, 5)
        assert (np.diff(rows[:, 4]) <= 0).all()
        assert (rows[:, :4] >= 0).all() and (rows[:, :4] <= 1).all()
    key = sorted(props)[len(props) // 2]
    ref = mmdet_proposals(rpn, synthetic, key)
    assert len(ref) > 300 and (np.diff(ref[:, 4]) <= 0).all()
    assert ref[:, 4].max() < 0.8  # a detector's 0.8 threshold would have kept nothing
    np.testing.assert_allclose(props[key], ref[:300], rtol=1e-5, atol=1e-6)
    top20 = run_tool(synthetic, rpn, tmp_path / 'top20.pkl', '--top-k', '20')
    assert set(top20) == keys
    np.testing.assert_allclose(top20[key], ref[:20], rtol=1e-5, atol=1e-6)
    # the file is what mmaction2's AVADataset reads
    from ava_plugins.datasets import load_proposals
    assert set(load_proposals(str(rpn_proposals['file']))) == keys
    with pytest.raises(ValueError, match='an RPN has no classes'):
        run_tool(synthetic, rpn, tmp_path / 'label.pkl', '--person-label', '0')


def stage1_train_dataset(synthetic, proposal_file, **overrides):
    """configs/multisec_baseline_slowfast_r50.py's training dataset and pipeline on the
    synthetic train video (its paths, 10 fps, 12 classes); its proposal threshold unless
    ``overrides`` says otherwise."""
    from mmaction.registry import DATASETS
    init_default_scope('mmaction')
    cfg = Config.fromfile(STAGE1).train_dataloader.dataset
    cfg.update(ann_file=synthetic['train_csv'], exclude_file=synthetic['train_excluded'],
               label_file=synthetic['label_map'], proposal_file=str(proposal_file),
               data_prefix=dict(img=synthetic['rawframes']), timestamp_end=912, fps=FPS,
               num_classes=12, **overrides)
    return DATASETS.build(cfg)


def sampled_rois(dataset, seed=0):
    """For every clip of ``dataset``: (sampled RoIs, positives among them) as they enter the
    bbox head's loss through the multi-sec roi head (configs/synthetic/
    multisec_baseline_slowfast_tiny.py: the stage-1 config's head at tiny widths, and its
    ``train_cfg.rcnn`` assigner and sampler); a positive by hand: IoU >= 0.5 with a ground
    truth of the clip."""
    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    cfg = Config.fromfile(STAGE1_TINY)
    roi_cfg = cfg.model.roi_head.copy()
    roi_cfg.update(train_cfg=cfg.model.train_cfg.rcnn, test_cfg=cfg.model.test_cfg.rcnn)
    torch.manual_seed(seed)
    head = MODELS.build(roi_cfg)
    caught = {}
    head.bbox_roi_extractor.register_forward_pre_hook(
        lambda m, args: caught.__setitem__('rois', args[1]))
    counts = []
    for i in range(len(dataset)):
        sample = pseudo_collate([dataset[i]])['data_samples'][0]
        h, w = sample.img_shape
        x = (torch.randn(1, 128, 2, h // 16 + 1, w // 16 + 1),
             torch.randn(1, 16, 8, h // 16 + 1, w // 16 + 1))
        head.loss(x, [sample.proposals], [sample])
        rois = caught['rois'][:, 1:].numpy().astype(np.float64)
        gts = sample.gt_instances.bboxes.numpy().astype(np.float64)
        positive = batched_iou(rois, gts).max(1) >= 0.5
        counts.append((len(rois), int(positive.sum())))
    return np.array(counts)


def test_rpn_proposals_give_forty_rois_per_clip_at_one_to_three(synthetic,
                                                                 trained_rpn_proposals):
    """The stage-1 config on the tool's RPN proposals (trained RPN): 40 RoIs reach the loss per
    clip, a quarter of them positive; on the synthetic FAIR-style detections at mmaction2's 0.9
    (what the config read before) far fewer. Would have caught the config's 0.9 on RPN
    proposals (this RPN scores below 0.9: one RoI per clip)."""
    for rows in trained_rpn_proposals['props'].values():
        assert rows[0, 4] < 0.9 and rows[1, 4] < rows[0, 4]  # 0.9 would keep only the best
    dataset = stage1_train_dataset(synthetic, trained_rpn_proposals['file'])
    counts = sampled_rois(dataset)
    assert len(counts) >= 8
    mean_rois, pos_fraction = counts[:, 0].mean(), counts[:, 1].sum() / counts[:, 0].sum()
    print(f'RPN proposals: {mean_rois:.2f} RoIs per clip, positive fraction {pos_fraction:.3f}')
    assert abs(mean_rois - 40) <= 1
    assert abs(pos_fraction - 0.25) <= 0.05
    fair = stage1_train_dataset(synthetic, synthetic['train_proposals'], person_det_score_thr=0.9)
    fair_counts = sampled_rois(fair)
    print(f'FAIR-style at 0.9: {fair_counts[:, 0].mean():.2f} RoIs per clip')
    assert fair_counts[:, 0].mean() < 10
