"""DP tube linking (ByteDance AVA 2019 report, Sec. 1.2) and ``tools/link_tubes.py``."""
import importlib.util
import os
import os.path as osp
import pickle
import sys

import numpy as np
import pytest
from mmdet.evaluation.functional import bbox_overlaps

from ava_plugins.structures import batched_iou, link_tubes, link_video, tube_linking
from ava_plugins.utils import InputError
from third_party_data import AVA_DATASET_DIR

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
FIXTURE = str(AVA_DATASET_DIR / 'ava_proposals_sample.pkl')


def _tool():
    """``tools/link_tubes.py`` as a module, registered so its workers can unpickle its jobs."""
    spec = importlib.util.spec_from_file_location('link_tubes_tool',
                                                  osp.join(ROOT, 'tools', 'link_tubes.py'))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _box(x1, y1, w, h, score):
    return [x1, y1, x1 + w, y1 + h, score]


def _brute_force(proposals, span, lam, min_iou, max_gap):
    """Per anchor, enumerate every path on each side; keep the furthest, then the best."""
    half = span // 2
    out = {}
    for t, arr in proposals.items():
        rows = np.full((len(arr), span), -1)
        for a in range(len(arr)):
            rows[a, half] = a
            for sign in (1, -1):
                best = (0, 0.0, [])  # (reach, value, [(offset, index), ...])
                stack = [(0, a, 0.0, [])]
                while stack:
                    off, i, value, path = stack.pop()
                    best = max(best, (off, value, path), key=lambda x: (x[0], x[1]))
                    prev = proposals[t + sign * off][i]
                    for d in range(1, max_gap + 2):
                        if off + d > half or (t + sign * (off + d)) not in proposals:
                            continue
                        cand = proposals[t + sign * (off + d)]
                        iou = bbox_overlaps(prev[None, :4], cand[:, :4])[0]
                        for j in np.flatnonzero(iou >= min_iou):
                            stack.append((off + d, j, value + cand[j, 4] + lam * iou[j],
                                          path + [(off + d, j)]))
                for off, j in best[2]:
                    rows[a, half + sign * off] = j
        out[t] = rows
    return out


def _random_video(rng, num_kf, max_boxes, missing=()):
    """Crowded boxes drifting slowly (several link candidates per box) with random scores;
    keyframes in ``missing`` are empty."""
    props = {}
    centres = rng.uniform(0.35, 0.65, (max_boxes, 2))
    for t in range(num_kf):
        centres = centres + rng.normal(0, 0.04, centres.shape)
        if t in missing:
            continue
        n = rng.integers(1, max_boxes + 1)
        c = centres[rng.permutation(max_boxes)[:n]]
        size = rng.uniform(0.25, 0.45, (n, 2))
        props[t] = np.concatenate([c - size / 2, c + size / 2, rng.uniform(0.1, 1, (n, 1))], 1)
    return props


def test_batched_iou_matches_mmdet():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 1, (3, 7, 2))
    b1 = np.concatenate([xy, xy + rng.uniform(0, 0.5, (3, 7, 2))], -1)
    xy = rng.uniform(0, 1, (3, 5, 2))
    b2 = np.concatenate([xy, xy + rng.uniform(0, 0.5, (3, 5, 2))], -1)
    b2[0, :2] = b1[0, :2] + 0.05  # overlapping pairs
    b1[1, 0] = b2[1, 0] = [0.3, 0.3, 0.3, 0.5]  # two empty boxes: IoU 0, not NaN
    iou = batched_iou(b1, b2)
    for k in range(3):
        # mmdet computes in float32
        np.testing.assert_allclose(iou[k],
                                   bbox_overlaps(b1[k], b2[k], eps=1e-12),
                                   rtol=1e-5,
                                   atol=1e-7)
    assert iou[0, 0, 0] > 0.3 and iou[0, 1, 1] > 0.3 and iou[1, 0, 0] == 0


@pytest.mark.parametrize('span,max_gap,lam,min_iou', [(5, 0, 1.0, 0.3), (7, 1, 0.5, 0.2),
                                                      (5, 2, 2.0, 0.1), (3, 0, 0.0, 0.4)])
