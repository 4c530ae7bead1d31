"""The arm-action model tested with Fujitsu's test-time augmentation.

Fujitsu AVA-Kinetics 2020 report ("Multi-scale Spatiotemporal Features for Action Localization",
https://research.google.com/ava/challenge.html) §2.3: scales {224, 256, 320} x horizontal flip,
the 6 results combined by summation. ``AVATTAModel`` sums each arm RoI's per-view scores, then
``ArmRoIHead`` takes each person's maximum over its arm RoIs. ``ArmRoIs`` runs once, before the
views (the arm boxes are resized and flipped with each view's frames). Test only.
"""
_base_ = './arm_slowfast_r50.py'

custom_imports = dict(imports=['ava_plugins', 'ava_plugins.models.tta'],
                      allow_failed_imports=False)

tta_scales = (224, 256, 320)
model = dict(_delete_=True, type='AVATTAModel', merge='sum', module=_base_.model)
tta_pipeline = [
    *_base_.val_pipeline[:3],  # SampleAVAFrames, RawFrameDecode, ArmRoIs
    dict(type='TestTimeAug', transforms=[
        [dict(type='Resize', scale=(-1, s), keep_ratio=True) for s in tta_scales],
        [dict(type='Flip', flip_ratio=0.0), dict(type='Flip', flip_ratio=1.0)],
        [dict(type='FormatShape', input_format='NCTHW', collapse=True)],
        [dict(type='PackActionInputs',
              meta_keys=_base_.arm_meta_keys + ('flip', 'flip_direction', 'crop_quadruple',
                                                'scale_factor'))]])
]
test_dataloader = dict(dataset=dict(pipeline=tta_pipeline))
