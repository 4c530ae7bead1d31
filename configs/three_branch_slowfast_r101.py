"""Three Branches (Xia, Tang, Lu; AVA challenge 2019, 32.49 test mAP), SlowFast R101, AVA v2.2.

Report "Three Branches: Detecting Actions With Richer Features", https://arxiv.org/abs/1908.04519
§3-4 on mmaction2's SlowFast AVA setup:

* backbone: SlowFast R101 8x8 (mmaction2's Kinetics-400 weights; the report pre-trains on
  Kinetics-600/700, which mmaction2 does not provide), res5 spatial stride 1 and dilation 2,
  frozen BN (statistics and affine parameters);
* short-term branch: RoIAlign replicated along time, temporal average and spatial max pooling;
* long-term branch: 5 persons/s x 61 s = 305 bank features around the keyframe
  (``LoadLFBWindow`` from the project's ``FeatureBank`` at ``lfb_bank_dir``, written from a
  trained baseline by ``ava_plugins.structures.extract_bank`` and frozen), dropout 0.2 and
  reduction to 512 on both inputs, two masked LFB (FBO-NL) blocks, concatenation;
* global branch: GAP -> dropout -> linear scene classifier with the global loss (BCE against
  the union of the clip's person labels, weight ``global_loss_weight``), pooled feature
  concatenated to every RoI;
* classifier: dropout 0.5, linear; pose-softmax focal loss (``gamma = 2``) over the 60 AVA
  challenge classes (pose ids 1-14), weighted and normalised as the team's own code base,
  AlphAction (github.com/MVIG-SJTU/AlphAction, ``ActionLossComputation`` with its default
  ``POSE_LOSS_WEIGHT`` 1.2 and object / person weights equal to their class counts, multiplied
  in by its trainer): ``(1.2 x sum of the pose softmax-focal terms + sum of every sigmoid-focal
  term) / number of boxes``, the box count of the whole distributed batch (AlphAction's
  all-reduced ``avg_box_num``): ``pose_weight=1.2``, ``loss_normalizer='rois'``,
  ``global_roi_mean=True``. (mmaction2's mean over the ``n x 60`` elements would make every
  step 60x smaller at the same lr.) A person without a pose label gets no pose term (AlphAction
  takes the ``argmax`` of its all-zero pose labels: ours, see ``PoseSoftmaxFocalLoss``);
* data: short side 256, random flip, colour jitter, box jitter of the training RoIs; training
  on ground-truth boxes (mmaction2's sampler adds them; proposals with IoU >= 0.9 to a ground
  truth also count, as in every mmaction2 AVA config); testing on detections with score
  >= 0.8;
* schedule (§4): synchronous SGD, momentum 0.9, weight decay 1e-7, minibatch 64 clips
  (``train_dataloader.batch_size`` 8 per GPU x 8 GPUs; ``auto_scale_lr.base_batch_size = 64``
  rescales lr for another total batch when enabled), lr 0.016 for 26k iterations, x0.1 at 16k
  and 21k, no warm-up (none is stated for the AVA fine-tuning); iteration-based loop, validation
  and checkpoint every 2k iterations (our choice). The warm-up + half-cosine over 8 epochs (the
  report's Kinetics recipe) is the ablation ``three_branch_slowfast_r101_cosine.py``.
* test-time augmentation (short side x horizontal flip): ``three_branch_slowfast_r101_tta.py``.

Ablations inherit this file: ``three_branch_slowfast_r101_{no_global,no_lfb,no_focal,
sum_fusion,cosine}.py``; non-local backbone: ``three_branch_slowfast_r101_nl.py``.
"""
_base_ = ('mmaction::detection/slowfast/'
          'slowfast_kinetics400-pretrained-r50_8xb6-8x8x1-cosine-10e_ava22-rgb.py')

custom_imports = dict(imports=['ava_plugins'], allow_failed_imports=False)

url = ('https://download.openmmlab.com/mmaction/v1.0/recognition/slowfast/'
       'slowfast_r101_8xb8-8x8x1-256e_kinetics400-rgb/'
       'slowfast_r101_8xb8-8x8x1-256e_kinetics400-rgb_20220901-9c0e09bd.pth')

