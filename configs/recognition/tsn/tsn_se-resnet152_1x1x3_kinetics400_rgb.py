"""TSN SE-ResNet-152, RGB, Kinetics-400 (Qiniu ActivityNet 2018 report, Table 1: 73.88).

timm's ``legacy_seresnet152`` (the original SENet release's SE-ResNet-152, ImageNet weights
``legacy_seresnet152.in1k``) through mmaction2's ``timm.`` backbones in the TSN recipe, at 224 px
with ImageNet normalisation (the base recipe's, and timm's ``input_size``/``mean``/``std``).

``pretrained=True`` downloads the weights from the Hugging Face hub. Offline, either point timm at
a local copy, ``backbone=dict(pretrained_cfg_overlay=dict(file='seresnet152.pth'))``, or set
``pretrained=False`` and ``load_from`` a trained recogniser checkpoint.
"""
_base_ = ('mmaction::recognition/tsn/'
          'tsn_imagenet-pretrained-r50_8xb32-1x1x3-100e_kinetics400-rgb.py')

custom_imports = dict(imports=['ava_plugins'], allow_failed_imports=False)

model = dict(
    backbone=dict(type='timm.legacy_seresnet152', pretrained=True, _delete_=True),
    cls_head=dict(in_channels=2048))
