"""Test-time augmentation for AVA detectors: scales x horizontal flip.

ACAR-Net 2020 (report 002, sec. 2.1 "Inference", Table 1 "3S+F"): short side {256, 288, 320}
x horizontal flip, the per-view logits averaged before the activation. Fujitsu 2020 (report
003, sec. 2.3): scales {224, 256, 320} x flip, the 6 results combined by summation.

Each view of each clip is run through the wrapped detector (``module.test_step``) with all of
the clip's RoIs, so a relation head (ACAR, three-branch) sees all actors of a clip together in
every view; a batch may hold several clips (they are run one at a time, as mmaction2's
``AVARoIHead.predict`` accepts one sample at test time). The RoI boxes are resized and flipped
with the frames by the view's transforms; here each view's RoIs are mapped back to the original
frame (divided by the view's ``img_shape``, then un-flipped ``x1' = 1 - x2, x2' = 1 - x1`` in
normalised coordinates - mmaction2's own un-flip uses ``img_w - 1 - x``, one pixel off the
``img_w - x`` its ``Flip`` applies - then un-cropped by ``crop_quadruple`` as ``BBoxHeadAVA``
does), checked to agree across views, and the per-view class scores combined:

* ``'logits'``: mean of the pre-activation scores, then the bbox head's own activation (sigmoid,
  softmax or pose softmax) - ACAR-Net;
* ``'mean'`` / ``'sum'``: mean / sum of the per-view probabilities - Fujitsu (``'sum'``).

The pre-activation scores are read by wrapping the bbox head's ``predict_by_feat`` during the
view's forward pass (every AVA RoI head in mmaction2 and this project ends in it), so no head
needs changing. A RoI head that reports per person rather than per RoI (``ArmRoIHead``: arm
RoIs, results on person boxes) has its per-RoI scores merged across views first, then mapped
to persons by its own ``person_results`` (the per-person maximum of the merged scores).
"""
import contextlib
from typing import List, Sequence

import torch
from mmengine.model import BaseTTAModel

from mmaction.registry import MODELS

MERGE_MODES = ('logits', 'mean', 'sum')
#: ``PackActionInputs`` meta keys the TTA model needs (``flip`` and ``crop_quadruple`` to map
#: boxes back).
TTA_META_KEYS = ('img_shape', 'pad_shape', 'img_key', 'video_id', 'timestamp', 'flip',
                 'flip_direction', 'crop_quadruple', 'scale_factor')


def ava_tta_pipeline(head: Sequence[dict],
                     scales: Sequence,
                     flip: bool = True,
                     keep_ratio: bool = True,
                     meta_keys: Sequence[str] = TTA_META_KEYS) -> List[dict]:
    """The test pipeline with mmcv's ``TestTimeAug`` over ``scales`` x {no flip, flip}.

    Args:
        head: transforms before resizing (e.g. ``SampleAVAFrames``, ``RawFrameDecode``).
        scales: short sides (``keep_ratio``: ``Resize(scale=(-1, s))``) or ``(w, h)`` sizes.
        flip: add the horizontally flipped view of every scale.
        keep_ratio: resize the short side to ``s`` keeping the aspect ratio.
        meta_keys: ``PackActionInputs`` meta keys (must include ``img_shape`` and ``flip``).

    Returns:
        The pipeline list; views are ordered scale-major (scale 0 unflipped, scale 0 flipped,
        ...).
    """
    if not scales:
        raise ValueError('ava_tta_pipeline: scales must not be empty')
    resizes = [
        dict(type='Resize', scale=(-1, s) if keep_ratio else tuple(s), keep_ratio=keep_ratio)
        for s in scales
    ]
    flips = [dict(type='Flip', flip_ratio=0.0)]
    if flip:
        flips.append(dict(type='Flip', flip_ratio=1.0))
    return [
        *head,
        dict(type='TestTimeAug',
             transforms=[
                 resizes, flips, [dict(type='FormatShape', input_format='NCTHW', collapse=True)],
                 [dict(type='PackActionInputs', meta_keys=tuple(meta_keys))]
             ])
    ]


def boxes_to_original(rois: torch.Tensor, meta: dict) -> torch.Tensor:
    """RoIs ``(n, 4)`` (or ``(n, 5)`` with the batch index) in a view's pixels -> ``(n, 4)``
    x1y1x2y2 normalised to the original frame (un-resized, un-flipped, un-cropped)."""
    boxes = rois[:, -4:].clone()
    img_h, img_w = meta['img_shape'][:2]
    boxes[:, 0::2] /= img_w
    boxes[:, 1::2] /= img_h
    if meta.get('flip', False):
        if meta.get('flip_direction', 'horizontal') != 'horizontal':
            raise ValueError(f'AVATTAModel: only horizontal flips are supported, got '
                             f"flip_direction={meta['flip_direction']!r}")
        boxes = torch.stack([1 - boxes[:, 2], boxes[:, 1], 1 - boxes[:, 0], boxes[:, 3]], 1)
    quad = meta.get('crop_quadruple')
    if quad is not None:
        x1, y1, tw, th = (float(v) for v in quad)
        boxes[:, 0::2] = boxes[:, 0::2] * tw + x1
        boxes[:, 1::2] = boxes[:, 1::2] * th + y1
    return boxes


