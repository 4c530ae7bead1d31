"""Three Branches ablation: the LFB output is summed with the short-term person feature (after a
linear map to its width) instead of concatenated. Everything else as
``three_branch_slowfast_r101.py``."""
_base_ = './three_branch_slowfast_r101.py'

model = dict(
    roi_head=dict(
        shared_head=dict(fusion='sum'),
        bbox_head=dict(in_channels=2 * _base_.feat_channels)))
