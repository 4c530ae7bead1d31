"""The bad-input catalogue: malformed files fed to every entry point of the project.

Each case asserts the error class (a ``ValueError`` subclass of the project, or a tool's exit
status 2) and that the message names the file (and line, column or key) and what was
expected; where skipping is the right behaviour, that a warning counts the skipped items. Valid
inputs are checked too where a check could change results: ``ValidatedAVADataset`` builds the
same samples as mmaction2's ``AVADataset``.
"""
import os.path as osp
import pickle
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest

import ava_plugins  # noqa: F401  (registers the modules)
from ava_plugins.datasets import (AVADataError, AVADataWarning, ValidatedAVADataset,
                                  load_keypoints, load_proposals)
from ava_plugins.engine.cli import error_text, load_config, run_cli
from ava_plugins.evaluation import AVAEvalWarning, AVAInputError, evaluate_ava, read_label_map
from ava_plugins.structures import FeatureBank, FeatureBankError
from tool_runs import assert_one_error_line, run_tool

pytestmark = pytest.mark.timeout(180)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY_CONFIG = osp.join(REPO, 'tests', 'data', 'tiny_linear_slowfast.py')

LABEL_MAP = ('item {\n  name: "stand"\n  id: 1\n}\nitem {\n  name: "walk"\n  id: 2\n}\n'
             'item {\n  name: "talk"\n  id: 5\n}\n')
GT_ROWS = [
    'vidA,0902,0.100,0.100,0.500,0.900,1,0',
    'vidB,0902,0.200,0.200,0.600,0.600,2,3',
    'vidA,0902,0.500,0.200,0.900,0.800,2,1',
    'vidA,0903,0.100,0.100,0.500,0.900,1,0',
    'vidA,0902,0.100,0.100,0.500,0.900,5,0',
]
PROPOSALS = {
    'vidA,0902': np.array([[0.1, 0.1, 0.5, 0.9, 0.99], [0.5, 0.2, 0.9, 0.8, 0.95],
                           [0.0, 0.0, 0.2, 0.2, 0.3]], np.float32),
    'vidA,0903': np.array([[0.1, 0.1, 0.5, 0.9, 0.97]], np.float32),
    'vidB,0902': np.array([[0.2, 0.2, 0.6, 0.6, 0.5]], np.float32),
}


def write(path, text):
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


def dump(path, obj):
    with open(path, 'wb') as f:
        pickle.dump(obj, f)
    return str(path)


@pytest.fixture
def files(tmp_path):
    """A tiny valid AVA layout (no frames): annotations, label map, proposals, keypoints."""
    kpts = {k: np.random.default_rng(i).random((len(v), 17, 3)).astype(np.float32)
            for i, (k, v) in enumerate(PROPOSALS.items())}
    return dict(
        tmp=tmp_path,
        ann_file=write(tmp_path / 'gt.csv', '\n'.join(GT_ROWS) + '\n'),
        label_file=write(tmp_path / 'labels.pbtxt', LABEL_MAP),
        proposal_file=dump(tmp_path / 'props.pkl', PROPOSALS),
        keypoint_file=dump(tmp_path / 'kpts.pkl', kpts),
        keypoints=kpts)


def dataset(files, **kwargs):
    cfg = dict(ann_file=files['ann_file'], label_file=files['label_file'],
               proposal_file=files['proposal_file'], pipeline=[], num_classes=6,
               data_prefix=dict(img=str(files['tmp'] / 'rawframes')))
    cfg.update(kwargs)
    return ValidatedAVADataset(**cfg)


def with_rows(files, rows, name='bad.csv'):
    return write(files['tmp'] / name, '\n'.join(rows) + '\n')


def assert_same_samples(ours, ref):
    assert len(ours) == len(ref)
    for i in range(len(ref)):
        a, b = ref.get_data_info(i), ours.get_data_info(i)
        assert a.keys() == b.keys()
        for key in a:
            if isinstance(a[key], np.ndarray):
                assert a[key].dtype == b[key].dtype, key
                np.testing.assert_array_equal(a[key], b[key], err_msg=key)
            else:
                assert a[key] == b[key], key


