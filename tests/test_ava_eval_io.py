"""Tests of the AVA evaluation readers: the fast CSV parser, errors naming file and line, the
documented, counted skips, and the numpy-only evaluation tool."""
import gzip
import os.path as osp
import subprocess
import sys
import warnings

import numpy as np
import pytest

from ava_eval import (AVAEvalWarning, AVAInputError, AVATable, evaluate_ava, read_ava_csv,
                      read_exclusions, read_label_map, write_ava_csv)
from ava_eval.csv_parser import parse_numeric_csv

from third_party_data import AVA_DATASET_DIR as DATASET_DIR, EVAL_DIR, LABEL_MAP_60

GOOD = 'v1,0902,0.1,0.2,0.5,0.6,1,0\nv1,0902,0.1,0.2,0.5,0.6,3,0\nv2,903,0,0,1,1,1,1\n'


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_fast_parser_is_bitwise_python_float(tmp_path):
    """Every value equals float(text) bit for bit, for the usual layouts and signs."""
    rng = np.random.default_rng(0)
    n = 3000
    values = rng.random((n, 4)) * 2 - 0.5
    decimals = rng.integers(0, 7, (n, 4))
    texts = [[f'{v:.{d}f}' for v, d in zip(row, ds)] for row, ds in zip(values, decimals)]
    texts[5][0] = '-0.000'
    texts[6][1] = '.5'
    lines = [f'vid{i % 7:03d}_x,{900 + i % 50:04d},{",".join(t)},{i % 80 + 1},0.{i:04d}'
             for i, t in enumerate(texts)]
    path = _write(tmp_path, 'a.csv', '\n'.join(lines))  # no final newline
    names, codes, parsed = parse_numeric_csv(path, 8, (1, 6))
    expected = np.array([[float(x) for x in line.split(',')[1:]] for line in lines]).T
    assert parsed.tobytes() == expected.tobytes()  # bitwise, -0.0 included
    assert [names[c] for c in codes] == [line.split(',')[0].encode() for line in lines]


def test_fixed_layout_columns_are_bitwise_python_float(tmp_path):
    """Columns of one layout per block (as result files are written: "0.123", "0902") take
    the column-wise path, up to 15 digits; every value still equals float(text)."""
    rng = np.random.default_rng(1)
    n = 5000
    cols = [rng.integers(0, 10**15, n) / 10**15, rng.random(n), rng.random(n) * 100, rng.random(n)]
    texts = [[f'{cols[0][i]:.14f}', f'{cols[1][i]:.3f}', f'{cols[2][i]:09.5f}',
              f'.{int(cols[3][i] * 9999):04d}'] for i in range(n)]
    lines = [f'v{i % 3},{902 + i % 7:04d},{",".join(t)},{i % 9 + 1},{i % 10}.'
             for i, t in enumerate(texts)]
    path = _write(tmp_path, 'f.csv', '\n'.join(lines) + '\n')
    _, _, parsed = parse_numeric_csv(path, 8, (1, 6))
    expected = np.array([[float(x) for x in line.split(',')[1:]] for line in lines]).T
    assert parsed.tobytes() == expected.tobytes()


@pytest.mark.parametrize('text', [
    'v,902,1e-05,0.2,0.5,0.6,1,0.5\n',          # exponent
    'v,902,0.123456789,0.2,0.5,0.6,1,0.5\nv,902,0.12345678912,0.2,0.5,0.6,1,0.5\n',  # > 8
    # characters, in two layouts
    'v,902,0.1,0.2,0.5,0.6,1,0.5\n\nv,903,0.1,0.2,0.5,0.6,1,0.5\n',  # blank line
    'v,902, 0.1,0.2,0.5,0.6,1,0.5\n',           # space
])
def test_fast_parser_declines_other_layouts_and_reader_falls_back(tmp_path, text):
    path = _write(tmp_path, 'b.csv', text)
    assert parse_numeric_csv(path, 8, (1, 6)) is None
    table = read_ava_csv(path, is_gt=False)
    first = text.split('\n')[0].split(',')
    assert table.boxes[0].tolist() == [float(x) for x in first[2:6]]
    assert table.scores[0] == float(first[7])


def test_read_gt_fixture_and_keyframe_keys(tmp_path):
    table = read_ava_csv(osp.join(DATASET_DIR, 'ava_sample.csv'), is_gt=True)
    assert len(table) == sum(1 for _ in open(osp.join(DATASET_DIR, 'ava_sample.csv')))
    assert table.timestamps.min() >= 902
    path = _write(tmp_path, 'g.csv', GOOD)
    t = read_ava_csv(path, is_gt=True)
    assert t.video_names[t.video_codes].tolist() == ['v1', 'v1', 'v2']
    assert t.timestamps.tolist() == [902, 902, 903]
    assert t.scores.tolist() == [0.0, 0.0, 1.0]  # person ids


