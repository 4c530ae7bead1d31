"""Fujitsu's AVA model (AVA-Kinetics 2020, 31.88 test mAP with the Kinetics model and the arm
merge): SlowFast short-term + 256-d global pooling + long-term feature bank over 100 s.

Report "Multi-scale Spatiotemporal Features for Action Localization" (Zhu et al.,
https://research.google.com/ava/challenge.html), §1 and Figure 1: "For the AVA, Slowfast [1] and
LFB [2] are combined as one neural network. Then we extract multi-scale features of short-term,
long-term and global pooling with the combined network"; "we extract the short-term feature on
the bounding box from Faster R-CNN [5] detector (the middle branch) and extract the global
pooling feature before RoI Pooling. On the bottom branch, we extract the long-term feature bank
within a window size of 100 seconds centering on the keyframe." §2.4.1: the global pooling
feature adds 256 channels to the classifier's input ("increases from 2560 to 2816").

Built from the project's three-branch parts (``ThreeBranchRoIHead``, ``ThreeBranchHead``):

* short-term: SlowFast R50 8x8 (mmaction2's Kinetics-400 weights, as ``arm_slowfast_r50.py``;
  the report names no depth: ours), mmaction2's RoIAlign 8x8, temporal average and spatial
  max pooling -> 2304;
* long-term: the LFB operator (``LFBBranch``: two masked FBO-NL blocks, latent 512, dropout
  0.2, LFB's settings as mmaction2's LFB config) over a frozen bank of 5 person features per
  second (LFB's) for seconds ``t - 50 .. t + 50`` around keyframe ``t`` (``LoadLFBWindow
  half_width=50``, 101 one-second slots: the report's 100 s centred on the keyframe, both ends
  included: ours) -> 512;
* global: GAP of the clip features before RoI pooling, linearly projected to 256 (the report
  gives the width, not the projection: ours), no scene classifier or loss (the report has
  none) -> 256;
* classifier: concatenation (2304 + 512 + 256 = 3072), dropout 0.5, mmaction2's
  ``BBoxHeadAVA`` (sigmoid BCE, the SlowFast/LFB loss; the report names none: ours). The width
  2560 -> 2816 of §2.4.1 is the LFB model (2048-d short-term) before and after the global
  feature: ``fujitsu_slowonly_r50_lfb_global_ava.py``;
* recipe: ``_base_/fujitsu_recipe.py`` (64 clips, 26 epochs, lr 0.01 x0.1 at 15 and 20, short
  side 256-320, crop 224, flip; detections >= 0.8).

The bank (``lfb_bank_dir``) holds the 2304-d RoI features of a trained short-term model, up to 5
per second (the highest-scoring detections), of every keyframe of train and val; the window
then reads seconds ``t - 50 .. t + 50`` of it. Which model writes it is ours
(``linear_slowfast_r50.py``, the same backbone; LFB uses its own baseline)::

    tools/dist_train.sh configs/linear_slowfast_r50.py 8 --work-dir work_dirs/fujitsu_bank_model
    for split in train val; do
      tools/dist_extract_bank.sh configs/linear_slowfast_r50.py BANK_MODEL.pth 8 \\
          --feature roi --max-per-second 5 --out data/ava/lfb_fujitsu --split $split
    done
    tools/dist_train.sh configs/fujitsu_slowfast_r50_ava.py 8
"""
_base_ = [
    'mmaction::detection/slowfast/'
    'slowfast_kinetics400-pretrained-r50_8xb6-8x8x1-cosine-10e_ava22-rgb.py',
    '_base_/fujitsu_recipe.py'
]

custom_imports = dict(imports=['ava_plugins'], allow_failed_imports=False)

feat_channels = 2304  # SlowFast R50: 2048 slow + 256 fast
lfb_bank_dir = 'data/ava/lfb_fujitsu'  # a FeatureBank of (feat_channels,) person features
lfb_half_width = 50  # seconds t - 50 .. t + 50: the report's 100 s centred on the keyframe
lfb_max_items = 5  # persons per second (LFB)
lfb_latent = 512
global_channels = 256
with_lfb = True

model = dict(
    roi_head=dict(
        type='ThreeBranchRoIHead',
        shared_head=dict(
            type='ThreeBranchHead',
            in_channels=feat_channels,
            with_global=True,
            with_lfb=with_lfb,
            fusion='concat',
            lfb=dict(
                lt_channels=feat_channels,
                latent_channels=lfb_latent,
                num_blocks=2,
                st_dropout_ratio=0.2,
                lt_dropout_ratio=0.2,
                block_dropout_ratio=0.2),
            global_channels=global_channels,
            global_loss=False),
        bbox_head=dict(in_channels=feat_channels + lfb_latent + global_channels)))

lfb_window = dict(type='LoadLFBWindow', bank_dir=lfb_bank_dir, half_width=lfb_half_width,
                  max_items=lfb_max_items)
pack = dict(type='PackActionInputs', algorithm_keys=('lfb_feat', 'lfb_mask'))
train_pipeline = [
    dict(type='SampleAVAFrames', clip_len=32, frame_interval=2),
    dict(type='RawFrameDecode', io_backend='disk'),
    *_base_.fujitsu_train_augment,  # short side 256-320, crop 224, flip
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    lfb_window,
    pack,
]
val_pipeline = [
    dict(type='SampleAVAFrames', clip_len=32, frame_interval=2, test_mode=True),
    dict(type='RawFrameDecode', io_backend='disk'),
    _base_.fujitsu_test_resize,
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    lfb_window,
    pack,
]

train_dataloader = dict(
    batch_size=_base_.fujitsu_clips_per_gpu,
    dataset=dict(type='ValidatedAVADataset', pipeline=train_pipeline,
                 person_det_score_thr=_base_.fujitsu_det_score_thr_ava))
val_dataloader = dict(
    dataset=dict(type='ValidatedAVADataset', pipeline=val_pipeline,
                 person_det_score_thr=_base_.fujitsu_det_score_thr_ava))
test_dataloader = val_dataloader

val_evaluator = dict(type='AVAFrameMetric')
test_evaluator = val_evaluator

# 26 epochs, lr 0.01 for 64 clips (8 GPUs x 8), x0.1 at epochs 15 and 20
train_cfg = _base_.fujitsu_train_cfg
param_scheduler = _base_.fujitsu_param_scheduler
optim_wrapper = _base_.fujitsu_optim_wrapper
auto_scale_lr = _base_.fujitsu_auto_scale_lr
