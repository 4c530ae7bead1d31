"""Evaluate the official ACAR-Net R101 model-zoo checkpoint on AVA v2.2 val, as its code does.

    python tools/convert_acar_checkpoint.py AVA_SLOWFAST_R101_ACAR_HR2O_DEPTH1.pth.tar acar.pth
    python tools/test.py configs/acar_slowfast_r101_official_eval.py acar.pth

Settings of the official ``configs/AVA/eval_SLOWFAST_R101_ACAR_HR2O_DEPTH1.yaml``
(github.com/Siyu-C/ACAR-Net; 31.7 val mAP in its model zoo) on top of
``acar_slowfast_r101.py``:

* input: 32 frames at interval 2 around the keyframe (official ``TemporalCenterCrop`` 64, step
  2), short side 256, RGB normalised with mean [110.64, 103.16, 96.29] and std
  [38.76, 37.88, 40.03] of [0, 255]; no padding beyond the clip (one clip per batch,
  ``pad_size_divisor=1``: the official geometry, box scale ``feature size / frame size``);
* backbone: alpha 4 (slow pathway every 4th frame), lateral fusion convolution only, kernel 5
  (the official default ``fuse_only_conv``, ``fuse_kernel_size 5``);
* head: one HR2O_NL block with a 1x1 output convolution (as ``acar_slowfast_r101.py``);
* boxes: FAIR detections >= 0.85 (the official ``ava_val_v2.2_fair_0.85.pkl``).
"""
_base_ = './acar_slowfast_r101.py'

model = dict(
    init_cfg=None,
    data_preprocessor=dict(
        mean=[110.63666788, 103.16065604, 96.29023126],
        std=[38.7568578, 37.88248729, 40.02898126],
        pad_size_divisor=1),
    backbone=dict(
        resample_rate=4,
        speed_ratio=4,
        slow_pathway=dict(fusion_kernel=5, lateral_norm=False)))

train_dataloader = None
train_cfg = None
optim_wrapper = None
param_scheduler = None
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