def test_matches_exhaustive_search(span, max_gap, lam, min_iou):
    rng = np.random.default_rng(span + 10 * max_gap)
    props = _random_video(rng, 10, 4, missing={4})
    _, indices = link_video(props, span, lam, min_iou, max_gap)
    expected = _brute_force(props, span, lam, min_iou, max_gap)
    assert indices.keys() == expected.keys()
    for t in props:
        np.testing.assert_array_equal(indices[t], expected[t], err_msg=f'keyframe {t}')


def _crossing():
    """A moves right (score 0.6), B moves left (score 0.9), 0.1 lower; they cross at t = 3."""
    return {
        t: np.array(
            [_box(0.1 + 0.1 * t, 0.2, 0.3, 0.5, 0.6),
             _box(0.7 - 0.1 * t, 0.3, 0.3, 0.5, 0.9)])
        for t in range(7)
    }


def test_two_persons_crossing():
    # IoU(A_t, A_t+1) = IoU(B_t, B_t+1) = 0.5, IoU(A_2, B_3) = IoU(A_3, B_4) = 0.08 / 0.22.
    # Anchor A_2, forward side: AA = 1.2 + 1.0 lam, AB = 1.5 + 0.864 lam, BA = 1.5 + 0.727 lam,
    # BB = 1.8 + 0.864 lam. lam = 5 keeps the identity; lam = 0 follows the higher score.
    props = _crossing()
    tubes, idx = link_video(props, 5, lam=5.0, min_iou=0.3)
    np.testing.assert_array_equal(idx[2], [[0, 0, 0, 0, 0], [1, 1, 1, 1, 1]])
    np.testing.assert_array_equal(idx[4], [[0, 0, 0, 0, 0], [1, 1, 1, 1, 1]])
    np.testing.assert_allclose(tubes[2][0], [props[t][0] for t in range(5)])
    _, idx = link_video(props, 5, lam=0.0, min_iou=0.3)
    np.testing.assert_array_equal(idx[2][0], [0, 0, 0, 1, 1])


def test_missed_detection_in_the_middle():
    """By default a tube continues past one missed detection, with the box interpolated there.

    Would have caught tubes ending at the first keyframe without a linkable box (``max_gap=0``
    by default), which left the far keyframes of a T = 9 tube to borrow the nearest box and
    res4 volume.
    """
    props = {t: np.array([_box(0.2 + 0.02 * t, 0.2, 0.3, 0.5, 0.8)]) for t in range(9)}
    props[4] = np.array([_box(0.7, 0.1, 0.2, 0.2, 0.9)])  # the person missed, someone else found
    tubes, idx = link_video(props, 5, min_iou=0.3, max_gap=0)
    np.testing.assert_array_equal(idx[3], [[0, 0, 0, -1, -1]])  # ends at the missed keyframe
    np.testing.assert_array_equal(idx[5], [[-1, -1, 0, 0, 0]])
    assert np.isnan(tubes[3][0, 3:]).all() and np.isfinite(tubes[3][0, :3]).all()
    tubes, idx = link_video(props, 5, min_iou=0.3)
    np.testing.assert_array_equal(idx[3], [[0, 0, 0, -1, 0]])  # bridged, no detection at t = 4
    np.testing.assert_array_equal(idx[5], [[0, -1, 0, 0, 0]])
    np.testing.assert_array_equal(tubes[3][0, 4], props[5][0])
    # midpoint of the boxes at t = 3 and t = 5, by hand: x1 = 0.2 + 0.08, x2 = x1 + 0.3
    np.testing.assert_allclose(tubes[3][0, 3, :4], [0.28, 0.2, 0.58, 0.7], rtol=1e-12)
    np.testing.assert_allclose(tubes[5][0, 1, :4], [0.28, 0.2, 0.58, 0.7], rtol=1e-12)
    assert np.isnan(tubes[3][0, 3, 4]) and np.isnan(tubes[5][0, 1, 4])  # no score: no detection
    # a gap of two keyframes is bridged with boxes at 1/3 and 2/3 when allowed
    del props[4]
    props[5] = props[5][:0]
    tubes, idx = link_video(props, 9, min_iou=0.3, max_gap=2)
    np.testing.assert_array_equal(idx[3][0, 4:], [0, -1, -1, 0, 0])
    np.testing.assert_allclose(tubes[3][0, 5:7, 0], [0.2 + 0.02 * 4, 0.2 + 0.02 * 5])


