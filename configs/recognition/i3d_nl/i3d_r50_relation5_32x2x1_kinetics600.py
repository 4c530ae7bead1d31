"""I3D ResNet-50 with 5 learnable relation blocks on Kinetics-600, the report's Kinetics: the
blocks of ``i3d_r50_relation5_32x2x1_kinetics400.py`` on the data of
``i3d_r50_nl5_32x2x1_kinetics600.py``; initialise from a trained
``i3d_r50_masknl5_d0-2-2_32x2x1_kinetics600.py`` (``--cfg-options load_from=...``), as there.
The report did not finish this experiment (no number)."""
_base_ = ['./i3d_r50_nl5_32x2x1_kinetics600.py']

model = dict(
    backbone=dict(
        non_local_cfg=dict(
            type='LearnableRelation3d', neighbourhood=(0, 2, 2), relation_field=(1, 4, 4))))