# --- valid input: the validating dataset is mmaction2's AVADataset -------------------------


@pytest.mark.parametrize('kwargs', [{}, dict(custom_classes=[2, 5], num_classes=3)])
def test_valid_input_gives_mmaction2_samples(files, tmp_path, kwargs):
    """Interleaved rows, two boxes on one keyframe, custom classes, exclusions: same samples."""
    from mmaction.datasets import AVADataset
    excl = write(tmp_path / 'excl.csv', 'vidA,0903\n')
    common = dict(ann_file=files['ann_file'], label_file=files['label_file'],
                  proposal_file=files['proposal_file'], pipeline=[], exclude_file=excl,
                  data_prefix=dict(img='frames'), num_classes=6)
    common.update(kwargs)
    ref = AVADataset(**common)
    ours = ValidatedAVADataset(**common)
    assert_same_samples(ours, ref)
    first = ours.get_data_info(0)
    if not kwargs:  # hand-worked: boxes in order of appearance, labels merged per box
        assert first['img_key'] == 'vidA,0902'
        np.testing.assert_array_equal(first['gt_bboxes'], [[.1, .1, .5, .9], [.5, .2, .9, .8]])
        np.testing.assert_array_equal(first['gt_labels'][:, [1, 2, 5]], [[1, 0, 1], [0, 1, 0]])
        np.testing.assert_array_equal(first['proposals'], PROPOSALS['vidA,0902'][:2, :4])


# --- annotation CSVs (training / testing data) ----------------------------------------------


def test_annotation_missing_column(files):
    rows = GT_ROWS[:2] + ['vidA,0902,0.5,0.2,0.9,0.8,2']
    with pytest.raises(AVAInputError, match=r'bad\.csv, line 3: expected 8 columns'):
        dataset(files, ann_file=with_rows(files, rows))


def test_annotation_without_person_id(files):
    rows = [r.rsplit(',', 1)[0] for r in GT_ROWS]
    with pytest.raises(AVADataError, match=r'bad\.csv, line 1: expected 8 columns '
                       r'\(video_id,timestamp,x1,y1,x2,y2,action_id,person_id\), got 7'):
        dataset(files, ann_file=with_rows(files, rows))


def test_annotation_non_numeric_field(files):
    rows = GT_ROWS[:3] + ['vidA,09O3,0.1,0.1,0.5,0.9,1,0']
    with pytest.raises(AVAInputError,
                       match=r"bad\.csv, line 4, column 2: expected an integer, got '09O3'"):
        dataset(files, ann_file=with_rows(files, rows))


def test_annotation_box_outside_unit_square(files):
    rows = GT_ROWS + ['vidB,0903,12.0,30.0,200.0,220.0,1,0']  # pixels, not normalised
    with pytest.raises(AVAInputError, match=r'bad\.csv, line 6: box coordinates must be '
                       r'normalised to \[0, 1\], got x1,y1,x2,y2 = \[12\.0, 30\.0'):
        dataset(files, ann_file=with_rows(files, rows))


def test_annotation_inverted_box(files):
    rows = ['vidA,0902,0.500,0.100,0.100,0.900,1,0'] + GT_ROWS
    with pytest.raises(AVAInputError, match=r'bad\.csv, line 1: ground-truth box needs x2 > x1'):
        dataset(files, ann_file=with_rows(files, rows))


def test_annotation_action_id_beyond_classifier(files):
    """mmaction2 fails with an IndexError deep in parse_img_record; here: file, line, range."""
    rows = GT_ROWS + ['vidB,0903,0.1,0.1,0.5,0.9,80,0']
    with pytest.raises(AVADataError, match=r'bad\.csv, line 6, column 7: action id 80 is outside '
                       r'1\.\.5 \(num_classes=6'):
        dataset(files, ann_file=with_rows(files, rows))


