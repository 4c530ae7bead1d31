"""Every tool answers bad input with one ``error:`` line and exit status 2, never a traceback;
``--help`` documents every option, shows the usage docstring, and is quick for the light tools.

Each case below was a traceback (or a crash after writing the output) before: a missing config
or checkpoint, ``--canvas`` without ``--feature acar``, an uncaught ``ConversionError``, a
missing audio source, ``dist_train.sh`` without the GPU count, an empty proposal file, a bad
``--configs`` value, an output path that is a directory or a file.
"""
import ast
import os.path as osp
import pickle
import re
import subprocess
import sys
import time

import numpy as np
import pytest

from third_party_data import EVAL_DIR
from tool_runs import assert_one_error_line, run_tool

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, 'tests', 'data', 'tiny_linear_slowfast.py')


def test_model_tools_name_the_missing_file(tmp_path):
    missing = str(tmp_path / 'nope.py')
    for tool, args in [('tools/extract_bank.py', [missing, 'ck.pth', '--out', str(tmp_path)]),
                       ('tools/detect_persons.py', [missing, 'none', '--frames', str(tmp_path),
                                                    '--out', str(tmp_path / 'p.pkl')]),
                       ('tools/extract_keypoints.py', [missing, 'none', '--frames',
                                                       str(tmp_path), '--proposals', 'p.pkl',
                                                       '--out', str(tmp_path / 'k.pkl')])]:
        assert_one_error_line(run_tool([tool, *args]), missing, 'config file not found')
    ckpt = str(tmp_path / 'nope.pth')
    assert_one_error_line(run_tool(['tools/extract_bank.py', CONFIG, ckpt, '--out',
                                    str(tmp_path / 'bank')]), ckpt, 'checkpoint not found')
    assert_one_error_line(run_tool(['tools/convert_acar_checkpoint.py', ckpt,
                                    str(tmp_path / 'out.pth')]), ckpt)
    assert not (tmp_path / 'out.pth').exists()


def test_option_and_source_errors(tmp_path):
    assert_one_error_line(run_tool(['tools/extract_bank.py', CONFIG, 'ck.pth', '--out', 'b',
                                    '--canvas', '4', '4']), '--canvas', 'acar')
    src = str(tmp_path / 'no_audio')
    assert_one_error_line(run_tool(['tools/extract_audio_features.py', src,
                                    str(tmp_path / 'o')]), src)
    assert_one_error_line(run_tool(['tools/benchmarks/synthetic_capabilities.py', '--configs',
                                    'no_such_head', '--dry-run', '--work-dir', str(tmp_path)]),
                          "'no_such_head' matches no head config")


def test_demo_checks_its_config_before_generating_data(tmp_path):
    """A bad --config failed only after the synthetic set had been generated."""
    missing = str(tmp_path / 'nope.py')
    out = run_tool(['tools/run_demo.py', '--config', missing, '--data', str(tmp_path / 'data'),
                    '--work-dir', str(tmp_path / 'work')])
    assert_one_error_line(out, missing, 'config file not found')
    assert not (tmp_path / 'data').exists()


def test_test_tool_refuses_show_dir(tmp_path):
    """``--show-dir`` raised a KeyError for every shipped config; it is not offered now."""
    out = run_tool(['tools/test.py', CONFIG, 'ck.pth', '--show-dir', str(tmp_path)])
    assert_one_error_line(out, 'unrecognized arguments: --show-dir')


def test_distributed_launchers_need_the_process_count():
    for script, args in [('tools/dist_train.sh', ['configs/linear_slowfast_r50.py']),
                         ('tools/dist_test.sh', ['configs/linear_slowfast_r50.py', 'ck.pth']),
                         ('tools/dist_train.sh', ['configs/linear_slowfast_r50.py', 'eight'])]:
        out = run_tool([script, *args], timeout=60)
        assert_one_error_line(out, 'GPUS', f'usage: {script}')