def test_quoted_ids_fast_and_long_ids_whole(tmp_path):
    """Ids quoted as a whole ("v1", as pandas writes them) stay on the fast parser and are read
    without quotes; ids of 200 characters sharing their first 128 stay distinct."""
    path = _write(tmp_path, 'q.csv', '"v1",0902,0.1,0.2,0.5,0.6,1,0.5\n"v,2",0903,0,0,1,1,1,1\n'
                  '"v1",0902,0.1,0.2,0.5,0.6,3,0.25\n')
    assert parse_numeric_csv(_write(tmp_path, 'r.csv', '"v1",0902,0.1,0.2,0.5,0.6,1,0.5\n'),
                             8, (1, 6)) is not None
    t = read_ava_csv(path, is_gt=False)
    assert t.video_names[t.video_codes].tolist() == ['v1', 'v,2', 'v1']
    assert t.scores.tolist() == [0.5, 1.0, 0.25]
    a, b = 'x' * 128 + 'a' * 72, 'x' * 128 + 'b' * 72
    t = read_ava_csv(_write(tmp_path, 'l.csv', f'{a},902,0,0,1,1,1,0.5\n{b},902,0,0,1,1,1,0.5\n'),
                     is_gt=False)
    assert t.video_names[t.video_codes].tolist() == [a, b]


def test_mixed_ground_truth_columns_as_official(tmp_path):
    """The official reader takes 7- and 8-column ground-truth rows in one file (score 1.0
    for the 7-column ones); strict keeps the first row's column count."""
    path = _write(tmp_path, 'm.csv', 'v,902,0,0,1,1,1,5\nv,902,0,0,.5,.5,2\n')
    t = read_ava_csv(path, is_gt=True)
    assert t.scores.tolist() == [5.0, 1.0] and t.labels.tolist() == [1, 2]
    with pytest.raises(AVAInputError, match=r'm\.csv, line 2: expected 8 columns'):
        read_ava_csv(path, is_gt=True, strict=True)


def test_gzip_and_non_utf8_files_are_one_line_errors(tmp_path):
    gz = tmp_path / 'd.csv.gz'
    gz.write_bytes(gzip.compress(b'v,902,0,0,1,1,1,0.5\n'))
    with pytest.raises(AVAInputError, match=r'd\.csv\.gz: the detection file is gzip-compressed'):
        read_ava_csv(str(gz), is_gt=False)
    latin = tmp_path / 'l.csv'
    latin.write_bytes(b'v,902,0,0,1,1,1,0.5\nv\xe9,902,0,0,1,1,1,0.5\n')
    with pytest.raises(AVAInputError, match=r'l\.csv, line 2: not UTF-8 text'):
        read_ava_csv(str(latin), is_gt=False)


def test_boxes_used_as_given_are_recorded(tmp_path):
    """Default: coordinates outside [0, 1], zero-area and inverted GT boxes are read as given
    and recorded per kind (the evaluator counts them); strict refuses them (below)."""
    path = _write(tmp_path, 'g.csv', GOOD + 'v2,903,0.5,0,1.024,1,1,2\nv2,903,0.5,0,0.5,1,1,3\n'
                  'v2,903,0.5,0,0.4,1,1,4\n')
    t = read_ava_csv(path, is_gt=True)
    assert t.boxes[3].tolist() == [0.5, 0.0, 1.024, 1.0]
    assert {k: v.tolist() for k, v in t.box_rows.items()} == {
        'outside': [3], 'zero_area': [4], 'inverted': [5]}
    assert t.num_clipped == 0


@pytest.mark.parametrize('text,message', [
    (GOOD + 'v2,903,0,0,1,1\n', r'g\.csv, line 4: expected 8 columns .*got 6'),
    (GOOD + 'v2,903,0,0,1,x,1,2\n', r'g\.csv, line 4, column 6: expected a number'),
    (GOOD + 'v2,903.5,0,0,1,1,1,2\n', r'g\.csv, line 4, column 2: expected an integer'),
    (GOOD + 'v2,903,0.5,0,0.5,1,1,2\n', r'g\.csv, line 4: ground-truth box needs x2 > x1'),
    (GOOD + '\nv2,903,0.5,0,1.2,1,1,2\n', r'g\.csv, line 5: box coordinates must be norm'),
    (GOOD + 'v2,903,0.5,0,nan,1,1,2\n', r'g\.csv, line 4: box and score must be finite'),
])
def test_bad_ground_truth_names_file_and_line(tmp_path, text, message):
    path = _write(tmp_path, 'g.csv', text)
    with pytest.raises(AVAInputError, match=message):
        read_ava_csv(path, is_gt=True, strict=True)


