"""ACAR-Net (``configs/acar_slowfast_r50.py``) shrunk to train on CPU in minutes on the synthetic
AVA dataset (``tools/make_synthetic_ava.py --out data/synthetic_ava``).

Changed, and only these (as ``linear_slowfast_tiny.py``): no pretrained weights; the linear
baseline's backbone, BN mode and optimiser (``_base_/synthetic_ava.py``: ResNet-18 SlowFast of
1/4 width, V has 128 + 16 channels, no res5 dilation, BN trained; SGD with gradient clipping), so
that only the head differs from the baseline; the synthetic data, clip (8 x 1) and input size
(80 px); 12 classes (background + 11, the synthetic pose classes are ids 1-4); a short schedule
(warm-up then cosine over 16 epochs). The ACAR head keeps its structure (conv_reduce,
conv1/conv2, two HR2O_NL blocks, fc1) at 1/8 of the official widths (128 reduced, 64 hidden
channels); RoIAlign, pose softmax, assigner, sampler, box jitter after assignment and loss
normalisation are the real config's.
"""
_base_ = ['../acar_slowfast_r50.py', '_base_/synthetic_ava.py']

hidden_channels = 64

synthetic_claims = ['interaction']  # high-order actor-context-actor relations

model = dict(
    init_cfg=None,
    backbone=_base_.synthetic_backbone,
    roi_head=dict(
        shared_head=dict(
            in_channels=_base_.synthetic_feat_channels, reduce_channels=2 * hidden_channels,
            hidden_channels=hidden_channels),
        bbox_head=dict(
            in_channels=2 * hidden_channels,
            num_classes=_base_.synthetic_num_classes,
            class_ids=None,
            pose_id_range=(1, 4))))

train_dataloader = _base_.synthetic_train_dataloader
train_dataloader['dataset'].update(custom_classes=None, person_det_score_thr=0.9)
val_dataloader = _base_.synthetic_val_dataloader
val_dataloader['dataset'].update(custom_classes=None, person_det_score_thr=0.7)
test_dataloader = val_dataloader
val_evaluator = dict(custom_classes=None, **_base_.synthetic_evaluator)
test_evaluator = val_evaluator

train_cfg = _base_.synthetic_schedule_16e.train_cfg  # 16 epochs
param_scheduler = _base_.synthetic_schedule_16e.param_scheduler
optim_wrapper = _base_.synthetic_schedule_16e.optim_wrapper
default_hooks = _base_.synthetic_schedule_16e.default_hooks
