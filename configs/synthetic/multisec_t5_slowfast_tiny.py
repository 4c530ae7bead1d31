"""Multi-sec stage 2, T = 5 (``configs/multisec_t5_slowfast_r50.py``) on the synthetic AVA dataset,
with the tiny backbone and head widths of ``multisec_baseline_slowfast_tiny.py`` (initialised
from its checkpoint), the res4 cache of ``multisec_res4_cache_slowfast_tiny.py`` and tubes linked
from the synthetic proposals (``tools/link_tubes.py ... --span 5``); synthetic classes and a
short schedule. The synthetic "long-term" class (clapped 6-20 s ago) is where this model should
gain over stage 1.
"""
_base_ = ['../multisec_t5_slowfast_r50.py', '_base_/synthetic_ava.py']

feat_channels = _base_.synthetic_feat_channels
head_channels = 32
res4_img_shape = (80, 142)
synthetic_span = 5
load_from = 'work_dirs/multisec_baseline_slowfast_tiny/epoch_8.pth'

# For tools/benchmarks/synthetic_capabilities.py: stage 1 of the same seed (initialisation and
# the res4 caches it writes at the fixed frame size) and the tubes linked over the span.
synthetic_stage1_prerequisites = [
    dict(type='checkpoint', config='multisec_baseline_slowfast_tiny.py'),
    dict(type='bank', config='multisec_baseline_slowfast_tiny.py',
         extract_config='multisec_res4_cache_slowfast_tiny.py', feature='res4',
         path='data/synthetic_ava/res4_train', splits=('train', ), max_per_second=1),
    dict(type='bank', config='multisec_baseline_slowfast_tiny.py',
         extract_config='multisec_res4_cache_slowfast_tiny.py', feature='res4',
         path='data/synthetic_ava/res4_val', splits=('val', ), max_per_second=1),
]
synthetic_prerequisites = synthetic_stage1_prerequisites + [
    dict(type='tubes', split=split, span=synthetic_span,
         path=f'data/synthetic_ava/annotations/tubes_{split}_T{synthetic_span}.pkl')
    for split in ('train', 'val')
]
synthetic_claims = ['long_term']

model = dict(
    backbone=_base_.synthetic_backbone,
    roi_head=dict(
        shared_head=dict(in_channels=feat_channels, channels=head_channels),
        bbox_head=dict(in_channels=head_channels, num_classes=_base_.synthetic_num_classes)))

load_tubes = dict(type='LoadTubeRes4', num_clips=5, img_shape=res4_img_shape)
train_dataloader = _base_.synthetic_train_dataloader
train_dataloader['dataset']['person_det_score_thr'] = 0.9  # as multisec_baseline_slowfast_tiny.py
train_dataloader['dataset']['pipeline'] = [
    dict(bank_dir='data/synthetic_ava/res4_train',
         tube_file=f'data/synthetic_ava/annotations/tubes_train_T{synthetic_span}.pkl',
         **load_tubes), _base_.pack
]
val_dataloader = _base_.synthetic_val_dataloader
val_dataloader['dataset']['pipeline'] = [
    dict(bank_dir='data/synthetic_ava/res4_val',
         tube_file=f'data/synthetic_ava/annotations/tubes_val_T{synthetic_span}.pkl',
         **load_tubes), _base_.pack
]
test_dataloader = val_dataloader
val_evaluator = _base_.synthetic_evaluator
test_evaluator = val_evaluator

train_cfg = _base_.synthetic_schedule_8e.train_cfg  # 8 epochs
param_scheduler = _base_.synthetic_schedule_8e.param_scheduler
optim_wrapper = _base_.synthetic_schedule_8e.optim_wrapper
default_hooks = _base_.synthetic_schedule_8e.default_hooks
