"""ACAR-Net SlowFast R101 tested with the report's "3S+F" test-time augmentation.

ACAR-Net report (https://arxiv.org/abs/2006.07976) §2.1 "Inference" and Table 1:
short side {256, 288, 320} x horizontal flip; the 6 views' logits are averaged before the
(pose-softmax) activation (``AVATTAModel``, ``merge='logits'``). Test only:
``python tools/test.py configs/acar_slowfast_r101_tta.py CHECKPOINT``.
"""
_base_ = './acar_slowfast_r101.py'

custom_imports = dict(imports=['ava_plugins', 'ava_plugins.models.tta'],
                      allow_failed_imports=False)

tta_scales = (256, 288, 320)
model = dict(_delete_=True, type='AVATTAModel', merge='logits', module=_base_.model)
tta_pipeline = [
    dict(type='SampleAVAFrames', clip_len=32, frame_interval=2, test_mode=True),
    dict(type='RawFrameDecode', io_backend='disk'),
    dict(type='TestTimeAug', transforms=[
        [dict(type='Resize', scale=(-1, s), keep_ratio=True) for s in tta_scales],
        [dict(type='Flip', flip_ratio=0.0), dict(type='Flip', flip_ratio=1.0)],
        [dict(type='FormatShape', input_format='NCTHW', collapse=True)],
        [dict(type='PackActionInputs',
              meta_keys=('img_shape', 'pad_shape', 'img_key', 'video_id', 'timestamp', 'flip',
                         'flip_direction', 'crop_quadruple', 'scale_factor'))]])
]
test_dataloader = dict(dataset=dict(pipeline=tta_pipeline))
