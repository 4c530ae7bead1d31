"""Tiny CPU variant of ``i3d_nl/i3d_r50_nl5_32x2x1_kinetics400.py``
(see ``_base_/tiny_models.py``)."""
_base_ = ['../i3d_nl/i3d_r50_nl5_32x2x1_kinetics400.py', '_base_/tiny_models.py']

model = dict(
    backbone=_base_.tiny_i3d_backbone,
    cls_head=dict(in_channels=_base_.tiny_i3d_channels, num_classes=_base_.tiny_num_classes))
