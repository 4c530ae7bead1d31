"""TSN DPN-107, optical flow (5 stacked x/y pairs), Kinetics-400 (report Table 1: 69.60).

mmaction2's TSN flow recipe (10-channel input, flow normalised by 128) with timm's ``dpn107``
(ImageNet weights ``dpn107.mx_in1k``). ``in_chans=10``: timm adapts the pretrained 3-channel first
convolution by repeating its RGB filters over the 10 channels and scaling them by 3/10
(``timm.models.adapt_input_conv``), close to TSN's cross-modality initialisation (the RGB mean
repeated over the channels). mmaction2's own ``ResNet`` leaves that convolution randomly
initialised when the channel count differs.

``pretrained=True`` downloads the weights from the Hugging Face hub. Offline, either point timm at
a local copy of the 3-channel ImageNet weights,
``backbone=dict(pretrained_cfg_overlay=dict(file='dpn107.safetensors'))`` (still adapted to 10
channels), or set ``pretrained=False`` and ``load_from`` a trained recogniser checkpoint.
"""
_base_ = ('mmaction::recognition/tsn/'
          'tsn_imagenet-pretrained-r50_8xb32_5x1x3-110e_kinetics400-flow.py')

custom_imports = dict(imports=['ava_plugins'], allow_failed_imports=False)

model = dict(
    backbone=dict(type='timm.dpn107', pretrained=True, in_chans=10, _delete_=True),
    cls_head=dict(in_channels=2688))
