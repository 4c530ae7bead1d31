"""I3D-NL ResNet-50 on Moments in Time (Qiniu ActivityNet 2018 report, Table 4: 32.96 top-1).

``i3d_r50_nl5_32x2x1_kinetics400.py`` with MiT's 339 classes and video lists (mmaction2's
``tools/data/mit`` layout). MiT clips are 3 s: 64 frames at 30 fps fit.
"""
_base_ = ['./i3d_r50_nl5_32x2x1_kinetics400.py']

model = dict(cls_head=dict(num_classes=339))

data_root = 'data/mit/videos/training'
data_root_val = 'data/mit/videos/validation'
ann_file_train = 'data/mit/mit_train_list_videos.txt'
ann_file_val = 'data/mit/mit_val_list_videos.txt'

train_dataloader = dict(dataset=dict(ann_file=ann_file_train, data_prefix=dict(video=data_root)))
val_dataloader = dict(dataset=dict(ann_file=ann_file_val, data_prefix=dict(video=data_root_val)))
test_dataloader = dict(dataset=dict(ann_file=ann_file_val, data_prefix=dict(video=data_root_val)))
