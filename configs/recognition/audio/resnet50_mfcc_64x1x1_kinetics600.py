"""ResNet-50 on MFCC features, Kinetics-600 (the report's Kinetics): ``resnet50_mfcc_64x1x1_
kinetics400.py`` with the data of ``se-resnet50_mfcc_64x1x1_kinetics600.py``."""
_base_ = ['./se-resnet50_mfcc_64x1x1_kinetics600.py']

model = dict(backbone=dict(type='ResNetAudio'))
