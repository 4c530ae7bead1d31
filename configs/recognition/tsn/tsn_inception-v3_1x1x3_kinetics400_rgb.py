"""TSN Inception-V3, RGB, Kinetics-400 (Qiniu ActivityNet 2018 report, Table 1: 68.52).

torchvision's ``inception_v3`` (ImageNet weights, no auxiliary classifier) in mmaction2's TSN
recipe, at Inception's 299 px input. ``transform_input=True``, as torchvision sets it for these
weights: they were trained on [-1, 1] inputs, and the layer maps mmaction2's ImageNet-normalised
frames to that range.
"""
_base_ = ('mmaction::recognition/tsn/'
          'tsn_imagenet-pretrained-r50_8xb32-1x1x3-100e_kinetics400-rgb.py')

custom_imports = dict(imports=['ava_plugins'], allow_failed_imports=False)

model = dict(
    backbone=dict(type='torchvision.inception_v3', weights='IMAGENET1K_V1', aux_logits=False,
                  transform_input=True, _delete_=True),
    cls_head=dict(in_channels=2048))

train_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=3),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 340)),
    dict(type='MultiScaleCrop', input_size=299, scales=(1, 0.875, 0.75, 0.66),
         random_crop=False, max_wh_scale_gap=1),
    dict(type='Resize', scale=(299, 299), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=3, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 340)),
    dict(type='CenterCrop', crop_size=299),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=val_pipeline))
