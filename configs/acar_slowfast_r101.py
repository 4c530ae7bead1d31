"""ACAR-Net, SlowFast R101 8x8, AVA v2.2: the flagship (``tools/dist_train.sh THIS 8``).

ACAR-Net report (https://arxiv.org/abs/2006.07976) §2.1 recipe, inherited from
``acar_slowfast_r50.py`` (32 clips = 8 GPUs x 4, base lr 0.064, Nesterov SGD, weight decay 1e-7,
frozen backbone BN, res5 dilation 2, GT + detections >= 0.9 for training, FAIR detections
>= 0.85 for testing as the official eval configs, pose softmax, mean padding to multiples of
16), except the schedule, which follows the official R101 config: 5 epochs (the R50 config: 6)
with a one-epoch warm-up and x0.1 at epochs 4.6 and 4.8.
The head is that of the official R101 model (``configs/AVA/SLOWFAST_R101_ACAR_HR2O_DEPTH1.yaml``,
31.7 val mAP in its model zoo): one HR2O_NL block with a 1x1 output convolution, so the
official model-zoo head converts onto it (``tools/convert_acar_checkpoint.py``).

The backbone starts from mmaction2's Kinetics-400 SlowFast R101 8x8 (the report pre-trains on
Kinetics-700, which mmaction2 does not provide). To evaluate the official R101 weights use
``acar_slowfast_r101_official_eval.py``.
"""
_base_ = './acar_slowfast_r50.py'

url = ('https://download.openmmlab.com/mmaction/v1.0/recognition/slowfast/'
       'slowfast_r101_8xb8-8x8x1-256e_kinetics400-rgb/'
       'slowfast_r101_8xb8-8x8x1-256e_kinetics400-rgb_20220901-9c0e09bd.pth')

model = dict(
    init_cfg=dict(type='Pretrained', checkpoint=url),
    backbone=dict(slow_pathway=dict(depth=101), fast_pathway=dict(depth=101)),
    roi_head=dict(shared_head=dict(depth=1, mlp_1x1=True)))

max_epochs = 5
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.125, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='MultiStepLR', gamma=0.1, milestones=[0], by_epoch=True, begin=4.6,
         end=max_epochs, convert_to_iter_based=True),
    dict(type='MultiStepLR', gamma=0.1, milestones=[0], by_epoch=True, begin=4.8,
         end=max_epochs, convert_to_iter_based=True),
]
