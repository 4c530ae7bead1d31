"""Classifier on precomputed VGGish embeddings, Kinetics-400 (Qiniu ActivityNet 2018 report,
§2.2, Table 3: "VGGish", 7.83 top-1 on Kinetics).

Each video's audio is turned into ``n x 128`` VGGish embeddings (one per 0.96 s) offline by
``tools/extract_audio_features.py --feature vggish --checkpoint <torchvggish-layout .pth>
[--pca <PCA params>]`` (the project's ``VGGish`` with its exact front end; the pre-trained
weights are the user's to provide) and stored as ``(n, 128)`` .npy files in
``audio_vggish_train`` / ``audio_vggish_val``; the list files' second column is ``n`` (not the
video's frame count) so that ``SampleFrames`` indexes embeddings. A training clip is 10
consecutive embeddings (~10 s, a Kinetics video; shorter audio is zero-padded by
``AudioFeatureSelector``); ``AudioEmbeddingMLP`` applies two 512-d fully connected layers to
each, ``VGGishHead`` averages them over time and classifies (the classifier is ours: the report
gives none for the n x 128 features). Test: the whole track in consecutive 10-embedding clips
(``WholeAudioClips``), class probabilities averaged over clips; one video per batch.
"""
_base_ = ['./se-resnet50_mfcc_64x1x1_kinetics400.py']

model = dict(
    backbone=dict(type='AudioEmbeddingMLP', in_channels=128, hidden_channels=(512, 512),
                  _delete_=True),
    cls_head=dict(type='VGGishHead', in_channels=512, temporal_pool='avg', dropout_ratio=0.5,
                  _delete_=True, num_classes=400, average_clips='prob'))

train_pipeline = [
    dict(type='LoadAudioFeature'),
    dict(type='SampleFrames', clip_len=10, frame_interval=1, num_clips=1),
    dict(type='AudioFeatureSelector', fixed_length=10),
    dict(type='FormatAudioShape', input_format='NCTF'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='LoadAudioFeature'),
    dict(type='SampleFrames', clip_len=10, frame_interval=1, num_clips=1, test_mode=True),
    dict(type='AudioFeatureSelector', fixed_length=10),
    dict(type='FormatAudioShape', input_format='NCTF'),
    dict(type='PackActionInputs')
]
train_dataloader = dict(
    dataset=dict(pipeline=train_pipeline, data_prefix=dict(audio='audio_vggish_train')))
val_dataloader = dict(
    dataset=dict(pipeline=val_pipeline, data_prefix=dict(audio='audio_vggish_val')))
test_pipeline = [
    dict(type='LoadAudioFeature'),
    dict(type='WholeAudioClips', clip_len=10),
    dict(type='FormatAudioShape', input_format='NCTF'),
    dict(type='PackActionInputs')
]
test_dataloader = dict(
    batch_size=1,
    dataset=dict(pipeline=test_pipeline, data_prefix=dict(audio='audio_vggish_val')))
