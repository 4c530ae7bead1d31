"""ResNet-50 on MFCC features, Moments in Time: ``resnet50_mfcc_64x1x1_kinetics400.py`` with
the data of ``se-resnet50_mfcc_64x1x1_mit.py``."""
_base_ = ['./se-resnet50_mfcc_64x1x1_mit.py']

model = dict(backbone=dict(type='ResNetAudio'))
