"""TSN DPN-107, RGB, Kinetics-400 (Qiniu ActivityNet 2018 report, §2.1, Table 1: 75.95).

timm's ``dpn107`` (ImageNet weights ``dpn107.mx_in1k``, the DPN authors' MXNet release) through
mmaction2's ``timm.`` backbones in the TSN recipe: the recogniser runs ``forward_features`` and
average-pools its 2688 channels. Input normalised as DPN was trained (timm's
``IMAGENET_DPN_MEAN``/``STD``), 224 px as timm's ``input_size``.

``pretrained=True`` downloads the weights from the Hugging Face hub. Offline, either point timm at
a local copy, ``backbone=dict(pretrained_cfg_overlay=dict(file='dpn107.safetensors'))``, or set
``pretrained=False`` and ``load_from`` a trained recogniser checkpoint.
"""
_base_ = ('mmaction::recognition/tsn/'
          'tsn_imagenet-pretrained-r50_8xb32-1x1x3-100e_kinetics400-rgb.py')

custom_imports = dict(imports=['ava_plugins'], allow_failed_imports=False)

model = dict(
    backbone=dict(type='timm.dpn107', pretrained=True, _delete_=True),
    cls_head=dict(in_channels=2688),
    data_preprocessor=dict(mean=[124.0, 117.0, 104.0], std=[1 / 0.0167] * 3))
