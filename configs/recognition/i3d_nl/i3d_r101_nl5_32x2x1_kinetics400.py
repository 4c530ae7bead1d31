"""I3D-NL ResNet-101 on Kinetics-400 (Qiniu ActivityNet 2018 report, Table 4: 81.96 top-1).

As ``i3d_r50_nl5_32x2x1_kinetics400.py`` with ResNet-101. Inflation and the 5 non-local
blocks follow the official video-nonlocal-net (``lib/models/resnet_video.py``, arc 4, and
``nonlocal_mod`` 2 in res3, 7 in res4 for depth 101): res3 blocks 1, 3; res4 blocks 6, 13, 20.
"""
_base_ = ['./i3d_r50_nl5_32x2x1_kinetics400.py']

model = dict(
    backbone=dict(
        depth=101,
        pretrained='torchvision://resnet101',
        inflate=((1, 1, 1), (1, 0, 1, 0), tuple(1 - i % 2 for i in range(23)), (0, 1, 0)),
        non_local=((0, 0, 0), (0, 1, 0, 1), tuple(int(i % 7 == 6) for i in range(23)),
                   (0, 0, 0))))
