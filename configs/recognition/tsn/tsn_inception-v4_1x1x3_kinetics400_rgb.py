"""TSN Inception-v4, RGB, Kinetics-400 (Qiniu ActivityNet 2018 report, Table 1: 73.51).

timm's ``inception_v4`` (ImageNet weights ``inception_v4.tf_in1k``, the TF-slim release) through
mmaction2's ``timm.`` backbones in the TSN recipe, at Inception's 299 px input (short side 340 as
the Inception-v3 config) and Inception normalisation (mean = std = 127.5).

``pretrained=True`` downloads the weights from the Hugging Face hub. Offline, either point timm at
a local copy, ``backbone=dict(pretrained_cfg_overlay=dict(file='inception_v4.safetensors'))``, or
set ``pretrained=False`` and ``load_from`` a trained recogniser checkpoint.
"""
_base_ = ('mmaction::recognition/tsn/'
          'tsn_imagenet-pretrained-r50_8xb32-1x1x3-100e_kinetics400-rgb.py')

custom_imports = dict(imports=['ava_plugins'], allow_failed_imports=False)

model = dict(
    backbone=dict(type='timm.inception_v4', pretrained=True, _delete_=True),
    cls_head=dict(in_channels=1536),
    data_preprocessor=dict(mean=[127.5] * 3, std=[127.5] * 3))

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
test_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=25, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 340)),
    dict(type='TenCrop', crop_size=299),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
