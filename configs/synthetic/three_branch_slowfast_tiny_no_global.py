"""``three_branch_slowfast_tiny.py`` without the global branch (as
``configs/three_branch_slowfast_r101_no_global.py``)."""
_base_ = './three_branch_slowfast_tiny.py'

synthetic_claims = ['long_term']

model = dict(
    roi_head=dict(
        shared_head=dict(with_global=False),
        bbox_head=dict(in_channels=_base_.feat_channels + _base_.lfb_latent)))
