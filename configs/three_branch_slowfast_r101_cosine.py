"""Three Branches ablation: schedule of linear warm-up over the first epoch then half-cosine to
0, 8 epochs (~ the default's 26k iterations x 64 clips on AVA v2.2), lr 0.016 for 64 clips.
The half-cosine with warm-up is the report's Kinetics pre-training recipe ("Three Branches:
Detecting Actions With Richer Features", https://arxiv.org/abs/1908.04519 §4); its AVA
fine-tuning uses the step schedule of ``three_branch_slowfast_r101.py``. Everything else as
``three_branch_slowfast_r101.py``."""
_base_ = './three_branch_slowfast_r101.py'

max_epochs = 8
train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=1,
                 val_interval=1)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=0, by_epoch=True, begin=1,
         end=max_epochs, convert_to_iter_based=True)
]
default_hooks = dict(checkpoint=dict(by_epoch=True, interval=1))
log_processor = dict(by_epoch=True)
