"""mmaction2's ``AVADataset`` with validated inputs: clear errors instead of deep tracebacks.

mmaction2 1.2.0's ``AVADataset`` parses its files itself: a short or non-numeric row fails
with a bare ``IndexError``/``ValueError`` from its loader, an action id >= ``num_classes`` with
an ``IndexError`` in ``parse_img_record``, a proposal key written ``"v,902"`` silently becomes a
whole-frame box, a NaN score silently fails the score threshold, a box outside [0, 1] trips an
``assert`` in a dataloader worker, a missing frame raises ``FileNotFoundError`` from mmengine's
file client, and a JPEG cut in half fails inside OpenCV (``cv2.error`` from ``cvtColor``)
without naming the file.

:class:`ValidatedAVADataset` (mmaction2 ``DATASETS``) reads the same files with the project's
readers and builds the same samples as ``AVADataset`` on valid input. Its rules:

* annotation CSV: :func:`~ava_plugins.evaluation.read_ava_csv` (column count, numbers, boxes
  in [0, 1] (clipped within 1e-3), x2 > x1 and y2 > y1, errors naming file and line); 8
  columns (the person id is mmaction2's ``entity_id``); timestamps in
  ``[timestamp_start, timestamp_end]`` (outside, ``SampleAVAFrames`` would silently read the
  clip's edge frames); action ids in ``1 .. num_classes - 1`` (multilabel); ids absent from the
  label map are kept (trained, not evaluated, as mmaction2 does with AVA's 80 ids and the
  60-class map) and counted in a warning; exact duplicate rows are merged (as mmaction2 merges
  them) and counted in a warning;
* label map and excluded timestamps: :func:`~ava_plugins.evaluation.read_label_map` (duplicate
  ids raise) and :func:`~ava_plugins.evaluation.read_exclusions`; ``custom_classes`` must be
  label-map ids;
* proposals: :func:`~ava_plugins.datasets.keypoints_io.load_proposals`; keys that match no
  annotated keyframe are unused and counted in a warning; annotated keyframes without
  proposals (or with an empty array) get mmaction2's whole-frame box, counted in a warning;
* keypoints (``keypoint_file``): :func:`~ava_plugins.datasets.keypoints_io.load_keypoints`,
  in step with the proposals; each sample's ``keypoints`` (K, 17, 3) are the rows of the
  proposals it keeps (same score threshold and cap), zeros for the whole-frame box;
* frames (``check_frames``): before each ``RawFrameDecode`` the frames it will read must exist
  and, for JPEG and PNG, be complete (end marker present); a frame that fails to decode is
  reported too; the error names the frame's path.

Errors are :class:`~ava_plugins.datasets.keypoints_io.AVADataError` (a ``ValueError``);
warnings are :class:`AVADataWarning`.
"""
import os
import os.path as osp
import warnings
from typing import Dict, List, Optional

import mmcv
import numpy as np
from mmaction.datasets import AVADataset
from mmaction.datasets.transforms import RawFrameDecode
from mmaction.registry import DATASETS
from mmengine.logging import MMLogger

from ..evaluation import AVAEvalWarning, AVATable, read_ava_csv, read_exclusions, read_label_map
from .keypoints_io import NUM_KEYPOINTS, AVADataError, load_keypoints, load_proposals

_GT_LAYOUT = 'video_id,timestamp,x1,y1,x2,y2,action_id,person_id'
# Last bytes of a complete file, by extension (JPEG end-of-image marker, PNG IEND chunk).
_END_MARKERS = {'.jpg': b'\xff\xd9', '.jpeg': b'\xff\xd9', '.png': b'IEND\xaeB`\x82'}


class AVADataWarning(UserWarning):
    """Rows or keys of AVA data that are skipped or merged, with their count."""


def _rows_key(*columns: np.ndarray) -> np.ndarray:
    """Rows of the stacked float64 columns as one void scalar each, for exact grouping."""
    stacked = np.ascontiguousarray(np.column_stack(columns).astype(np.float64) + 0.0)
    return stacked.view(np.dtype((np.void, stacked.dtype.itemsize * stacked.shape[1]))).ravel()