def test_annotation_action_id_outside_label_map_is_counted(files):
    rows = GT_ROWS + ['vidB,0902,0.2,0.2,0.6,0.6,3,3', 'vidA,0903,0.1,0.1,0.5,0.9,4,0']
    with pytest.warns(AVADataWarning, match=r'bad\.csv, line 6: 2 annotation rows have action '
                      r'ids \[3, 4\] that are not in .*labels\.pbtxt'):
        ds = dataset(files, ann_file=with_rows(files, rows))
    info = {ds.get_data_info(i)['img_key']: ds.get_data_info(i) for i in range(len(ds))}
    np.testing.assert_array_equal(info['vidB,0902']['gt_labels'][0], [0, 0, 1, 1, 0, 0])


def test_annotation_duplicate_rows_are_merged_and_counted(files):
    rows = GT_ROWS + [GT_ROWS[0], GT_ROWS[2]]
    with pytest.warns(AVADataWarning, match=r'bad\.csv, line 6: 2 annotation rows repeat an '
                      r'earlier row .* merged'):
        dup = dataset(files, ann_file=with_rows(files, rows))
    assert_same_samples(dup, dataset(files))


def test_annotation_timestamp_outside_dataset_range(files):
    rows = GT_ROWS + ['vidA,1802,0.1,0.1,0.5,0.9,1,0']
    with pytest.raises(AVADataError, match=r'bad\.csv, line 6, column 2: timestamp 1802 is '
                       r'outside \[timestamp_start, timestamp_end\] = \[900, 1800\]'):
        dataset(files, ann_file=with_rows(files, rows))


def test_annotation_file_missing_and_empty(files):
    with pytest.raises(AVAInputError, match=r'nope\.csv: ground truth file not found'):
        dataset(files, ann_file=str(files['tmp'] / 'nope.csv'))
    with pytest.raises(AVADataError, match=r'empty\.csv: the annotation file has no rows'):
        dataset(files, ann_file=write(files['tmp'] / 'empty.csv', ''))


def test_excluded_timestamps_malformed(files):
    excl = write(files['tmp'] / 'excl.csv', 'vidA,0902\nvidA\n')
    with pytest.raises(AVAInputError, match=r'excl\.csv, line 2: expected 2 columns'):
        dataset(files, exclude_file=excl)


# --- label maps -----------------------------------------------------------------------------


def test_label_map_pbtxt_duplicate_id(files):
    bad = write(files['tmp'] / 'dup.pbtxt', LABEL_MAP + 'item {\n  name: "run"\n  id: 2\n}\n')
    with pytest.raises(AVAInputError, match=r'dup\.pbtxt, line 13: duplicate action id 2'):
        dataset(files, label_file=bad)


def test_label_map_txt_duplicate_id(files, tmp_path):
    bad = write(tmp_path / 'dup.txt', '1: stand\n2: walk\n1: sit\n')
    with pytest.raises(AVAInputError, match=r'dup\.txt, line 3: duplicate action id 1'):
        read_label_map(bad)
    gt = write(tmp_path / 'gt.csv', 'v,0902,0.1,0.1,0.5,0.5,1\n')
    assert_one_error_line(run_tool(['tools/eval_ava.py', gt, gt, '--label-map', bad]),
                          'dup.txt, line 3: duplicate action id 1')


def test_custom_classes_not_in_label_map(files):
    with pytest.raises(AVADataError, match=r'labels\.pbtxt: custom_classes \[7\] are not in the '
                       'label map'):
        dataset(files, custom_classes=[2, 7], num_classes=3)


# --- proposal pickles -----------------------------------------------------------------------


def test_proposals_wrong_type(files):
    bad = dump(files['tmp'] / 'list.pkl', list(PROPOSALS.values()))
    with pytest.raises(AVADataError, match=r'list\.pkl: expected a dict .* got list'):
        dataset(files, proposal_file=bad)


def test_proposals_wrong_shape(files):
    bad = dump(files['tmp'] / 'shape.pkl',
               dict(PROPOSALS, **{'vidA,0903': np.zeros((2, 6), np.float32)}))
    with pytest.raises(AVADataError, match=r"shape\.pkl: key 'vidA,0903': expected a real array "
                       r'of shape \(N, 5\).* got float32 array of shape \(2, 6\)'):
        dataset(files, proposal_file=bad)