def test_person_entering_and_leaving():
    still = _box(0.05, 0.1, 0.2, 0.5, 0.9)
    props = {
        t: np.array([still] + ([_box(0.5, 0.3, 0.3, 0.6, 0.7)] if 3 <= t <= 5 else []))
        for t in range(9)
    }
    _, idx = link_video(props, 5)
    np.testing.assert_array_equal(idx[3], [[0] * 5, [-1, -1, 1, 1, 1]])
    np.testing.assert_array_equal(idx[4], [[0] * 5, [-1, 1, 1, 1, -1]])
    np.testing.assert_array_equal(idx[5], [[0] * 5, [1, 1, 1, -1, -1]])


def test_min_iou_threshold_ends_tube():
    # Boxes of width 1 shifted by s: IoU = (1 - s) / (1 + s); s = 0.5 gives exactly 1/3.
    props = {
        0: np.array([[0.0, 0, 1, 1, 1]]),
        1: np.array([[0.5, 0, 1.5, 1, 1]]),
        2: np.array([[1.01, 0, 2.01, 1, 1]])
    }
    _, idx = link_video(props, 5, min_iou=1 / 3)
    np.testing.assert_array_equal(idx[0], [[-1, -1, 0, 0, -1]])
    _, idx = link_video(props, 5, min_iou=0.34)
    np.testing.assert_array_equal(idx[0], [[-1, -1, 0, -1, -1]])


def test_video_borders_and_ava_timestamps():
    props = {f'vid,{t:04d}': np.array([_box(0.3, 0.3, 0.3, 0.3, 0.9)]) for t in range(902, 906)}
    tubes = link_tubes(props, 9)
    first, last = tubes['vid,0902'][0], tubes['vid,0905'][0]
    assert np.isnan(first[:4]).all() and np.isnan(last[-4:]).all()
    np.testing.assert_array_equal(first[4:8], np.repeat(props['vid,0902'], 4, 0))
    np.testing.assert_array_equal(last[1:5], np.repeat(props['vid,0902'], 4, 0))
    assert np.isnan(first[8]).all()


def test_order_stability_and_videos_apart():
    rng = np.random.default_rng(3)
    props = _random_video(rng, 12, 5)
    base = {f'a,{t:04d}': v for t, v in props.items()}
    base.update({f'b,{t:04d}': v[::-1].copy() for t, v in props.items()})
    tubes = link_tubes(base, 5)
    assert list(tubes) == list(base)  # same keys, same order
    for t, v in props.items():
        # Reversing every keyframe's proposals reverses the tubes (no ties in random data) ...
        np.testing.assert_array_equal(tubes[f'a,{t:04d}'], tubes[f'b,{t:04d}'][::-1])
        # ... and each tube's centre row is its own proposal.
        np.testing.assert_array_equal(tubes[f'a,{t:04d}'][:, 2], v)
    again = link_tubes(base, 5)
    for k in base:
        np.testing.assert_array_equal(tubes[k], again[k])


@pytest.mark.parametrize('proposals,match', [
    ({
        'vid,0902': [[0, 0, 1, 1, 1]]
    }, r"'vid,0902'.*numpy.ndarray"),
    ({
        'vid,0902': np.zeros((3, 4))
    }, r"'vid,0902'.*shape \(N, 5\)"),
    ({
        'vid,0902': np.array([[0, 0, 1, 1, np.nan]])
    }, r"'vid,0902'.*non-finite score"),
    ({
        'vid0902': np.zeros((1, 5))
    }, r"'vid0902'.*video_id,timestamp"),
    ({
        'vid,09a2': np.zeros((1, 5))
    }, r"'vid,09a2'.*integer timestamp"),
    ({
        'vid,0902': np.array([[0.5, 0, 0.1, 1, 1]])
    }, r"'vid,0902'.*x2 < x1"),
    ({
        'vid,0902': np.zeros((1, 5)),
        'vid,902': np.zeros((1, 5))
    }, r"'vid,0902' and 'vid,902'"),
])
def test_bad_input_names_the_key(proposals, match):
    with pytest.raises(ValueError, match=match):
        link_tubes(proposals, 5)


