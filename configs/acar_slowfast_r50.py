"""ACAR-Net, SlowFast R50 8x8, AVA v2.2: the ACAR-Net report's recipe on mmaction2's AVA setup.

ACAR-Net report (https://arxiv.org/abs/2006.07976) §1-2.1 and the official
``configs/AVA/SLOWFAST_R50_ACAR_HR2O.yaml`` (github.com/Siyu-C/ACAR-Net):

* backbone: mmaction2's Kinetics-400 SlowFast R50 (inherited), res5 spatial stride 1 with
  dilation 2 on both pathways, frozen BN statistics (``norm_eval``);
* RoI: per-pathway temporal average pooling (``SingleRoIExtractor3D``), RoIAlign 7x7 with the
  official settings (``aligned=False``, adaptive sampling) inside ``ACARHead``;
* head: ``ACARHead`` (depth 2, 3x3 HR2O_NL) + ``PoseSoftmaxBBoxHeadAVA`` (pose softmax over AVA
  ids 1-14, no classifier bias, no dropout), on the 60 evaluated classes;
* data: GT boxes plus detections with score >= 0.9 for training (official
  ``ava_train_v2.2_with_fair_0.9.pkl``), FAIR detections >= 0.85 for testing (the official
  ``ava_val_v2.2_fair_0.85.pkl`` of its eval configs; the report's 0.7 is for its own SENet-154
  detector, which mmaction2 does not ship); short side 256, no random crop; training: horizontal
  flip, frames padded at the bottom/right to a square (``PadToSquare``, §2.1 "zero pad the
  longer side to the same size"); testing: short side 256, fully convolutional (§2.1
  "Inference");
* training RoIs: mmaction2's ``MaxIoUAssignerAVA`` (IoU >= 0.9) gives each detection the labels
  of its GT box, GT boxes are added as proposals; then the sampled RoIs are jittered by up to
  7.5% of the box size (``BoxJitterRoIHead``: after the assignment, so every RoI keeps its
  labels, as the official code jitters labelled boxes); the loss is the mean over all RoIs of
  the global batch (``global_roi_mean``, as the official ``main.py``);
* padding (``MeanPadDataPreprocessor``): each clip is normalised first and then padded with 0,
  i.e. the mean colour, as the official ``batch_pad``; every input is padded to a multiple of 16
  (the backbone's stride), so ``ACARHead``'s crop of each clip's context to its unpadded area
  (``img_shape``, ``pad_shape``) and its box scale are the same for a clip at training (square)
  and testing (our choice; the official code pads to the batch's largest frame only). The
  square costs 1.81x backbone compute on a 16:9 frame (464 x 464 against 256 x 464);
  ``acar_slowfast_r101_batch_pad.py`` pads to the batch's largest frame instead, as the
  official code (one clip per GPU there: no padding);
* schedule: SGD, Nesterov momentum 0.9, weight decay 1e-7, base lr 0.064 for 32 clips
  (8 GPUs x 4), linear warm-up from lr / 8 over the first epoch, x0.1 at epochs 5.6 and 5.8 of 6.

Ablations are one-line changes, e.g. ``model = dict(roi_head=dict(shared_head=dict(depth=1)))``.
"""
_base_ = ('mmaction::detection/slowfast/'
          'slowfast_kinetics400-pretrained-r50_8xb6-8x8x1-cosine-10e_ava22-rgb.py')

custom_imports = dict(imports=['ava_plugins'], allow_failed_imports=False)

# The 60 classes of the ActivityNet AVA challenge, label-map order (the official head's columns).
custom_classes = [
    1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 20, 22, 24, 26, 27, 28, 29, 30, 34, 36,
    37, 38, 41, 43, 45, 46, 47, 48, 49, 51, 52, 54, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66,
    67, 68, 69, 70, 72, 73, 74, 76, 77, 78, 79, 80
]
num_classes = len(custom_classes) + 1
pose_id_range = (1, 14)

model = dict(
    data_preprocessor=dict(type='mmaction.MeanPadDataPreprocessor', pad_size_divisor=16),
    backbone=dict(
        slow_pathway=dict(dilations=(1, 1, 1, 2), norm_eval=True),
        fast_pathway=dict(dilations=(1, 1, 1, 2), norm_eval=True)),
    roi_head=dict(
        type='BoxJitterRoIHead',
        train_box_jitter=0.075,
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor3D',
            roi_layer_type='RoIAlign',
            output_size=7,
            sampling_ratio=0,
            aligned=False,
            with_temporal_pool=True,
            temporal_pool_mode='avg'),
        shared_head=dict(
            type='ACARHead',
            in_channels=2304,
            reduce_channels=1024,
            hidden_channels=512,
            depth=2,
            kernel_size=3,
            mlp_1x1=False,
            downsample='max2x2',
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0, aligned=False),
            box_scale='feature'),
        bbox_head=dict(
            type='PoseSoftmaxBBoxHeadAVA',
            background_class=True,
            in_channels=1024,
            num_classes=num_classes,
            class_ids=custom_classes,
            pose_id_range=pose_id_range,
            multilabel=True,
            cls_bias=False,
            dropout_ratio=0.,
            global_roi_mean=True)))

meta_keys = ('img_shape', 'pad_shape', 'img_key', 'video_id', 'timestamp')
train_pipeline = [
    dict(type='SampleAVAFrames', clip_len=32, frame_interval=2),
    dict(type='RawFrameDecode', io_backend='disk'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='PadToSquare'),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='PackActionInputs', meta_keys=meta_keys)
]
val_pipeline = [
    dict(type='SampleAVAFrames', clip_len=32, frame_interval=2, test_mode=True),
    dict(type='RawFrameDecode', io_backend='disk'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='PackActionInputs', meta_keys=meta_keys)
]

train_dataloader = dict(
    batch_size=4,
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
        person_det_score_thr=0.85))
test_dataloader = val_dataloader

val_evaluator = dict(type='AVAFrameMetric', custom_classes=custom_classes, num_classes=num_classes)
test_evaluator = val_evaluator

max_epochs = 6
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=1, val_interval=1)

# Official: warm-up 0.008 -> 0.064 over epoch 1, then x0.1 at epochs 5.6 and 5.8. Each decay is
# a MultiStepLR whose only milestone is its own start (fractional epochs are allowed in
# begin/end, which mmengine converts to iterations).
param_scheduler = [
    dict(type='LinearLR', start_factor=0.125, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='MultiStepLR', gamma=0.1, milestones=[0], by_epoch=True, begin=5.6,
         end=max_epochs, convert_to_iter_based=True),
    dict(type='MultiStepLR', gamma=0.1, milestones=[0], by_epoch=True, begin=5.8,
         end=max_epochs, convert_to_iter_based=True),
]

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.064, momentum=0.9, nesterov=True, weight_decay=1e-7),
    clip_grad=None)

auto_scale_lr = dict(enable=False, base_batch_size=32)
