"""tiny_linear_slowfast.py as an epoch-based run that draws random numbers everywhere a real
recipe does (flip in the pipeline, dropout in the head), for the resume tests."""
_base_ = './tiny_linear_slowfast.py'

model = dict(roi_head=dict(bbox_head=dict(dropout_ratio=0.5)))
clip = dict(clip_len=8, frame_interval=2)
train_pipeline = [
    dict(type='SampleAVAFrames', **clip),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='PackActionInputs')
]
train_dataloader = dict(batch_size=1, dataset=dict(pipeline=train_pipeline))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=3, val_interval=1, _delete_=True)
default_hooks = dict(checkpoint=dict(interval=1, by_epoch=True), logger=dict(interval=1))
log_processor = dict(by_epoch=True)
