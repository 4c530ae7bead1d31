"""Multi-sec stage 1 (``configs/multisec_baseline_slowfast_r50.py``) shrunk to train on CPU in
minutes on the synthetic AVA dataset (``tools/make_synthetic_ava.py --out data/synthetic_ava``).

Changed, and only these (as ``linear_slowfast_tiny.py``): no pretrained weights; the linear
baseline's backbone, BN mode and optimiser (``_base_/synthetic_ava.py``: RoI features have
128 + 16 channels); head width 32 instead of 256; the synthetic data, clip (8 x 1) and input
size (80 px); 12 classes; a short schedule (warm-up then cosine over 8 epochs); training
proposals: the synthetic FAIR-style detections at mmaction2's 0.9 (the real config reads RPN
proposals at 0.0). RoIAlign, the head's structure, the assigner and the 1:3 sampler of 40
proposals are the real config's.
"""
_base_ = ['../multisec_baseline_slowfast_r50.py', '_base_/synthetic_ava.py']

feat_channels = _base_.synthetic_feat_channels
head_channels = 32

model = dict(
    init_cfg=None,
    backbone=_base_.synthetic_backbone,
    roi_head=dict(
        shared_head=dict(in_channels=feat_channels, channels=head_channels),
        bbox_head=dict(in_channels=head_channels, num_classes=_base_.synthetic_num_classes)))

train_dataloader = _base_.synthetic_train_dataloader
# The synthetic proposals imitate FAIR person detections, not an RPN's top 300: mmaction2's
# threshold for those (the real config's 0.0 is for RPN proposals).
train_dataloader['dataset']['person_det_score_thr'] = 0.9
val_dataloader = _base_.synthetic_val_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.synthetic_evaluator
test_evaluator = val_evaluator

train_cfg = _base_.synthetic_schedule_8e.train_cfg  # 8 epochs
param_scheduler = _base_.synthetic_schedule_8e.param_scheduler
optim_wrapper = _base_.synthetic_schedule_8e.optim_wrapper
default_hooks = _base_.synthetic_schedule_8e.default_hooks
