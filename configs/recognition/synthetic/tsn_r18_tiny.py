"""Tiny CPU variant of ``tsn/tsn_r152_1x1x3_kinetics400_rgb.py``: ResNet-18, no pretraining."""
_base_ = ['../tsn/tsn_r152_1x1x3_kinetics400_rgb.py', '_base_/tiny_models.py']

model = dict(
    backbone=dict(depth=18, pretrained=None),
    cls_head=dict(in_channels=512, num_classes=_base_.tiny_num_classes))
