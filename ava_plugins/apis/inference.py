"""Run an AVA action detector of this project on a video: mmaction2/mmdet-style inference API.

``init_model`` builds any detection config of the project (ACAR, linear, multi-sec baseline,
three-branch without LFB, their TTA configs, ...) from a config and checkpoint;
``inference_video`` predicts per-keyframe person boxes with per-class scores on a video file
(PyAV, :class:`~ava_plugins.apis.video_source.VideoSource`) or a folder of frames.

Clips are sampled by the config's own test pipeline: its steps before the decode step
(``SampleAVAFrames``) and after it (``Resize``, ``FormatShape``, ``TestTimeAug``, ...) are built
from ``test_dataloader.dataset.pipeline`` and fed a results dict as mmaction2's ``AVADataset``
makes one; only ``RawFrameDecode`` is replaced by a step that takes the same frames from the
decoded video instead of from ``img_{:05}.jpg`` files (frame ``i`` of the video is the file
numbered ``i + start_index``, the rawframes layout ``AVADataset`` reads). The keyframe is given to
``SampleAVAFrames`` by its frame index (``fps=1``, ``timestamp`` = frame index, start 0): for an
integer frame rate that is the same clip as ``fps * (timestamp - timestamp_start)`` gives, and it
also holds for rates such as 29.97 (our choice).

Persons: a proposal dict / pickle (mmaction2's ``{"video_id,%04d": (N, 4 or 5) normalised}``),
filtered as ``AVADataset`` filters it (scores >= ``min(person_det_score_thr, best score)``, at
most ``num_max_proposals``); or an mmdet detector (``mmdet.apis.init_detector``) run on each
keyframe with ``mmdet.apis.inference_detector``, its person class above ``det_score_thr``. A
keyframe without persons gets no prediction (our choice; ``AVADataset`` would use the whole
frame).

Heads whose inputs come from outside the clip are refused with an error naming the missing
input: feature banks (ACFB's ``LoadBankWindow``, the three-branch ``LoadLFBWindow``), the
multi-sec tube heads (``LoadTubeRes4``: linked tubes and a res4 cache) and ARM (``ArmRoIs``:
keypoints). Build those inputs with the dataset tools (``tools/convert_dataset.py``, then
``tools/extract_bank.py`` / ``tools/link_tubes.py`` / ``tools/extract_keypoints.py``) and run
``tools/test.py``.
"""
import copy
import os
import os.path as osp
import pickle
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from ava_eval.keyframe_pickles import load_proposals

from ava_plugins.evaluation import AVATable, read_label_map
from ava_plugins.utils import InputError

from .video_source import VideoSource

#: Test-pipeline steps whose input cannot be made from the clip alone: what they need.
NEEDS_EXTERNAL_INPUT = {
    'LoadBankWindow': 'a feature bank (tools/extract_bank.py)',
    'LoadLFBWindow': 'a long-term feature bank (tools/extract_bank.py)',
    'LoadTubeRes4': 'linked tubes (tools/link_tubes.py) and a res4 cache (tools/extract_bank.py '
                    '--feature res4)',
    'ArmRoIs': 'person keypoints (tools/extract_keypoints.py)',
}
DECODE_STEPS = ('RawFrameDecode', 'DecordDecode', 'PyAVDecode', 'OpenCVDecode',
                'PyAVDecodeMotionVector')
INIT_STEPS = ('DecordInit', 'PyAVInit', 'OpenCVInit')


@dataclass
class KeyframePrediction:
    """Predictions at one keyframe.

    Attributes:
        video_id: the video's id (CSV column 1).
        timestamp: ``timestamp_start + second`` (CSV column 2).
        second: the keyframe's time in the video, in seconds.
        frame_index: its 0-based frame index, ``round(second * fps)``.
        bboxes: ``(N, 4)`` float32 x1, y1, x2, y2 in pixels of the original frame.
        bboxes_norm: ``(N, 4)`` float32 the same, normalised to [0, 1].
        person_scores: ``(N,)`` float32 the proposals' / detector's person scores.
        scores: ``(N, C)`` float32 action scores, column ``j`` for ``class_ids[j]``.
        class_ids: ``(C,)`` int64 action ids of the label map.
        label_names: ``C`` names (the id as text where the label map has none).
        frame_size: ``(width, height)`` of the frame in pixels.
    """
    video_id: str
    timestamp: int
    second: int
    frame_index: int
    bboxes: np.ndarray
    bboxes_norm: np.ndarray
    person_scores: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray
    label_names: List[str]
    frame_size: Tuple[int, int]


