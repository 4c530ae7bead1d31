"""ACAR-Net (``configs/acar_slowfast_r50.py``) on one's own data, as written by
``tools/convert_dataset.py --out ROOT`` (splits ``train`` and ``val``).

ROOT is the environment variable ``AVA_CUSTOM_DATA`` (an absolute path; default ``data/custom``
under the repository), read through mmengine's ``{{$VAR:default}}`` substitution; from
``ROOT/dataset_config.py`` (written by the converter) come the files of the train and val splits,
the class list (``custom_num_classes``), the frame rate and the splits' ``timestamp_end``.

Changed from the ACAR recipe, and only these (ours, for data other than AVA): every class of the
converted label map (``custom_classes`` and ``class_ids`` None, ``num_classes`` = background +
the largest id); no pose group: ``pose_id_range=(0, 0)`` names no class, so every class is an
independent sigmoid (give it the id range of mutually exclusive classes, as AVA's poses 1-14);
frames from second 0 (``timestamp_start=0``) at the converter's ``--fps``; no top-k recall
logged in training (``topk=None``: mmaction2's (3, 5) needs more than 5 classes). The recipe's
detection thresholds (0.9 train, 0.85 test) filter detector proposals; the converter's
ground-truth proposals (score 1) all pass. Train with
``python tools/train.py configs/custom/acar_slowfast_r50_custom.py``.
"""
_base_ = ['../acar_slowfast_r50.py', '{{$AVA_CUSTOM_DATA:../../data/custom}}/dataset_config.py']

model = dict(
    roi_head=dict(
        bbox_head=dict(
            num_classes=_base_.custom_num_classes, class_ids=None, pose_id_range=(0, 0),
            topk=None)))

train_dataloader = dict(
    dataset=dict(
        ann_file=_base_.custom_train_ann_file,
        exclude_file=_base_.custom_train_exclude_file,
        proposal_file=_base_.custom_train_proposal_file,
        label_file=_base_.custom_label_file,
        data_prefix=dict(img=_base_.custom_frames),
        custom_classes=None,
        num_classes=_base_.custom_num_classes,
        fps=_base_.custom_fps,
        timestamp_start=0,
        timestamp_end=_base_.custom_train_timestamp_end))
val_dataloader = dict(
    dataset=dict(
        ann_file=_base_.custom_val_ann_file,
        exclude_file=_base_.custom_val_exclude_file,
        proposal_file=_base_.custom_val_proposal_file,
        label_file=_base_.custom_label_file,
        data_prefix=dict(img=_base_.custom_frames),
        custom_classes=None,
        num_classes=_base_.custom_num_classes,
        fps=_base_.custom_fps,
        timestamp_start=0,
        timestamp_end=_base_.custom_val_timestamp_end))
test_dataloader = val_dataloader

val_evaluator = dict(
    ann_file=_base_.custom_val_ann_file,
    exclude_file=_base_.custom_val_exclude_file,
    label_file=_base_.custom_label_file,
    custom_classes=None,
    num_classes=_base_.custom_num_classes)
test_evaluator = val_evaluator
