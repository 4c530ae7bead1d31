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

Predictions are made on arm RoIs and reported on person boxes (persons without a valid arm
are left out), as AVA evaluation and the merge with a main model (``tools/ensemble.py --method
replace --select-replace-from-val``, which keeps the main model's scores for persons the arm
model left out) need them (see the README, "Arm RoIs").
"""
_base_ = ['linear_slowfast_r50.py', '_base_/ava_arm_classes.py']

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
    dict(type='RandomRescale', scale_range=(256, 320)),
    dict(type='RandomCrop', size=256),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='PackActionInputs', meta_keys=arm_meta_keys)
]
val_pipeline = [
    dict(type='SampleAVAFrames', clip_len=32, frame_interval=2, test_mode=True),
    dict(type='RawFrameDecode', io_backend='disk'),
    dict(**arm_rois, keypoint_file=keypoint_file_val, proposal_file=_base_.proposal_file_val,
         test_mode=True),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='PackActionInputs', meta_keys=arm_meta_keys)
]

train_dataloader = dict(
    dataset=dict(pipeline=train_pipeline, custom_classes=_base_.arm_class_ids,
                 num_classes=_base_.arm_num_classes))
val_dataloader = dict(
    dataset=dict(pipeline=val_pipeline, custom_classes=_base_.arm_class_ids,
                 num_classes=_base_.arm_num_classes))
test_dataloader = val_dataloader

val_evaluator = dict(custom_classes=_base_.arm_class_ids, num_classes=_base_.arm_num_classes)
test_evaluator = val_evaluator
