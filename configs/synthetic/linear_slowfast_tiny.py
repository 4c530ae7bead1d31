"""The linear baseline (``configs/linear_slowfast_r50.py``) shrunk to train on CPU in minutes
on the synthetic AVA dataset (``tools/make_synthetic_ava.py --out data/synthetic_ava``).

Changed, and only these: no pretrained weights (nothing can be downloaded); the tiny backbone
of every synthetic config (``_base_/synthetic_ava.py``: a SlowFast with ResNet-18 pathways of 1/4
width, slow 16, fast 2 base channels, the RoI head's input is 128 + 16 channels; BN trained);
the tiny configs' optimiser (mmaction2's: SGD, weight decay 1e-5, gradient clipping; lr 0.05);
the synthetic data, clip (8 x 1) and input size (80 px); 12 classes
with pose ids 1-4 (the pose softmax's ``pose_id_range``);
a short schedule (warm-up then cosine, as the real recipe, over 8 epochs). The RoI head, its
RoIAlign, pooling, dropout, loss, assigner and sampler are the real config's.
"""
_base_ = ['../linear_slowfast_r50.py', '_base_/synthetic_ava.py']

model = dict(
    init_cfg=None,
    backbone=_base_.synthetic_backbone,
    roi_head=dict(
        bbox_head=dict(
            in_channels=_base_.synthetic_feat_channels,
            num_classes=_base_.synthetic_num_classes,
            pose_id_range=_base_.synthetic_pose_id_range)))

synthetic_claims = []  # the reference of the capability benchmark

train_dataloader = _base_.synthetic_train_dataloader
val_dataloader = _base_.synthetic_val_dataloader
test_dataloader = val_dataloader
val_evaluator = _base_.synthetic_evaluator
test_evaluator = val_evaluator

train_cfg = _base_.synthetic_schedule_8e.train_cfg  # 8 epochs
param_scheduler = _base_.synthetic_schedule_8e.param_scheduler
optim_wrapper = _base_.synthetic_schedule_8e.optim_wrapper
default_hooks = _base_.synthetic_schedule_8e.default_hooks
