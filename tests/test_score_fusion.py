"""Late fusion of recognition scores (Qiniu 2018 report, multi-modal ensembles)."""
import importlib.util
import pickle

import numpy as np
import pytest
import torch

from ava_plugins.ensemble.score_fusion import (accuracy_report, fuse_scores,
                                               mean_class_accuracy, softmax)

RGB = np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.2, 0.7], [0.4, 0.4, 0.2]])
AUDIO = np.array([[0.1, 0.1, 0.8], [0.0, 0.2, 0.8], [0.3, 0.3, 0.4], [0.1, 0.1, 0.8]])
LABELS = np.array([0, 2, 2, 2])


def test_weighted_average_by_hand():
    fused = fuse_scores([RGB, AUDIO], [3, 1])
    # row 1: (3 * [0.2, 0.5, 0.3] + [0, 0.2, 0.8]) / 4
    np.testing.assert_allclose(fused[1], [0.15, 0.425, 0.425])
    np.testing.assert_allclose(fused[3], [0.325, 0.325, 0.35])
    np.testing.assert_allclose(fuse_scores([RGB, AUDIO]), (RGB + AUDIO) / 2)
    np.testing.assert_allclose(fuse_scores([RGB, AUDIO], [1, 0]), RGB)


def test_softmax_option_by_hand():
    logits = np.array([[0.0, np.log(3.0)], [np.log(2.0), np.log(2.0)]])
    np.testing.assert_allclose(softmax(logits), [[0.25, 0.75], [0.5, 0.5]])
    fused = fuse_scores([logits, np.zeros((2, 2))], [1, 1], apply_softmax=True)
    np.testing.assert_allclose(fused, [[0.375, 0.625], [0.5, 0.5]])
    # large logits do not overflow
    np.testing.assert_allclose(softmax(np.array([[1000.0, 1000.0]])), [[0.5, 0.5]])


def test_accuracies_by_hand():
    # RGB top-1: 0, 1, 2, 0 vs labels 0, 2, 2, 2 -> 2/4; top-2 adds row 1 (2nd is class 2)
    rep = accuracy_report(RGB, LABELS, (1, 2, 5))
    assert rep['top1'] == 0.5 and rep['top2'] == 0.75 and 'top5' not in rep
    # per class: class 0 1/1, class 2 1/3 -> mean 2/3 (class 1, never a label, does not count)
    assert rep['mean_class_accuracy'] == pytest.approx(2 / 3)
    fused = accuracy_report(fuse_scores([RGB, AUDIO], [1, 1]), LABELS, (1, ))
    # fused rows: [.35 .2 .45] [.1 .35 .55] [.2 .25 .55] [.25 .25 .5] -> 2, 2, 2, 2
    assert fused['top1'] == 0.75
    assert mean_class_accuracy(np.eye(3), [0, 1, 1]) == pytest.approx((1 + 0.5) / 2)


def test_bad_inputs():
    with pytest.raises(ValueError, match='shape'):
        fuse_scores([RGB, AUDIO[:, :2]])
    with pytest.raises(ValueError, match='weights'):
        fuse_scores([RGB, AUDIO], [1])
    with pytest.raises(ValueError, match='not all 0'):
        fuse_scores([RGB, AUDIO], [0, 0])


def _dump(path, scores, labels):
    with open(path, 'wb') as f:
        pickle.dump([dict(pred_score=torch.tensor(s, dtype=torch.float32),
                          gt_label=torch.tensor([int(lab)])) for s, lab in zip(scores, labels)],
                    f)


def _tool(repo_root):
    spec = importlib.util.spec_from_file_location('fuse_recognition',
                                                  repo_root / 'tools' / 'fuse_recognition.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tool_round_trip(tmp_path, repo_root, capsys):
    tool = _tool(repo_root)
    _dump(tmp_path / 'rgb.pkl', RGB, LABELS)
    _dump(tmp_path / 'audio.pkl', AUDIO, LABELS)
    out = tmp_path / 'fused.pkl'
    args = [str(tmp_path / 'rgb.pkl'), str(tmp_path / 'audio.pkl'), '--weights', '3', '1',
            '--topk', '1', '--out', str(out)]
    reports = tool.main(args)
    with open(out, 'rb') as f:
        samples = pickle.load(f)
    scores = np.stack([s['pred_score'].numpy() for s in samples])
    np.testing.assert_allclose(scores, fuse_scores([RGB, AUDIO], [3, 1]), rtol=1e-6)
    assert [int(s['gt_label']) for s in samples] == LABELS.tolist()
    assert reports[str(tmp_path / 'rgb.pkl')]['top1'] == 0.5
    top1 = accuracy_report(scores, LABELS, (1, ))['top1']
    assert reports['fused']['top1'] == top1
    fused_line = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith('fused')]
    assert f'{top1:.4f}' in fused_line[0]
    # mismatched labels: a clear error naming the file and the sample
    _dump(tmp_path / 'bad.pkl', AUDIO, [0, 2, 1, 2])
    with pytest.raises(SystemExit, match='bad.pkl: sample 2 has label 1'):
        tool.main([str(tmp_path / 'rgb.pkl'), str(tmp_path / 'bad.pkl')])
