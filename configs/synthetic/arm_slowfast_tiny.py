"""The arm-action model (``configs/arm_slowfast_r50.py``) shrunk to train on CPU in minutes on
the synthetic AVA dataset, whose arm class is "tap" (id 11).

Changed, and only these (as ``linear_slowfast_tiny.py``): no pretrained weights; the linear
baseline's backbone, BN mode and optimiser (``_base_/synthetic_ava.py``); the synthetic data, clip
(8 x 1) and input size (80 px); a short schedule (warm-up then cosine over 8 epochs); and the
class list: all 11 synthetic classes (pose softmax over ids 1-4), not ``[11]`` alone.
mmaction2's ``AVADataset`` keeps only the annotations of ``custom_classes`` and the AVA bbox
heads skip RoIs without a positive label, so a one-class subset would train on positives only;
every synthetic person has a pose label, so with the full list the persons who do not tap are
the negatives. ``tools/ensemble.py --select-replace-from-val`` then picks the classes where
this model beats the main one (tap, by design). ``ArmRoIs`` (settings), ``ArmRoIHead`` and the
packed meta keys are the real config's; ``ArmRoIs`` reads the generator's keypoint files
(``annotations/ava_keypoints_{train,val}.synthetic.pkl``, row-aligned with the proposal files).
"""
_base_ = ['../arm_slowfast_r50.py', '_base_/synthetic_ava.py']

synthetic_anno_root = 'data/synthetic_ava/annotations'

model = dict(
    init_cfg=None,
    backbone=_base_.synthetic_backbone,
    roi_head=dict(
        bbox_head=dict(
            in_channels=_base_.synthetic_feat_channels,
            num_classes=_base_.synthetic_num_classes,
            class_ids=None,
            pose_id_range=_base_.synthetic_pose_id_range)))

synthetic_claims = ['arm']  # arm-region RoIs: actions seen in the arm area


def _arm_loader(loader, split):
    """The synthetic loader with ArmRoIs after RawFrameDecode (and its meta keys packed), all
    synthetic classes."""
    steps = [dict(s, meta_keys=_base_.arm_meta_keys) if s['type'] == 'PackActionInputs' else s
             for s in loader['dataset']['pipeline']]
    at = [s['type'] for s in steps].index('RawFrameDecode') + 1
    keypoint_file = f'{synthetic_anno_root}/ava_keypoints_{split}.synthetic.pkl'
    steps.insert(at, dict(_base_.arm_rois, test_mode=split == 'val', keypoint_file=keypoint_file,
                          proposal_file=loader['dataset']['proposal_file']))
    return dict(loader, dataset=dict(loader['dataset'], pipeline=steps, custom_classes=None))


train_dataloader = _arm_loader(_base_.synthetic_train_dataloader, 'train')
val_dataloader = _arm_loader(_base_.synthetic_val_dataloader, 'val')
test_dataloader = val_dataloader
val_evaluator = dict(_base_.synthetic_evaluator, custom_classes=None)
test_evaluator = val_evaluator

train_cfg = _base_.synthetic_schedule_8e.train_cfg  # 8 epochs
param_scheduler = _base_.synthetic_schedule_8e.param_scheduler
optim_wrapper = _base_.synthetic_schedule_8e.optim_wrapper
default_hooks = _base_.synthetic_schedule_8e.default_hooks