def test_bad_parameters():
    with pytest.raises(ValueError, match='odd'):
        link_tubes({}, 4)
    with pytest.raises(ValueError, match='min_iou'):
        link_tubes({}, 5, min_iou=1.5)


def test_tool_on_mmaction2_fixture(tmp_path):
    tool = _tool()
    out = tmp_path / 'tubes.pkl'
    tool.main([FIXTURE, str(out), '--span', '3', '--min-iou', '0.5'])
    with open(FIXTURE, 'rb') as f:
        props = pickle.load(f)
    with open(out, 'rb') as f:
        tubes = pickle.load(f)
    assert list(tubes) == list(props)
    assert not osp.exists(str(out) + '.parts')
    for key, value in props.items():
        assert tubes[key].shape == (len(value), 3, 5) and tubes[key].dtype == value.dtype
        np.testing.assert_array_equal(tubes[key][:, 1], value)
    # 0902 -> 0903 of video 0f39OWEqJ24: IoU of the two boxes is 0.89, so they link.
    np.testing.assert_array_equal(tubes['0f39OWEqJ24,0902'][0, 2], props['0f39OWEqJ24,0903'][0])
    np.testing.assert_array_equal(tubes['0f39OWEqJ24,0903'][0, 0], props['0f39OWEqJ24,0902'][0])
    assert np.isnan(tubes['0f39OWEqJ24,0902'][0, 0]).all()
    assert np.isnan(tubes['_-Z6wFjXtGQ,0902'][:, [0, 2]]).all()


def test_tool_summary_counts_interpolated_and_borrowed_slots(tmp_path, capsys):
    """The tool's summary: of the slots LoadTubeRes4 samples, interpolated and box-less ones.

    Would have caught the tool saying nothing about how many tube slots have no box and so
    silently borrow another keyframe's box and res4 volume. Counted by hand for one person at
    keyframes 902, 903, 905, 906 (904 missed), T = 5: anchor 902 has boxes at 902, 903 (904
    is beyond its reach), 903 at 902, 903, 905 and 904 interpolated, 905 likewise, 906 at 905,
    906: 20 slots, 2 interpolated, 8 without a box.
    """
    props = {f'vid,{t:04d}': np.array([_box(0.2 + 0.01 * t - 9.02, 0.2, 0.3, 0.5, 0.8)],
                                      dtype=np.float32) for t in (902, 903, 905, 906)}
    src, out = tmp_path / 'props.pkl', tmp_path / 'tubes.pkl'
    with open(src, 'wb') as f:
        pickle.dump(props, f)
    _tool().main([str(src), str(out), '--span', '5'])
    err = capsys.readouterr().err
    assert 'of 20 sampled tube slots' in err
    assert '2 interpolated over a missed detection, 8 (40.0%) without a box' in err