def test_output_paths_that_cannot_be_written(tmp_path):
    folder = tmp_path / 'a_folder'
    folder.mkdir()
    eval_args = [str(EVAL_DIR / 'gt.csv'), str(EVAL_DIR / 'pred.csv'), '--label-map',
                 str(EVAL_DIR / 'action_list.txt')]
    assert_one_error_line(run_tool(['tools/eval_ava.py', *eval_args, '--out', str(folder)]),
                          str(folder), 'is a directory')
    props = tmp_path / 'p.pkl'
    with open(props, 'wb') as f:
        pickle.dump({'vid,0902': np.array([[0.1, 0.1, 0.5, 0.5, 0.9]], np.float32)}, f)
    assert_one_error_line(run_tool(['tools/link_tubes.py', str(props), str(folder), '--span',
                                    '3']), str(folder), 'is a directory')
    a_file = tmp_path / 'a_file'
    a_file.write_text('keep me')
    assert_one_error_line(run_tool(['tools/make_synthetic_ava.py', '--out', str(a_file)]),
                          str(a_file), 'is a file')
    assert a_file.read_text() == 'keep me'


def test_link_tubes_on_an_empty_proposal_file(tmp_path):
    """Before, the output was written and the tool then crashed removing parts never made."""
    props = tmp_path / 'empty.pkl'
    with open(props, 'wb') as f:
        pickle.dump({}, f)
    out = run_tool(['tools/link_tubes.py', str(props), str(tmp_path / 'tubes.pkl'), '--span',
                    '3'])
    assert out.returncode == 0, out.stderr[-3000:]
    with open(tmp_path / 'tubes.pkl', 'rb') as f:
        assert pickle.load(f) == {}


HELP_TOOLS = ['convert_acar_checkpoint', 'convert_dataset', 'demo_video', 'detect_persons',
              'ensemble', 'eval_ava', 'extract_audio_features', 'extract_bank',
              'extract_keypoints', 'link_tubes', 'make_synthetic_ava', 'run_demo', 'test', 'train']


def undocumented_options(help_text: str) -> list:
    """The entries of an argparse ``--help`` (positional arguments and options sections) that
    carry no help text: an entry line with nothing after its invocation, not followed by an
    indented continuation line."""
    lines = help_text.splitlines()
    missing, in_section = [], False
    for i, line in enumerate(lines):
        if re.match(r'^(positional arguments|options|optional arguments):$', line):
            in_section = True
            continue
        if in_section and not line.strip():
            in_section = False
        if not in_section or not re.match(r'^  \S', line):
            continue
        has_text = re.match(r'^  \S.*?\s{2,}\S', line)
        follows = i + 1 < len(lines) and re.match(r'^\s{6,}\S', lines[i + 1])
        if not has_text and not follows:
            missing.append(line.strip())
    return missing


def test_undocumented_options_are_found():
    text = ('usage: t [-h] [--a A] [--b B] x\n\npositional arguments:\n  x           the input\n'
            '\noptions:\n  -h, --help  show this help message and exit\n  --a A\n'
            '  --b B       documented\n  --a-very-long-option-name VALUE\n'
            '                        on the next line\n\nThe epilog.\n')
    assert undocumented_options(text) == ['--a A']


@pytest.mark.parametrize('tool', HELP_TOOLS)
def test_help_documents_every_option_and_shows_the_usage_docstring(tool):
    """Options without help text (7 of 11 in extract_bank) and docstrings never shown before."""
    out = run_tool([f'tools/{tool}.py', '--help'], timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert not undocumented_options(out.stdout), f'{tool}: {undocumented_options(out.stdout)}'
    with open(osp.join(REPO, 'tools', f'{tool}.py')) as f:
        first_line = ast.get_docstring(ast.parse(f.read())).strip().splitlines()[0]
    assert first_line in out.stdout


@pytest.mark.parametrize('tool', ['eval_ava', 'link_tubes', 'ensemble'])
def test_numpy_only_tools_answer_help_at_once(tool):
    """They imported torch and the whole stack first (6-7 s here)."""
    start = time.perf_counter()
    out = run_tool([f'tools/{tool}.py', '--help'])
    elapsed = time.perf_counter() - start
    assert out.returncode == 0 and 'usage:' in out.stdout
    probe = subprocess.run([sys.executable, '-X', 'importtime', f'tools/{tool}.py', '--help'],
                           cwd=REPO, capture_output=True, text=True)
    imported = {line.rsplit('|', 1)[-1].strip() for line in probe.stderr.splitlines()
                if line.startswith('import time:')}
    assert 'argparse' in imported and not imported & {'torch', 'mmengine', 'mmaction'}, \
        sorted(imported & {'torch', 'mmengine', 'mmaction'})
    assert elapsed < 5, elapsed  # generous for a loaded machine; the torch check is the test
