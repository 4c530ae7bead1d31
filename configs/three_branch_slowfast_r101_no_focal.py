"""Three Branches ablation: no focal loss (``gamma = 0``): softmax cross-entropy over the pose
classes and binary cross-entropy over the others. Everything else as
``three_branch_slowfast_r101.py``."""
_base_ = './three_branch_slowfast_r101.py'

model = dict(roi_head=dict(bbox_head=dict(loss_cls=dict(gamma=0.0, alpha=None))))
