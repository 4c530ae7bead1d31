"""Write a feature bank from a trained detector: one shard per video, resumable, distributed.

    python tools/extract_bank.py CONFIG CKPT --out BANK_DIR [--split train|val]
        [--feature roi|acar|res4] [--boxes proposals|gt] [--canvas H W] [--max-per-second 5]
        [--cfg-options ...]
    tools/dist_extract_bank.sh CONFIG CKPT GPUS --out BANK_DIR ...

For every keyframe of every video of the split (the config's dataloader of that split, with
the test pipeline), the detector runs on the keyframe's clip and the ``--feature`` function
(:data:`ava_plugins.engine.bank_features.BANK_FEATURES`) gives one feature per proposal; the
``--max-per-second`` highest-scoring proposals are kept and stored with their boxes and scores
(:mod:`ava_plugins.structures.feature_bank`, fp16). Videos are split across ranks; a finished
shard is never recomputed, so an interrupted run continues where it stopped. The bank records
the settings that made it (config, checkpoint content, split, feature, boxes, canvas); a rerun
into the same ``--out`` with other settings is refused (``--overwrite`` recomputes it).

``--boxes gt`` extracts at the keyframe's ground-truth person boxes instead (score 1, in the
annotation's order; ``--max-per-second`` still caps them). ACAR-Net report
(https://arxiv.org/abs/2006.07976, §2.1): "For AVA, we use both ground-truth boxes and predicted
human boxes from [18] for training, and only ground-truth boxes for generating feature banks."
Our choice: the training bank at the GT boxes (``--boxes gt``), the validation/test bank at the
detections (the default), as the AVA test set has no public GT boxes.

``--feature acar`` writes ACAR-Net's Actor-Context Feature Bank (first-order maps, one
``d x H x W`` map per proposal on a fixed canvas; ``--canvas H W`` sets it, see
:func:`ava_plugins.engine.bank_features.acar_first_order_maps`). The maps a clip gets at
training (square padding) and here (test pipeline) have the same size only when the config
resizes alike in both pipelines and its ``MeanPadDataPreprocessor`` pads to a multiple of the
backbone's stride (16); :func:`check_acar_geometry` refuses a config that breaks either, and a
``--canvas`` smaller than a clip's maps is an error naming the config and the canvas.
"""
import argparse
import functools
import os
from collections import defaultdict

import numpy as np
import torch

import ava_plugins  # noqa: F401  (registers modules, applies compatibility fixes)
from ava_plugins.engine.bank_features import BANK_FEATURES
from ava_plugins.engine.cli import config_fingerprint, existing_file, load_config, run_cli
from ava_plugins.engine.launch import init_distributed
from ava_plugins.structures.bank_extraction import extract_bank
from ava_plugins.utils import InputError, file_fingerprint
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData
from mmengine.runner import load_checkpoint


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Extract a feature bank',
        epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='detector config of the model to extract with')
    parser.add_argument('checkpoint', help='its trained checkpoint')
    parser.add_argument('--out', required=True, help='bank directory')
    parser.add_argument('--split', choices=['train', 'val', 'test'], default='val',
                        help="the config's dataloader to extract (default: val)")
    parser.add_argument('--feature', choices=sorted(BANK_FEATURES), default='roi',
                        help='what is stored per proposal (default: roi)')
    parser.add_argument('--boxes', choices=['proposals', 'gt'], default='proposals',
                        help="persons to extract at: the dataset's proposals (above its score "
                        'threshold) or the ground-truth boxes of the keyframe')
    parser.add_argument('--canvas', type=int, nargs=2, metavar=('H', 'W'),
                        help='--feature acar: map canvas of every item (default: the map size '
                        'of the padded input)')
    parser.add_argument('--max-per-second', type=int, default=5,
                        help='proposals kept per keyframe, highest score first')
    parser.add_argument('--overwrite', action='store_true',
                        help='recompute a bank made with other settings (default: refuse)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, as tools/train.py')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher (dist_extract_bank.sh: pytorch)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help='set by the launcher')
    args = parser.parse_args(argv)
    if args.canvas is not None and args.feature != 'acar':
        parser.error(f'--canvas applies to --feature acar, not {args.feature!r}')
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def build_split_dataset(cfg: Config, split: str):
    """The split's dataset with the test pipeline, in test mode (no label-based filtering)."""
    from mmaction.registry import DATASETS
    key = f'{split}_dataloader'
    if key not in cfg or cfg[key] is None:
        raise InputError(f'{cfg.filename}: no {key} to extract the {split} bank from')
    ds_cfg = cfg[key].dataset.copy()
    ds_cfg.pipeline = cfg.test_dataloader.dataset.pipeline
    ds_cfg.test_mode = True
    return DATASETS.build(ds_cfg)


def _resize_steps(pipeline) -> list:
    return [dict(step) for step in pipeline if step.get('type') == 'Resize']


