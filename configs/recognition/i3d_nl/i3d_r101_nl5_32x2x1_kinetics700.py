"""I3D-NL ResNet-101 on Kinetics-700 (R101 backbone of ``i3d_r101_nl5_32x2x1_kinetics400.py``)."""
_base_ = ['./i3d_r50_nl5_32x2x1_kinetics700.py']

model = dict(
    backbone=dict(
        depth=101,
        pretrained='torchvision://resnet101',
        inflate=((1, 1, 1), (1, 0, 1, 0), tuple(1 - i % 2 for i in range(23)), (0, 1, 0)),
        non_local=((0, 0, 0), (0, 1, 0, 1), tuple(int(i % 7 == 6) for i in range(23)),
                   (0, 0, 0))))
