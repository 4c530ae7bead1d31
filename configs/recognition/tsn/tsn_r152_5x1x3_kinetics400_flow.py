"""TSN ResNet-152, optical flow (5 stacked x/y pairs), Kinetics-400 (report Table 1: 67.13).

mmaction2's TSN flow recipe with a ResNet-152 backbone: ImageNet weights for every layer but
the 10-channel first convolution, which mmaction2 1.2's ``ResNet`` leaves randomly initialised
(its shape differs from the RGB checkpoint's; TSN's cross-modality averaging is not applied).
"""
_base_ = ('mmaction::recognition/tsn/'
          'tsn_imagenet-pretrained-r50_8xb32_5x1x3-110e_kinetics400-flow.py')

custom_imports = dict(imports=['ava_plugins'], allow_failed_imports=False)

model = dict(backbone=dict(depth=152, pretrained='torchvision://resnet152'))
