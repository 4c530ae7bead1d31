"""Linear baseline (ACAR-Net report, Table "Linear"): SlowFast R50, per-pathway temporal average
pooling, RoIAlign 7x7, spatial max pooling, concatenation, dropout, linear classifier.

Inherits mmaction2's SlowFast R50 AVA v2.2 recipe unchanged except for the RoI size.
"""
_base_ = 'mmaction::detection/slowfast/slowfast_kinetics400-pretrained-r50_8xb6-8x8x1-cosine-10e_ava22-rgb.py'

custom_imports = dict(imports=['ava_plugins'], allow_failed_imports=False)

model = dict(roi_head=dict(bbox_roi_extractor=dict(output_size=7)))
