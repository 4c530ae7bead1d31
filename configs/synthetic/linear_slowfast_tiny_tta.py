"""``linear_slowfast_tiny.py`` tested with test-time augmentation on the synthetic AVA data.

The ACAR-Net scheme (report 002 §2.1: 3 scales x flip, logits averaged) at the tiny model's
input size: short side {64, 80, 96} around its 80 px. Test only.
"""
_base_ = './linear_slowfast_tiny.py'

custom_imports = dict(imports=['ava_plugins', 'ava_plugins.models.tta'],
                      allow_failed_imports=False)

tta_scales = (64, 80, 96)
model = dict(_delete_=True, type='AVATTAModel', merge='logits', module=_base_.model)
tta_pipeline = [
    dict(type='SampleAVAFrames', clip_len=8, frame_interval=1, test_mode=True),
    dict(type='RawFrameDecode', io_backend='disk'),
    dict(type='TestTimeAug', transforms=[
        [dict(type='Resize', scale=(-1, s), keep_ratio=True) for s in tta_scales],
        [dict(type='Flip', flip_ratio=0.0), dict(type='Flip', flip_ratio=1.0)],
        [dict(type='FormatShape', input_format='NCTHW', collapse=True)],
        [dict(type='PackActionInputs',
              meta_keys=('img_shape', 'img_key', 'video_id', 'timestamp', 'flip',
                         'flip_direction', 'crop_quadruple', 'scale_factor'))]])
]
test_dataloader = dict(dataset=dict(pipeline=tta_pipeline))
