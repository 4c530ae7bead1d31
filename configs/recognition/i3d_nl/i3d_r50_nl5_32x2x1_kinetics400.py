"""I3D-NL ResNet-50 on Kinetics-400 (Qiniu ActivityNet 2018 report, §2.3 and Table 4).

The report's non-local baseline: I3D ResNet-50 (2D ImageNet kernels inflated to t x k x k,
rescaled by 1/t), 32 frames taken from 64 consecutive frames by dropping every other one
(``clip_len=32, frame_interval=2``), 5 embedded-Gaussian non-local blocks (2 in res3, 3 in
res4, every other residual block). This is mmaction2's I3D-NL recipe, inherited unchanged; the
backbone is :class:`ResNet3dRelation` with ``non_local_cfg.type='NonLocal3d'`` (mmcv's block,
identical parameters) so the mask / relation variants below differ from it in one key.
Report: 80.80 top-1 on Kinetics (Table 4; the 2018 challenge used Kinetics-600).
"""
_base_ = ('mmaction::recognition/i3d/'
          'i3d_imagenet-pretrained-r50-nl-embedded-gaussian_8xb8-32x2x1-100e_kinetics400-rgb.py')

custom_imports = dict(imports=['ava_plugins'], allow_failed_imports=False)

model = dict(backbone=dict(type='ResNet3dRelation', non_local_cfg=dict(type='NonLocal3d')))
