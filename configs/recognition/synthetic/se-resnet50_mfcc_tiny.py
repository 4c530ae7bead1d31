"""Tiny CPU variant of ``audio/se-resnet50_mfcc_64x1x1_kinetics400.py`` (1/16 width)."""
_base_ = ['../audio/se-resnet50_mfcc_64x1x1_kinetics400.py', '_base_/tiny_models.py']

model = dict(
    backbone=dict(base_channels=_base_.tiny_audio_base_channels),
    cls_head=dict(in_channels=_base_.tiny_audio_channels, num_classes=_base_.tiny_num_classes))
