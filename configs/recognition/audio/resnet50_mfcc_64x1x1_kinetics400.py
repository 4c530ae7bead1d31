"""ResNet-50 on MFCC features, Kinetics-400 (Qiniu ActivityNet 2018 report, §2.2: "we extract
MFCC features from raw audio and train with SE-ResNet-50 (Squeeze-and-Excitation Network) and
ResNet-50"; the report prints no number for it).

``se-resnet50_mfcc_64x1x1_kinetics400.py`` without squeeze-and-excitation: mmaction2's own
``ResNetAudio`` (depth 50) at full width (``base_channels=64``), same data, schedule and
whole-audio test.
"""
_base_ = ['./se-resnet50_mfcc_64x1x1_kinetics400.py']

model = dict(backbone=dict(type='ResNetAudio'))
