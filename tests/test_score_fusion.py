"""Late fusion of recognition scores (Qiniu 2018 report, multi-modal ensembles), as a library
and through ``tools/ensemble.py --task recognition``."""
import pickle

import numpy as np
import pytest
import torch

import tool_runs
from ava_plugins.ensemble.score_fusion import (accuracy_report, fuse_recognition_dumps,
                                               fuse_scores, load_recognition_dump,
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
    return str(path)


def run_tool(*argv):
    return tool_runs.run_tool(['tools/ensemble.py', '--task', 'recognition', *argv])


# 6 classes, so that top-5 is not trivially 1; labels of the 4 videos
RGB6 = np.array([[0.40, 0.30, 0.10, 0.08, 0.07, 0.05], [0.50, 0.02, 0.20, 0.13, 0.10, 0.05],
                 [0.12, 0.20, 0.30, 0.25, 0.08, 0.05], [0.30, 0.25, 0.20, 0.15, 0.09, 0.01]])
AUDIO6 = np.array([[0.05, 0.10, 0.15, 0.20, 0.22, 0.28], [0.10, 0.60, 0.04, 0.11, 0.09, 0.06],
                   [0.30, 0.10, 0.25, 0.15, 0.12, 0.08], [0.02, 0.04, 0.08, 0.10, 0.06, 0.70]])
LABELS6 = np.array([0, 1, 2, 5])


def test_ensemble_tool_recognition_mode_by_hand(tmp_path, capsys):
    """``tools/ensemble.py --task recognition`` (``fuse_recognition_dumps``), weights 2 : 1,
    against a hand computation."""
    rgb = _dump(tmp_path / 'rgb.pkl', RGB6, LABELS6)
    audio = _dump(tmp_path / 'audio.pkl', AUDIO6, LABELS6)
    out = tmp_path / 'fused.pkl'
    reports = fuse_recognition_dumps([rgb, audio], [2, 1], out=str(out))
    # (2 * rgb + audio) / 3, row by row
    expected = np.array([[0.85, 0.70, 0.35, 0.36, 0.36, 0.38],
                         [1.10, 0.64, 0.44, 0.37, 0.29, 0.16],
                         [0.54, 0.50, 0.85, 0.65, 0.28, 0.18],
                         [0.62, 0.54, 0.48, 0.40, 0.24, 0.72]]) / 3
    fused, labels = load_recognition_dump(str(out))
    np.testing.assert_allclose(fused, expected, rtol=1e-6)
    np.testing.assert_array_equal(labels, LABELS6)
    with open(out, 'rb') as f:
        assert [int(s['pred_label']) for s in pickle.load(f)] == [0, 0, 2, 5]
    # rgb: top-1 hits videos 0, 2; the labels of videos 1 and 3 score lowest (top-5 misses).
    # audio: top-1 hits 1, 3; video 0's label scores lowest. fused: top-1 hits 0, 2, 3 (video
    # 1's label is 2nd); every label in the top 5. One video per class: mean class acc = top-1.
    assert reports[rgb] == dict(top1=0.5, top5=0.5, mean_class_accuracy=0.5)
    assert reports[audio] == dict(top1=0.5, top5=0.75, mean_class_accuracy=0.5)
    assert reports['fused'] == dict(top1=0.75, top5=1.0, mean_class_accuracy=0.75)
    fused_line = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith('fused')]
    assert fused_line[0].split() == ['fused', '0.7500', '1.0000', '0.7500']
    # equal weights by default
    equal = fuse_recognition_dumps([rgb, audio], out=str(tmp_path / 'eq.pkl'))
    np.testing.assert_allclose(load_recognition_dump(str(tmp_path / 'eq.pkl'))[0],
                               (RGB6 + AUDIO6) / 2, rtol=1e-6)
    assert equal['fused'] == accuracy_report((RGB6 + AUDIO6) / 2, LABELS6)
    # the command line; --model-weights (detection's spelling) is the same option as --weights
    cli = run_tool(rgb, audio, '--model-weights', '2', '1')
    assert cli.returncode == 0, cli.stderr[-2000:]
    assert [ln for ln in cli.stdout.splitlines() if ln.startswith('fused')] == fused_line


def test_ensemble_tool_recognition_bad_inputs(tmp_path):
    rgb = _dump(tmp_path / 'rgb.pkl', RGB, LABELS)
    # mismatched labels: a clear error naming the file and the sample
    bad = _dump(tmp_path / 'bad.pkl', AUDIO, [0, 2, 1, 2])
    out = tmp_path / 'fused.pkl'
    with pytest.raises(ValueError, match=r'bad\.pkl: sample 2 has label 1 but .*rgb\.pkl has 2'):
        fuse_recognition_dumps([rgb, bad], out=str(out))
    assert not out.exists()
    short = _dump(tmp_path / 'short.pkl', AUDIO[:3], LABELS[:3])
    with pytest.raises(ValueError, match=r'short\.pkl: 3 samples x 3 classes, but .*rgb\.pkl '
                       'has 4 x 3'):
        fuse_recognition_dumps([rgb, short])
    with pytest.raises(ValueError, match='--weights: 1 weights for 2 dumps'):
        fuse_recognition_dumps([rgb, rgb], [1])
    with pytest.raises(ValueError, match=r'nope\.pkl: recognition dump not found'):
        fuse_recognition_dumps([rgb, str(tmp_path / 'nope.pkl')])
    cut = tmp_path / 'cut.pkl'
    cut.write_bytes(open(rgb, 'rb').read()[:40])
    with pytest.raises(ValueError, match=r'cut\.pkl: not a readable pickle'):
        fuse_recognition_dumps([rgb, str(cut)])
    # detection-only options are refused in recognition mode
    cli = run_tool(rgb, rgb, '--method', 'mean')
    assert cli.returncode == 2 and 'unrecognized arguments: --method mean' in cli.stderr
