"""Fujitsu's AVA model tested with the report's test-time augmentation.

Report "Multi-scale Spatiotemporal Features for Action Localization" (Zhu et al.,
https://research.google.com/ava/challenge.html) §2.3: "We perform inference with multi-crop
including 224, 256, and 320, and flipping operations. These 6 (3*2) results are then combined
with summation." Short side {224, 256, 320} x horizontal flip (we read "multi-crop" as the
scale of the whole frame, as ``arm_slowfast_r50_tta.py``), scores summed (``AVATTAModel``,
``merge='sum'``). The long-term bank window is read once, before the views. Test only.
"""
_base_ = './fujitsu_slowfast_r50_ava.py'

custom_imports = dict(imports=['ava_plugins', 'ava_plugins.models.tta'],
                      allow_failed_imports=False)

tta_scales = (224, 256, 320)
model = dict(_delete_=True, type='AVATTAModel', merge='sum', module=_base_.model)
tta_pipeline = [
    *_base_.val_pipeline[:2],  # SampleAVAFrames, RawFrameDecode
    _base_.lfb_window,
    dict(type='TestTimeAug', transforms=[
        [dict(type='Resize', scale=(-1, s), keep_ratio=True) for s in tta_scales],
        [dict(type='Flip', flip_ratio=0.0), dict(type='Flip', flip_ratio=1.0)],
        [dict(type='FormatShape', input_format='NCTHW', collapse=True)],
        [dict(type='PackActionInputs', algorithm_keys=('lfb_feat', 'lfb_mask'),
              meta_keys=('img_shape', 'img_key', 'video_id', 'timestamp', 'flip',
                         'flip_direction', 'crop_quadruple', 'scale_factor'))]])
]
test_dataloader = dict(dataset=dict(pipeline=tta_pipeline))
