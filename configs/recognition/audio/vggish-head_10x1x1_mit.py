"""Classifier on precomputed VGGish embeddings, Moments in Time (report Table 3: 17.12 top-1).
MiT clips are 3 s: 3 embeddings per clip (and per test clip over the whole track)."""
_base_ = ['./vggish-head_10x1x1_kinetics400.py']

model = dict(cls_head=dict(num_classes=339))

train_pipeline = [
    dict(type='LoadAudioFeature'),
    dict(type='SampleFrames', clip_len=3, frame_interval=1, num_clips=1),
    dict(type='AudioFeatureSelector', fixed_length=3),
    dict(type='FormatAudioShape', input_format='NCTF'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='LoadAudioFeature'),
    dict(type='SampleFrames', clip_len=3, frame_interval=1, num_clips=1, test_mode=True),
    dict(type='AudioFeatureSelector', fixed_length=3),
    dict(type='FormatAudioShape', input_format='NCTF'),
    dict(type='PackActionInputs')
]
train_dataloader = dict(
    dataset=dict(data_root='data/mit', ann_file='mit_train_list_audio_features.txt',
                 pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(data_root='data/mit', ann_file='mit_val_list_audio_features.txt',
                 pipeline=val_pipeline))
test_pipeline = [
    dict(type='LoadAudioFeature'),
    dict(type='WholeAudioClips', clip_len=3),
    dict(type='FormatAudioShape', input_format='NCTF'),
    dict(type='PackActionInputs')
]
test_dataloader = dict(
    dataset=dict(data_root='data/mit', ann_file='mit_val_list_audio_features.txt',
                 pipeline=test_pipeline))
