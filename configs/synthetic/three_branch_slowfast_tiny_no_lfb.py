"""``three_branch_slowfast_tiny.py`` without the long-term branch (as
``configs/three_branch_slowfast_r101_no_lfb.py``; no bank is read)."""
_base_ = './three_branch_slowfast_tiny.py'

model = dict(
    roi_head=dict(
        shared_head=dict(with_lfb=False),
        bbox_head=dict(in_channels=2 * _base_.feat_channels)))

train_dataloader = dict(dataset=dict(pipeline=_base_.synthetic_train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=_base_.synthetic_val_pipeline))
test_dataloader = val_dataloader
