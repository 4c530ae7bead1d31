"""I3D mask-NL ResNet-50 on Kinetics-400, δ = (+inf, 3/28 H, 3/28 W)
(Qiniu 2018 report, Table 5: 80.63 top-1).

The 5 non-local blocks of ``i3d_r50_nl5_32x2x1_kinetics400.py`` (80.80) become mask non-local
blocks (report §3, Eq. 4): position i attends only to [t ± δt] x [h ± δh] x [w ± δw], δ as a
fraction of the block's T, H, W (``None`` = +inf); keys sub-sampled 2x2 as in the baseline.
"""
_base_ = ['./i3d_r50_nl5_32x2x1_kinetics400.py']

model = dict(
    backbone=dict(
        non_local_cfg=dict(type='MaskNonLocal3d', delta=(None, 3 / 28, 3 / 28))))
