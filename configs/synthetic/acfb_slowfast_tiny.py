"""ACFB (``configs/acfb_slowfast_r101.py``) shrunk to train on CPU in minutes on the synthetic
AVA dataset, as ``acar_slowfast_tiny.py`` shrinks ACAR.

Changed, and only these: the tiny SlowFast (the linear baseline's backbone, BN mode and
optimiser), widths, classes, data and schedule of ``acar_slowfast_tiny.py``; the synthetic
pipelines (8 frames, 80 px; 16:9 frames padded to a square for training, as the real config)
with the bank window; the bank comes from a trained ``acar_slowfast_tiny.py`` (every synthetic
clip has the same size, so the default canvas is the same for all)::

    python tools/train.py configs/synthetic/acar_slowfast_tiny.py --work-dir work_dirs/acar_tiny
    for split in train val; do python tools/extract_bank.py \\
        configs/synthetic/acar_slowfast_tiny.py work_dirs/acar_tiny/epoch_16.pth --feature acar \\
        --out data/synthetic_ava/acfb --split $split \\
        --cfg-options model.roi_head.shared_head.downsample=none; done
    python tools/train.py configs/synthetic/acfb_slowfast_tiny.py --cfg-options \\
        load_from=work_dirs/acar_tiny/epoch_16.pth

Synthetic videos last 40 s, so the +-10 s window of the real config is kept.
"""
_base_ = ['../acfb_slowfast_r101.py', '_base_/synthetic_ava.py']

# For tools/benchmarks/synthetic_capabilities.py: the bank of a trained acar_slowfast_tiny.py of
# the same seed (unpooled maps), and that model as initialisation (as the commands above).
synthetic_prerequisites = [
    dict(type='bank', config='acar_slowfast_tiny.py', feature='acar',
         path='data/synthetic_ava/acfb',
         cfg_options={'model.roi_head.shared_head.downsample': 'none'}),
    dict(type='checkpoint', config='acar_slowfast_tiny.py'),
]
synthetic_claims = ['interaction', 'long_term']  # relations, and over the bank's +-10 s

hidden_channels = 64

model = dict(
    init_cfg=None,
    backbone=_base_.synthetic_backbone,
    roi_head=dict(
        shared_head=dict(
            in_channels=_base_.synthetic_feat_channels, reduce_channels=2 * hidden_channels,
            hidden_channels=hidden_channels, mlp_1x1=False),  # as acar_slowfast_tiny.py
        bbox_head=dict(
            in_channels=2 * hidden_channels,
            num_classes=_base_.synthetic_num_classes,
            class_ids=None,
            pose_id_range=(1, 4))))

acfb_window = dict(
    type='LoadBankWindow',
    bank_dir='data/synthetic_ava/acfb',
    half_width=10,
    max_items=5,
    feat_key='acfb_feat',
    mask_key='acfb_mask',
    item_ndim=3)
meta_keys = ('img_shape', 'pad_shape', 'img_key', 'video_id', 'timestamp', 'flip',
             'flip_direction')
pack = dict(type='PackActionInputs', meta_keys=meta_keys,
            algorithm_keys=('acfb_feat', 'acfb_mask'))
train_pipeline = [
    dict(type='SampleAVAFrames', clip_len=8, frame_interval=1),
    dict(type='RawFrameDecode', io_backend='disk'),
    dict(type='Resize', scale=(-1, 80)),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='PadToSquare'),  # as acfb_slowfast_r101.py: 16:9 frames padded to a square
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    acfb_window,
    pack
]
val_pipeline = [
    dict(type='SampleAVAFrames', clip_len=8, frame_interval=1, test_mode=True),
    dict(type='RawFrameDecode', io_backend='disk'),
    dict(type='Resize', scale=(-1, 80)),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    acfb_window,
    pack
]

train_dataloader = _base_.synthetic_train_dataloader
train_dataloader['dataset'].update(
    custom_classes=None, person_det_score_thr=0.9, pipeline=train_pipeline)
val_dataloader = _base_.synthetic_val_dataloader
val_dataloader['dataset'].update(
    custom_classes=None, person_det_score_thr=0.7, pipeline=val_pipeline)
test_dataloader = val_dataloader
val_evaluator = dict(custom_classes=None, **_base_.synthetic_evaluator)
test_evaluator = val_evaluator

train_cfg = _base_.synthetic_schedule_16e.train_cfg  # 16 epochs
param_scheduler = _base_.synthetic_schedule_16e.param_scheduler
optim_wrapper = _base_.synthetic_schedule_16e.optim_wrapper
default_hooks = _base_.synthetic_schedule_16e.default_hooks
