"""Kinetics-600 (the report's Kinetics) version of ``tsn_dpn107_1x1x3_kinetics400_rgb.py``:
the same model, recipe and pipelines with 600 classes (Qiniu ActivityNet 2018 report,
https://arxiv.org/abs/1806.04391, §1: "covers 600 human action classes"; Table 1).

Data paths: mmaction2's ``tools/data/kinetics`` layout with ``kinetics600`` in place of
``kinetics400`` (the same file and folder names).
"""
_base_ = ['./tsn_dpn107_1x1x3_kinetics400_rgb.py']

model = dict(cls_head=dict(num_classes=600))

train_dataloader = dict(
    dataset=dict(ann_file='data/kinetics600/kinetics600_train_list_videos.txt',
                 data_prefix={'video': 'data/kinetics600/videos_train'}))
val_dataloader = dict(
    dataset=dict(ann_file='data/kinetics600/kinetics600_val_list_videos.txt',
                 data_prefix={'video': 'data/kinetics600/videos_val'}))
test_dataloader = dict(
    dataset=dict(ann_file='data/kinetics600/kinetics600_val_list_videos.txt',
                 data_prefix={'video': 'data/kinetics600/videos_val'}))
