"""TSN ResNeXt-101, RGB, Kinetics-400 (Qiniu ActivityNet 2018 report, Table 1: 75.43).

torchvision's ``resnext101_32x8d`` (ImageNet weights ``IMAGENET1K_V2``) in mmaction2's TSN
recipe; the report does not give the cardinality, 32x8d is torchvision's ImageNet ResNeXt-101.
"""
_base_ = ('mmaction::recognition/tsn/'
          'tsn_imagenet-pretrained-r50_8xb32-1x1x3-100e_kinetics400-rgb.py')

custom_imports = dict(imports=['ava_plugins'], allow_failed_imports=False)

model = dict(
    backbone=dict(type='torchvision.resnext101_32x8d', weights='IMAGENET1K_V2', _delete_=True),
    cls_head=dict(in_channels=2048))
