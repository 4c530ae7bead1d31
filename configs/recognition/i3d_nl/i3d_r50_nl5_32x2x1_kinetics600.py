"""I3D-NL ResNet-50 on Kinetics-600, the report's Kinetics (Qiniu ActivityNet 2018 report, §1:
"covers 600 human action classes"; Table 4: 80.80 top-1): ``i3d_r50_nl5_32x2x1_kinetics400.py``
with 600 classes.

Data paths (mmaction2's ``tools/data/kinetics`` layout with ``kinetics600``):
``data/kinetics600/videos_{train,val}/`` and the list files
``data/kinetics600/kinetics600_{train,val}_list_videos.txt`` (``<video> <label>`` lines).
"""
_base_ = ['./i3d_r50_nl5_32x2x1_kinetics400.py']

model = dict(cls_head=dict(num_classes=600))

data_root = 'data/kinetics600/videos_train'
data_root_val = 'data/kinetics600/videos_val'
ann_file_train = 'data/kinetics600/kinetics600_train_list_videos.txt'
ann_file_val = 'data/kinetics600/kinetics600_val_list_videos.txt'

train_dataloader = dict(dataset=dict(ann_file=ann_file_train, data_prefix=dict(video=data_root)))
val_dataloader = dict(dataset=dict(ann_file=ann_file_val, data_prefix=dict(video=data_root_val)))
test_dataloader = dict(dataset=dict(ann_file=ann_file_val, data_prefix=dict(video=data_root_val)))
