"""Arm-action model (Fujitsu, AVA-Kinetics 2020, report 003 Sec. 2.1): the linear SlowFast R50
baseline (``linear_slowfast_r50.py``) trained and tested on arm-region RoIs, for the 27 arm
classes of ``_base_/ava_arm_classes.py``.

Changed from the baseline, and only these: the dataset's, head's and metric's class list
(``custom_classes`` / ``class_ids``; no pose class among them, so every column is a sigmoid),
``ArmRoIs`` after ``RawFrameDecode`` in every pipeline: each person box is replaced by its
arm boxes (elbow and wrist inside the image and scored >= 0.3, on the keypoint file's [0, 1]
scores: 30 % of a heatmap target's peak, our choice; box around shoulder, elbow and wrist
enlarged 1.5x), GT boxes take the keypoints of their best-IoU proposal; and the RoI head,
``ArmRoIHead``, which reports each person's scores (the maximum over its arm RoIs) on the
person's box at test time (``arm_person_index`` and ``arm_person_bboxes`` packed as metainfo).

Keypoints: ``tools/extract_keypoints.py`` (CPN, ``configs/cpn_r50_coco_256x192.py``) over the
proposal files, e.g.::

    python tools/extract_keypoints.py configs/cpn_r50_coco_256x192.py cpn.pth \\
        --frames data/ava/rawframes \\
        --proposals data/ava/annotations/ava_dense_proposals_val.FAIR.recall_93.9.pkl \\
        --out data/ava/annotations/ava_keypoints_val.FAIR.recall_93.9.pkl

Training recipe (report §2.1-2.2, ``_base_/fujitsu_recipe.py``): 64 clips (8 per GPU x 8 GPUs;
``auto_scale_lr.base_batch_size = 64``), 26 epochs, lr 0.01 x0.1 at epochs 15 and 20 (no
warm-up: ours), random short side 256-320, random 224 x 224 crop, flip; person detections
>= 0.8 (AVA) in training and test (mmaction2's recipe, which this file used to inherit: 48 clips,
lr 0.075 with warm-up and cosine, crop 256, detections >= 0.9).

Predictions are made on arm RoIs and reported on person boxes (persons without a valid arm
are left out), as AVA evaluation and the merge with a main model (``tools/ensemble.py --method
replace --select-replace-from-val``, which keeps the main model's scores for persons the arm
model left out) need them (see the README, "Arm RoIs"). The report merges "the results of 15
classes significantly improved" (of 27; its examples are relative AP gains, "more than 70%
and 108%"): the 15 largest relative gains on validation, ``--select-gain relative
--select-top-k 15``::

    python tools/ensemble.py main_test.csv arm_test.csv --method replace --replace-from 1 \\
        --select-replace-from-val main_val.csv arm_val.csv --select-gain relative \\
        --select-top-k 15 --gt ava_val_v2.2.csv --label-map ava_action_list_v2.2.pbtxt \\
        --save-selection arm_classes.json --out merged_test.csv
"""
_base_ = ['linear_slowfast_r50.py', '_base_/ava_arm_classes.py', '_base_/fujitsu_recipe.py']

anno_root = 'data/ava/annotations'
keypoint_file_train = f'{anno_root}/ava_keypoints_train.FAIR.recall_93.9.pkl'
keypoint_file_val = f'{anno_root}/ava_keypoints_val.FAIR.recall_93.9.pkl'
arm_rois = dict(type='ArmRoIs', mode='replace', score_thr=0.3, scale=1.5, min_side_ratio=0.5,
                required=('elbow', 'wrist'), gt_iou_thr=0.5)

# mmaction2's default meta keys plus the persons of the arm RoIs, read by ArmRoIHead at test time
arm_meta_keys = ('img_shape', 'img_key', 'video_id', 'timestamp', 'arm_person_index',
                 'arm_person_bboxes')

model = dict(
    roi_head=dict(
        type='ArmRoIHead',
        bbox_head=dict(num_classes=_base_.arm_num_classes, class_ids=_base_.arm_class_ids)))

train_pipeline = [
    dict(type='SampleAVAFrames', clip_len=32, frame_interval=2),
    dict(type='RawFrameDecode', io_backend='disk'),
    dict(**arm_rois, keypoint_file=keypoint_file_train,
         proposal_file=_base_.proposal_file_train),
    *_base_.fujitsu_train_augment,  # short side 256-320, crop 224, flip
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='PackActionInputs', meta_keys=arm_meta_keys)
]
val_pipeline = [
    dict(type='SampleAVAFrames', clip_len=32, frame_interval=2, test_mode=True),
    dict(type='RawFrameDecode', io_backend='disk'),
    dict(**arm_rois, keypoint_file=keypoint_file_val, proposal_file=_base_.proposal_file_val,
         test_mode=True),
    _base_.fujitsu_test_resize,
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='PackActionInputs', meta_keys=arm_meta_keys)
]

train_dataloader = dict(
    batch_size=_base_.fujitsu_clips_per_gpu,
    dataset=dict(pipeline=train_pipeline, custom_classes=_base_.arm_class_ids,
                 num_classes=_base_.arm_num_classes,
                 person_det_score_thr=_base_.fujitsu_det_score_thr_ava))
val_dataloader = dict(
    dataset=dict(pipeline=val_pipeline, custom_classes=_base_.arm_class_ids,
                 num_classes=_base_.arm_num_classes,
                 person_det_score_thr=_base_.fujitsu_det_score_thr_ava))
test_dataloader = val_dataloader

val_evaluator = dict(custom_classes=_base_.arm_class_ids, num_classes=_base_.arm_num_classes)
test_evaluator = val_evaluator

# 26 epochs, lr 0.01 for 64 clips (8 GPUs x 8), x0.1 at epochs 15 and 20
train_cfg = _base_.fujitsu_train_cfg
param_scheduler = _base_.fujitsu_param_scheduler
optim_wrapper = _base_.fujitsu_optim_wrapper
auto_scale_lr = _base_.fujitsu_auto_scale_lr