def check_acar_geometry(cfg: Config) -> None:
    """Refuse configs whose training clips would get other first-order maps than the bank's.

    Raises:
        InputError: naming the config, when its training and test pipelines resize differently,
            or when it pads training clips (``PadToSquare``) with a data preprocessor other than
            ``MeanPadDataPreprocessor`` with a ``pad_size_divisor`` multiple of 16.
    """
    train = (cfg.get('train_dataloader') or {}).get('dataset', {}).get('pipeline')
    if not train:
        return
    test = cfg.test_dataloader.dataset.pipeline
    if _resize_steps(train) != _resize_steps(test):
        raise InputError(f'{cfg.filename}: the training pipeline resizes with '
                         f'{_resize_steps(train)}, the test pipeline (which extracts the bank) '
                         f'with {_resize_steps(test)}; bank maps would not match training maps')
    if any(step.get('type') == 'PadToSquare' for step in train):
        pre = cfg.model.get('data_preprocessor', {})
        kind = str(pre.get('type', '')).split('.')[-1]
        divisor = int(pre.get('pad_size_divisor', 1))
        if kind != 'MeanPadDataPreprocessor' or divisor % 16:
            raise InputError(
                f'{cfg.filename}: training clips are padded to a square (PadToSquare) but the '
                f'data preprocessor is {kind} with pad_size_divisor={divisor}; with '
                f'MeanPadDataPreprocessor(pad_size_divisor=16) a clip gets the same context '
                f'crop at training and at bank extraction, otherwise not')


def make_compute_fn(model, dataset, feature: str, max_per_second: int, canvas=None,
                    box_source: str = 'proposals', config_name: str = 'config'):
    """``video_id -> (timestamps, features, boxes x1,y1,x2,y2,score)`` for extract_bank;
    ``box_source='gt'`` computes the features at the ground-truth boxes (score 1)."""
    feature_fn = BANK_FEATURES[feature]
    if getattr(feature_fn, 'per_keyframe', False):
        max_per_second = 1  # one item per keyframe clip, whatever --max-per-second says
    if canvas is not None:
        if feature != 'acar':
            raise InputError(f'--canvas applies to --feature acar, not {feature!r}')
        feature_fn = functools.partial(feature_fn, canvas=tuple(canvas))
    by_video = defaultdict(list)
    for i in range(len(dataset)):
        by_video[dataset.get_data_info(i)['video_id']].append(i)

    @torch.no_grad()
    def compute(video_id):
        times, feats, boxes = [], [], []
        for i in sorted(by_video[video_id], key=lambda i: dataset.get_data_info(i)['timestamp']):
            info = dataset.get_data_info(i)
            sample = dataset[i]
            if box_source == 'gt':
                packed = sample['data_samples']
                packed.proposals = InstanceData(bboxes=packed.gt_instances.bboxes.clone())
                props = np.asarray(info['gt_bboxes'], dtype=np.float32).reshape(-1, 4)
                scores = np.ones(len(props), dtype=np.float32)
            else:
                props = np.asarray(info['proposals'], dtype=np.float32)
                scores = np.asarray(info.get('scores', np.ones(len(props))), dtype=np.float32)
            data = model.data_preprocessor(pseudo_collate([sample]), False)
            try:
                out = feature_fn(model, data).float().cpu().numpy()
            except ValueError as e:
                raise InputError(f'{video_id},{info["timestamp"]} ({config_name}): {e}') from None
            if len(out) != len(props):
                raise RuntimeError(f'{video_id},{info["timestamp"]}: {len(out)} features for '
                                   f'{len(props)} proposals')
            keep = np.argsort(-scores, kind='stable')[:max_per_second]
            times.append(np.full(len(keep), info['timestamp'], dtype=np.int64))
            feats.append(out[keep])
            boxes.append(np.concatenate([props[keep], scores[keep, None]], axis=1))
        return np.concatenate(times), np.concatenate(feats), np.concatenate(boxes)

    return sorted(by_video), compute


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config)
    existing_file(args.checkpoint, 'checkpoint')
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    config_fp = config_fingerprint(cfg)  # before the launcher adds its settings
    rank, world_size, device = init_distributed(cfg, args.launcher)
    init_default_scope(cfg.get('default_scope', 'mmaction'))

    from mmdet.registry import MODELS
    model = MODELS.build(cfg.model)
    load_checkpoint(model, args.checkpoint, map_location='cpu')
    model.to(device).eval()
    if args.feature.startswith('acar'):
        check_acar_geometry(cfg)
    dataset = build_split_dataset(cfg, args.split)
    videos, compute = make_compute_fn(model, dataset, args.feature, args.max_per_second,
                                      args.canvas, args.boxes, args.config)
    settings = dict(config=config_fp, checkpoint=file_fingerprint(args.checkpoint),
                    feature=args.feature, boxes=args.boxes,
                    canvas=args.canvas, max_per_second=args.max_per_second)
    result = extract_bank(args.out, videos, compute, rank=rank, world_size=world_size,
                          settings=settings, settings_key=args.split,
                          overwrite=args.overwrite)
    print(f'rank {rank}/{world_size}: computed {len(result["computed"])} videos, skipped '
          f'{len(result["skipped"])} finished ones -> {args.out}')
    return result


if __name__ == '__main__':
    raise SystemExit(run_cli(main))
