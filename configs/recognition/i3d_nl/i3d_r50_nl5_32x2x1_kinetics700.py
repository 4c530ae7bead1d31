"""I3D-NL ResNet-50 on Kinetics-700: ``i3d_r50_nl5_32x2x1_kinetics400.py`` with 700 classes
and the Kinetics-700 video lists (mmaction2's ``tools/data/kinetics`` layout)."""
_base_ = ['./i3d_r50_nl5_32x2x1_kinetics400.py']

model = dict(cls_head=dict(num_classes=700))

data_root = 'data/kinetics700/videos_train'
data_root_val = 'data/kinetics700/videos_val'
ann_file_train = 'data/kinetics700/kinetics700_train_list_videos.txt'
ann_file_val = 'data/kinetics700/kinetics700_val_list_videos.txt'

train_dataloader = dict(dataset=dict(ann_file=ann_file_train, data_prefix=dict(video=data_root)))
val_dataloader = dict(dataset=dict(ann_file=ann_file_val, data_prefix=dict(video=data_root_val)))
test_dataloader = dict(dataset=dict(ann_file=ann_file_val, data_prefix=dict(video=data_root_val)))