@contextlib.contextmanager
def capture_head_inputs(bbox_head, store: list):
    """Records each ``bbox_head.predict_by_feat(rois=..., cls_scores=..., ...)`` call's
    keyword arguments (per-image RoIs (n, 5) in the view's pixels and pre-activation scores
    (n, num_classes)) into ``store``."""
    original = bbox_head.predict_by_feat

    def wrapped(*args, **kwargs):
        if args:
            raise TypeError('AVATTAModel expects bbox_head.predict_by_feat to be called with '
                            'keyword arguments (rois=..., cls_scores=..., batch_img_metas=...)')
        # BBoxHeadAVA normalises unflipped RoIs in place: keep copies
        store.append(
            dict(kwargs,
                 rois=tuple(r.clone() for r in kwargs['rois']),
                 cls_scores=tuple(c.clone() for c in kwargs['cls_scores'])))
        return original(**kwargs)

    bbox_head.predict_by_feat = wrapped
    try:
        yield store
    finally:
        del bbox_head.predict_by_feat


@MODELS.register_module()
class AVATTAModel(BaseTTAModel):
    """Runs every view of a batch through the detector and merges the per-person scores.

    Args:
        module: the AVA detector (config or module), e.g. mmaction2's ``FastRCNN``.
        merge: ``'logits'`` (ACAR-Net), ``'mean'`` or ``'sum'`` (Fujitsu) of the views.
        box_tol: largest disagreement allowed between the views' boxes mapped back to the
            original frame (normalised units); more means the RoIs were not transformed with
            the frames (a configuration error).
        data_preprocessor: as ``BaseTTAModel``.
    """

    def __init__(self,
                 module,
                 merge: str = 'logits',
                 box_tol: float = 1e-3,
                 data_preprocessor=None):
        super().__init__(module=module, data_preprocessor=data_preprocessor)
        if merge not in MERGE_MODES:
            raise ValueError(f'AVATTAModel: merge must be one of {MERGE_MODES}, got {merge!r}')
        self.merge = merge
        self.box_tol = box_tol

    @property
    def bbox_head(self):
        return self.module.roi_head.bbox_head

    @property
    def per_person(self) -> bool:
        """Whether the RoI head maps RoI scores to persons (``ArmRoIHead.person_results``)."""
        return hasattr(self.module.roi_head, 'person_results')

    def _activate(self, call: dict, logits: torch.Tensor) -> torch.Tensor:
        """The bbox head's activation of one view's (merged) logits, on that view's RoIs."""
        return self.bbox_head.predict_by_feat(
            rois=(call['rois'][0].clone(), ),
            cls_scores=(logits, ),
            batch_img_metas=[call['batch_img_metas'][0]],
            rcnn_test_cfg=call.get('rcnn_test_cfg'))[0].scores

    def test_step(self, data):
        """``data``: ``{'inputs': [view][clip], 'data_samples': [view][clip]}`` (mmcv
        ``TestTimeAug`` after collation). Returns the first view's data samples with
        ``pred_instances.bboxes`` (n, 4) normalised and ``scores`` (n, num_classes) merged."""
        if not isinstance(data, dict) or 'data_samples' not in data:
            raise TypeError('AVATTAModel: expected a batch dict of per-view lists from '
                            f'TestTimeAug, got {type(data).__name__}')
        num_views = len(data['data_samples'])
        num_clips = len(data['data_samples'][0])
        merged = []
        for clip in range(num_clips):
            outputs, calls = [], []
            for view in range(num_views):
                # one clip per forward: mmaction2's AVARoIHead.predict accepts a single sample
                single = {k: [v[view][clip]] for k, v in data.items()}
                store: list = []
                with capture_head_inputs(self.bbox_head, store):
                    outputs.append(self.module.test_step(single)[0])
                if not store and self.per_person and not len(outputs[-1].pred_instances):
                    break  # no arm RoI in this clip: nothing to classify, nothing to merge
                if len(store) != 1:
                    raise RuntimeError('AVATTAModel: expected one bbox_head.predict_by_feat '
                                       f'call per view, got {len(store)}')
                calls.append(store[0])
            merged.append(self._merge(outputs, calls) if calls else outputs[0])
        return merged

    def merge_preds(self, data_samples_list):
        """Not used: scores are merged in :meth:`test_step`, which needs the raw scores."""
        raise NotImplementedError('AVATTAModel merges in test_step')

    def _merge(self, outputs: list, calls: List[dict]):
        """One clip's per-view data samples and head inputs -> the merged data sample."""
        sample = outputs[0]
        boxes = torch.stack(
            [boxes_to_original(call['rois'][0], call['batch_img_metas'][0]) for call in calls])
        spread = (boxes - boxes[0]).abs().amax() if boxes.numel() else boxes.new_zeros(())
        if spread > self.box_tol:
            raise ValueError(
                f"AVATTAModel: {sample.metainfo.get('video_id')},"
                f"{sample.metainfo.get('timestamp')}: the views' boxes differ by "
                f'{float(spread):.4g} after mapping back; the test pipeline must resize and '
                "flip the proposals with the frames (gt_bboxes present, 'flip' in "
                'PackActionInputs.meta_keys)')
        if self.merge == 'logits':
            logits = torch.stack([call['cls_scores'][0] for call in calls]).mean(0)
            scores = self._activate(calls[0], logits)
        else:
            probs = torch.stack([
                self._activate(call, call['cls_scores'][0]) if self.per_person else
                out.pred_instances.scores for out, call in zip(outputs, calls)
            ])
            scores = probs.mean(0) if self.merge == 'mean' else probs.sum(0)
        if self.per_person:
            roi_head = self.module.roi_head
            arm_meta = roi_head.arm_meta([sample.metainfo], [len(scores)])
            sample.pred_instances = roi_head.person_results(scores, arm_meta)[0]
            return sample
        sample.pred_instances.bboxes = boxes.mean(0)
        sample.pred_instances.scores = scores
        return sample
