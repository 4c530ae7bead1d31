"""Evaluate the official ACAR-Net R50 model-zoo checkpoint on AVA v2.2 val, as its code does.

    python tools/convert_acar_checkpoint.py AVA_SLOWFAST_R50_ACAR_HR2O.pth.tar acar_r50.pth
    python tools/test.py configs/acar_slowfast_r50_official_eval.py acar_r50.pth

Settings of the official ``configs/AVA/eval_SLOWFAST_R50_ACAR_HR2O.yaml``
(github.com/Siyu-C/ACAR-Net) on top of ``acar_slowfast_r50.py``:

* input: 32 frames at interval 2 around the keyframe (official ``TemporalCenterCrop`` 64, step
  2), short side 256, RGB normalised with mean 0.45 and std 0.225 of [0, 1] (x 255 here);
  no padding beyond the clip (one clip per batch, ``pad_size_divisor=1``: the official geometry,
  box scale ``feature size / frame size``);
* backbone: alpha 4, the slow pathway on ``slow_full_span`` frames (``ResNet3dSlowFastFullSpan``:
  ``linspace`` indices 0, 4, 8, 13, 17, 22, 26, 31 of 32, where mmaction2 takes every 4th frame),
  lateral fusion ``fuse_kernel_size 7`` with BN + ReLU (``fusion_kernel=7, lateral_norm=True``);
* head: depth 2, 3x3 HR2O_NL (as ``acar_slowfast_r50.py``);
* boxes: FAIR detections >= 0.85 (the official ``ava_val_v2.2_fair_0.85.pkl``).
"""
_base_ = './acar_slowfast_r50.py'

model = dict(
    init_cfg=None,
    data_preprocessor=dict(mean=[114.75] * 3, std=[57.375] * 3, pad_size_divisor=1),
    backbone=dict(
        type='mmaction.ResNet3dSlowFastFullSpan',
        slow_full_span=True,
        resample_rate=4,
        speed_ratio=4,
        slow_pathway=dict(fusion_kernel=7, lateral_norm=True)))

train_dataloader = None
train_cfg = None
optim_wrapper = None
param_scheduler = None
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
