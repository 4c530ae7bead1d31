"""TSN Inception-v4, optical flow (5 stacked x/y pairs), Kinetics-400 (report Table 1: 68.76).

mmaction2's TSN flow recipe (10-channel input, flow normalised by 128) with timm's
``inception_v4`` (ImageNet weights ``inception_v4.tf_in1k``) at Inception's 299 px input (short
side 340). ``in_chans=10``: timm adapts the pretrained 3-channel first convolution by repeating
its RGB filters over the 10 channels and scaling them by 3/10 (``timm.models.adapt_input_conv``),
close to TSN's cross-modality initialisation (the RGB mean repeated over the channels).

``pretrained=True`` downloads the weights from the Hugging Face hub. Offline, either point timm at
a local copy of the 3-channel ImageNet weights,
``backbone=dict(pretrained_cfg_overlay=dict(file='inception_v4.safetensors'))`` (still adapted to
10 channels), or set ``pretrained=False`` and ``load_from`` a trained recogniser checkpoint.
"""
_base_ = ('mmaction::recognition/tsn/'
          'tsn_imagenet-pretrained-r50_8xb32_5x1x3-110e_kinetics400-flow.py')

custom_imports = dict(imports=['ava_plugins'], allow_failed_imports=False)

clip_len = 5
model = dict(
    backbone=dict(type='timm.inception_v4', pretrained=True, in_chans=2 * clip_len,
                  _delete_=True),
    cls_head=dict(in_channels=1536))

train_pipeline = [
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=1, num_clips=3),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(-1, 340)),
    dict(type='RandomResizedCrop'),
    dict(type='Resize', scale=(299, 299), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=1, num_clips=3, test_mode=True),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(-1, 340)),
    dict(type='CenterCrop', crop_size=299),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
test_pipeline = [
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=1, num_clips=25, test_mode=True),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(-1, 340)),
    dict(type='TenCrop', crop_size=299),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
