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
backbone's stride (16); :func:`ava_plugins.engine.bank_features.check_acar_geometry` refuses a config that breaks either, and a
``--canvas`` smaller than a clip's maps is an error naming the config and the canvas.
"""
import argparse

import ava_plugins  # noqa: F401  (registers modules, applies compatibility fixes)
from ava_plugins.engine.bank_features import BANK_FEATURES, extract_bank_from_config
from ava_plugins.engine.cli import existing_file, load_config, parse_launcher_args, run_cli
from mmengine.config import DictAction


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
    args = parse_launcher_args(parser, argv)
    if args.canvas is not None and args.feature != 'acar':
        parser.error(f'--canvas applies to --feature acar, not {args.feature!r}')
    return args


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    existing_file(args.checkpoint, 'checkpoint')
    return extract_bank_from_config(
        cfg, args.checkpoint, args.out, split=args.split, feature=args.feature,
        boxes=args.boxes, canvas=args.canvas, max_per_second=args.max_per_second,
        overwrite=args.overwrite, launcher=args.launcher, config_name=args.config)


if __name__ == '__main__':
    raise SystemExit(run_cli(main))
