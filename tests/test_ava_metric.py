"""Tests of AVAFrameMetric, the mmaction2 METRICS drop-in for AVAMetric."""
import json
import os
import os.path as osp
from collections import OrderedDict

import numpy as np
import pytest
import torch
from mmengine.logging import MMLogger

import ava_plugins  # noqa: F401  (registers AVAFrameMetric)
from ava_plugins.evaluation import AVAEvalWarning, AVAInputError, evaluate_ava
from ava_plugins.evaluation.ava_metric import resolve_out_dir
from mmaction.registry import METRICS

from third_party_data import EVAL_DIR
GT = osp.join(EVAL_DIR, 'gt.csv')
PRED = osp.join(EVAL_DIR, 'pred.csv')
LABELS = osp.join(EVAL_DIR, 'action_list.txt')
# mmaction2's ava_eval averages empty AVA groups (np.nanmean of []).
pytestmark = pytest.mark.filterwarnings('ignore:Mean of empty slice:RuntimeWarning')


def _samples_from_pred_csv(num_classes=4):
    """mmaction2-style data samples (normalised boxes, (N, num_classes) scores) holding
    exactly the rows of the fixture's pred.csv: one instance per distinct box per keyframe."""
    frames = OrderedDict()
    for line in open(PRED):
        v, t, *box, label, score = line.strip().split(',')
        persons = frames.setdefault((v, int(t)), OrderedDict())
        persons.setdefault(tuple(float(x) for x in box), {})[int(label)] = float(score)
    samples = []
    for (v, t), persons in frames.items():
        boxes = torch.tensor(list(persons), dtype=torch.float32)
        scores = torch.zeros(len(persons), num_classes)
        for i, labels in enumerate(persons.values()):
            for label, score in labels.items():
                scores[i, label] = score
        samples.append(dict(video_id=v, timestamp=t,
                            pred_instances=dict(bboxes=boxes, scores=scores)))
    return samples


