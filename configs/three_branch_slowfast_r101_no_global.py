"""Three Branches ablation: no global branch (no scene classifier, no global loss, no global
feature in the classifier input). Everything else as ``three_branch_slowfast_r101.py``."""
_base_ = './three_branch_slowfast_r101.py'

model = dict(
    roi_head=dict(
        shared_head=dict(with_global=False),
        bbox_head=dict(in_channels=_base_.feat_channels + _base_.lfb_latent)))
