"""I3D ResNet-50 with 5 learnable relation blocks on Kinetics-400 (Qiniu 2018 report, §3, Eq. 7).

The 5 non-local blocks become ``LearnableRelation3d``: a network-in-network with a
(2t0+1) x (2h0+1) x (2w0+1) = 3 x 9 x 9 receptive field predicts per position a relation
vector over D_i = [t ± 0] x [h ± 2] x [w ± 2] (keys 2x2 sub-sampled: 3 x 3 key cells), with
t1 < t0 < T/2 (T = 4 at res3/res4) and h1 < h0 < H/2 (H = 14 at res4) as the report requires.

Initialisation from a trained mask non-local (the report's note): train
``i3d_r50_masknl5_d0-2-2_32x2x1_kinetics400.py`` first and start from its checkpoint,
``--cfg-options load_from=work_dirs/.../epoch_100.pth``; parameters load by name
(``strict=False``), only the NiN is new, and its zero last layer makes the relation model start
exactly at the mask non-local model (``ava_plugins/models/recognition/learnable_relation.py``).
The report did not finish this experiment (no number).
"""
_base_ = ['./i3d_r50_nl5_32x2x1_kinetics400.py']

model = dict(
    backbone=dict(
        non_local_cfg=dict(
            type='LearnableRelation3d', neighbourhood=(0, 2, 2), relation_field=(1, 4, 4))))
