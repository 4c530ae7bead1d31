"""SE-ResNet-50 on MFCC features, Kinetics-400 (Qiniu ActivityNet 2018 report, §2.2, Table 3:
"MFCC + SENet-50", 7.73 top-1 on Kinetics; the report trains on Kinetics-600, see
``se-resnet50_mfcc_64x1x1_kinetics600.py``).

mmaction2's audio recipe (``RecognizerAudio``, 64 video frames' worth of feature frames cut
to 128, ``TSNAudioHead``, SGD 0.2 with cosine decay over 100 epochs; its ResNet-18 audio config,
as the ResNet-50 one passes ``suffix`` that mmaction2 1.2.0's ``AudioDataset`` rejects) with
mmaction2's ResNet-50 audio backbone at full ResNet-50 width (``base_channels=64``: stages of
256, 512, 1024, 2048 channels; mmaction2's default is half of that) plus squeeze-and-excitation
(``SEResNetAudio``), on 40 MFCCs per 10 ms frame written by ``tools/extract_audio_features.py
--feature mfcc`` (``(frames, 40)`` .npy per video in ``audio_mfcc_train`` / ``audio_mfcc_val``;
list files as mmaction2's ``*_list_audio_features.txt``: ``<name>.npy <video frames> <label>``).
The report gives no MFCC settings, widths of the input or schedule: all of these are ours.

Test: the whole audio track in consecutive 128-frame (1.28 s) clips (``WholeAudioClips``; the
last one ends at the track's end), class probabilities averaged over the clips (ours, as the
report's TSN models average clips over the whole video); one video per batch. Validation during
training keeps mmaction2's single centre clip (fast).
"""
_base_ = ('mmaction::recognition_audio/resnet/'
          'tsn_r18_8xb320-64x1x1-100e_kinetics400-audio-feature.py')

custom_imports = dict(imports=['ava_plugins'], allow_failed_imports=False)

model = dict(
    backbone=dict(type='SEResNetAudio', depth=50, base_channels=64, pretrained=None,
                  in_channels=1, norm_eval=False, _delete_=True),
    cls_head=dict(in_channels=2048))

test_pipeline = [
    dict(type='LoadAudioFeature'),
    dict(type='WholeAudioClips', clip_len=128),
    dict(type='FormatAudioShape', input_format='NCTF'),
    dict(type='PackActionInputs')
]
train_dataloader = dict(dataset=dict(data_prefix=dict(audio='audio_mfcc_train')))
val_dataloader = dict(dataset=dict(data_prefix=dict(audio='audio_mfcc_val')))
test_dataloader = dict(
    batch_size=1, dataset=dict(pipeline=test_pipeline, data_prefix=dict(audio='audio_mfcc_val')))