def test_bad_detections_and_missing_files(tmp_path):
    path = _write(tmp_path, 'd.csv', 'v,902,0.1,0.2,0.5,0.6,1\n')
    with pytest.raises(AVAInputError, match=r'd\.csv, line 1: expected 8 columns'):
        read_ava_csv(path, is_gt=False)
    with pytest.raises(AVAInputError, match='nope.csv: detection file not found'):
        read_ava_csv(str(tmp_path / 'nope.csv'), is_gt=False)
    with pytest.raises(AVAInputError, match='label map file not found'):
        evaluate_ava(osp.join(EVAL_DIR, 'gt.csv'), osp.join(EVAL_DIR, 'pred.csv'),
                     str(tmp_path / 'missing.pbtxt'))


def test_label_maps_pbtxt_and_txt(tmp_path):
    pbtxt = read_label_map(osp.join(EVAL_DIR, 'action_list.txt'))
    assert pbtxt == {1: 'action1', 2: 'action2', 3: 'action3'}
    txt = read_label_map(LABEL_MAP_60)
    assert len(txt) == 60 and txt[1] == 'bend/bow (at the waist)' and 2 not in txt
    with pytest.raises(AVAInputError, match=r'l\.txt, line 2: expected "id: name"'):
        read_label_map(_write(tmp_path, 'l.txt', '1: a\nwhat\n'))
    with pytest.raises(AVAInputError, match='duplicate action id 1'):
        read_label_map(_write(tmp_path, 'm.txt', '1: a\n1: b\n'))


def test_exclusions_fixture(tmp_path):
    assert read_exclusions(osp.join(DATASET_DIR, 'ava_excluded_timestamps_sample.csv')) == [
        ('0f39OWEqJ24', 903), ('_-Z6wFjXtGQ', 902)
    ]
    with pytest.raises(AVAInputError, match=r'e\.csv, line 1: expected 2 columns'):
        read_exclusions(_write(tmp_path, 'e.csv', 'v,1,2\n'))


def test_counted_skips_warn(tmp_path):
    """Classes outside the label map, degenerate detection boxes and coordinates outside
    [0, 1] are counted in ``skipped`` and warned about with the count and the first line;
    strict clips coordinates within 1e-3 instead (the earlier rule)."""
    gt = _write(tmp_path, 'g.csv', 'v,1000,0.1,0.1,0.5,0.5,1,0\nv,1000,0.1,0.1,1.0004,0.5,99,1\n')
    det = _write(tmp_path, 'd.csv', 'v,1000,0.1,0.1,0.5,0.5,1,0.9\nv,1000,0.1,0.1,0.1,0.5,1,0.8\n'
                 'v,1000,0.1,0.1,0.5,0.5,99,0.7\nv,1000,-0.0005,0.1,0.5,0.5,1,0.6\n')
    with pytest.warns(AVAEvalWarning) as record:
        res = evaluate_ava(gt, det, {1: 'one'})
    text = ' '.join(str(w.message) for w in record)
    assert '1 ground-truth rows have action ids outside the label map' in text
    assert 'd.csv, line 2: 1 detection boxes have x2 <= x1' in text
    assert 'g.csv, line 2: 1 ground-truth rows have box coordinates outside [0, 1]' in text
    assert 'd.csv, line 4: 1 detection rows have box coordinates outside [0, 1]' in text
    assert res.skipped['det_outside_label_map'] == 1
    assert res.skipped['det_degenerate'] == 1
    assert res.skipped['det_outside_unit_box'] == 1 and res.skipped['gt_outside_unit_box'] == 1
    assert res.num_det[1] == 2
    # TP (0.9), then the duplicate at x1 = -0.0005 (IoU 0.799 with the taken box) is a FP.
    assert res.per_class == {1: 1.0}
    with pytest.warns(AVAEvalWarning) as record:
        strict = evaluate_ava(gt, det, {1: 'one'}, strict=True)
    assert any('had coordinates outside' in str(w.message) for w in record)
    assert strict.skipped['det_clipped'] == 1 and strict.per_class == {1: 1.0}


def test_no_detection_on_a_gt_keyframe_warns(tmp_path):
    gt = osp.join(EVAL_DIR, 'gt.csv')
    det = _write(tmp_path, 'd.csv', 'other,1000,0.1,0.1,0.5,0.5,1,0.9\n')
    with pytest.warns(AVAEvalWarning, match='no detection lies on a ground-truth keyframe'):
        assert evaluate_ava(gt, det, osp.join(EVAL_DIR, 'action_list.txt')).mAP == 0.0


