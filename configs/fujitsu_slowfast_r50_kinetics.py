"""Fujitsu's Kinetics model (AVA-Kinetics 2020): SlowFast short-term + 256-d global pooling, no
long-term bank ("one video just has one keyframe").

Report "Multi-scale Spatiotemporal Features for Action Localization" (Zhu et al.,
https://research.google.com/ava/challenge.html), §1: "For Kinetics, we just use Slowfast to
extract the short-term and global pooling feature"; §2.1: a separate person detector with
threshold 0.7. Everything as ``fujitsu_slowfast_r50_ava.py`` (backbone, 256-d global feature,
recipe) without the long-term branch: classifier input 2304 + 256 = 2560.

Data: mmaction2's ``AVAKineticsDataset`` on the Kinetics part only, which the report trains this
model on: ``kinetics_train.csv`` as mmaction2's ``tools/data/ava_kinetics/prepare_annotation.py``
writes it (before ``merge_annotations.py`` merges it into AVA's files), and a validation file in
the same format (``kinetics_val.csv``: our name, mmaction2 prepares none); the proposals are the
user's Kinetics person detections (``tools/detect_persons.py``, the report trains a separate
Kinetics detector), read at >= 0.7.
"""
_base_ = './fujitsu_slowfast_r50_ava.py'

with_lfb = False
model = dict(
    roi_head=dict(
        shared_head=dict(with_lfb=False, lfb=None),
        bbox_head=dict(in_channels=_base_.feat_channels + _base_.global_channels)))

dataset_type = 'AVAKineticsDataset'
data_root = 'data/ava_kinetics/rawframes'
anno_root = 'data/ava_kinetics/annotations'
ann_file_train = 'data/ava_kinetics/kinetics_train.csv'
ann_file_val = 'data/ava_kinetics/kinetics_val.csv'
label_file = f'{anno_root}/ava_action_list_v2.2_for_activitynet_2019.pbtxt'
proposal_file_train = 'data/ava_kinetics/kinetics_proposals_train.pkl'
proposal_file_val = 'data/ava_kinetics/kinetics_proposals_val.pkl'

train_pipeline = _base_.train_pipeline[:-2] + [dict(type='PackActionInputs')]
val_pipeline = _base_.val_pipeline[:-2] + [dict(type='PackActionInputs')]
data = dict(type=dataset_type, label_file=label_file, data_prefix=dict(img=data_root),
            exclude_file=None, person_det_score_thr=_base_.fujitsu_det_score_thr_kinetics)
train_dataloader = dict(
    dataset=dict(ann_file=ann_file_train, proposal_file=proposal_file_train,
                 pipeline=train_pipeline, **data))
val_dataloader = dict(
    dataset=dict(ann_file=ann_file_val, proposal_file=proposal_file_val, pipeline=val_pipeline,
                 **data))
test_dataloader = val_dataloader

val_evaluator = dict(ann_file=ann_file_val, label_file=label_file, exclude_file=None)
test_evaluator = val_evaluator
