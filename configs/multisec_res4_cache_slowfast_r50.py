"""Frames for the multi-sec res4 cache: the stage-1 model at one fixed frame size.

Used only by ``tools/extract_bank.py --feature res4`` with the stage-1 checkpoint (ByteDance AI
Lab, AVA 2019, Sec. 1.2: "we precompute res4 feature volumes off-the-shelf"). A feature bank
holds items of one shape, so every keyframe clip is resized to ``res4_img_shape`` (H, W) =
300 x 533, the stage-1 size of AVA's 16:9 videos (other aspect ratios are stretched to it); the
stage-2 configs read the cache with the same ``res4_img_shape``.
"""
_base_ = './multisec_baseline_slowfast_r50.py'

res4_img_shape = (300, 533)

val_pipeline = [
    dict(type='SampleAVAFrames', clip_len=32, frame_interval=2, test_mode=True),
    dict(type='RawFrameDecode', io_backend='disk'),
    dict(type='Resize', scale=res4_img_shape[::-1], keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='PackActionInputs')
]
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