def _model_cfg_roi_head(cfg) -> Optional[dict]:
    model = cfg.get('model', {})
    if 'roi_head' not in model and isinstance(model.get('module'), dict):
        model = model['module']  # a TTA wrapper
    return model.get('roi_head')


def init_model(config, checkpoint: Optional[str] = None, device: str = 'cpu',
               cfg_options: Optional[dict] = None) -> torch.nn.Module:
    """Build an AVA detection model from a config (path or ``Config``) and load a checkpoint.

    Returns the model in eval mode on ``device``, with the (merged) config as ``model.cfg``.
    Raises :class:`InputError` for a missing file or a config without a detection (RoI) head.
    """
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint

    import ava_plugins  # noqa: F401  (registers the project's modules)
    if isinstance(config, (str, os.PathLike)):
        from ava_plugins.engine.cli import load_config
        cfg = load_config(os.fspath(config))
    elif isinstance(config, Config):
        cfg = copy.deepcopy(config)
    else:
        raise TypeError(f'config must be a path or a Config, got {type(config).__name__}')
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if _model_cfg_roi_head(cfg) is None:
        raise InputError(f'{getattr(cfg, "filename", config)}: the config has no detection head '
                         '(model.roi_head); expected an AVA action detection config')
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise InputError(f'{checkpoint}: checkpoint not found')
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    from mmaction.registry import MODELS
    model_cfg = copy.deepcopy(cfg.model)
    model = MODELS.build(model_cfg)
    if checkpoint is not None:
        load_checkpoint(model, checkpoint, map_location='cpu')
    model.cfg = cfg
    return model.to(device).eval()


class _BufferedFrameDecode:
    """Pipeline step standing in for ``RawFrameDecode``: the same output (``imgs`` RGB,
    ``original_shape``, ``img_shape``, boxes scaled to pixels) from frames held in memory."""

    def __init__(self, frames: Dict[int, np.ndarray], start_index: int):
        self.frames = frames
        self.start_index = start_index

    def __call__(self, results: dict) -> dict:
        inds = np.ravel(results['frame_inds']) + results.get('offset', 0)
        imgs = [self.frames[int(i) - self.start_index].copy() for i in inds]
        results['imgs'] = imgs
        results['original_shape'] = imgs[0].shape[:2]
        results['img_shape'] = imgs[0].shape[:2]
        h, w = results['img_shape']
        scale = np.array([w, h, w, h])
        if 'gt_bboxes' in results:
            results['gt_bboxes'] = (results['gt_bboxes'] * scale).astype(np.float32)
            if results.get('proposals') is not None:
                results['proposals'] = (results['proposals'] * scale).astype(np.float32)
        return results


def _split_pipeline(cfg, where: str):
    """``(before, after)`` the decode step of the config's test pipeline, refusing steps that
    need inputs a video cannot give."""
    steps = list(cfg.test_dataloader.dataset.pipeline)
    types = [str(s.get('type', '')).split('.')[-1] for s in steps]
    for t in types:
        if t in NEEDS_EXTERNAL_INPUT:
            raise InputError(f'{where}: the test pipeline step {t} needs '
                             f'{NEEDS_EXTERNAL_INPUT[t]}, which inference on a video does not '
                             'build; make a dataset (tools/convert_dataset.py) and use '
                             'tools/test.py')
    decode = [i for i, t in enumerate(types) if t in DECODE_STEPS]
    if not decode or 'SampleAVAFrames' not in types[:decode[0]]:
        raise InputError(f'{where}: the test pipeline has no SampleAVAFrames followed by a decode '
                         f'step ({", ".join(DECODE_STEPS)}); got {types}')
    before = [s for s, t in zip(steps[:decode[0]], types) if t not in INIT_STEPS]
    return before, steps[decode[0] + 1:]


