"""OpenMMLab packaging: configs/tools in ``ava_plugins/.mim``, ``ava_plugins::`` configs."""
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile

import pytest
from mmengine.config import Config

import ava_plugins  # noqa: F401  (resolves ava_plugins:: config paths)


def test_child_config_inherits_ava_plugins_config(tmp_path):
    child = tmp_path / 'child.py'
    child.write_text(
        textwrap.dedent("""
        _base_ = 'ava_plugins::linear_slowfast_r50.py'
        model = dict(roi_head=dict(bbox_head=dict(dropout_ratio=0.1)))
        """))
    cfg = Config.fromfile(str(child))
    direct = Config.fromfile(str(ava_plugins.__path__[0] + '/../configs/linear_slowfast_r50.py'))
    assert cfg.model.roi_head.bbox_head.dropout_ratio == 0.1
    cfg.model.roi_head.bbox_head.dropout_ratio = direct.model.roi_head.bbox_head.dropout_ratio
    assert cfg.model.to_dict() == direct.model.to_dict()
    assert cfg.custom_imports == dict(imports=['ava_plugins'], allow_failed_imports=False)


def test_missing_ava_plugins_config_names_the_file(tmp_path):
    child = tmp_path / 'child.py'
    child.write_text("_base_ = 'ava_plugins::no_such_config.py'\n")
    with pytest.raises(FileNotFoundError, match='no_such_config.py'):
        Config.fromfile(str(child))


def copy_sources(repo_root, dst):
    """The tracked and untracked-not-ignored files (a build replaces .mim's links by copies)."""
    files = subprocess.run(['git', 'ls-files', '--cached', '--others', '--exclude-standard'],
                           cwd=repo_root,
                           capture_output=True,
                           text=True,
                           check=True)
    for rel in files.stdout.split():
        if (repo_root / rel).is_file():
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo_root / rel, dst / rel)
    return dst


def test_wheel_ships_mim_configs_and_tools(repo_root, tmp_path):
    """A regular (non-editable) install, as `mim install .` makes, carries .mim copies."""
    src = copy_sources(repo_root, tmp_path / 'src')
    out = subprocess.run([
        sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps', '--no-build-isolation', '-w',
        str(tmp_path),
        str(src)
    ],
                         capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    wheel = next(tmp_path.glob('ava_plugins-*.whl'))
    names = set(zipfile.ZipFile(wheel).namelist())
    for rel in ('configs/linear_slowfast_r50.py', 'configs/acar_slowfast_r101.py',
                'tools/train.py', 'tools/test.py', 'tools/dist_train.sh', 'model-index.yml'):
        assert f'ava_plugins/.mim/{rel}' in names, rel
    # The numpy-only evaluator package that ava_plugins imports ships in the same wheel.
    assert {'ava_eval/__init__.py', 'ava_eval/frame_ap.py', 'ava_eval/errors.py'} <= names
    with zipfile.ZipFile(wheel) as z:
        shipped = z.read('ava_plugins/.mim/configs/linear_slowfast_r50.py')
    assert shipped == (repo_root / 'configs' / 'linear_slowfast_r50.py').read_bytes()


def test_mim_train_runs_the_installed_plugin(repo_root, tiny_ava, tmp_path):
    """`mim train ava_plugins CONFIG` finds .mim/tools/train.py of a regular install and trains."""
    from test_tools import data_options
    src = copy_sources(repo_root, tmp_path / 'src')
    site = tmp_path / 'site'
    out = subprocess.run([
        sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--no-build-isolation',
        '--target',
        str(site),
        str(src)
    ],
                         capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert (site / 'ava_plugins' / '.mim' / 'tools' / 'train.py').is_file()
    mim = os.path.join(os.path.dirname(sys.executable), 'mim')
    env = dict(os.environ, PYTHONPATH=str(site))
    work = tmp_path / 'work'
    config = str(repo_root / 'tests' / 'data' / 'tiny_linear_slowfast.py')
    out = subprocess.run([
        mim, 'train', 'ava_plugins', config, '--gpus', '0', '--launcher', 'none', '--work-dir',
        str(work), '--cfg-options', *data_options(tiny_ava), 'train_cfg.max_iters=1'
    ],
                         capture_output=True,
                         text=True,
                         env=env,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    assert str(site / 'ava_plugins' / '.mim' / 'tools' / 'train.py') in out.stdout + out.stderr
    assert (work / 'iter_1.pth').is_file()
