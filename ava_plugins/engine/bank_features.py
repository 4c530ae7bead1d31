"""Per-person features a trained detector writes into a feature bank (LFB, ACFB, caches).

Each function maps ``(model, data)`` (a detector and the output of its data preprocessor for
one keyframe clip) to ``(N, *item_shape)`` features, one per proposal of that clip, in the
proposals' order. :data:`BANK_FEATURES` names them for ``tools/extract_bank.py --feature``;
:func:`extract_bank_from_config` is the extraction itself (the tool is its command line).
"""
import functools
from collections import defaultdict
from typing import Callable, Dict, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.structures import InstanceData
from mmdet.structures.bbox import bbox2roi

from ..models.roi_heads.shared_heads.acar_head import ACARHead, clip_geometry
from .bank_extraction import extract_bank
from ..utils import InputError, file_fingerprint


def pooled_roi_features(model, data: dict) -> torch.Tensor:
    """RoI features pooled as the long-term feature bank stores them.

    The detector's own RoI extractor (RoIAlign on the temporally pooled SlowFast maps), then
    temporal average and spatial max pooling: ``(N, C)`` (Wu et al., LFB, Sec. 3.2; SJTU
    three-branch report, Sec. 3.3: 2304-d for SlowFast R50/R101).
    """
    feats = model.extract_feat(data['inputs'])
    rois = bbox2roi([s.proposals.bboxes for s in data['data_samples']])
    roi_feats, _ = model.roi_head.bbox_roi_extractor(feats, rois)
    return roi_feats.mean(dim=2).amax(dim=(2, 3))


def acar_first_order_maps(model, data: dict,
                          canvas: Optional[Sequence[int]] = None) -> torch.Tensor:
    """First-order actor-context maps of a trained ACAR-Net: the items of the ACFB.

    ACAR-Net report (https://arxiv.org/abs/2006.07976), §1.3: the bank holds "the
    intermediate first-order relation maps" of every actor, i.e. the input of the HR2O_NL
    blocks (``ACARHead.first_order``: conv1 + ReLU, conv2 + ReLU, then the head's
    ``downsample``; extract with ``model.roi_head.shared_head.downsample=none`` for the report's
    ACFB head, which applies no max pool).

    A bank has one item shape, while a map covers only its clip's unpadded area (the head crops
    the context to it). Each map is therefore placed at the top-left of a fixed canvas, zero
    elsewhere: ``canvas`` ``(H, W)``, or by default the map size of the clip's whole padded
    input (its exact extent when every clip of the dataset has one frame size, as the synthetic
    set); otherwise pass a canvas at least as large as every clip's map
    (``tools/extract_bank.py --canvas H W``; 14 x 36 for AVA at short side 256).

    Returns:
        Tensor: ``(N, d, H, W)``.
    """
    maps, _ = _acar_maps(model, data, canvas)
    return maps


def _acar_maps(model, data: dict, canvas: Optional[Sequence[int]] = None):
    """First-order maps on the canvas ``(N, d, H, W)`` and each one's valid size ``(N, 2)``."""
    head = model.roi_head.shared_head
    if not isinstance(head, ACARHead):
        raise ValueError(f'--feature acar needs a model with an ACARHead shared head, got '
                         f'{type(head).__name__}')
    samples = data['data_samples']
    feats = model.extract_feat(data['inputs'])
    rois = bbox2roi([s.proposals.bboxes for s in samples])
    _, global_feat = model.roi_head.bbox_roi_extractor(feats, rois)
    context = head.context(global_feat)
    valid_hw, box_scale = clip_geometry([s.metainfo for s in samples], tuple(context.shape[-2:]))
    full = head.map_size(torch.tensor(context.shape[-2:]))
    canvas_h, canvas_w = (int(v) for v in (full if canvas is None else canvas))
    out = context.new_zeros(len(rois), head.hidden_channels, canvas_h, canvas_w)
    if len(rois):
        actors = head.actor_features(context, rois, box_scale)
        maps, _ = head.first_order(context, actors, rois[:, 0].long(), valid_hw)
        h, w = maps.shape[-2:]
        if h > canvas_h or w > canvas_w:
            raise ValueError(f'first-order maps of {h}x{w} do not fit the bank canvas '
                             f'{canvas_h}x{canvas_w} (--canvas {canvas_h} {canvas_w}); pass '
                             f'--canvas {h} {w} or larger')
        out[:, :, :h, :w] = maps
    return out, head.map_size(valid_hw)[rois[:, 0].long().cpu()]