def _class_ids(cfg, num_classes: int) -> np.ndarray:
    """Action ids of the score columns 1.. (column 0 is the background), as ``AVAFrameMetric``
    maps them: ``custom_classes`` of the evaluator, else ``1..num_classes - 1``."""
    evaluator = cfg.get('test_evaluator', {})
    if isinstance(evaluator, (list, tuple)):
        evaluator = next((e for e in evaluator if 'custom_classes' in e or 'num_classes' in e),
                         {})
    custom = evaluator.get('custom_classes')
    if custom is not None:
        return np.asarray(custom, dtype=np.int64)
    return np.arange(1, num_classes, dtype=np.int64)


def _label_names(cfg, label_map) -> Dict[int, str]:
    if isinstance(label_map, Mapping):
        return {int(k): str(v) for k, v in label_map.items()}
    if label_map is None:
        evaluator = cfg.get('test_evaluator', {})
        if isinstance(evaluator, (list, tuple)):
            evaluator = next((e for e in evaluator if 'label_file' in e), {})
        label_map = evaluator.get('label_file')
        if not label_map or not osp.isfile(label_map):
            return {}
    return read_label_map(label_map)


def _load_proposals(proposals) -> dict:
    """A proposal dict, or the one read from a proposal pickle (the project's one reader of
    that format, :func:`ava_eval.keyframe_pickles.load_proposals`)."""
    if isinstance(proposals, (str, os.PathLike)):
        return load_proposals(proposals)
    return proposals