def test_metric_equals_evaluator_and_mmaction2(tmp_path, monkeypatch):
    samples = _samples_from_pred_csv()
    cfg = dict(ann_file=GT, exclude_file=None, label_file=LABELS, num_classes=4)
    ours = METRICS.build(dict(type='AVAFrameMetric', out_dir=str(tmp_path / 'work'), **cfg))
    ours.process(None, samples)
    metrics = ours.evaluate(len(samples))
    expected = evaluate_ava(GT, PRED, LABELS)
    assert metrics['mAP/overall'] == expected.mAP
    assert metrics['mAP/overall'] == pytest.approx(0.09385522, abs=1e-8)
    assert metrics['mAP/person_movement'] == expected.groups['person_movement']
    assert np.isnan(metrics['mAP/object_manipulation'])
    assert ours.last_result.per_class == expected.per_class

    monkeypatch.chdir(tmp_path)  # mmaction2's AVAMetric writes into the current directory
    theirs = METRICS.build(dict(type='AVAMetric', **cfg))
    theirs.process(None, samples)
    assert theirs.evaluate(len(samples))['mAP/overall'] == pytest.approx(
        metrics['mAP/overall'], abs=1e-6)

    files = sorted(os.listdir(tmp_path / 'work'), key=lambda f: osp.splitext(f)[1])
    assert [osp.splitext(f)[1] for f in files] == ['.csv', '.json', '.png']
    with open(tmp_path / 'work' / files[1]) as f:
        saved = json.load(f)
    assert saved['mAP'] == expected.mAP
    assert saved['per_class'] == {str(k): v for k, v in expected.per_class.items()}
    with open(tmp_path / 'work' / files[2], 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def test_outputs_go_to_the_log_dir_and_table_is_logged(tmp_path):
    log_file = tmp_path / 'work_dir' / '20260101_000000' / '20260101_000000.log'
    log_file.parent.mkdir(parents=True)
    MMLogger.get_instance('ava_frame_metric_test', log_file=str(log_file))
    assert resolve_out_dir() == str(log_file.parent)
    metric = METRICS.build(dict(type='AVAFrameMetric', ann_file=GT, exclude_file=None,
                                label_file=LABELS, num_classes=3, custom_classes=[1, 3],
                                save_plot=False))
    samples = _samples_from_pred_csv()
    for s in samples:  # outputs 1, 2 of the classifier are the original classes 1, 3
        s['pred_instances']['scores'] = s['pred_instances']['scores'][:, [0, 1, 3]]
    metric.process(None, samples)
    with pytest.warns(AVAEvalWarning, match='3 ground-truth rows have action ids outside'):
        metrics = metric.evaluate(len(samples))
    assert set(metric.last_result.per_class) == {1, 3}
    with pytest.warns(AVAEvalWarning):
        expected = evaluate_ava(GT, PRED, {1: 'action1', 3: 'action3'})
    assert metrics['mAP/overall'] == expected.mAP
    written = sorted(os.listdir(log_file.parent))
    assert any(f.endswith('.csv') for f in written) and any(f.endswith('.json') for f in written)
    with open(log_file) as f:
        log = f.read()
    assert 'frame-mAP@0.5' in log and 'action3' in log and 'action2' not in log


def test_bad_config_is_a_clear_error():
    with pytest.raises(ValueError, match="options must be \\('mAP',\\)"):
        METRICS.build(dict(type='AVAFrameMetric', ann_file=GT, exclude_file=None,
                           label_file=LABELS, options=('recall', )))
    with pytest.raises(ValueError, match='custom_classes has 2 ids but num_classes - 1 = 80'):
        METRICS.build(dict(type='AVAFrameMetric', ann_file=GT, exclude_file=None,
                           label_file=LABELS, custom_classes=[1, 3]))


def test_keyframe_without_boxes_adds_no_rows(tmp_path):
    """A keyframe with no proposal (0 boxes) contributes nothing and does not crash."""
    metric = METRICS.build(dict(type='AVAFrameMetric', ann_file=GT, label_file=LABELS,
                                exclude_file=None, num_classes=4, out_dir=str(tmp_path)))
    empty = dict(video_id='3reY9zJKhqN', timestamp=1774,
                 pred_instances=dict(bboxes=torch.zeros(0, 4), scores=torch.zeros(0, 4)))
    metric.process({}, [empty] + _samples_from_pred_csv())
    assert len(metric.results) == 1 + len(_samples_from_pred_csv())
    first = metric.results[0]
    assert first['boxes'].shape == (0, 4) and first['labels'].size == first['scores'].size == 0
    with_empty = metric.compute_metrics(metric.results)
    metric.results = metric.results[1:]
    np.testing.assert_equal(metric.compute_metrics(metric.results), with_empty)  # NaN == NaN


def test_strict_refuses_boxes_the_default_uses_as_given(tmp_path):
    """A ground-truth x2 of 1.024: the default scores it as the official evaluator does (equal
    to evaluate_ava on the same files); strict=True stops with the line named."""
    gt = tmp_path / 'gt.csv'
    gt.write_text(open(GT).read().replace('0.278,0.203,0.964,', '0.278,0.203,1.024,', 1))
    samples = _samples_from_pred_csv()
    cfg = dict(type='AVAFrameMetric', ann_file=str(gt), exclude_file=None, label_file=LABELS,
               num_classes=4, save_plot=False)
    metric = METRICS.build(dict(cfg, out_dir=str(tmp_path / 'a')))
    metric.process(None, samples)
    with pytest.warns(AVAEvalWarning, match=r'gt\.csv, line 1: 1 ground-truth rows have box '
                      r'coordinates outside \[0, 1\]'):
        metrics = metric.evaluate(len(samples))
    with pytest.warns(AVAEvalWarning):
        assert metrics['mAP/overall'] == evaluate_ava(str(gt), PRED, LABELS).mAP
    strict = METRICS.build(dict(cfg, out_dir=str(tmp_path / 'b'), strict=True))
    strict.process(None, samples)
    with pytest.raises(AVAInputError, match=r'gt\.csv, line 1: box coordinates must be norm'):
        strict.evaluate(len(samples))