def test_tool_resumes_and_parallel_matches(tmp_path, monkeypatch):
    rng = np.random.default_rng(5)
    props = {}
    for v in ['v0', 'v1', 'v2', 'v3']:
        props.update({f'{v},{t:04d}': a for t, a in _random_video(rng, 8, 4).items()})
    src = tmp_path / 'props.pkl'
    with open(src, 'wb') as f:
        pickle.dump(props, f)
    out = tmp_path / 'out' / 'tubes.pkl'
    tool = _tool()
    calls = []
    real = tube_linking.link_video  # the tool imports it when it links a video

    def crash_on_v2(proposals, *args):
        if len(calls) == 2:
            raise RuntimeError('interrupted')
        calls.append(proposals)
        return real(proposals, *args)

    monkeypatch.setattr(tube_linking, 'link_video', crash_on_v2)
    with pytest.raises(RuntimeError, match='interrupted'):
        tool.main([str(src), str(out), '--span', '5'])
    assert not out.exists() and len(calls) == 2
    calls.clear()
    monkeypatch.setattr(tube_linking, 'link_video', lambda p, *a: calls.append(p) or real(p, *a))
    tool.main([str(src), str(out), '--span', '5'])
    assert len(calls) == 2  # only v2 and v3 are linked again
    with open(out, 'rb') as f:
        tubes = pickle.load(f)
    expected = link_tubes(props, 5)
    assert list(tubes) == list(expected)
    for key in expected:
        np.testing.assert_array_equal(tubes[key], expected[key])

    monkeypatch.setattr(tube_linking, 'link_video', real)
    out2 = tmp_path / 'tubes2.pkl'
    tool.main([str(src), str(out2), '--span', '5', '--workers', '2'])
    with open(out2, 'rb') as f:
        parallel = pickle.load(f)
    for key in expected:
        np.testing.assert_array_equal(parallel[key], expected[key])


def test_tool_bad_input_names_the_key(tmp_path):
    src = tmp_path / 'bad.pkl'
    with open(src, 'wb') as f:
        pickle.dump({'vid,0902': np.zeros((2, 4))}, f)
    with pytest.raises(InputError, match=r"bad.pkl: proposals\['vid,0902'\].*\(N, 5\)"):
        _tool().main([str(src), str(tmp_path / 'o.pkl'), '--span', '5'])


def test_long_video_matches_exhaustive_search_locally():
    """In a 60-keyframe video, tubes whose window lies inside keyframes 20..30 equal the
    exhaustive search run on those keyframes alone."""
    rng = np.random.default_rng(1)
    props = _random_video(rng, 60, 6)
    _, idx = link_video(props, 9, 1.0, 0.3, 0)
    ref = _brute_force({t: props[t] for t in range(20, 31)}, 9, 1.0, 0.3, 0)
    for t in (24, 25, 26):
        np.testing.assert_array_equal(idx[t], ref[t], err_msg=f'keyframe {t}')


@pytest.mark.timeout(600)
def test_kill_9_at_several_points_then_resume_is_bit_identical(tmp_path):
    """SIGKILL of the tool at about 20, 50 and 80% of the videos, each time resumed: the output
    equals an uninterrupted run, the workers die with the main process (before, killing it could
    leave them running) and no temporary is left."""
    import subprocess
    import sys

    from kill_helpers import kill_at, temporaries
    rng = np.random.default_rng(7)
    props = {}
    for v in range(60):
        props.update({f'v{v:02d},{t:04d}': a for t, a in _random_video(rng, 300, 6).items()})
    src = tmp_path / 'props.pkl'
    with open(src, 'wb') as f:
        pickle.dump(props, f)
    tool = [sys.executable, osp.join(ROOT, 'tools', 'link_tubes.py'), str(src)]
    ref = tmp_path / 'ref.pkl'
    subprocess.run(tool + [str(ref), '--span', '5'], check=True, capture_output=True)
    out = tmp_path / 'out' / 'tubes.pkl'
    parts = tmp_path / 'out' / 'tubes.pkl.parts'

    def progress():
        names = os.listdir(parts) if parts.is_dir() else []
        return sum(n.endswith('.pkl') and not n.startswith('.') for n in names) / 60

    for fraction in (0.2, 0.5, 0.8):
        kill_at(tool + [str(out), '--span', '5', '--workers', '2'], progress, fraction,
                expect_children=True)
    subprocess.run(tool + [str(out), '--span', '5', '--workers', '2'], check=True,
                   capture_output=True)
    with open(ref, 'rb') as f:
        expected = pickle.load(f)
    with open(out, 'rb') as f:
        resumed = pickle.load(f)
    assert list(resumed) == list(expected)
    for key in expected:
        np.testing.assert_array_equal(resumed[key], expected[key])
    assert sorted(os.listdir(tmp_path / 'out')) == ['tubes.pkl']
    assert not temporaries(tmp_path)