def _first_index_groups(keys: np.ndarray):
    """Groups equal ``keys``: (index of each row's group, first row of each group)."""
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return inverse.reshape(-1), first


def frame_paths(results: dict) -> List[str]:
    """The files ``RawFrameDecode`` reads for ``results`` (RGB: one per frame, Flow: x and y)."""
    inds = np.unique(np.ravel(results['frame_inds']) + results.get('offset', 0))
    tmpl, directory = results['filename_tmpl'], results['frame_dir']
    if results.get('modality', 'RGB') == 'Flow':
        return [osp.join(directory, tmpl.format(d, int(i))) for i in inds for d in ('x', 'y')]
    return [osp.join(directory, tmpl.format(int(i))) for i in inds]


def check_frame_files(paths: List[str], img_key: str) -> None:
    """Raises :class:`AVADataError` naming the first missing, empty or truncated frame."""
    for path in paths:
        marker = _END_MARKERS.get(osp.splitext(path)[1].lower())
        try:
            size = os.path.getsize(path)
            tail = b''
            if marker and size:
                with open(path, 'rb') as f:
                    f.seek(max(0, size - 64))
                    tail = f.read().rstrip(b'\x00\r\n ')
        except OSError as err:
            raise AVADataError(f'{path}: frame of keyframe {img_key!r} cannot be read '
                               f'({err.strerror or err}); expected an image file') from None
        if size == 0:
            raise AVADataError(f'{path}: frame of keyframe {img_key!r} is empty')
        if marker and not tail.endswith(marker):
            raise AVADataError(f'{path}: frame of keyframe {img_key!r} is truncated (no '
                               f'{osp.splitext(path)[1]} end marker); re-extract the frames')


