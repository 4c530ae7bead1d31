"""Fujitsu's AVA-Kinetics 2020 training recipe, shared by the arm-action model and the main
models (``arm_slowfast_r50.py``, ``fujitsu_*.py``).

Report "Multi-scale Spatiotemporal Features for Action Localization" (Zhu et al., AVA-Kinetics
challenge 2020, https://research.google.com/ava/challenge.html), §2.2: "Our models are trained
with minibatch size of 64 clips on a server with 8 GPUs ... We train all models with 26 epochs,
and a learning rate of 0.01, which is decreased by a factor of 10 at epoch 15 and 20. For data
augmentation, we perform random flipping, random scaling with the short side ranging from 256
to 320 pixels, and random cropping of size 224x224." §2.1: person-detection "Thresholds of 0.8
and 0.7 are used respectively" (AVA, Kinetics).

Ours (the report does not say): no warm-up; SGD momentum 0.9, weight decay 1e-5 and gradient
clipping at norm 40 as mmaction2's SlowFast AVA recipe; validation every epoch; single-scale
test at short side 256 (the report's multi-scale test is the ``*_tta.py`` configs).

Every key starts with ``fujitsu_`` so the file can sit in a ``_base_`` list beside a real config.
"""
fujitsu_gpus = 8
fujitsu_clips_per_gpu = 8  # 8 clips per GPU x 8 GPUs = the report's minibatch of 64
fujitsu_max_epochs = 26
fujitsu_train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=fujitsu_max_epochs, val_begin=1,
                         val_interval=1)
fujitsu_param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=fujitsu_max_epochs,
         milestones=[15, 20], gamma=0.1)
]
fujitsu_optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-5),
    clip_grad=dict(max_norm=40, norm_type=2))
# lr 0.01 is for 64 clips; with --auto-scale-lr it is rescaled for another total batch
fujitsu_auto_scale_lr = dict(enable=False, base_batch_size=fujitsu_gpus * fujitsu_clips_per_gpu)
fujitsu_train_augment = [
    dict(type='RandomRescale', scale_range=(256, 320)),
    dict(type='RandomCrop', size=224),
    dict(type='Flip', flip_ratio=0.5),
]
fujitsu_test_resize = dict(type='Resize', scale=(-1, 256))
fujitsu_det_score_thr_ava = 0.8
fujitsu_det_score_thr_kinetics = 0.7
