"""Multi-sec stage 2, T = 9 (report Table 1: 25.83 frame-mAP): 5 keyframes at -4, -2, 0, 2, 4 s
along tubes linked over 9 keyframes (``tools/link_tubes.py --span 9``); otherwise
``multisec_t5_slowfast_r50.py``."""
_base_ = './multisec_t5_slowfast_r50.py'

span = 9
tube_file_train = f'data/ava/annotations/tubes_train_T{span}.pkl'
tube_file_val = f'data/ava/annotations/tubes_val_T{span}.pkl'

load_tubes = dict(type='LoadTubeRes4', num_clips=_base_.num_clips,
                  img_shape=_base_.res4_img_shape)
train_dataloader = dict(dataset=dict(pipeline=[
    dict(bank_dir=_base_.res4_bank_train, tube_file=tube_file_train, **load_tubes), _base_.pack
]))
val_dataloader = dict(dataset=dict(pipeline=[
    dict(bank_dir=_base_.res4_bank_val, tube_file=tube_file_val, **load_tubes), _base_.pack
]))
test_dataloader = val_dataloader
