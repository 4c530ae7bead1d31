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

Two keys a tiny head config may add for ``tools/benchmarks/synthetic_capabilities.py`` (the
capability benchmark; training ignores them):

- ``synthetic_claims = ['interaction', ...]``: the capability groups
  (``ava_plugins.datasets.synthetic.GROUPS``) the head claims; the benchmark marks them and says
  whether the head beats the linear baseline there.
- ``synthetic_prerequisites = [dict(type=..., path=..., ...), ...]``: what must exist before
  the head trains. ``path`` is the path the config reads (e.g. a ``bank_dir`` under
  ``data/synthetic_ava``); the benchmark makes the item once per seed under
  ``WORK_DIR/prerequisites/seed<s>/`` and re-roots every config string starting with ``path``
  at it. ``type='bank'``: ``config`` (a tiny config of this folder, trained first with the
  same seed and data), ``feature`` (``tools/extract_bank.py --feature``: ``roi``, ``acar``,
  ``res4``), ``splits`` (default ``('train', 'val')``), ``max_per_second`` (default 5),
  optionally ``extract_config`` (the config extraction builds with that checkpoint, default
  ``config``), ``cfg_options`` (a dict, as ``extract_bank.py --cfg-options``) and
  ``extract_options`` (more keyword arguments of
  ``ava_plugins.engine.bank_features.extract_bank_from_config``, e.g. ``dict(canvas=(5, 9))``).
  ``type='tubes'``: linked tubes of the seed's proposals (``tools/link_tubes.py``): ``split``,
  ``span``, and optionally ``lam``, ``min_iou``, ``max_gap``. ``type='checkpoint'``:
  ``config`` (no ``path``): the run starts from that config's trained checkpoint of the same
  seed (``load_from``). Prerequisites may have their own
  (e.g. an ACFB head needing the bank of an ACAR head); cycles are refused. A child config
  that reads no prerequisite sets ``synthetic_prerequisites = []``.
- ``synthetic_benchmark = False``: not a head (e.g. a config only used to write a cache); the
  benchmark leaves it out of its table but can still train it as a prerequisite.
"""
synthetic_num_classes = 12
synthetic_pose_id_range = (1, 4)  # stand, walk, jump, sit: one per actor per second

# The backbone of every tiny config, the linear baseline's, so that only the heads differ
# (``model = dict(backbone=_base_.synthetic_backbone, ...)``): mmaction2's SlowFast with
# ResNet-18 pathways of 1/4 width (slow 16, fast 2 base channels: 128 + 16 = 144 output
# channels), res5 spatial stride 1 without dilation, BN trained with its statistics (trained from
# scratch there are no pretrained statistics to freeze: frozen, BN would stay the identity).
synthetic_slow_channels = 16  # the fast pathway has slow_channels / channel_ratio (8)
synthetic_feat_channels = synthetic_slow_channels * 8 + synthetic_slow_channels // 8 * 8
synthetic_pathway = dict(depth=18, dilations=(1, 1, 1, 1), norm_eval=False,
                         norm_cfg=dict(type='BN3d', requires_grad=True))
synthetic_backbone = dict(
    slow_pathway=dict(base_channels=synthetic_slow_channels, **synthetic_pathway),
    fast_pathway=dict(base_channels=synthetic_slow_channels // 8, **synthetic_pathway))


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
        type='ValidatedAVADataset',
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


def _schedule(epochs):
    """The tiny configs' schedule: one epoch of linear warm-up, then cosine to 0; the linear
    baseline's optimiser for every tiny config (mmaction2's AVA recipe: SGD, momentum 0.9, weight
    decay 1e-5, gradient norm clipped at 40) at lr 0.05; one checkpoint, one validation, at the
    end."""
    return dict(
        train_cfg=dict(max_epochs=epochs, val_begin=epochs, val_interval=epochs),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
                 convert_to_iter_based=True),
            dict(type='CosineAnnealingLR', T_max=epochs - 1, eta_min=0, by_epoch=True, begin=1,
                 end=epochs, convert_to_iter_based=True)
        ],
        optim_wrapper=dict(  # _delete_: the same whatever the real config's optimiser is
            optimizer=dict(_delete_=True, type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-5),
            clip_grad=dict(_delete_=True, max_norm=40, norm_type=2)),
        default_hooks=dict(checkpoint=dict(interval=epochs), logger=dict(interval=10)))


# A tiny config takes one of these: train_cfg = _base_.synthetic_schedule_8e.train_cfg, etc.
synthetic_schedule_8e = _schedule(8)
synthetic_schedule_16e = _schedule(16)
