"""ACAR-Net, SlowFast R101 8x8, trained on AVA-Kinetics, evaluated on AVA v2.2 val.

ACAR-Net report (https://arxiv.org/abs/2006.07976) Table 2: 34.15 AVA val mAP for this
model in the report (32.29 when trained on AVA only). Data as
``acar_slowfast_r50_ava_kinetics.py``;
model as ``acar_slowfast_r101.py`` (R101 backbone, one HR2O_NL block with 1x1 output conv, the
head of the official AVA-Kinetics R101 checkpoint). Schedule: that of the R50 configs (6 epochs,
x0.1 at 5.6 and 5.8; our choice: the official code has no AVA-Kinetics training config, and
``acar_slowfast_r101.py`` follows the official AVA R101 config's 5 epochs).
"""
_base_ = './acar_slowfast_r50_ava_kinetics.py'

url = ('https://download.openmmlab.com/mmaction/v1.0/recognition/slowfast/'
       'slowfast_r101_8xb8-8x8x1-256e_kinetics400-rgb/'
       'slowfast_r101_8xb8-8x8x1-256e_kinetics400-rgb_20220901-9c0e09bd.pth')

model = dict(
    init_cfg=dict(type='Pretrained', checkpoint=url),
    backbone=dict(slow_pathway=dict(depth=101), fast_pathway=dict(depth=101)),
    roi_head=dict(shared_head=dict(depth=1, mlp_1x1=True)))
