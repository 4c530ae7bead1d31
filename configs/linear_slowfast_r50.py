"""Linear baseline (ACAR-Net report, Table "Linear"): SlowFast R50, per-pathway temporal average
pooling, RoIAlign 7x7, spatial max pooling, concatenation, dropout, linear classifier.

Inherits mmaction2's SlowFast R50 AVA v2.2 recipe; changed, as the official ``LinearHead`` and
``configs/AVA/SLOWFAST_R50_baseline.yaml`` (github.com/Siyu-C/ACAR-Net): RoIAlign 7x7 with the
official settings (``aligned=False``, adaptive sampling), a classifier without bias, and the
pose-softmax activation and loss (report §2.1; ``PoseSoftmaxBBoxHeadAVA``: softmax over the
classes whose AVA id is in ``pose_id_range``, sigmoid over the others). Configs with another
label map set ``pose_id_range`` (or ``class_ids``) on the bbox head.
"""
_base_ = ('mmaction::detection/slowfast/'
          'slowfast_kinetics400-pretrained-r50_8xb6-8x8x1-cosine-10e_ava22-rgb.py')

custom_imports = dict(imports=['ava_plugins'], allow_failed_imports=False)

model = dict(
    roi_head=dict(
        bbox_roi_extractor=dict(output_size=7, sampling_ratio=0, aligned=False),
        bbox_head=dict(type='PoseSoftmaxBBoxHeadAVA', pose_id_range=(1, 14), cls_bias=False)))

# mmaction2's AVADataset with validated inputs (clear errors naming file and line, counted skips).
train_dataloader = dict(dataset=dict(type='ValidatedAVADataset'))
val_dataloader = dict(dataset=dict(type='ValidatedAVADataset'))
test_dataloader = val_dataloader

# The project's exact AVA evaluator; mmaction2's AVAMetric keys are kept.
val_evaluator = dict(type='AVAFrameMetric')
test_evaluator = val_evaluator
