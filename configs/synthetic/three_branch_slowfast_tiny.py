"""Three Branches (``configs/three_branch_slowfast_r101.py``) shrunk to train on CPU in minutes on
the synthetic AVA dataset (``tools/make_synthetic_ava.py --out data/synthetic_ava``).

Changed, and only these (as ``linear_slowfast_tiny.py``): no pretrained weights; the linear
baseline's backbone, BN mode and optimiser (``_base_/synthetic_ava.py``: ResNet-18 SlowFast of
1/4 width, RoI and clip features have 128 + 16 channels, no res5 dilation, BN trained: no
pretrained statistics to freeze; SGD with gradient clipping), so that only the head differs;
the synthetic data, clip (8 x 1), input size
(80 px) and augmentation (flip, no colour jitter); 12 classes (background + 11, the synthetic
pose classes are ids 1-4); LFB latent width 64; a short schedule (warm-up then cosine over 8
epochs). The bank (``synthetic_lfb_bank_dir``) holds the 144-d pooled person features of a
trained ``linear_slowfast_tiny.py`` model (same feature width), written with
``ava_plugins.engine.extract_bank``; the window is the real one (61 s, 5 persons/s).
Ablations: ``three_branch_slowfast_tiny_{no_global,no_lfb,no_focal,sum_fusion}.py``.
"""
_base_ = ['../three_branch_slowfast_r101.py', '_base_/synthetic_ava.py']

feat_channels = _base_.synthetic_feat_channels
lfb_latent = 64
synthetic_lfb_bank_dir = 'data/synthetic_ava/lfb_bank'
# The capability benchmark first trains linear_slowfast_tiny.py (same seed), extracts its bank
# and points every path starting with synthetic_lfb_bank_dir at it (see _base_/synthetic_ava.py).
synthetic_prerequisites = [
    dict(type='bank', config='linear_slowfast_tiny.py', feature='roi',
         path=synthetic_lfb_bank_dir, splits=('train', 'val'), max_per_second=5)
]
synthetic_claims = ['scene', 'long_term']  # global branch, long-term feature bank
synthetic_classes = list(range(1, _base_.synthetic_num_classes))

model = dict(
    init_cfg=None,
    backbone=_base_.synthetic_backbone,
    roi_head=dict(
        shared_head=dict(
            in_channels=feat_channels,
            num_scene_classes=len(synthetic_classes),
            lfb=dict(lt_channels=feat_channels, latent_channels=lfb_latent)),
        bbox_head=dict(
            in_channels=feat_channels + lfb_latent + feat_channels,
            num_classes=_base_.synthetic_num_classes,
            class_ids=synthetic_classes,
            pose_id_range=(1, 4))))

lfb_window = dict(type='LoadLFBWindow', bank_dir=synthetic_lfb_bank_dir, half_width=30,
                  max_items=5)
pack = dict(type='PackActionInputs', algorithm_keys=('lfb_feat', 'lfb_mask'))
train_dataloader = _base_.synthetic_train_dataloader
train_dataloader['dataset'].update(
    custom_classes=None,
    person_det_score_thr=0.9,
    pipeline=train_dataloader['dataset']['pipeline'][:-1] + [lfb_window, pack])
val_dataloader = _base_.synthetic_val_dataloader
val_dataloader['dataset'].update(
    custom_classes=None,
    person_det_score_thr=0.8,
    pipeline=val_dataloader['dataset']['pipeline'][:-1] + [lfb_window, pack])
test_dataloader = val_dataloader
val_evaluator = dict(custom_classes=None, **_base_.synthetic_evaluator)
test_evaluator = val_evaluator

# epoch-based, as every tiny config (the R101 recipe is iteration-based)
train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=8, val_begin=8,
                 val_interval=8)
param_scheduler = _base_.synthetic_schedule_8e.param_scheduler
optim_wrapper = _base_.synthetic_schedule_8e.optim_wrapper
default_hooks = _base_.synthetic_schedule_8e.default_hooks
default_hooks['checkpoint']['by_epoch'] = True
log_processor = dict(by_epoch=True)
