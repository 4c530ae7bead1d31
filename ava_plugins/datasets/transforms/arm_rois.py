"""Arm-region RoIs from person keypoints (Fujitsu, AVA-Kinetics 2020).

Report "Multi-scale Spatiotemporal Features for Action Localization",
https://research.google.com/ava/challenge.html, Sec. 2.1 "Arm action detection": "CPN is used to
get the keypoints of person. Then, the key points of the elbow and wrist are used to judge whether
they are inside the image. If one arm area meets the requirement, the body box will be replaced by
the moderately enlarged arm box."

Rules implemented here (what the report leaves open is marked *ours*):

* an arm (left: COCO keypoints 5, 7, 9; right: 6, 8, 10) is valid when its elbow and wrist
  lie inside the image and score at least ``score_thr`` (``required`` can add the shoulder).
  The report names no threshold: 0.3 is ours, on the keypoint file's [0, 1] scores (a heatmap
  maximum of 30 % of a training target's peak, see below). The position test alone cannot
  reject an unseen joint: a top-down model places it somewhere in its crop, e.g. mmpose's
  heatmap codecs at the crop's corner for an all-negative heatmap, inside the image;
* its box encloses the shoulder (when it is inside and scores at least ``score_thr``), elbow
  and wrist, is scaled about its centre by ``scale`` and, *ours*, each side is widened to at
  least ``min_side_ratio`` times the longer one (a straight arm would otherwise give a
  needle-thin box), then clipped to the image;
* ``mode='replace'``: each person's body box is replaced by its 0, 1 or 2 arm boxes, a
  person without a valid arm gets no RoI; ``mode='add'``: arm boxes are added after the body
  boxes. The counts of persons without a valid arm are kept in :attr:`ArmRoIs.stats` and
  logged every ``log_interval`` samples;
* GT boxes (training; *ours*): a GT box takes the keypoints of the proposal of the same
  keyframe with the highest IoU with it (every proposal of the pickle, before the dataset's
  score threshold), if that IoU is at least ``gt_iou_thr``; otherwise it has no keypoints and
  so no arm RoI. Each arm RoI of a GT box carries the person's labels. In training, a sample
  left without any GT RoI is dropped (``None``: mmengine's dataset draws another one);
* test time: the RoIs are arm boxes, so the model's outputs are too; ``arm_person_index`` and
  ``arm_person_bboxes`` let a RoI head report each person's scores (e.g. the maximum over its
  arm RoIs) on its person box, as evaluation against AVA's person boxes and the merge with a
  main model need.

Proposal keypoints come from a keypoint pickle ``{"video_id,timestamp": (N, 17, 3)}`` (x, y
normalised to [0, 1], score in [0, 1]: ``tools/extract_keypoints.py`` stores a heatmap model's
maximum as a fraction of a training target's peak, CPN's ``max / 255 + 0.5`` as ``max / 255``;
or the synthetic generator),
row-aligned with the proposal pickle (both read and checked by
:mod:`ava_eval.keyframe_pickles`). ``AVADataset`` keeps only some rows of a key (score
threshold, ``num_max_proposals``), so the transform finds each kept proposal's row by its
coordinates in the proposal pickle.
"""
import logging
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform
from mmengine.logging import print_log

from ...structures.boxes import pairwise_iou
from ava_eval.keyframe_pickles import load_keypoints, load_proposals

__all__ = ['ArmRoIs', 'arm_boxes', 'match_gt_to_proposals', 'ARM_KEYPOINTS']

#: COCO keypoint indices (shoulder, elbow, wrist) of the left and right arm.
ARM_KEYPOINTS = np.array([[5, 7, 9], [6, 8, 10]])
_JOINTS = ('shoulder', 'elbow', 'wrist')


