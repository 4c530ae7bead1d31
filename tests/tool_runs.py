"""Running the project's tools as a user does (a subprocess), and checking their errors."""
import os
import os.path as osp
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def run_tool(args, cwd=None, timeout=300, env=None):
    """``python TOOL ARGS`` (``bash`` for ``.sh``) in the repository, with ``env`` added to the
    environment; the completed process."""
    script = args[0]
    cmd = ['bash', script, *args[1:]] if script.endswith('.sh') else [sys.executable, *args]
    return subprocess.run([str(c) for c in cmd], cwd=cwd or REPO, capture_output=True,
                          text=True, timeout=timeout,
                          env=dict(os.environ, PYTHON=sys.executable, **(env or {})))


def assert_one_error_line(out, *expected):
    """Exit status 2, no traceback, one ``error:`` line holding every ``expected`` text."""
    assert out.returncode == 2, (out.returncode, out.stderr[-3000:])
    assert 'Traceback' not in out.stderr, out.stderr[-3000:]
    errors = [line for line in out.stderr.splitlines() if 'error:' in line]
    assert len(errors) == 1, out.stderr[-3000:]
    for text in expected:
        assert text in errors[0], errors[0]


def run_ok(args, timeout=300, env=None) -> str:
    """``run_tool`` that must succeed; its standard output."""
    out = run_tool(args, timeout=timeout, env=env)
    assert out.returncode == 0, (out.returncode, out.stderr[-3000:])
    return out.stdout


def printed_map(stdout: str) -> float:
    """The ``{"mAP": ...}`` line ``tools/ensemble.py`` prints after evaluating its output."""
    import json
    lines = [line for line in stdout.splitlines() if line.startswith('{"mAP"')]
    assert lines, stdout[-2000:]
    return json.loads(lines[-1])['mAP']