def test_proposals_nan_score(files):
    props = {k: v.copy() for k, v in PROPOSALS.items()}
    props['vidA,0902'][1, 4] = np.nan
    bad = dump(files['tmp'] / 'nan.pkl', props)
    with pytest.raises(AVADataError, match=r"nan\.pkl: key 'vidA,0902', row 1: non-finite score"):
        dataset(files, proposal_file=bad)


def test_proposals_in_pixels(files):
    props = dict(PROPOSALS, **{'vidB,0902': np.array([[20, 30, 200, 300, 0.9]], np.float32)})
    bad = dump(files['tmp'] / 'px.pkl', props)
    with pytest.raises(AVADataError, match=r"px\.pkl: key 'vidB,0902', row 0: expected box "
                       r'coordinates normalised to \[0, 1\]'):
        dataset(files, proposal_file=bad)


def test_proposals_truncated_pickle(files):
    with open(files['proposal_file'], 'rb') as f:
        data = f.read()
    bad = files['tmp'] / 'cut.pkl'
    bad.write_bytes(data[:len(data) // 2])
    with pytest.raises(AVADataError, match=r'cut\.pkl: not a readable proposal pickle'):
        dataset(files, proposal_file=str(bad))


def test_proposal_keys_without_annotation_are_counted(files):
    """Keys of other keyframes are unused (counted); an annotated keyframe without proposals
    gets mmaction2's whole-frame box (counted); unpadded timestamps still match."""
    props = {'vidA,902': PROPOSALS['vidA,0902'], 'vidA,0903': PROPOSALS['vidA,0903'],
             'vidC,0902': PROPOSALS['vidB,0902'], 'vidA,0904': PROPOSALS['vidB,0902']}
    bad = dump(files['tmp'] / 'other.pkl', props)
    with pytest.warns(AVADataWarning) as record:
        ds = dataset(files, proposal_file=bad)
    text = [str(w.message) for w in record]
    assert any(r"2 of 4 proposal keys match no keyframe of" in t and "'vidC,0902'" in t
               for t in text), text
    assert any("1 of 3 annotated keyframes have no proposals (first 'vidB,0902')" in t
               for t in text), text
    info = {ds.get_data_info(i)['img_key']: ds.get_data_info(i) for i in range(len(ds))}
    np.testing.assert_array_equal(info['vidA,0902']['proposals'], PROPOSALS['vidA,0902'][:2, :4])
    np.testing.assert_array_equal(info['vidB,0902']['proposals'], [[0, 0, 1, 1]])


# --- keypoint files -------------------------------------------------------------------------


def test_keypoints_follow_the_kept_proposals(files):
    ds = dataset(files, keypoint_file=files['keypoint_file'])
    info = {ds.get_data_info(i)['img_key']: ds.get_data_info(i) for i in range(len(ds))}
    kpts = files['keypoints']
    # scores 0.99, 0.95, 0.3 >= 0.9: rows 0, 1; vidB's best score 0.5 < 0.9: its one row.
    np.testing.assert_array_equal(info['vidA,0902']['keypoints'], kpts['vidA,0902'][:2])
    np.testing.assert_array_equal(info['vidB,0902']['keypoints'], kpts['vidB,0902'])


def test_keypoints_out_of_step_with_proposals(files):
    kpts = dict(files['keypoints'], **{'vidA,0902': files['keypoints']['vidA,0902'][:2]})
    bad = dump(files['tmp'] / 'step.pkl', kpts)
    with pytest.raises(AVADataError, match=r"step\.pkl: key 'vidA,0902' has 2 keypoint rows but "
                       r'.*props\.pkl has 3 boxes there'):
        dataset(files, keypoint_file=bad)


def test_keypoints_missing_key_and_pixels(files):
    kpts = {k: v for k, v in files['keypoints'].items() if k != 'vidA,0903'}
    bad = dump(files['tmp'] / 'missing.pkl', kpts)
    with pytest.raises(AVADataError, match=r"missing\.pkl: out of step with .*props\.pkl: 1 "
                       r"proposal keys have no keypoints \(first 'vidA,0903'\)"):
        load_keypoints(bad, load_proposals(files['proposal_file']), files['proposal_file'])
    px = {k: v * 640 for k, v in files['keypoints'].items()}
    bad = dump(files['tmp'] / 'px.pkl', px)
    with pytest.raises(AVADataError, match=r"px\.pkl: key 'vidA,0902', row 0: expected x, y "
                       r'normalised by the frame size .*\(pixels\?\)'):
        dataset(files, keypoint_file=bad)


def test_keypoints_scores_on_a_pose_models_own_scale(files):
    """CPN's raw scores (heatmap max / 255 + 0.5: 0.5 to 1.5) are rejected with the file, key and
    row: on them ArmRoIs' [0, 1] threshold would pass every joint, seen or not."""
    raw = {k: np.concatenate([v[..., :2], v[..., 2:] + 0.5], -1) for k, v in
           files['keypoints'].items()}
    bad = dump(files['tmp'] / 'cpn.pkl', raw)
    with pytest.raises(AVADataError, match=r"cpn\.pkl: key 'vidA,0902', row 0: expected scores "
                       r'normalised to \[0, 1\], got values from 0\.5.* to 1\.[0-9]+ .*'
                       r'extract_keypoints\.py normalises'):
        dataset(files, keypoint_file=bad)


def test_keypoints_wrong_shape(files):
    kpts = dict(files['keypoints'], **{'vidB,0902': np.zeros((1, 17, 2), np.float32)})
    bad = dump(files['tmp'] / 'shape.pkl', kpts)
    with pytest.raises(AVADataError, match=r"shape\.pkl: key 'vidB,0902': expected a real array "
                       r'of shape \(N, 17, 3\)'):
        dataset(files, keypoint_file=bad)


# --- frames ---------------------------------------------------------------------------------


@pytest.fixture
def frame_dataset(tiny_ava, tmp_path):
    """A test-mode dataset over a private copy of the tiny AVA frames (8 frames x 2)."""
    from mmaction.datasets.transforms import RawFrameDecode, SampleAVAFrames
    shutil.copytree(tiny_ava['frames'], tmp_path / 'rawframes')
    pipeline = [SampleAVAFrames(clip_len=8, frame_interval=2, test_mode=True), RawFrameDecode()]
    ds = ValidatedAVADataset(ann_file=str(tiny_ava['ann_file']),
                             label_file=str(tiny_ava['label_file']),
                             proposal_file=str(tiny_ava['proposal_file']), pipeline=pipeline,
                             data_prefix=dict(img=str(tmp_path / 'rawframes')), test_mode=True)
    # keyframe 902 at 30 fps from 900, 8 frames 2 apart in test mode: frames 54, 56, ..., 68.
    frame = tmp_path / 'rawframes' / ds.get_data_info(0)['video_id'] / 'img_00060.jpg'
    return ds, frame


def test_missing_frame(frame_dataset):
    ds, frame = frame_dataset
    assert len(ds[0]['imgs']) == 8
    frame.unlink()
    with pytest.raises(AVADataError, match=rf'{frame}: frame of keyframe .*,0902.* cannot be '
                       'read .*expected an image file'):
        ds[0]


def test_truncated_jpeg_frame(frame_dataset):
    """RawFrameDecode fails on a JPEG cut in half inside OpenCV, naming no file; the check
    names the file first."""
    import cv2
    import mmcv
    ds, frame = frame_dataset
    data = frame.read_bytes()
    frame.write_bytes(data[:len(data) // 2])
    with pytest.raises(cv2.error):
        mmcv.imfrombytes(frame.read_bytes(), channel_order='rgb')
    with pytest.raises(AVADataError, match=rf'{frame}: frame of keyframe .* is truncated'):
        ds[0]


def test_undecodable_frame(frame_dataset):
    ds, frame = frame_dataset
    frame.write_bytes(b'not an image at all\xff\xd9')  # ends like a JPEG, decodes to nothing
    with pytest.raises(AVADataError, match=rf'{frame}: frame of keyframe .* is not a decodable'):
        ds[0]


def test_frame_error_from_a_dataloader_worker_is_reported_cleanly(frame_dataset):
    """The error keeps its class through a worker; the tools print its own message only."""
    from torch.utils.data import DataLoader
    ds, frame = frame_dataset
    frame.unlink()
    loader = DataLoader(ds, batch_size=1, num_workers=1, collate_fn=lambda x: x)
    with pytest.raises(AVADataError) as info:
        next(iter(loader))
    assert 'Traceback' in str(info.value)
    text = error_text(info.value)
    assert text.startswith(f'{frame}: frame of keyframe') and '\n' not in text


# --- feature bank ---------------------------------------------------------------------------


def test_truncated_bank_shard(tmp_path):
    bank = FeatureBank.create(str(tmp_path), (4, ))
    bank.write_video('vid', [900, 901, 902], np.ones((3, 4), np.float32))
    shard = bank.shard_path('vid')
    with open(shard, 'r+b') as f:
        f.truncate(osp.getsize(shard) // 2)
    with pytest.raises(FeatureBankError, match=rf'{shard}: .*truncated'):
        FeatureBank(str(tmp_path)).read_window('vid', 900, 1)


# --- evaluation inputs and tools/eval_ava.py ------------------------------------------------


@pytest.fixture
def eval_files(tmp_path):
    gt = write(tmp_path / 'gt.csv', 'v,0902,0.1,0.1,0.5,0.5,1\nv,0902,0.5,0.5,0.9,0.9,2\n')
    det = write(tmp_path / 'det.csv', 'v,0902,0.1,0.1,0.5,0.5,1,0.9\n'
                'v,0902,0.5,0.5,0.9,0.9,2,0.8\n')
    labels = write(tmp_path / 'labels.txt', '1: stand\n2: walk\n')
    return dict(tmp=tmp_path, gt=gt, det=det, labels=labels)


def test_eval_tool_missing_column(eval_files):
    bad = write(eval_files['tmp'] / 'det6.csv', 'v,0902,0.1,0.1,0.5,0.5\n')
    out = run_tool(['tools/eval_ava.py', eval_files['gt'], bad, '--label-map',
                    eval_files['labels']])
    assert_one_error_line(out, 'det6.csv, line 1: expected 8 columns')


def test_eval_tool_non_numeric_score(eval_files):
    bad = write(eval_files['tmp'] / 'det.csv', 'v,0902,0.1,0.1,0.5,0.5,1,0.9\n'
                'v,0902,0.5,0.5,0.9,0.9,2,high\n')
    out = run_tool(['tools/eval_ava.py', eval_files['gt'], bad, '--label-map',
                    eval_files['labels']])
    assert_one_error_line(out, "det.csv, line 2, column 8: expected a number, got 'high'")


def test_eval_unknown_action_ids_are_counted(eval_files):
    det = write(eval_files['tmp'] / 'det9.csv', open(eval_files['det']).read() +
                'v,0902,0.1,0.1,0.5,0.5,9,0.7\nv,0902,0.1,0.1,0.5,0.5,9,0.6\n')
    with pytest.warns(AVAEvalWarning, match=r'det9\.csv: 2 detection rows have action ids '
                      'outside the label map and are skipped'):
        result = evaluate_ava(eval_files['gt'], det, eval_files['labels'])
    assert result.mAP == 1.0


def test_eval_duplicate_ground_truth_rows_are_counted(eval_files):
    """Official semantics (each row a box; the copy is never matched) with a counted warning."""
    gt = write(eval_files['tmp'] / 'gtdup.csv', open(eval_files['gt']).read() +
               'v,0902,0.1,0.1,0.5,0.5,1\n')
    with pytest.warns(AVAEvalWarning, match=r'gtdup\.csv, line 3: 1 ground-truth rows repeat'):
        result = evaluate_ava(gt, eval_files['det'], eval_files['labels'])
    assert result.per_class[1] == pytest.approx(0.5) and result.per_class[2] == 1.0


def test_eval_detections_on_no_ground_truth_keyframe_warn(eval_files):
    """Video ids that match nothing: every AP is 0, said loudly (not a silent mAP of 0)."""
    det = write(eval_files['tmp'] / 'other.csv', 'w,0902,0.1,0.1,0.5,0.5,1,0.9\n')
    with pytest.warns(AVAEvalWarning, match=r'other\.csv: no detection lies on a ground-truth '
                      r'keyframe of .*gt\.csv'):
        assert evaluate_ava(eval_files['gt'], det, eval_files['labels']).mAP == 0


# --- tools/ensemble.py, tools/link_tubes.py -------------------------------------------------


def test_ensemble_tool_bad_inputs(eval_files, tmp_path):
    bad = write(tmp_path / 'b.csv', 'v,0902,0.1,0.1,0.5,0.5,1,0.9\nv,0902,0.1,0.1,0.5\n')
    out = run_tool(['tools/ensemble.py', eval_files['det'], bad, '--out', tmp_path / 'o.csv'])
    assert_one_error_line(out, 'b.csv, line 2: expected 8 columns')
    pkl = dump(tmp_path / 'b.pkl', {'not': 'a list'})
    out = run_tool(['tools/ensemble.py', eval_files['det'], pkl, '--out', tmp_path / 'o.csv'])
    assert_one_error_line(out, 'b.pkl: expected a list of per-keyframe')
    assert not (tmp_path / 'o.csv').exists()


def test_link_tubes_tool_bad_pickle(files, tmp_path):
    props = {k: v.copy() for k, v in PROPOSALS.items()}
    props['vidA,0903'][0, 4] = np.nan
    bad = dump(tmp_path / 'nan.pkl', props)
    out = run_tool(['tools/link_tubes.py', bad, tmp_path / 'tubes.pkl', '--span', '3'])
    assert_one_error_line(out, "nan.pkl: proposals['vidA,0903'], row 0: non-finite score")
    cut = tmp_path / 'cut.pkl'
    cut.write_bytes(open(files['proposal_file'], 'rb').read()[:40])
    out = run_tool(['tools/link_tubes.py', cut, tmp_path / 'tubes.pkl', '--span', '3'])
    assert_one_error_line(out, 'cut.pkl: not a readable proposal pickle')
    assert not (tmp_path / 'tubes.pkl').exists()


# --- configs and tools/train.py, tools/test.py ----------------------------------------------


def misspelt_config(tmp_path):
    return write(tmp_path / 'misspelt.py',
                 f'_base_ = {TINY_CONFIG!r}\n'
                 "custom_imports = dict(imports=['ava_plugin'], allow_failed_imports=False)\n")


def test_misspelt_plugin_module_train_cli(tmp_path):
    """The real command line: one line naming the key and module, exit 2, no traceback."""
    cfg = misspelt_config(tmp_path)
    out = subprocess.run([sys.executable, 'tools/train.py', cfg, '--work-dir',
                          str(tmp_path / 'w')], cwd=REPO, capture_output=True, text=True,
                         timeout=170)
    assert out.returncode == 2, out.stderr[-2000:]
    assert (f"error: {cfg}: custom_imports.imports: no module named 'ava_plugin'; did you mean "
            "'ava_plugins'?") in out.stderr
    assert 'Traceback' not in out.stderr


def test_run_cli_exit_status_and_message(tmp_path, capsys):
    """run_cli: 0 on success, 2 and one ``error:`` line for the project's input errors (a
    worker's traceback reduced to its last line), anything else propagates."""
    missing = str(tmp_path / 'nope.py')
    assert run_cli(lambda argv: load_config(argv[0]), [missing]) == 2
    assert capsys.readouterr().err == f'error: {missing}: config file not found\n'

    def worker_failure(argv):
        raise FeatureBankError('Caught FeatureBankError in DataLoader worker process 0.\n'
                               'Traceback (most recent call last):\n  File "x.py"\n'
                               f'ava_plugins.FeatureBankError: {argv[0]}: shard truncated')

    assert run_cli(worker_failure, ['b.npy']) == 2
    assert capsys.readouterr().err == 'error: b.npy: shard truncated\n'
    assert run_cli(lambda argv: None) == 0
    with pytest.raises(KeyError):
        run_cli(lambda argv: {}['x'])


def test_misspelt_plugin_module_test_tool(tmp_path):
    out = run_tool(['tools/test.py', misspelt_config(tmp_path), 'none.pth'])
    assert_one_error_line(out, "custom_imports.imports: no module named 'ava_plugin'")


def tiny_options(split_files, dataset_type='ValidatedAVADataset'):
    opts = []
    for split in ('train', 'val', 'test'):
        ds = f'{split}_dataloader.dataset'
        opts += [f'{ds}.type={dataset_type}', f'{ds}.ann_file={split_files["ann_file"]}',
                 f'{ds}.label_file={split_files["label_file"]}',
                 f'{ds}.proposal_file={split_files["proposal_file"]}',
                 f'{ds}.data_prefix.img={split_files["frames"]}']
    for split in ('val', 'test'):
        opts += [f'{split}_evaluator.ann_file={split_files["ann_file"]}',
                 f'{split}_evaluator.label_file={split_files["label_file"]}']
    return opts


def test_train_tool_on_bad_annotations(tiny_ava, tmp_path):
    rows = open(tiny_ava['ann_file']).read().splitlines()
    rows = rows[:3] + ['0f39OWEqJ24,0903,0.1,0.2,x,0.9,12,0'] + rows[3:]
    bad = write(tmp_path / 'train.csv', '\n'.join(rows) + '\n')
    out = run_tool(['tools/train.py', TINY_CONFIG, '--work-dir', tmp_path / 'w', '--cfg-options',
                    *tiny_options(dict(tiny_ava, ann_file=bad))])
    assert_one_error_line(out, f"{bad}, line 4, column 5: expected a number, got 'x'")


def test_test_tool_on_bad_proposals(tiny_ava, tmp_path):
    props = pickle.load(open(tiny_ava['proposal_file'], 'rb'))
    key = sorted(props)[0]
    props[key] = props[key][:, :3]
    bad = dump(tmp_path / 'props.pkl', props)
    out = run_tool(['tools/test.py', TINY_CONFIG, tmp_path / 'none.pth', '--work-dir',
                    tmp_path / 'w', '--cfg-options',
                    *tiny_options(dict(tiny_ava, proposal_file=bad))])
    assert_one_error_line(out, f"{bad}: key '{key}': expected a real array of shape (N, 5)")


def test_validating_dataset_adds_no_warning_on_clean_data(files):
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        ds = dataset(files, keypoint_file=files['keypoint_file'])
    assert len(ds) == 3


def test_synthetic_data_gives_mmaction2_samples_and_aligned_keypoints(tmp_path):
    """On generated AVA-format data (misses, false positives, keypoint files) the validating
    dataset builds mmaction2's samples, and its keypoints are the kept proposals' rows."""
    import json
    from mmaction.datasets import AVADataset
    from ava_plugins.datasets import generate_synthetic_ava
    paths = generate_synthetic_ava(str(tmp_path), seed=1, train_videos=1, val_videos=1,
                                   seconds=8, fps=5, size=48)
    with open(paths['meta']) as f:
        meta = json.load(f)
    common = dict(ann_file=paths['val_csv'], exclude_file=paths['val_excluded'],
                  label_file=paths['label_map'], proposal_file=paths['val_proposals'],
                  data_prefix=dict(img=paths['rawframes']), pipeline=[], num_classes=12,
                  fps=meta['fps'], timestamp_start=meta['timestamp_start'],
                  timestamp_end=meta['timestamp_end'])
    ref = AVADataset(**common)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', AVADataWarning)
        ours = ValidatedAVADataset(keypoint_file=paths['val_keypoints'], **common)
    with open(paths['val_proposals'], 'rb') as f:
        props = pickle.load(f)
    with open(paths['val_keypoints'], 'rb') as f:
        kpts = pickle.load(f)
    assert len(ours) == len(ref) > 0
    checked = 0
    for i in range(len(ref)):
        a, b = ref.get_data_info(i), ours.get_data_info(i)
        keypoints = b.pop('keypoints')
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        boxes = props.get(a['img_key'])
        if boxes is not None and len(boxes):
            kept = np.flatnonzero(boxes[:, 4] >= min(0.9, boxes[:, 4].max()))
            np.testing.assert_array_equal(keypoints, kpts[a['img_key']][kept])
            np.testing.assert_array_equal(a['proposals'], boxes[kept, :4])
            checked += len(kept)
    assert checked >= len(ref)
