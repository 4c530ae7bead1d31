"""SE-ResNet-50 on MFCC features, Moments in Time (report Table 3: 16.8 top-1 on MiT)."""
_base_ = ['./se-resnet50_mfcc_64x1x1_kinetics400.py']

model = dict(cls_head=dict(num_classes=339))

train_dataloader = dict(
    dataset=dict(data_root='data/mit', ann_file='mit_train_list_audio_features.txt'))
val_dataloader = dict(
    dataset=dict(data_root='data/mit', ann_file='mit_val_list_audio_features.txt'))
test_dataloader = val_dataloader
