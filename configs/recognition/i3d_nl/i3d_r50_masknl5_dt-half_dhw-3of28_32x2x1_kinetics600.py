"""I3D mask-NL ResNet-50 on Kinetics-600, the report's Kinetics (Table 5: 80.93 top-1): the
mask non-local blocks of ``i3d_r50_masknl5_dt-half_dhw-3of28_32x2x1_kinetics400.py`` on the data of
``i3d_r50_nl5_32x2x1_kinetics600.py``."""
_base_ = ['./i3d_r50_nl5_32x2x1_kinetics600.py']

model = dict(
    backbone=dict(
        non_local_cfg=dict(type='MaskNonLocal3d', delta=(1 / 2, 3 / 28, 3 / 28))))
