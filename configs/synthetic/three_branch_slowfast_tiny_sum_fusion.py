"""``three_branch_slowfast_tiny.py`` with sum instead of concatenation of the short-term and LFB
features (as ``configs/three_branch_slowfast_r101_sum_fusion.py``)."""
_base_ = './three_branch_slowfast_tiny.py'

model = dict(
    roi_head=dict(
        shared_head=dict(fusion='sum'),
        bbox_head=dict(in_channels=2 * _base_.feat_channels)))
