"""Three Branches ablation: no long-term branch (no feature bank is read). Everything else as
``three_branch_slowfast_r101.py``."""
_base_ = './three_branch_slowfast_r101.py'

model = dict(
    roi_head=dict(
        shared_head=dict(with_lfb=False),
        bbox_head=dict(in_channels=2 * _base_.feat_channels)))

pack = dict(type='PackActionInputs')
train_pipeline = [t for t in _base_.train_pipeline if t['type'] != 'LoadLFBWindow'][:-1] + [pack]
val_pipeline = [t for t in _base_.val_pipeline if t['type'] != 'LoadLFBWindow'][:-1] + [pack]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