def test_no_ground_truth_in_label_map_is_an_error(tmp_path):
    gt = _write(tmp_path, 'g.csv', 'v,1000,0.1,0.1,0.5,0.5,7,0\n')
    with pytest.raises(AVAInputError, match='no ground-truth rows of the label-map classes'):
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', AVAEvalWarning)
            evaluate_ava(gt, osp.join(EVAL_DIR, 'pred.csv'), [1, 2])


def test_write_read_round_trip(tmp_path):
    table = read_ava_csv(osp.join(EVAL_DIR, 'pred.csv'), is_gt=False)
    out = str(tmp_path / 'sub' / 'out.csv')
    write_ava_csv(out, table)
    again = read_ava_csv(out, is_gt=False)
    assert np.array_equal(again.boxes, table.boxes) and np.array_equal(again.scores, table.scores)
    assert np.array_equal(again.video_names[again.video_codes],
                          table.video_names[table.video_codes])
    assert [p.name for p in (tmp_path / 'sub').iterdir()] == ['out.csv']  # no temp left over
    mem = AVATable.from_arrays(['a', 'b'], [902, 903], [[0, 0, 1, 1], [0.1, 0.1, 0.2, 0.2]],
                               [1, 2], [0.5, 0.25])
    write_ava_csv(out, mem, decimals=4)
    assert open(out).read() == 'a,0902,0.0000,0.0000,1.0000,1.0000,1,0.5000\n' \
                               'b,0903,0.1000,0.1000,0.2000,0.2000,2,0.2500\n'


def test_eval_ava_cli_writes_json_and_plot(tmp_path, capsys):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'eval_ava', osp.join(osp.dirname(__file__), '..', 'tools', 'eval_ava.py'))
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    out, png = tmp_path / 'r.json', tmp_path / 'ap.png'
    args = [osp.join(EVAL_DIR, 'gt.csv'), osp.join(EVAL_DIR, 'pred.csv'), '--label-map',
            osp.join(EVAL_DIR, 'action_list.txt')]
    assert cli.main(args + ['--out', str(out), '--plot', str(png)]) == 0
    import json
    data = json.loads(out.read_text())
    assert data['mAP'] == pytest.approx(0.09385522, abs=1e-8)
    assert data['per_class'] == {'1': pytest.approx(15 / 88), '2': 0.0, '3': pytest.approx(1 / 9)}
    assert data['groups']['object_manipulation'] is None
    assert png.read_bytes()[:4] == b'\x89PNG'
    assert 'frame-mAP@0.5    9.39' in capsys.readouterr().out
    from ava_eval.cli import run_cli
    assert run_cli(cli.main, [args[0], str(tmp_path / 'none.csv')] + args[2:]) == 2
    assert 'none.csv: detection file not found' in capsys.readouterr().err
    wide = _write(tmp_path, 'wide.csv', open(args[1]).read().replace(',0.', ',1.0', 1))
    assert run_cli(cli.main, [args[0], wide] + args[2:]) == 0
    assert 'outside [0, 1]' in capsys.readouterr().err
    assert run_cli(cli.main, [args[0], wide] + args[2:] + ['--strict']) == 2
    assert 'box coordinates must be normalised' in capsys.readouterr().err


def test_eval_tool_imports_no_torch():
    """The evaluator and tools/eval_ava.py load numpy and the standard library only, not the
    stack that ``import ava_plugins`` registers (torch, mmengine, mmaction2, ...)."""
    heavy = ('torch', 'mmengine', 'mmcv', 'mmdet', 'mmaction', 'mmpose', 'ava_plugins')
    repo = osp.join(osp.dirname(__file__), '..')
    code = ('import runpy, sys\n'
            f'sys.argv = ["eval_ava", {osp.join(EVAL_DIR, "gt.csv")!r}, '
            f'{osp.join(EVAL_DIR, "pred.csv")!r}, "--label-map", '
            f'{osp.join(EVAL_DIR, "action_list.txt")!r}]\n'
            'try:\n    runpy.run_path("tools/eval_ava.py", run_name="__main__")\n'
            'except SystemExit as e:\n    assert not e.code, e.code\n'
            f'print(sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r}))\n'
            'import ava_eval\n'
            f'print(sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r}))\n')
    out = subprocess.run([sys.executable, '-c', code], cwd=repo, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    assert 'frame-mAP@0.5    9.39' in out.stdout
    assert lines[-2:] == ['[]', '[]'], out.stdout[-500:]
