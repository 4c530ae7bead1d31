"""I3D mask-NL ResNet-50 on Kinetics-600 with an integer δ = (0, 2, 2) positions: the model
that initialises ``i3d_r50_relation5_32x2x1_kinetics600.py`` (the blocks of
``i3d_r50_masknl5_d0-2-2_32x2x1_kinetics400.py`` on the data of
``i3d_r50_nl5_32x2x1_kinetics600.py``)."""
_base_ = ['./i3d_r50_nl5_32x2x1_kinetics600.py']

model = dict(backbone=dict(non_local_cfg=dict(type='MaskNonLocal3d', delta=(0, 2, 2))))
