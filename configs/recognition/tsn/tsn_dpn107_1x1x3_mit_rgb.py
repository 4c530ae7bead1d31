"""TSN DPN-107, RGB, Moments in Time (Qiniu ActivityNet 2018 report, Table 2: 31.06).

The Kinetics-400 DPN-107 config (timm's ``dpn107``, ImageNet weights; offline use is described
there) with Moments in Time's 339 classes and video lists.
"""
_base_ = ['./tsn_dpn107_1x1x3_kinetics400_rgb.py']

model = dict(cls_head=dict(num_classes=339))

data_root = 'data/mit/videos/training'
data_root_val = 'data/mit/videos/validation'
ann_file_train = 'data/mit/mit_train_list_videos.txt'
ann_file_val = 'data/mit/mit_val_list_videos.txt'

train_dataloader = dict(dataset=dict(ann_file=ann_file_train, data_prefix=dict(video=data_root)))
val_dataloader = dict(dataset=dict(ann_file=ann_file_val, data_prefix=dict(video=data_root_val)))
test_dataloader = dict(dataset=dict(ann_file=ann_file_val, data_prefix=dict(video=data_root_val)))
