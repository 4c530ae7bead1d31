"""Multi-sec stage 2, T = 9, on the synthetic AVA dataset: ``multisec_t5_slowfast_tiny.py`` with
tubes linked over 9 keyframes (``tools/link_tubes.py ... --span 9``)."""
_base_ = './multisec_t5_slowfast_tiny.py'

synthetic_span = 9
synthetic_prerequisites = _base_.synthetic_stage1_prerequisites + [
    dict(type='tubes', split=split, span=synthetic_span,
         path=f'data/synthetic_ava/annotations/tubes_{split}_T{synthetic_span}.pkl')
    for split in ('train', 'val')
]
train_dataloader = dict(dataset=dict(pipeline=[
    dict(bank_dir='data/synthetic_ava/res4_train',
         tube_file=f'data/synthetic_ava/annotations/tubes_train_T{synthetic_span}.pkl',
         **_base_.load_tubes), _base_.pack
]))
val_dataloader = dict(dataset=dict(pipeline=[
    dict(bank_dir='data/synthetic_ava/res4_val',
         tube_file=f'data/synthetic_ava/annotations/tubes_val_T{synthetic_span}.pkl',
         **_base_.load_tubes), _base_.pack
]))
test_dataloader = val_dataloader
