"""TSN ResNet-101, optical flow, Moments in Time (Qiniu ActivityNet 2018 report, Table 2: 22.82).

Flow frames in mmaction2's rawframes layout (``flow_x_*.jpg`` / ``flow_y_*.jpg``).
"""
_base_ = ['./tsn_r152_5x1x3_kinetics400_flow.py']

model = dict(
    backbone=dict(depth=101, pretrained='torchvision://resnet101'),
    cls_head=dict(num_classes=339))

data_root = 'data/mit/rawframes/training'
data_root_val = 'data/mit/rawframes/validation'
ann_file_train = 'data/mit/mit_train_list_rawframes.txt'
ann_file_val = 'data/mit/mit_val_list_rawframes.txt'

train_dataloader = dict(dataset=dict(ann_file=ann_file_train, data_prefix=dict(img=data_root)))
val_dataloader = dict(dataset=dict(ann_file=ann_file_val, data_prefix=dict(img=data_root_val)))
test_dataloader = dict(dataset=dict(ann_file=ann_file_val, data_prefix=dict(img=data_root_val)))
