"""tools/setup_env.sh: two clones share the cached stack but each imports only its own code;
a missing interpreter is one clear error.

``tools/setup_env.sh`` builds the OpenMMLab stack once per machine; each clone's ``.venv`` is its
own venv on top of it. Before, ``.venv`` was a link to the shared environment whose editable
install followed the clone that last ran ``make``: clone A then imported clone B's code, or a
deleted clone's. This test would have caught that.
"""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _checkout(dst: Path) -> Path:
    """The repository's files as a clone has them (tracked and new, not ignored)."""
    names = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard', '-z'], cwd=REPO,
                           capture_output=True, check=True).stdout.decode().split('\0')
    for name in filter(None, names):
        if (REPO / name).is_file():
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, dst / name)
    return dst


def _setup(clone: Path) -> None:
    out = subprocess.run(['bash', 'tools/setup_env.sh'], cwd=clone, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr[-3000:]


def _run(clone: Path, code: str) -> str:
    out = subprocess.run([str(clone / '.venv' / 'bin' / 'python'), '-c', code], cwd='/',
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip()


def _imported_from(clone: Path) -> Path:
    return Path(_run(clone, 'import ava_plugins; print(ava_plugins.__file__)')).resolve()


@pytest.mark.timeout(600)
def test_each_clone_imports_itself(tmp_path):
    if not (REPO / '.venv' / '.ava_plugins_clone').is_file():
        pytest.skip('the suite runs outside an environment made by tools/setup_env.sh')
    a = _checkout(tmp_path / 'a')
    b = _checkout(tmp_path / 'b')
    _setup(a)
    _setup(b)  # the clone that ran last must not take over the other one
    assert _imported_from(a).is_relative_to(a.resolve())
    assert _imported_from(b).is_relative_to(b.resolve())
    # The stack's console scripts run this clone's interpreter, so they see this clone too.
    for script in ('torchrun', 'mim'):
        first = (a / '.venv' / 'bin' / script).read_text().splitlines()[0]
        assert first == f'#!{a / ".venv" / "bin" / "python"}'
    shutil.rmtree(b)
    assert _imported_from(a).is_relative_to(a.resolve())
    assert _run(a, 'import ava_plugins, mmaction.models; print("ok")') == 'ok'


def test_missing_interpreter_is_one_line_naming_the_override(tmp_path):
    """Before, a machine without ``python3.11`` got bash's "command not found" mid-script."""
    env = dict(os.environ, AVA_PYTHON=str(tmp_path / 'no-such-python'),
               AVA_CACHE_DIR=str(tmp_path / 'cache'))
    out = subprocess.run(['bash', str(REPO / 'tools' / 'setup_env.sh')], env=env,
                         capture_output=True, text=True)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: ') and 'AVA_PYTHON' in lines[0]
    assert not (tmp_path / 'cache').exists()
