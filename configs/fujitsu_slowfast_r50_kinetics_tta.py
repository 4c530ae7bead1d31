"""Fujitsu's Kinetics model tested with the report's test-time augmentation (§2.3): short side
{224, 256, 320} x horizontal flip, the 6 results summed, as ``fujitsu_slowfast_r50_ava_tta.py``
(no bank window). Test only."""
_base_ = './fujitsu_slowfast_r50_kinetics.py'

custom_imports = dict(imports=['ava_plugins', 'ava_plugins.models.tta'],
                      allow_failed_imports=False)

tta_scales = (224, 256, 320)
model = dict(_delete_=True, type='AVATTAModel', merge='sum', module=_base_.model)
tta_pipeline = [
    *_base_.val_pipeline[:2],  # SampleAVAFrames, RawFrameDecode
    dict(type='TestTimeAug', transforms=[
        [dict(type='Resize', scale=(-1, s), keep_ratio=True) for s in tta_scales],
        [dict(type='Flip', flip_ratio=0.0), dict(type='Flip', flip_ratio=1.0)],
        [dict(type='FormatShape', input_format='NCTHW', collapse=True)],
        [dict(type='PackActionInputs',
              meta_keys=('img_shape', 'img_key', 'video_id', 'timestamp', 'flip',
                         'flip_direction', 'crop_quadruple', 'scale_factor'))]])
]
test_dataloader = dict(dataset=dict(pipeline=tta_pipeline))
