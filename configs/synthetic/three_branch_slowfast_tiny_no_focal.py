"""``three_branch_slowfast_tiny.py`` without the focal loss (``gamma = 0``, as
``configs/three_branch_slowfast_r101_no_focal.py``)."""
_base_ = './three_branch_slowfast_tiny.py'

model = dict(roi_head=dict(bbox_head=dict(loss_cls=dict(gamma=0.0, alpha=None))))
