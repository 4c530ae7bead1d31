"""``three_branch_slowfast_tiny.py`` without the long-term branch (as
``configs/three_branch_slowfast_r101_no_lfb.py``; no bank is read)."""
_base_ = './three_branch_slowfast_tiny.py'

synthetic_prerequisites = []  # no bank is read
synthetic_claims = ['scene']

model = dict(
    roi_head=dict(
        shared_head=dict(with_lfb=False),
        bbox_head=dict(in_channels=2 * _base_.feat_channels)))

pack = dict(type='PackActionInputs')
train_dataloader = dict(dataset=dict(pipeline=[
    t for t in _base_.train_dataloader['dataset']['pipeline'] if t['type'] != 'LoadLFBWindow'
][:-1] + [pack]))
val_dataloader = dict(dataset=dict(pipeline=[
    t for t in _base_.val_dataloader['dataset']['pipeline'] if t['type'] != 'LoadLFBWindow'
][:-1] + [pack]))
test_dataloader = val_dataloader
