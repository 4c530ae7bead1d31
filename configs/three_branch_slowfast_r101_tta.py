"""Three Branches SlowFast R101 tested with the report's multi-scale x flip augmentation.

Report "Three Branches: Detecting Actions With Richer Features",
https://arxiv.org/abs/1908.04519 §4: "we use test augmentation including multi-scale and
horizontal flipping augmentation. We scale the short side of video to [244, 256, 320] during
testing." Our choice: short side {224, 256, 320}; 244 is read as a misprint of 224 (224, 256
and 320 are multiples of 32, 244 is not; {224, 256, 320} is also Fujitsu's 2020 set,
``arm_slowfast_r50_tta.py``). The report does not say how the 6 views are combined; our
choice: logits averaged before the pose-softmax activation (``AVATTAModel``,
``merge='logits'``), as ``acar_slowfast_r101_tta.py``. The long-term bank window is read once,
before the views (it depends on the clip, not on its frames). Test only:
``python tools/test.py configs/three_branch_slowfast_r101_tta.py CHECKPOINT``.
"""
_base_ = './three_branch_slowfast_r101.py'

custom_imports = dict(imports=['ava_plugins', 'ava_plugins.models.tta'],
                      allow_failed_imports=False)

tta_scales = (224, 256, 320)
model = dict(_delete_=True, type='AVATTAModel', merge='logits', module=_base_.model)
tta_pipeline = [
    dict(type='SampleAVAFrames', clip_len=32, frame_interval=2, test_mode=True),
    dict(type='RawFrameDecode', io_backend='disk'),
    _base_.lfb_window,
    dict(type='TestTimeAug', transforms=[
        [dict(type='Resize', scale=(-1, s), keep_ratio=True) for s in tta_scales],
        [dict(type='Flip', flip_ratio=0.0), dict(type='Flip', flip_ratio=1.0)],
        [dict(type='FormatShape', input_format='NCTHW', collapse=True)],
        [dict(type='PackActionInputs', algorithm_keys=('lfb_feat', 'lfb_mask'),
              meta_keys=('img_shape', 'pad_shape', 'img_key', 'video_id', 'timestamp', 'flip',
                         'flip_direction', 'crop_quadruple', 'scale_factor'))]])
]
test_dataloader = dict(dataset=dict(pipeline=tta_pipeline))
