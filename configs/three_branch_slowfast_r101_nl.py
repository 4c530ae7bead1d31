"""Three Branches with non-local blocks in the backbone.

Report "Three Branches: Detecting Actions With Richer Features",
https://arxiv.org/abs/1908.04519 §3: "we use dilated filter in res5 and Non-Local block in
backbone model to expand receptive fields"; it does not say where or how many. Our choice:
mmaction2's non-local pattern (its ``*-nl-embedded-gaussian`` SlowOnly/I3D configs, the
Non-local Networks' 5 blocks: every other block of res3 and the first 6 of res4) in the slow
pathway only (the fast pathway is the thin, high-frame-rate one), mmaction2 1.2.0's
``ResNet3d`` ``non_local`` / ``non_local_cfg``: embedded Gaussian, sub-sampled keys, scaled.
The Kinetics checkpoint has no non-local weights: the blocks keep mmaction2's from-scratch
init (``ResNet3d.init_weights``: Kaiming convs, every BN weight 1 - this overrides mmcv's zero
init of the block's output BN, so a block does not start as the identity); ``norm_eval``
keeps their BN in eval mode like the rest of the backbone, the affine parameters train.
Everything else as ``three_branch_slowfast_r101.py``.
"""
_base_ = './three_branch_slowfast_r101.py'

non_local_res4 = (1, 0, 1, 0, 1, 0) + (0, ) * 17  # R101 res4 has 23 blocks
model = dict(
    backbone=dict(
        slow_pathway=dict(
            non_local=((0, 0, 0), (1, 0, 1, 0), non_local_res4, (0, 0, 0)),
            non_local_cfg=dict(
                sub_sample=True,
                use_scale=True,
                norm_cfg=dict(type='BN3d', requires_grad=True),
                mode='embedded_gaussian'))))
