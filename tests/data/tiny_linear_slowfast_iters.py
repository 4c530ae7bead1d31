"""tiny_linear_slowfast_epochs.py as an iteration-based run (IterBasedTrainLoop, checkpoints
and validation every 3 iterations), for the resume tests."""
_base_ = './tiny_linear_slowfast_epochs.py'

train_dataloader = dict(sampler=dict(type='InfiniteSampler', shuffle=True))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=6, val_interval=3, _delete_=True)
default_hooks = dict(checkpoint=dict(interval=3, by_epoch=False), logger=dict(interval=1))
log_processor = dict(by_epoch=False)
param_scheduler = []