def _dataset_proposals(arr, key: str, thr: float, max_num: int):
    """Boxes and scores of one keyframe as mmaction2's ``AVADataset.get_data_info`` keeps them."""
    arr = np.asarray(arr, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[1] not in (4, 5):
        raise InputError(f'proposals[{key!r}]: expected shape (N, 4) or (N, 5), got {arr.shape}')
    if len(arr) and (arr[:, :4].min() < 0 or arr[:, :4].max() > 1):
        raise InputError(f'proposals[{key!r}]: boxes must be normalised to [0, 1]')
    if arr.shape[1] == 5 and len(arr):
        arr = arr[arr[:, 4] >= min(thr, arr[:, 4].max())]
        arr = arr[:max_num]
        return arr[:, :4], arr[:, 4]
    arr = arr[:max_num]
    return arr[:, :4], np.ones(len(arr), dtype=np.float32)


def person_class(detector, person_label: Optional[int] = None) -> int:
    """The detector's person class index: ``person_label``, else from its class names."""
    if person_label is not None:
        return int(person_label)
    classes = [str(c).lower() for c in (detector.dataset_meta or {}).get('classes', ())]
    if 'person' not in classes:
        raise InputError(f'the detector has no "person" class ({classes[:5]}...); give its '
                         'person class index')
    return classes.index('person')


def detect_persons(detector, frame_rgb: np.ndarray, label: int, thr: float):
    """mmdet's ``inference_detector`` on one ``(H, W, 3)`` RGB frame: boxes of class ``label``
    scoring >= ``thr``, normalised ``(N, 4)`` float32 by decreasing score, and their scores."""
    from mmdet.apis import inference_detector
    from mmengine.registry import DefaultScope
    h, w = frame_rgb.shape[:2]
    scope = detector.cfg.get('default_scope', 'mmdet')
    with torch.no_grad(), DefaultScope.overwrite_default_scope(scope):
        pred = inference_detector(detector, np.ascontiguousarray(frame_rgb[:, :, ::-1]))
    pred = pred.pred_instances
    boxes = pred.bboxes.cpu().numpy().astype(np.float64)
    scores = pred.scores.cpu().numpy()
    keep = (pred.labels.cpu().numpy() == label) & (scores >= thr)
    order = np.argsort(-scores[keep], kind='stable')
    norm = np.clip(boxes[keep][order] / [w, h, w, h], 0, 1).astype(np.float32)
    return norm, scores[keep][order].astype(np.float32)


def inference_video(model: torch.nn.Module,
                    video: Union[str, VideoSource],
                    proposals: Union[None, str, dict] = None,
                    detector: Optional[torch.nn.Module] = None,
                    *,
                    fps: Optional[float] = None,
                    interval: int = 1,
                    keyframes: Optional[Sequence[int]] = None,
                    video_id: Optional[str] = None,
                    timestamp_start: int = 0,
                    det_score_thr: float = 0.5,
                    person_label: Optional[int] = None,
                    label_map=None,
                    progress: bool = False) -> List[KeyframePrediction]:
    """Predict the actions of the persons at the keyframes of a video.

    Args:
        model: from :func:`init_model` (``model.cfg`` is its config).
        video: a video file, a folder of frames, or a :class:`VideoSource`.
        proposals: proposal pickle path or dict, keys ``"{video_id},{timestamp:04d}"``.
        detector: an mmdet detector (``mmdet.apis.init_detector``), if no ``proposals``.
        fps: frame rate of a folder of frames (a video file has its own).
        interval: seconds between keyframes (default: every second, as AVA).
        keyframes: the seconds to predict at (default ``0, interval, ...`` inside the video).
        video_id: id in keys and results (default: the file or folder name).
        timestamp_start: added to each second to make its timestamp (AVA's videos start at
            900, the synthetic set's too).
        det_score_thr: least person score of the detector's boxes.
        person_label: the detector's person class index (default: from its classes).
        label_map: path or ``{id: name}`` (default: the config's ``test_evaluator.label_file``
            if it exists).
        progress: show a tqdm bar over the video's frames.

    Returns:
        one :class:`KeyframePrediction` per keyframe, in time order.
    """
    from mmengine.dataset import Compose, pseudo_collate
    from mmengine.registry import init_default_scope

    cfg = model.cfg
    where = getattr(cfg, 'filename', None) or 'config'
    if (proposals is None) == (detector is None):
        raise InputError('give persons either as proposals or as a detector, not '
                         f'{"both" if proposals is not None else "neither"}')
    before, after = _split_pipeline(cfg, where)
    source = video if isinstance(video, VideoSource) else VideoSource(video, fps=fps)
    vid = video_id or source.name
    rate = float(source.fps)
    duration = source.num_frames / rate
    if isinstance(interval, bool) or not isinstance(interval, (int, np.integer)) or interval < 1:
        raise InputError(f'interval must be a whole number of seconds >= 1, got {interval!r}')
    if keyframes is None:
        keyframes = list(range(0, int(np.ceil(duration)), interval))
    seconds = sorted({int(t) for t in keyframes})
    frame_of = {t: int(round(t * rate)) for t in seconds}
    late = [t for t in seconds if t < 0 or frame_of[t] >= source.num_frames]
    if late:
        raise InputError(f'{source.path}: keyframe second {late[0]} lies outside the video '
                         f'({source.num_frames} frames, {duration:.2f} s)')
    if not seconds:
        raise InputError(f'{source.path}: no keyframe to predict at')

    dataset = cfg.test_dataloader.dataset
    start_index = int(dataset.get('start_index', 1))  # AVADataset's default
    person_thr = float(dataset.get('person_det_score_thr', 0.9))
    max_props = int(dataset.get('num_max_proposals', 1000))
    num_classes = int(dataset.get('num_classes', 81))
    class_ids = _class_ids(cfg, num_classes)
    names_map = _label_names(cfg, label_map)
    names = [names_map.get(int(c), str(int(c))) for c in class_ids]

    persons = {}
    if proposals is not None:
        props = _load_proposals(proposals)
        for t in seconds:
            key = f'{vid},{timestamp_start + t:04d}'
            if key in props:
                persons[t] = _dataset_proposals(props[key], key, person_thr, max_props)
        if not persons:
            raise InputError(f'no proposal for video {vid!r} at its keyframes (keys '
                             f'"{vid},{timestamp_start + seconds[0]:04d}", ...)')
    else:
        label = person_class(detector, person_label)

    init_default_scope(cfg.get('default_scope', 'mmaction'))
    sample = Compose(copy.deepcopy(before))
    buffer: Dict[int, np.ndarray] = {}
    rest = Compose([_BufferedFrameDecode(buffer, start_index), *copy.deepcopy(after)])

    def base_results(t):
        k = frame_of[t]
        return dict(frame_dir=str(source.path), video_id=vid, timestamp=k, timestamp_start=0,
                    fps=1, start_index=start_index, shot_info=(0, source.num_frames),
                    filename_tmpl='img_{:05}.jpg', modality='RGB',
                    img_key=f'{vid},{timestamp_start + t:04d}')

    needed = {}
    for t in seconds:
        r = sample(base_results(t))
        inds = np.ravel(r['frame_inds']) + r.get('offset', 0) - start_index
        needed[t] = (r, int(inds.min()), int(inds.max()))

    results: Dict[int, KeyframePrediction] = {}

    def predict(t):
        r, _, _ = needed[t]
        boxes, pscores = persons.get(t, (np.zeros((0, 4), np.float32), np.zeros(0, np.float32)))
        w, h = source.width, source.height
        if len(boxes):
            r = dict(r, proposals=boxes.astype(np.float32), scores=pscores,
                     gt_bboxes=np.zeros((0, 4), np.float32),
                     gt_labels=np.zeros((0, num_classes), np.float32),
                     entity_ids=np.zeros(0, np.int64))
            data = rest(r)
            with torch.no_grad():
                pred = model.test_step(pseudo_collate([data]))[0].pred_instances
            norm = pred.bboxes.cpu().numpy().reshape(-1, 4).astype(np.float32)
            scores = pred.scores.cpu().numpy().reshape(len(norm), -1)[:, 1:].astype(np.float32)
            if scores.shape[1] != len(class_ids):
                raise InputError(f'{where}: the head gives {scores.shape[1] + 1} score columns, '
                                 f'the evaluator maps {len(class_ids) + 1}')
        else:
            norm = np.zeros((0, 4), np.float32)
            scores = np.zeros((0, len(class_ids)), np.float32)
        results[t] = KeyframePrediction(
            video_id=vid, timestamp=timestamp_start + t, second=t, frame_index=frame_of[t],
            bboxes=norm * np.array([w, h, w, h], np.float32), bboxes_norm=norm,
            person_scores=np.asarray(pscores, np.float32)[:len(norm)], scores=scores,
            class_ids=class_ids, label_names=names, frame_size=(w, h))

    pending = sorted(seconds, key=lambda t: needed[t][2])
    keyframe_at = {frame_of[t]: t for t in seconds}
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=source.num_frames, desc=f'predicting {vid}', unit='frame')
    last = -1
    for i, frame in enumerate(source.frames()):
        last = i
        if not pending:
            break
        buffer[i] = frame
        if detector is not None and i in keyframe_at:
            persons[keyframe_at[i]] = detect_persons(detector, frame, label, det_score_thr)
        while pending and needed[pending[0]][2] <= i:
            predict(pending.pop(0))
        low = min((needed[t][1] for t in pending), default=i + 1)
        for j in [j for j in buffer if j < low]:
            del buffer[j]
        if bar:
            bar.update(1)
    if bar:
        bar.close()
    if pending:  # fewer frames decoded than demuxed packets: the clips end at the last frame
        if last < 0:
            raise InputError(f'{source.path}: no frame could be decoded')
        for t in [t for t in pending if frame_of[t] > last]:
            raise InputError(f'{source.path}: keyframe second {t} lies beyond the last decodable '
                             f'frame ({last})')
        for j in range(last + 1, max(needed[t][2] for t in pending) + 1):
            buffer[j] = buffer[last]  # kept: every pending clip starts at or before it
        for t in list(pending):
            predict(t)
    if not any(len(b) for b, _ in persons.values()):
        raise InputError(f'{source.path}: the detector found no person (score >= '
                         f'{det_score_thr}) at any keyframe' if detector is not None else
                         f'{source.path}: the proposals hold no person box at any keyframe')
    return [results[t] for t in seconds]


def predictions_to_table(predictions: Sequence[KeyframePrediction],
                         score_thr: float = 0.0) -> AVATable:
    """One row per (box, class) scoring above ``score_thr``, as an :class:`AVATable` for
    :func:`ava_plugins.evaluation.write_ava_csv` / :func:`~ava_plugins.evaluation.evaluate_ava`
    (rows as ``AVAFrameMetric`` keeps them: ``score > thr``)."""
    names = sorted({p.video_id for p in predictions})
    code = {v: i for i, v in enumerate(names)}
    rows = [(code[p.video_id], p.timestamp, p.bboxes_norm[n], int(p.class_ids[j]),
             float(p.scores[n, j]))
            for p in predictions for n, j in zip(*np.nonzero(p.scores > score_thr))]
    return AVATable(
        video_names=np.array(names, dtype=object),
        video_codes=np.array([r[0] for r in rows], dtype=np.int64),
        timestamps=np.array([r[1] for r in rows], dtype=np.int64),
        boxes=np.array([r[2] for r in rows], dtype=np.float64).reshape(-1, 4),
        labels=np.array([r[3] for r in rows], dtype=np.int64),
        scores=np.array([r[4] for r in rows], dtype=np.float64))
