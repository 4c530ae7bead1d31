"""TSN ResNet-152, RGB, Kinetics-400 (Qiniu ActivityNet 2018 report, §2.1, Table 1: 72.04).

mmaction2's TSN recipe (3 segments, one frame each, average consensus of the softmax scores)
with an ImageNet ResNet-152 backbone.
"""
_base_ = ('mmaction::recognition/tsn/'
          'tsn_imagenet-pretrained-r50_8xb32-1x1x3-100e_kinetics400-rgb.py')

custom_imports = dict(imports=['ava_plugins'], allow_failed_imports=False)

model = dict(backbone=dict(depth=152, pretrained='torchvision://resnet152'))
