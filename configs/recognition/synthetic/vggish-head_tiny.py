"""Tiny CPU variant of ``audio/vggish-head_10x1x1_kinetics400.py`` (one 16-d layer)."""
_base_ = ['../audio/vggish-head_10x1x1_kinetics400.py', '_base_/tiny_models.py']

model = dict(
    backbone=dict(hidden_channels=(16, )),
    cls_head=dict(in_channels=16, num_classes=_base_.tiny_num_classes))
