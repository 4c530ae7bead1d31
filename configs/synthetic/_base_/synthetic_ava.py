"""Data settings for the synthetic AVA dataset (``tools/make_synthetic_ava.py``).

Every key starts with ``synthetic_`` so this file can sit beside a real AVA config in a
child's ``_base_`` list (mmengine refuses keys duplicated among bases); the child picks them
up, e.g. ``train_dataloader = _base_.synthetic_train_dataloader``, and they merge into the
real config's dataloaders and evaluator. Paths default to ``data/synthetic_ava`` under the
repository root. Values match the generator's defaults (change ``timestamp_end`` and ``fps``
with ``--seconds`` / ``--fps``): 11 classes (+1 background column, as AVA's 80+1),
timestamps 900..940 at 10 fps; clips of 8 consecutive frames (0.8 s, inside the second each
label describes), frames resized to 80 px high. Horizontal flips keep every synthetic label
valid (facing and sides flip together), so training flips.
"""
synthetic_num_classes = 12
synthetic_pose_id_range = (1, 4)  # stand, walk, jump, sit: one per actor per second


def _anno(name):
    return f'data/synthetic_ava/annotations/{name}'


def _loader(split, batch_size):
    test = split == 'val'
    pipeline = [
        dict(type='SampleAVAFrames', clip_len=8, frame_interval=1, test_mode=test),
        dict(type='RawFrameDecode', io_backend='disk'),
        dict(type='Resize', scale=(-1, 80)),
        dict(type='Flip', flip_ratio=0.5),
        dict(type='FormatShape', input_format='NCTHW', collapse=True),
        dict(type='PackActionInputs')
    ]
    if test:
        pipeline.pop(3)
    dataset = dict(
        ann_file=_anno(f'ava_{split}_synthetic.csv'),
        exclude_file=_anno(f'ava_{split}_excluded_timestamps_synthetic.csv'),
        label_file=_anno('ava_action_list_synthetic.pbtxt'),
        proposal_file=_anno(f'ava_dense_proposals_{split}.synthetic.pkl'),
        data_prefix=dict(img='data/synthetic_ava/rawframes'),
        timestamp_start=900,
        timestamp_end=940,
        fps=10,
        num_classes=synthetic_num_classes,
        pipeline=pipeline)
    return dict(batch_size=batch_size, num_workers=2, dataset=dataset)


synthetic_train_dataloader = _loader('train', batch_size=8)
synthetic_val_dataloader = _loader('val', batch_size=1)
synthetic_evaluator = dict(
    ann_file=_anno('ava_val_synthetic.csv'),
    exclude_file=_anno('ava_val_excluded_timestamps_synthetic.csv'),
    label_file=_anno('ava_action_list_synthetic.pbtxt'),
    num_classes=synthetic_num_classes)
