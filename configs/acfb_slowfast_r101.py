"""ACAR-Net with the Actor-Context Feature Bank (ACFB), SlowFast R101 8x8, AVA v2.2.

ACAR-Net report (https://arxiv.org/abs/2006.07976) §1.3 and Table 1 (ACFB: +1.3 mAP
over ACAR on AVA-Kinetics): everything of ``acar_slowfast_r101.py`` (recipe, backbone, RoI,
pose softmax), with ``ACFBHead``: two stacked HR2O_NL blocks (1x1 output convolution as the
R101 ACAR head) attending from the current clip's first-order maps, without max pool, to the
frozen bank maps of the same video within +-10 s (~20 s span). The window is read per sample
by ``LoadBankWindow`` (fp16, memory-mapped), packed as data-sample fields and handed to the
head by ``ACFBRoIHead``.

Build the bank first with the trained ACAR model (same input size, no max pool; report §2.1:
"only ground-truth boxes for generating feature banks" on AVA; our choice: the validation/test
bank at the detections, as the AVA test set has no public GT boxes)::

    tools/dist_extract_bank.sh configs/acar_slowfast_r101.py ACAR.pth 8 --feature acar \
        --out data/ava/acfb --split train --boxes gt --canvas 14 36 \
        --cfg-options model.roi_head.shared_head.downsample=none
    (the same with --split val and without --boxes gt: the FAIR detections >= 0.85)

``--canvas`` must hold every clip's maps: with the short side at 256 the context is 16 cells
high (14 map rows after conv2) and AVA's widest frames (~2.35:1, 602 px) give 38 columns (36
map columns). Items are then 512 x 14 x 36 fp16 (504 KiB): about 2.2 GiB per 15-min video with
5 actors a second, ~645 GiB for AVA. ``--feature acar_pooled`` writes each map averaged over its
valid area instead (512 x 1 x 1, 1 KiB; ~1.3 GiB for AVA), which the head tiles over the clip's
maps (our choice, not the report's).

Training and extraction see the same maps of a clip: ``MeanPadDataPreprocessor`` pads to a
multiple of 16 (the backbone's stride), so the square-padded training clip and the unpadded
test clip have the same context crop (``extract_bank.py`` refuses configs where this fails).

Ablations are one-line changes, e.g. ``model = dict(roi_head=dict(shared_head=dict(depth=1)))``
or ``flip_bank=False``; the window is ``half_width`` (seconds) and ``max_items`` (actors a
second) of the ``LoadBankWindow`` step in both pipelines.
"""
_base_ = './acar_slowfast_r101.py'

acfb_bank_dir = 'data/ava/acfb'
acfb_window = dict(
    type='LoadBankWindow',
    bank_dir=acfb_bank_dir,
    half_width=10,
    max_items=5,
    feat_key='acfb_feat',
    mask_key='acfb_mask',
    item_ndim=3)

model = dict(
    roi_head=dict(
        type='ACFBRoIHead',
        shared_head=dict(
            type='ACFBHead', depth=2, downsample='none', feat_key='acfb_feat',
            mask_key='acfb_mask', flip_bank=True)))

meta_keys = ('img_shape', 'pad_shape', 'img_key', 'video_id', 'timestamp', 'flip',
             'flip_direction')
pack = dict(type='PackActionInputs', meta_keys=meta_keys,
            algorithm_keys=('acfb_feat', 'acfb_mask'))
train_pipeline = [
    dict(type='SampleAVAFrames', clip_len=32, frame_interval=2),
    dict(type='RawFrameDecode', io_backend='disk'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='PadToSquare'),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    acfb_window,
    pack
]
val_pipeline = [
    dict(type='SampleAVAFrames', clip_len=32, frame_interval=2, test_mode=True),
    dict(type='RawFrameDecode', io_backend='disk'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    acfb_window,
    pack
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
