"""CPN, ResNet-50, COCO person keypoints, 256x192 input, 64x48 heatmaps.

Chen et al., "Cascaded Pyramid Network for Multi-Person Pose Estimation", CVPR 2018: ResNet-50
C2-C5 -> GlobalNet (pyramid, an L2-supervised heatmap per level) -> RefineNet (0/1/2/3
bottlenecks from fine to coarse, online hard keypoint mining over the 8 hardest of 17
keypoints); ``ava_plugins.models.pose.CPNHead``. Trained with mmpose's tools, e.g.
``python -m mmpose.tools.train`` or ``mim train mmpose configs/cpn_r50_coco_256x192.py``.

As the official code (github.com/chenyilun95/tf-cpn, ``models/COCO.res50.256x192.CPN``):
Adam, lr 5e-4, weight decay 1e-5; targets are a delta at the keypoint's heatmap pixel blurred
with cv2's Gaussian kernel and scaled to a peak of 255 (mmpose's ``MegviiHeatmap`` codec, its
port of that label generator), one target per GlobalNet level with kernels 15/11/9/7 for C2/C3/
C4/C5 (the official ``network.py`` keeps this order "for reproduction of our pre-trained
model") and kernel 7 for RefineNet; decoding as the official test (blur, quarter-pixel shift
towards the higher neighbour, score / 255 + 0.5). Loss: sum over levels of the per-level L2
loss / 8 (official ``global_loss``) plus the RefineNet hard-keypoint loss. The heatmap layers
end in BN, as the official ones, which suits the 0-255 targets. Not official: the schedule
(mmpose's 210-epoch top-down recipe; the official iteration-based halving has no COCO-epoch
equivalent) and the augmentation (mmpose's standard top-down pipeline).
"""
_base_ = 'mmpose::_base_/default_runtime.py'

custom_imports = dict(imports=['ava_plugins'], allow_failed_imports=False)

# runtime
train_cfg = dict(max_epochs=210, val_interval=10)

optim_wrapper = dict(optimizer=dict(type='Adam', lr=5e-4, weight_decay=1e-5))

param_scheduler = [
    dict(type='LinearLR', begin=0, end=500, start_factor=0.001, by_epoch=False),  # warm-up
    dict(type='MultiStepLR', begin=0, end=210, milestones=[170, 200], gamma=0.1, by_epoch=True)
]

# lr 5e-4 is for 8 GPUs x 32 images
auto_scale_lr = dict(base_batch_size=256)

default_hooks = dict(checkpoint=dict(save_best='coco/AP', rule='greater'))

# codec: one target level per GlobalNet level (C2, C3, C4, C5); RefineNet uses the last one
kernel_sizes = [15, 11, 9, 7]
codec = [
    dict(type='MegviiHeatmap', input_size=(192, 256), heatmap_size=(48, 64), kernel_size=k)
    for k in kernel_sizes
]

model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(type='PoseDataPreprocessor',
                           mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375],
                           bgr_to_rgb=True),
    backbone=dict(type='ResNet',
                  depth=50,
                  out_indices=(0, 1, 2, 3),
                  init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    head=dict(type='CPNHead',
              in_channels=(256, 512, 1024, 2048),
              out_channels=17,
              out_shape=(64, 48),
              channels=256,
              refine_num_blocks=(0, 1, 2, 3),
              global_loss=dict(type='KeypointMSELoss', use_target_weight=False, loss_weight=0.125),
              refine_loss=dict(type='KeypointOHKMMSELoss', use_target_weight=True, topk=8),
              global_target_levels=(0, 1, 2, 3),
              refine_target_level=3,
              decoder=codec[-1]),
    # official test: average with the flipped input's heatmaps, no shift
    test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=False))

# data
dataset_type = 'CocoDataset'
data_mode = 'topdown'
data_root = 'data/coco/'

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform'),
    dict(type='TopdownAffine', input_size=codec[0]['input_size']),
    dict(type='GenerateTarget', multilevel=True, encoder=codec),
    dict(type='PackPoseInputs')
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec[0]['input_size']),
    dict(type='PackPoseInputs')
]

train_dataloader = dict(batch_size=32,
                        num_workers=4,
                        persistent_workers=True,
                        sampler=dict(type='DefaultSampler', shuffle=True),
                        dataset=dict(type=dataset_type,
                                     data_root=data_root,
                                     data_mode=data_mode,
                                     ann_file='annotations/person_keypoints_train2017.json',
                                     data_prefix=dict(img='train2017/'),
                                     pipeline=train_pipeline))
val_dataloader = dict(batch_size=32,
                      num_workers=4,
                      persistent_workers=True,
                      drop_last=False,
                      sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
                      dataset=dict(type=dataset_type,
                                   data_root=data_root,
                                   data_mode=data_mode,
                                   ann_file='annotations/person_keypoints_val2017.json',
                                   bbox_file='data/coco/person_detection_results/'
                                   'COCO_val2017_detections_AP_H_56_person.json',
                                   data_prefix=dict(img='val2017/'),
                                   test_mode=True,
                                   pipeline=val_pipeline))
test_dataloader = val_dataloader

# official test: box score x mean keypoint score, no OKS NMS
val_evaluator = dict(type='CocoMetric',
                     ann_file=data_root + 'annotations/person_keypoints_val2017.json',
                     nms_mode='none')
test_evaluator = val_evaluator
