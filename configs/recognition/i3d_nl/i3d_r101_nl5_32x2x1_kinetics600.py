"""I3D-NL ResNet-101 on Kinetics-600, the report's Kinetics (Table 4: 81.96 top-1): the R101
backbone of ``i3d_r101_nl5_32x2x1_kinetics400.py`` on the data of
``i3d_r50_nl5_32x2x1_kinetics600.py``."""
_base_ = ['./i3d_r50_nl5_32x2x1_kinetics600.py']

model = dict(
    backbone=dict(
        depth=101,
        pretrained='torchvision://resnet101',
        inflate=((1, 1, 1), (1, 0, 1, 0), tuple(1 - i % 2 for i in range(23)), (0, 1, 0)),
        non_local=((0, 0, 0), (0, 1, 0, 1), tuple(int(i % 7 == 6) for i in range(23)),
                   (0, 0, 0))))
