"""Fujitsu's first step (AVA-Kinetics 2020 report, §2.4.1): "the global pooling feature is fused
to original LFB model. The dimension of the feature for classifier increases from 2560 to 2816"
(27.73 val mAP, against 26.9 for the original LFB).

Report "Multi-scale Spatiotemporal Features for Action Localization" (Zhu et al.,
https://research.google.com/ava/challenge.html). Everything as ``fujitsu_slowfast_r50_ava.py``
(long-term bank over seconds ``t - 50 .. t + 50``, 256-d global feature, recipe) except the
short-term backbone: the LFB model's 2048-d one, mmaction2's LFB configuration (SlowOnly R50
4x16, ImageNet -> Kinetics-400 weights, ``configs/detection/lfb/slowonly-lfb-nl_*``), so the
classifier input is 2048 + 512 = 2560 without and 2048 + 512 + 256 = 2816 with the global feature.
Its bank holds 2048-d features of a SlowOnly model (``lfb_bank_dir``)::

    for split in train val; do
      tools/dist_extract_bank.sh SLOWONLY_CONFIG SLOWONLY.pth 8 --feature roi \\
          --max-per-second 5 --out data/ava/lfb_fujitsu_slowonly --split $split
    done

(``SLOWONLY_CONFIG``: a SlowOnly R50 4x16 AVA detector config, e.g. mmaction2's
``detection/slowonly/slowonly_kinetics400-pretrained-r50_8xb16-4x16x1-20e_ava21-rgb.py``.)
"""
_base_ = './fujitsu_slowfast_r50_ava.py'

url = ('https://download.openmmlab.com/mmaction/v1.0/recognition/slowonly/'
       'slowonly_imagenet-pretrained-r50_8xb16-4x16x1-steplr-150e_kinetics400-'
       'rgb/slowonly_imagenet-pretrained-r50_8xb16-4x16x1-steplr-150e_'
       'kinetics400-rgb_20220901-e7b65fad.pth')
feat_channels = 2048
lfb_bank_dir = 'data/ava/lfb_fujitsu_slowonly'

model = dict(
    init_cfg=dict(type='Pretrained', checkpoint=url),
    backbone=dict(
        _delete_=True,
        type='mmaction.ResNet3dSlowOnly',
        depth=50,
        pretrained=None,
        pretrained2d=False,
        lateral=False,
        num_stages=4,
        conv1_kernel=(1, 7, 7),
        conv1_stride_t=1,
        pool1_stride_t=1,
        spatial_strides=(1, 2, 2, 1)),
    roi_head=dict(
        shared_head=dict(in_channels=feat_channels, lfb=dict(lt_channels=feat_channels)),
        bbox_head=dict(in_channels=feat_channels + _base_.lfb_latent + _base_.global_channels)))

lfb_window = dict(_base_.lfb_window, bank_dir=lfb_bank_dir)
clip = dict(clip_len=4, frame_interval=16)  # SlowOnly 4x16, as mmaction2's LFB
train_pipeline = [dict(_base_.train_pipeline[0], **clip), *_base_.train_pipeline[1:-2],
                  lfb_window, _base_.pack]
val_pipeline = [dict(_base_.val_pipeline[0], **clip), *_base_.val_pipeline[1:-2], lfb_window,
                _base_.pack]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
