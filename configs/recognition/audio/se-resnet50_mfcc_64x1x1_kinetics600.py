"""SE-ResNet-50 on MFCC features, Kinetics-600: the report's Kinetics (Qiniu ActivityNet 2018
report, §1: "covers 600 human action classes"; Table 3: 7.73 top-1).

``se-resnet50_mfcc_64x1x1_kinetics400.py`` with 600 classes. Data paths (ours, mmaction2's
layout): ``data/kinetics600/audio_mfcc_{train,val}/<name>.npy`` written by
``tools/extract_audio_features.py --feature mfcc`` from ``data/kinetics600/videos_{train,val}``,
and list files ``data/kinetics600/kinetics600_{train,val}_list_audio_features.txt`` with lines
``<name>.npy <video frames> <label>``.
"""
_base_ = ['./se-resnet50_mfcc_64x1x1_kinetics400.py']

model = dict(cls_head=dict(num_classes=600))

data_root = 'data/kinetics600'
train_dataloader = dict(
    dataset=dict(data_root=data_root, ann_file='kinetics600_train_list_audio_features.txt'))
val_dataloader = dict(
    dataset=dict(data_root=data_root, ann_file='kinetics600_val_list_audio_features.txt'))
test_dataloader = dict(
    dataset=dict(data_root=data_root, ann_file='kinetics600_val_list_audio_features.txt'))