def arm_boxes(keypoints: np.ndarray,
              image_size: Tuple[float, float],
              score_thr: float = 0.3,
              scale: float = 1.5,
              min_side_ratio: float = 0.5,
              required: Sequence[str] = ('elbow', 'wrist')) -> Tuple[np.ndarray, np.ndarray]:
    """Arm boxes of persons from their COCO keypoints, vectorised over persons.

    Args:
        keypoints: (N, 17, 3) x, y in the units of ``image_size`` and a score.
        image_size: (width, height) of the image, in the keypoints' units.
        score_thr: least score of a joint that counts, in (0, 1] (the file's normalised
            scores; 0 means no evidence, so a joint must score above it).
        scale: factor applied to the enclosing box's width and height, about its centre.
        min_side_ratio: each side of the box is at least this times its longer side.
        required: joints that must be inside the image and score >= ``score_thr`` for the
            arm to be valid; the shoulder, when not required, is enclosed only if it is.

    Returns:
        boxes (N, 2, 4) x1, y1, x2, y2 of the left and right arm (zeros where invalid) and
        valid (N, 2) bool.
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.ndim != 3 or kp.shape[1:] != (17, 3):
        raise ValueError(f'arm_boxes: keypoints must be (N, 17, 3), got {kp.shape}')
    unknown = set(required) - set(_JOINTS)
    if unknown:
        raise ValueError(f'arm_boxes: required joints must be among {_JOINTS}, got '
                         f'{sorted(unknown)}')
    w, h = float(image_size[0]), float(image_size[1])
    arm = kp[:, ARM_KEYPOINTS]  # (N, 2 arms, 3 joints, 3)
    x, y, s = arm[..., 0], arm[..., 1], arm[..., 2]
    good = (s >= score_thr) & (x >= 0) & (x <= w) & (y >= 0) & (y <= h)  # (N, 2, 3)
    req = np.array([j in required for j in _JOINTS])
    valid = good[..., req].all(-1)
    use = good | req  # the required joints, plus the shoulder when it is good
    lo_x = np.where(use, x, np.inf).min(-1)
    hi_x = np.where(use, x, -np.inf).max(-1)
    lo_y = np.where(use, y, np.inf).min(-1)
    hi_y = np.where(use, y, -np.inf).max(-1)
    cx, cy = (lo_x + hi_x) / 2, (lo_y + hi_y) / 2
    bw, bh = (hi_x - lo_x) * scale, (hi_y - lo_y) * scale
    side = np.maximum(bw, bh) * min_side_ratio
    bw, bh = np.maximum(bw, side), np.maximum(bh, side)
    boxes = np.stack([
        np.clip(cx - bw / 2, 0, w),
        np.clip(cy - bh / 2, 0, h),
        np.clip(cx + bw / 2, 0, w),
        np.clip(cy + bh / 2, 0, h)
    ], -1)
    valid &= (boxes[..., 2] > boxes[..., 0]) & (boxes[..., 3] > boxes[..., 1])
    return np.where(valid[..., None], boxes, 0.0), valid


def match_gt_to_proposals(gt: np.ndarray, proposals: np.ndarray,
                          iou_thr: float) -> np.ndarray:
    """Index (G,) of each GT box's highest-IoU proposal, -1 where that IoU < ``iou_thr``."""
    if len(gt) == 0 or len(proposals) == 0:
        return np.full(len(gt), -1, np.int64)
    iou = pairwise_iou(np.asarray(gt, np.float64), np.asarray(proposals, np.float64))
    best = iou.argmax(1)
    return np.where(iou[np.arange(len(gt)), best] >= iou_thr, best, -1)