def acar_pooled_maps(model, data: dict) -> torch.Tensor:
    """The ACFB items of :func:`acar_first_order_maps` averaged over each map's valid area:
    ``(N, d, 1, 1)``, the pooled layout ``ACFBHead`` tiles over the clip's maps (our choice, to
    shrink the bank from 504 KiB to 1 KiB an item)."""
    maps, map_hw = _acar_maps(model, data)
    mask = ACARHead._mask(map_hw, maps.shape[-2:], maps)
    return (maps * mask).sum(dim=(2, 3), keepdim=True) / mask.sum(dim=(2, 3), keepdim=True)


def res4_volumes(model, data: dict) -> torch.Tensor:
    """The keyframe clip's packed SlowFast res4 volume, for the multi-second model's cache.

    ByteDance AI Lab AVA Challenge 2019 Technical Report
    (https://research.google.com/ava/challenge.html, Sec. 1.2: "we precompute res4 feature volumes
    off-the-shelf"): both pathways' res4 outputs packed into one
    ``(C_s * T_s + C_f * T_f, h, w)`` volume (``ava_plugins.models.roi_heads.slowfast_res4``).
    One item per keyframe, not per proposal: the volume is returned for every proposal as a
    broadcast view ``(N, P, h, w)`` (no copy); extract with ``--max-per-second 1`` so the
    bank keeps exactly one item per keyframe (``res4_volumes.per_keyframe``).
    """
    from ..models.roi_heads.slowfast_res4 import pack_res4, slowfast_res4
    if data['inputs'].shape[0] != 1:
        raise ValueError(f'res4_volumes takes one clip at a time, got a batch of '
                         f'{data["inputs"].shape[0]}')
    packed = pack_res4(*slowfast_res4(model.backbone, data['inputs']))
    num = len(data['data_samples'][0].proposals)
    return packed.expand(num, *packed.shape[1:])


res4_volumes.per_keyframe = True


def res4_volumes_stride2(model, data: dict) -> torch.Tensor:
    """:func:`res4_volumes` average-pooled over 2 x 2 cells (``slowfast_res4.pool_res4``): the
    smaller res4 cache (our choice, 3.8x smaller for the R50 at 300 x 533), read by stage-2
    configs with ``MultiSecFastRCNN(res4_stride=2)``."""
    from ..models.roi_heads.slowfast_res4 import pool_res4
    volume = res4_volumes(model, data)
    return pool_res4(volume[:1], 2).expand(volume.shape[0], -1, -1, -1)


res4_volumes_stride2.per_keyframe = True

BANK_FEATURES: Dict[str, Callable] = dict(
    roi=pooled_roi_features, acar=acar_first_order_maps, acar_pooled=acar_pooled_maps,
    res4=res4_volumes, res4_stride2=res4_volumes_stride2)


# ------------------------------------------------------------------------ extraction from a config

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


def extract_bank_from_config(cfg: Config, checkpoint: str, out: str, *, split: str = 'val',
                             feature: str = 'roi', boxes: str = 'proposals',
                             canvas: Optional[Sequence[int]] = None, max_per_second: int = 5,
                             overwrite: bool = False, launcher: str = 'none',
                             config_name: Optional[str] = None) -> dict:
    """Extract the ``split``'s bank of the detector ``cfg`` + ``checkpoint`` into ``out``.

    The work behind ``tools/extract_bank.py`` (whose docstring describes the options): builds
    the model and the split's dataset, then runs the resumable per-video
    :func:`~ava_plugins.engine.bank_extraction.extract_bank` with the settings record
    (config content, checkpoint content, feature, boxes, canvas, max_per_second) keyed by the
    split. Returns its ``{computed, skipped}`` result.
    """
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint

    from .cli import config_fingerprint
    from .launch import init_distributed
    config_name = config_name or cfg.filename or 'config'
    config_fp = config_fingerprint(cfg)  # before the launcher adds its settings
    rank, world_size, device = init_distributed(cfg, launcher)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model = MODELS.build(cfg.model)
    load_checkpoint(model, checkpoint, map_location='cpu')
    model.to(device).eval()
    if feature.startswith('acar'):
        check_acar_geometry(cfg)
    dataset = build_split_dataset(cfg, split)
    videos, compute = make_compute_fn(model, dataset, feature, max_per_second, canvas, boxes,
                                      config_name)
    settings = dict(config=config_fp, checkpoint=file_fingerprint(checkpoint), feature=feature,
                    boxes=boxes, canvas=None if canvas is None else list(canvas),
                    max_per_second=max_per_second)
    result = extract_bank(out, videos, compute, rank=rank, world_size=world_size,
                          settings=settings, settings_key=split, overwrite=overwrite)
    print(f'rank {rank}/{world_size}: computed {len(result["computed"])} videos, skipped '
          f'{len(result["skipped"])} finished ones -> {out}')
    return result
