"""A CPU-sized, deterministic copy of configs/linear_slowfast_r50.py for tool tests
(data: tests/conftest.py:tiny_ava).

The tests point the data paths at the generated data with --cfg-options.
"""
_base_ = '../../configs/linear_slowfast_r50.py'

model = dict(
    init_cfg=None,
    backbone=dict(
        slow_pathway=dict(base_channels=8, stage_blocks=(1, 1, 1, 1)),
        fast_pathway=dict(base_channels=1, stage_blocks=(1, 1, 1, 1))),
    roi_head=dict(bbox_head=dict(in_channels=288, dropout_ratio=0.0)))

clip = dict(clip_len=8, frame_interval=2)
train_pipeline = [
    dict(type='SampleAVAFrames', **clip),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='SampleAVAFrames', test_mode=True, **clip),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='PackActionInputs')
]
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(exclude_file=None, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    dataset=dict(exclude_file=None, pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(exclude_file=None)
test_evaluator = val_evaluator
train_cfg = dict(type='IterBasedTrainLoop', max_iters=4, val_interval=4, _delete_=True)
param_scheduler = []
optim_wrapper = dict(optimizer=dict(lr=0.01))
default_hooks = dict(checkpoint=dict(interval=2, by_epoch=False), logger=dict(interval=1))
log_processor = dict(by_epoch=False)