@TRANSFORMS.register_module()
class ArmRoIs(BaseTransform):
    """Replace (or extend) person boxes by arm boxes from keypoints.

    Place it right after ``RawFrameDecode`` (boxes in pixels, ``img_shape`` known) and before
    resizing, cropping and flipping, which then move the arm boxes as any box.

    Args:
        keypoint_file: keypoint pickle row-aligned with ``proposal_file``.
        proposal_file: the dataset's proposal pickle (the same file).
        mode: ``'replace'`` or ``'add'``.
        score_thr, scale, min_side_ratio, required: see :func:`arm_boxes`.
        gt_iou_thr: least IoU between a GT box and the proposal it takes keypoints from.
        test_mode: statistics count proposals instead of GT persons and samples without
            any RoI are kept (in training they are dropped).
        log_interval: log :attr:`stats` every this many samples (0: never); each dataloader
            worker counts and logs its own samples.

    Required keys: ``img_key``, ``img_shape``, ``proposals`` (n, 4) pixels; optional
    ``scores`` (n,), ``gt_bboxes`` (G, 4) pixels, ``gt_labels`` (G, C), ``entity_ids`` (G,).
    Modified: ``proposals``, ``scores``, ``gt_bboxes``, ``gt_labels``, ``entity_ids``.
    Added: ``arm_person_index`` (n',) index into the input proposals of each output
    proposal, ``arm_side`` (n',) 0 left, 1 right, -1 body box, ``arm_person_bboxes`` (n, 4)
    the input proposals normalised to [0, 1] (what a RoI head reports a person's scores on,
    e.g. the maximum over its arm RoIs, when evaluating on person boxes).
    """

    def __init__(self,
                 keypoint_file: str,
                 proposal_file: str,
                 mode: str = 'replace',
                 score_thr: float = 0.3,
                 scale: float = 1.5,
                 min_side_ratio: float = 0.5,
                 required: Sequence[str] = ('elbow', 'wrist'),
                 gt_iou_thr: float = 0.5,
                 test_mode: bool = False,
                 log_interval: int = 1000) -> None:
        if mode not in ('replace', 'add'):
            raise ValueError(f"ArmRoIs: mode must be 'replace' or 'add', got {mode!r}")
        if not 0 < score_thr <= 1:
            raise ValueError(f'ArmRoIs: score_thr must be in (0, 1] (keypoint scores are '
                             f'normalised to [0, 1], 0 = no evidence), got {score_thr}')
        if scale <= 0 or not 0 <= min_side_ratio <= 1:
            raise ValueError(f'ArmRoIs: scale must be > 0 and min_side_ratio in [0, 1], got '
                             f'{scale}, {min_side_ratio}')
        self.keypoint_file = keypoint_file
        self.proposal_file = proposal_file
        self.mode = mode
        self.box_args = dict(score_thr=score_thr, scale=scale, min_side_ratio=min_side_ratio,
                             required=tuple(required))
        arm_boxes(np.zeros((0, 17, 3)), (1, 1), **self.box_args)  # checks ``required``
        self.gt_iou_thr = gt_iou_thr
        self.test_mode = test_mode
        self.log_interval = log_interval
        self.stats = dict(samples=0, persons=0, persons_without_arm=0, arm_rois=0)
        self._keypoints: Optional[Dict[str, np.ndarray]] = None
        self._proposals: Optional[Dict[str, np.ndarray]] = None

    def _key_rows(self, key: str) -> Tuple[np.ndarray, np.ndarray]:
        """(N, 4) normalised proposals and (N, 17, 3) keypoints of a keyframe (N may be 0).

        Both files are loaded (and checked to be row-aligned) on first use in each process.
        """
        if self._keypoints is None:
            self._proposals = load_proposals(self.proposal_file)
            self._keypoints = load_keypoints(self.keypoint_file, self._proposals,
                                             self.proposal_file)
        if key not in self._proposals:
            return np.zeros((0, 4)), np.zeros((0, 17, 3))
        return (np.asarray(self._proposals[key][:, :4], np.float64),
                np.asarray(self._keypoints[key], np.float64))

    def _proposal_rows(self, key, boxes_norm, all_props) -> np.ndarray:
        """Row in the proposal pickle of each of the sample's proposals; -1 for none."""
        if len(boxes_norm) == 0 or len(all_props) == 0:
            return np.full(len(boxes_norm), -1, np.int64)
        diff = np.abs(boxes_norm[:, None, :] - all_props[None]).max(-1)
        rows = diff.argmin(1)
        found = diff[np.arange(len(rows)), rows] <= 1e-4
        whole_frame = np.all(np.abs(boxes_norm - [0, 0, 1, 1]) <= 1e-4, axis=1)
        if not (found | whole_frame).all():
            bad = boxes_norm[~(found | whole_frame)][0]
            raise ValueError(f'ArmRoIs: proposal {np.round(bad, 4).tolist()} of {key!r} is '
                             f'not in {self.proposal_file}; is it the dataset\'s proposal '
                             f'file?')
        return np.where(found, rows, -1)

    def _arms(self, person_boxes, kp_rows, kps, size):
        """Arm boxes (n, 2, 4) pixels and valid (n, 2) of persons with keypoint rows."""
        w, h = size
        has = kp_rows >= 0
        person_kp = np.zeros((len(person_boxes), 17, 3))
        person_kp[has] = kps[kp_rows[has]] * [w, h, 1]
        boxes, valid = arm_boxes(person_kp, (w, h), **self.box_args)
        return boxes, valid & has[:, None]

    def _expand(self, boxes, arms, valid):
        """Output boxes, source person index and side (-1 body) for the mode."""
        person, side = np.nonzero(valid)
        arm_rows = arms[person, side]
        if self.mode == 'replace':
            return arm_rows, person, side
        n = len(boxes)
        return (np.concatenate([boxes, arm_rows]), np.concatenate([np.arange(n), person]),
                np.concatenate([np.full(n, -1), side]))

    def transform(self, results: dict) -> Optional[dict]:
        for key, hint in (('img_key', 'an AVADataset sample'),
                          ('img_shape', 'place ArmRoIs after RawFrameDecode'),
                          ('proposals', "set the dataset's proposal_file")):
            if results.get(key) is None:
                raise ValueError(f'ArmRoIs needs {key!r} ({hint}); got keys {sorted(results)}')
        key = results['img_key']
        h, w = results['img_shape'][:2]
        all_props, kps = self._key_rows(key)
        props = np.asarray(results['proposals'], np.float64).reshape(-1, 4)
        rows = self._proposal_rows(key, props / [w, h, w, h], all_props)
        arms, valid = self._arms(props, rows, kps, (w, h))
        out, person, side = self._expand(props, arms, valid)
        dtype = np.asarray(results['proposals']).dtype
        results['proposals'] = out.astype(dtype).reshape(-1, 4)
        if results.get('scores') is not None:
            results['scores'] = np.asarray(results['scores'])[person]
        results['arm_person_index'] = person
        results['arm_side'] = side
        results['arm_person_bboxes'] = (props / [w, h, w, h]).astype(np.float32)

        n_persons, n_armless = len(props), int((~valid.any(1)).sum())
        if results.get('gt_bboxes') is not None:
            gt = np.asarray(results['gt_bboxes'], np.float64).reshape(-1, 4)
            gt_rows = match_gt_to_proposals(gt / [w, h, w, h], all_props, self.gt_iou_thr)
            gt_arms, gt_valid = self._arms(gt, gt_rows, kps, (w, h))
            gt_out, gt_person, _ = self._expand(gt, gt_arms, gt_valid)
            results['gt_bboxes'] = gt_out.astype(
                np.asarray(results['gt_bboxes']).dtype).reshape(-1, 4)
            for k in ('gt_labels', 'entity_ids'):
                if results.get(k) is not None:
                    results[k] = np.asarray(results[k])[gt_person]
            if not self.test_mode:
                n_persons, n_armless = len(gt), int((~gt_valid.any(1)).sum())
        self._count(n_persons, n_armless, len(person) if self.mode == 'replace'
                    else len(person) - len(props))
        if (not self.test_mode and results.get('gt_bboxes') is not None
                and len(results['gt_bboxes']) == 0):
            return None  # no arm RoI to learn from: the dataset draws another sample
        return results

    def _count(self, persons: int, armless: int, arm_rois: int) -> None:
        s = self.stats
        s['samples'] += 1
        s['persons'] += persons
        s['persons_without_arm'] += armless
        s['arm_rois'] += arm_rois
        if self.log_interval and s['samples'] % self.log_interval == 0:
            print_log(
                f'ArmRoIs: {s["persons_without_arm"]} of {s["persons"]} persons in '
                f'{s["samples"]} samples had no valid arm (no arm RoI); {s["arm_rois"]} arm '
                f'RoIs', logger='current',
                level=logging.WARNING if s['persons_without_arm'] else logging.INFO)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(keypoint_file={self.keypoint_file!r}, '
                f'mode={self.mode!r}, {self.box_args}, gt_iou_thr={self.gt_iou_thr})')
