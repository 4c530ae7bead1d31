"""``AVARoIHead`` of the arm-action model: predictions on arm RoIs reported on person boxes.

Fujitsu, AVA-Kinetics 2020 ("Multi-scale Spatiotemporal Features for Action Localization",
https://research.google.com/ava/challenge.html, Sec. 2.1 "Arm action detection"): the arm area is
the RoI ("the body box will be replaced by the moderately enlarged arm box",
:class:`~ava_plugins.datasets.transforms.ArmRoIs`), and the arm model's results of the selected
classes are merged into the main model's, person by person. AVA evaluation and that merge need the
scores on the person boxes, so at test time this head classifies the arm RoIs as ``AVARoIHead``
does, then gives each person, for every class, the maximum over its (one or two) arm RoIs (*ours*:
the report does not say how a person's two arms combine; an action done with either arm is the
person's action).

Boxes: ``ArmRoIs`` writes ``arm_person_bboxes`` (the person boxes normalised to the original
frame, before any resize, crop or flip) and ``arm_person_index`` (each RoI's person) into the
data sample's metainfo (``PackActionInputs(meta_keys=(..., 'arm_person_index',
'arm_person_bboxes'))``). The resize, crop and flip transforms move only ``proposals`` and
``gt_bboxes``, so these stay normalised to the original frame: exactly the coordinates the bbox
head maps its RoIs back to (``BBoxHeadAVA`` divides by ``img_shape`` and undoes flip and crop),
and they are reported as they are.

Persons without a valid arm have no RoI and are left out of the results (not kept with score
0): AVA evaluation gets the same detections either way (a score of 0 is below any result
threshold), and a person absent from the arm model's results is what lets the merge
(:func:`ava_plugins.ensemble.combine_results`, class-subset replacement) keep the main model's
score for that person. Training is ``AVARoIHead``'s, on the arm RoIs with their labels.
"""
from typing import List

import numpy as np
import torch
from mmaction.models.roi_heads import AVARoIHead
from mmdet.registry import MODELS
from mmengine.structures import InstanceData
from torch import Tensor

ARM_META_KEYS = ('arm_person_index', 'arm_person_bboxes')


def persons_from_arms(scores: Tensor, person_index: Tensor, num_persons: int):
    """Per-person maximum of per-RoI scores.

    Args:
        scores: (n, C) scores of the RoIs.
        person_index: (n,) int, person of each RoI, in ``[0, num_persons)``.
        num_persons: P.

    Returns:
        (P, C) per-person maxima (0 for a person without RoI) and (P,) bool, whether the
        person has a RoI.
    """
    index = person_index.long().to(scores.device)
    out = scores.new_zeros((num_persons, scores.shape[1]))
    out = out.scatter_reduce(0, index[:, None].expand_as(scores), scores, reduce='amax',
                             include_self=False)
    has_roi = torch.zeros(num_persons, dtype=torch.bool, device=scores.device)
    has_roi[index] = True
    return out, has_roi


@MODELS.register_module()
class ArmRoIHead(AVARoIHead):
    """``AVARoIHead`` whose test-time results are per person (max over its arm RoIs).

    Args:
        **kwargs: the arguments of ``AVARoIHead``.

    Test-time inputs: each data sample's ``proposals`` are its arm RoIs and its metainfo holds
    ``arm_person_index`` (n,) and ``arm_person_bboxes`` (P, 4) normalised (see the module
    docstring). Results: per clip an ``InstanceData`` with ``bboxes`` (P', 4) normalised and
    ``scores`` (P', num_classes), P' the persons with at least one arm RoI, in person order.
    """

    def arm_meta(self, metas: List[dict], counts: List[int]):
        """Per clip, (n_i,) person index and (P_i, 4) person boxes, checked."""
        out = []
        for i, (meta, n) in enumerate(zip(metas, counts)):
            key = meta.get('img_key', f'#{i}')
            missing = [k for k in ARM_META_KEYS if meta.get(k) is None]
            if missing:
                raise ValueError(
                    f'ArmRoIHead: data sample {key} has no {missing} in its metainfo: put '
                    f"ArmRoIs in the test pipeline and add {ARM_META_KEYS} to "
                    f'PackActionInputs(meta_keys=...)')
            index = np.asarray(meta['arm_person_index'], np.int64).reshape(-1)
            boxes = np.asarray(meta['arm_person_bboxes'], np.float32)
            if boxes.ndim != 2 or boxes.shape[1] != 4:
                raise ValueError(f'ArmRoIHead: data sample {key}: arm_person_bboxes must be '
                                 f'(P, 4), got shape {boxes.shape}')
            if len(index) != n or (n and not 0 <= index.min() <= index.max() < len(boxes)):
                raise ValueError(
                    f'ArmRoIHead: data sample {key}: arm_person_index must give, for each of '
                    f'the {n} RoIs, a person in [0, {len(boxes)}); got {index.tolist()}')
            out.append((index, boxes))
        return out

    def predict(self, x, rpn_results_list, data_samples, **kwargs) -> List[InstanceData]:
        """Per-clip person results: boxes ``arm_person_bboxes``, scores the max over arms.

        Any number of clips (the person indices are per clip).
        """
        if len(rpn_results_list) != len(data_samples):
            raise ValueError(f'ArmRoIHead: {len(rpn_results_list)} proposal lists for '
                             f'{len(data_samples)} clips')
        metas = [s.metainfo for s in data_samples]
        counts = [len(r.bboxes) for r in rpn_results_list]
        arm_meta = self.arm_meta(metas, counts)
        if sum(counts):
            roi_results = self.predict_bbox(x, metas, rpn_results_list,
                                            rcnn_test_cfg=self.test_cfg)
            scores = torch.cat([r.scores for r in roi_results])
        else:  # no arm in the batch: nothing to classify
            device = rpn_results_list[0].bboxes.device if rpn_results_list else 'cpu'
            scores = torch.zeros((0, self.bbox_head.num_classes), device=device)
        return self.person_results(scores, arm_meta)

    @staticmethod
    def person_results(scores: Tensor, arm_meta) -> List[InstanceData]:
        """Per-RoI scores (sum n_i, C) of a batch -> per-clip person ``InstanceData``.

        Args:
            scores: RoI scores of all clips, clip-major.
            arm_meta: per clip ``(person_index (n_i,), person_boxes (P_i, 4))``.
        """
        counts = [len(i) for i, _ in arm_meta]
        persons = [len(b) for _, b in arm_meta]
        offsets = np.concatenate([[0], np.cumsum(persons)[:-1]]).astype(np.int64)
        index = np.concatenate([i + o for (i, _), o in zip(arm_meta, offsets)]
                               ) if counts else np.zeros(0, np.int64)
        if len(index) != len(scores):
            raise ValueError(f'ArmRoIHead: {len(scores)} RoI scores for {len(index)} RoIs')
        person_scores, has_roi = persons_from_arms(
            scores, torch.from_numpy(index).to(scores.device), int(sum(persons)))
        boxes = torch.from_numpy(np.concatenate([b for _, b in arm_meta]).reshape(-1, 4)).to(
            scores.device)
        results = []
        for s, b, keep in zip(person_scores.split(persons), boxes.split(persons),
                              has_roi.split(persons)):
            results.append(InstanceData(bboxes=b[keep], scores=s[keep]))
        return results
