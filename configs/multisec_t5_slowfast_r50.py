"""Multi-sec stage 2, T = 5 (ByteDance AI Lab, AVA challenge 2019; 25.45 frame-mAP).

Report ByteDance AI Lab AVA Challenge 2019 Technical Report,
https://research.google.com/ava/challenge.html, Sec. 1.2, on the stage-1 config
(``multisec_baseline_slowfast_r50.py``; same assigner, 1:3 sampler of 40 proposals):

* inputs: per keyframe, 5 keyframes sampled uniformly over the T = 5 seconds of each proposal's
  linked tube (``tools/link_tubes.py --span 5`` on the stage-1 proposal files: the RPN
  proposals for training, the FAIR detections for validation), their res4 volumes read from
  the cache (``tools/extract_bank.py configs/multisec_res4_cache_slowfast_r50.py STAGE1.pth
  --feature res4 --max-per-second 1``) by ``LoadTubeRes4``; no frame is decoded and no
  augmentation is possible on cached features; tubes bridge one missed detection by interpolation
  (``--max-gap 1``, our choice), and ``TubeSlotsHook`` logs the fraction of slots that still
  borrow the nearest valid keyframe's box and volume (``train/tube_borrowed``);
* model: ``MultiSecFastRCNN`` runs res5 of both pathways on the cached volumes (res1-4 and the
  res4->res5 lateral frozen: ``frozen_stages=3``), ``MultiSecRoIHead`` pools each proposal along
  its tube, ``MultiSecHead`` pools each clip's V over time (average; ``_maxpool`` variant: max)
  into V_m in R^{5x256x7x7} and aggregates it with a 2-layer 3D ConvNet; ``BBoxHeadAVA``;
* initialisation: the stage-1 checkpoint (``load_from``): backbone, point-wise reduction, 3D
  ConvNet and classifier are loaded by name.

The report gives no stage-2 schedule; mmaction2's (10 epochs, cosine) is kept.
"""
_base_ = './multisec_baseline_slowfast_r50.py'

span = 5  # T seconds of tube
num_clips = 5
temporal_pool = 'avg'
res4_img_shape = (300, 533)  # as configs/multisec_res4_cache_slowfast_r50.py
stage1_checkpoint = 'work_dirs/multisec_baseline_slowfast_r50/epoch_10.pth'
res4_bank_train = 'data/ava/res4_train'
res4_bank_val = 'data/ava/res4_val'
anno_root = 'data/ava/annotations'
tube_file_train = f'{anno_root}/tubes_train_T{span}.pkl'
tube_file_val = f'{anno_root}/tubes_val_T{span}.pkl'

load_from = stage1_checkpoint
model = dict(
    type='MultiSecFastRCNN',
    init_cfg=None,
    backbone=dict(slow_pathway=dict(frozen_stages=3), fast_pathway=dict(frozen_stages=3)),
    roi_head=dict(
        type='MultiSecRoIHead',
        shared_head=dict(type='MultiSecHead', num_clips=num_clips, temporal_pool=temporal_pool)),
    data_preprocessor=dict(mean=None, std=None))

pack = dict(type='PackActionInputs', algorithm_keys=('tube_boxes', 'tube_clips'))
train_pipeline = [
    dict(type='LoadTubeRes4', bank_dir=res4_bank_train, tube_file=tube_file_train,
         num_clips=num_clips, img_shape=res4_img_shape), pack
]
val_pipeline = [
    dict(type='LoadTubeRes4', bank_dir=res4_bank_val, tube_file=tube_file_val,
         num_clips=num_clips, img_shape=res4_img_shape), pack
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader

custom_hooks = [dict(type='TubeSlotsHook')]