@DATASETS.register_module()
class ValidatedAVADataset(AVADataset):
    """``AVADataset`` that validates its files (see the module docstring for the rules).

    Args:
        keypoint_file: ``{"video_id,timestamp": (N, 17, 3)}`` pickle aligned with
            ``proposal_file``; adds ``keypoints`` (K, 17, 3) to each sample. Optional.
        check_frames: check the frames each ``RawFrameDecode`` reads (on the disk backend).
        Others: as mmaction2's ``AVADataset``.
    """

    def __init__(self,
                 ann_file: str,
                 pipeline: list,
                 exclude_file: Optional[str] = None,
                 label_file: Optional[str] = None,
                 filename_tmpl: str = 'img_{:05}.jpg',
                 start_index: int = 1,
                 proposal_file: Optional[str] = None,
                 person_det_score_thr: float = 0.9,
                 num_classes: int = 81,
                 custom_classes: Optional[List[int]] = None,
                 data_prefix: dict = dict(img=''),
                 modality: str = 'RGB',
                 test_mode: bool = False,
                 num_max_proposals: int = 1000,
                 timestamp_start: int = 900,
                 timestamp_end: int = 1800,
                 use_frames: bool = True,
                 fps: int = 30,
                 multilabel: bool = True,
                 keypoint_file: Optional[str] = None,
                 check_frames: bool = True,
                 **kwargs) -> None:
        # AVADataset's own __init__ reads the label map (asserts, pbtxt only) and the
        # proposals (bare pickle load); its attributes are set here and the files validated.
        if not 0 <= person_det_score_thr <= 1:
            raise AVADataError(f'person_det_score_thr must lie in [0, 1], got '
                               f'{person_det_score_thr}')
        self._FPS = fps
        self.exclude_file = exclude_file
        self.label_file = label_file
        self.proposal_file = proposal_file
        self.keypoint_file = keypoint_file
        self.person_det_score_thr = person_det_score_thr
        self.timestamp_start = timestamp_start
        self.timestamp_end = timestamp_end
        self.num_max_proposals = num_max_proposals
        self.filename_tmpl = filename_tmpl
        self.use_frames = use_frames
        self.multilabel = multilabel
        self.check_frames = check_frames
        self._annotated_keys: List[str] = []
        self.label_map: Optional[Dict[int, str]] = (read_label_map(label_file)
                                                    if label_file is not None else None)
        self.custom_classes = None
        if custom_classes is not None:
            self._check_custom_classes(list(custom_classes), num_classes, label_file)
            self.custom_classes = [0] + list(custom_classes)
        super(AVADataset, self).__init__(
            ann_file,
            pipeline=pipeline,
            data_prefix=data_prefix,
            test_mode=test_mode,
            num_classes=num_classes,
            start_index=start_index,
            modality=modality,
            **kwargs)
        self.proposals = self.keypoints = None
        if proposal_file is not None:
            self.proposals = load_proposals(proposal_file)
            if self._fully_initialized:  # with lazy_init the annotations are not read yet
                self._warn_unmatched_proposals()
            if keypoint_file is not None:
                self.keypoints = load_keypoints(keypoint_file, self.proposals, proposal_file)
        elif keypoint_file is not None:
            raise AVADataError(f'{keypoint_file}: keypoint_file needs the proposal_file it is '
                               'aligned with')

    def _check_custom_classes(self, custom, num_classes: int, label_file) -> None:
        if label_file is None:
            raise AVADataError('custom_classes needs label_file (the ids are label-map ids)')
        if 0 in custom:
            raise AVADataError('custom_classes: 0 is the background column, not a class id')
        unknown = sorted(set(custom) - set(self.label_map))
        if unknown:
            raise AVADataError(f'{label_file}: custom_classes {unknown} are not in the label map')
        if num_classes != len(custom) + 1:
            raise AVADataError(f'num_classes must be len(custom_classes) + 1 = {len(custom) + 1}'
                               f' (background column first), got {num_classes}')

    def _warn(self, message: str) -> None:
        warnings.warn(message, AVADataWarning, stacklevel=3)
        MMLogger.get_current_instance().warning(message)

    def load_data_list(self) -> List[dict]:
        """Reads the annotation CSV: one sample per keyframe, boxes of one person merged.

        Same samples, in the same order, as mmaction2's ``AVADataset.load_data_list``;
        vectorised over rows.
        """
        with warnings.catch_warnings():  # duplicates are merged and reported below
            warnings.simplefilter('ignore', AVAEvalWarning)
            table = read_ava_csv(self.ann_file, is_gt=True, strict=True)
        path = table.source
        if len(table) == 0:
            raise AVADataError(f'{path}: the annotation file has no rows ({_GT_LAYOUT})')
        if table.num_columns != 8:
            raise AVADataError(f'{path}, line 1: expected 8 columns ({_GT_LAYOUT}), got '
                               f'{table.num_columns}')
        self._check_table(table)
        labels = table.labels
        rows = np.arange(len(table))
        if self.custom_classes is not None:
            lut = {c: i for i, c in enumerate(self.custom_classes)}
            keep = np.isin(labels, self.custom_classes[1:])
            rows = rows[keep]
            labels = np.array([lut[c] for c in labels[keep].tolist()], dtype=np.int64)
            if not len(rows):
                raise AVADataError(f'{path}: no rows of custom_classes {self.custom_classes[1:]}')
        codes, ts = table.video_codes[rows], table.timestamps[rows]
        boxes = table.boxes[rows] + 0.0
        person = table.scores[rows].astype(np.int64)

        dup = _rows_key(codes, ts, boxes, labels, person)
        _, first = _first_index_groups(dup)
        n_dup = len(rows) - len(first)
        if n_dup:
            mask = np.ones(len(rows), bool)
            mask[first] = False
            self._warn(f'{table.where(int(rows[np.argmax(mask)]))}: {n_dup} annotation rows '
                       'repeat an earlier row (same keyframe, box, action and person) and are '
                       'merged into it')

        frame_of, frame_first = _first_index_groups(_rows_key(codes, ts))
        box_of, box_first = _first_index_groups(_rows_key(codes, ts, boxes))
        # Keyframes in order of first appearance; boxes of a keyframe likewise.
        box_frame = frame_of[box_first]
        box_order = np.lexsort((box_first, frame_first[box_frame]))
        box_rank = np.empty_like(box_order)
        box_rank[box_order] = np.arange(len(box_order))
        if self.multilabel:
            onehot = np.zeros((len(box_first), self.num_classes), dtype=np.float32)
            onehot[box_rank[box_of], labels] = 1.
        else:
            row_order = np.lexsort((np.arange(len(rows)), box_rank[box_of]))
            per_box = np.split(labels[row_order],
                               np.flatnonzero(np.diff(box_rank[box_of][row_order])) + 1)
        sorted_frames = box_frame[box_order]
        starts = np.flatnonzero(np.r_[True, np.diff(sorted_frames) != 0])
        ends = np.r_[starts[1:], len(box_order)]
        b_sorted = boxes[box_first[box_order]]
        e_sorted = person[box_first[box_order]]

        shot_info = ((0, (self.timestamp_end - self.timestamp_start) * self._FPS)
                     if self.use_frames else None)
        names = table.video_names
        data_list = []
        for s, e in zip(starts.tolist(), ends.tolist()):
            first_row = box_first[box_order[s]]
            video_id = str(names[codes[first_row]])
            timestamp = int(ts[first_row])
            frame_dir = video_id
            if self.data_prefix['img'] is not None:
                frame_dir = osp.join(self.data_prefix['img'], frame_dir)
            gt_labels = onehot[s:e] if self.multilabel else np.stack(per_box[s:e])
            info = dict(frame_dir=frame_dir, video_id=video_id, timestamp=timestamp,
                        img_key=f'{video_id},{timestamp:04d}', shot_info=shot_info,
                        fps=self._FPS,
                        ann=dict(gt_bboxes=b_sorted[s:e], gt_labels=gt_labels,
                                 entity_ids=e_sorted[s:e]))
            if not self.use_frames:
                info['filename'] = info.pop('frame_dir')
            data_list.append(info)
        self._annotated_keys = [d['img_key'] for d in data_list]
        return data_list

    def _check_table(self, table: AVATable) -> None:
        """Person ids, timestamps and action ids of the annotation rows (see module doc)."""
        bad = table.scores != np.round(table.scores)
        if bad.any():
            row = int(np.argmax(bad))
            raise AVADataError(f'{table.where(row)}, column 8: expected an integer person id, '
                               f'got {table.scores[row]}')
        if self.use_frames:
            bad = (table.timestamps < self.timestamp_start) | (table.timestamps >
                                                                self.timestamp_end)
            if bad.any():
                row = int(np.argmax(bad))
                raise AVADataError(
                    f'{table.where(row)}, column 2: timestamp {table.timestamps[row]} is outside '
                    f'[timestamp_start, timestamp_end] = [{self.timestamp_start}, '
                    f'{self.timestamp_end}] of the dataset config')
        labels = table.labels
        if self.custom_classes is None and self.multilabel:
            bad = (labels < 1) | (labels >= self.num_classes)
            if bad.any():
                row = int(np.argmax(bad))
                raise AVADataError(
                    f'{table.where(row)}, column 7: action id {labels[row]} is outside 1..'
                    f'{self.num_classes - 1} (num_classes={self.num_classes} columns, column 0 '
                    'the background); set num_classes or custom_classes')
        if self.label_map is not None and self.custom_classes is None:
            outside = ~np.isin(labels, np.fromiter(self.label_map, np.int64))
            if outside.any():
                row = int(np.argmax(outside))
                ids = np.unique(labels[outside]).tolist()
                self._warn(f'{table.where(row)}: {int(outside.sum())} annotation rows have action '
                           f'ids {ids[:10]}{" ..." if len(ids) > 10 else ""} that are not in '
                           f'{self.label_file}: they are trained, and not evaluated')

    def _warn_unmatched_proposals(self) -> None:
        annotated = set(self._annotated_keys)
        unused = [k for k in self.proposals if k not in annotated]
        if unused:
            self._warn(f'{self.proposal_file}: {len(unused)} of {len(self.proposals)} proposal '
                       f'keys match no keyframe of {self.ann_file} and are unused (first '
                       f'{unused[0]!r})')
        without = [k for k in annotated if len(self.proposals.get(k, ())) == 0]
        if without:
            self._warn(f'{self.proposal_file}: {len(without)} of {len(annotated)} annotated '
                       f'keyframes have no proposals (first {without[0]!r}) and get a whole-frame '
                       'box, as in mmaction2')

    def filter_data(self) -> List[dict]:
        """Drops the keyframes of ``exclude_file`` (read with the evaluator's reader)."""
        if self.exclude_file is None:
            data_list = self.data_list
        else:
            excluded = set(read_exclusions(self.exclude_file))
            data_list = [d for d in self.data_list
                         if (d['video_id'], d['timestamp']) not in excluded]
        MMLogger.get_current_instance().info(
            f'{len(data_list)} out of {len(self.data_list)} frames are valid.')
        return data_list

    def get_data_info(self, idx: int) -> dict:
        """mmaction2's sample: proposals above ``person_det_score_thr`` (the best one if none
        is), at most ``num_max_proposals``; a whole-frame box where there are none; plus
        ``keypoints`` (K, 17, 3) of the kept proposals when configured."""
        info = super(AVADataset, self).get_data_info(idx)
        info.update(filename_tmpl=self.filename_tmpl, timestamp_start=self.timestamp_start,
                    timestamp_end=self.timestamp_end)
        if self.proposals is not None:
            boxes = self.proposals.get(info['img_key'])
            if boxes is None or not len(boxes):
                info['proposals'] = np.array([[0, 0, 1, 1]])
                info['scores'] = np.array([1])
                kept = None
            elif boxes.shape[1] == 5:
                thr = min(self.person_det_score_thr, boxes[:, 4].max())
                kept = np.flatnonzero(boxes[:, 4] >= thr)[:self.num_max_proposals]
                info['proposals'] = boxes[kept, :4]
                info['scores'] = boxes[kept, 4]
            else:
                kept = np.arange(min(len(boxes), self.num_max_proposals))
                info['proposals'] = boxes[kept]
            if self.keypoints is not None:
                info['keypoints'] = (np.zeros((1, NUM_KEYPOINTS, 3), np.float32) if kept is None
                                     else self.keypoints[info['img_key']][kept])
        ann = info.pop('ann')
        info.update(gt_bboxes=ann['gt_bboxes'], gt_labels=ann['gt_labels'],
                    entity_ids=ann['entity_ids'])
        return info

    def prepare_data(self, idx: int):
        """Runs the pipeline, checking the frames of each ``RawFrameDecode``."""
        results = self.get_data_info(idx)
        if not self.check_frames:
            return self.pipeline(results)
        for transform in self.pipeline.transforms:
            if isinstance(transform, RawFrameDecode):
                results = self._decode_checked(transform, results)
            else:
                results = transform(results)
            if results is None:
                return None
        return results

    @staticmethod
    def _decode_checked(transform: RawFrameDecode, results: dict) -> dict:
        """``transform(results)``; a missing, truncated or undecodable frame raises an error
        naming its path."""
        paths = frame_paths(results)
        on_disk = transform.io_backend == 'disk'
        if on_disk:
            check_frame_files(paths, results['img_key'])
        try:
            out = transform(results)
        except Exception as err:  # cv2.error, AttributeError on None, ...: find the frame
            for path in paths if on_disk else ():
                with open(path, 'rb') as f:
                    if mmcv.imfrombytes(f.read()) is None:
                        raise AVADataError(f'{path}: frame of keyframe {results["img_key"]!r} '
                                           'is not a decodable image') from None
            raise err
        return out