# The 60 classes of the ActivityNet AVA challenge, label-map order.
custom_classes = [
    1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 20, 22, 24, 26, 27, 28, 29, 30, 34, 36,
    37, 38, 41, 43, 45, 46, 47, 48, 49, 51, 52, 54, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66,
    67, 68, 69, 70, 72, 73, 74, 76, 77, 78, 79, 80
]
num_classes = len(custom_classes) + 1
pose_id_range = (1, 14)

feat_channels = 2304  # SlowFast R101: 2048 slow + 256 fast
lfb_bank_dir = 'data/ava/lfb_three_branch'  # a FeatureBank of (feat_channels,) person features
lfb_half_width = 30  # 61 s
lfb_max_items = 5  # persons per second
lfb_latent = 512
global_loss_weight = 1.0
frozen_bn = dict(type='BN3d', requires_grad=False)

model = dict(
    init_cfg=dict(type='Pretrained', checkpoint=url),
    backbone=dict(
        slow_pathway=dict(depth=101, dilations=(1, 1, 1, 2), norm_eval=True,
                          norm_cfg=frozen_bn),
        fast_pathway=dict(depth=101, dilations=(1, 1, 1, 2), norm_eval=True,
                          norm_cfg=frozen_bn)),
    roi_head=dict(
        type='ThreeBranchRoIHead',
        train_box_jitter=0.05,
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor3D',
            roi_layer_type='RoIAlign',
            output_size=7,
            with_temporal_pool=True,
            temporal_pool_mode='avg'),
        shared_head=dict(
            type='ThreeBranchHead',
            in_channels=feat_channels,
            num_scene_classes=len(custom_classes),
            with_global=True,
            with_lfb=True,
            fusion='concat',
            lfb=dict(
                lt_channels=feat_channels,
                latent_channels=lfb_latent,
                num_blocks=2,
                st_dropout_ratio=0.2,
                lt_dropout_ratio=0.2,
                block_dropout_ratio=0.2),
            global_dropout_ratio=0.5,
            global_loss_weight=global_loss_weight),
        bbox_head=dict(
            type='PoseSoftmaxBBoxHeadAVA',
            background_class=True,
            in_channels=feat_channels + lfb_latent + feat_channels,
            num_classes=num_classes,
            class_ids=custom_classes,
            pose_id_range=pose_id_range,
            multilabel=True,
            cls_bias=True,
            dropout_ratio=0.5,
            # AlphAction's normalisation: sum over classes / boxes of the whole batch
            loss_normalizer='rois',
            global_roi_mean=True,
            # the head passes its class_ids and pose_id_range to the loss
            loss_cls=dict(type='PoseSoftmaxFocalLoss', gamma=2.0, alpha=None,
                          pose_weight=1.2))))

lfb_window = dict(type='LoadLFBWindow', bank_dir=lfb_bank_dir, half_width=lfb_half_width,
                  max_items=lfb_max_items)
pack = dict(type='PackActionInputs', algorithm_keys=('lfb_feat', 'lfb_mask'))
train_pipeline = [
    dict(type='SampleAVAFrames', clip_len=32, frame_interval=2),
    dict(type='RawFrameDecode', io_backend='disk'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    lfb_window,
    pack,
]
val_pipeline = [
    dict(type='SampleAVAFrames', clip_len=32, frame_interval=2, test_mode=True),
    dict(type='RawFrameDecode', io_backend='disk'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    lfb_window,
    pack,
]

train_dataloader = dict(
    batch_size=8,
    dataset=dict(
        type='ValidatedAVADataset',
        pipeline=train_pipeline,
        custom_classes=custom_classes,
        num_classes=num_classes,
        person_det_score_thr=0.9))
val_dataloader = dict(
    dataset=dict(
        type='ValidatedAVADataset',
        pipeline=val_pipeline,
        custom_classes=custom_classes,
        num_classes=num_classes,
        person_det_score_thr=0.8))
test_dataloader = val_dataloader

val_evaluator = dict(type='AVAFrameMetric', custom_classes=custom_classes,
                     num_classes=num_classes)
test_evaluator = val_evaluator

max_iters = 26000
lr_steps = [16000, 21000]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
                 val_begin=1, val_interval=2000)
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=lr_steps,
         gamma=0.1)
]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=2000))
log_processor = dict(by_epoch=False)
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.016, momentum=0.9, weight_decay=1e-7), clip_grad=None)
auto_scale_lr = dict(enable=False, base_batch_size=64)
