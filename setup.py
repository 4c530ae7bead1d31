"""Install ava_plugins; configs, tools and model-index are exposed under ``ava_plugins/.mim``.

This mirrors OpenMMLab's ``add_mim_extension``: on ``pip install -e .`` (or ``mim install -e .``)
``.mim`` holds symbolic links to the repository's ``configs`` and ``tools``; on a normal install
it holds copies, so ``ava_plugins::...`` config paths and ``mim train ava_plugins ...`` work.
"""
import os
import os.path as osp
import shutil
import sys
import warnings

from setuptools import setup

MIM_FILES = ['configs', 'tools', 'model-index.yml']


def add_mim_extension():
    if 'develop' in sys.argv or any(a.startswith('editable') for a in sys.argv):
        mode = 'symlink'
    elif 'sdist' in sys.argv or 'bdist_wheel' in sys.argv or 'install' in sys.argv:
        mode = 'copy'
    else:
        return
    root = osp.dirname(osp.abspath(__file__))
    mim_path = osp.join(root, 'ava_plugins', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for name in MIM_FILES:
        src = osp.join(root, name)
        tar = osp.join(mim_path, name)
        if osp.islink(tar) or osp.isfile(tar):
            os.remove(tar)
        elif osp.isdir(tar):
            shutil.rmtree(tar)
        if not osp.exists(src):
            continue
        if mode == 'symlink':
            try:
                os.symlink(osp.relpath(src, mim_path), tar)
                continue
            except OSError:
                warnings.warn(f'cannot link {src}; copying it instead')
        if osp.isdir(src):
            shutil.copytree(src, tar)
        else:
            shutil.copyfile(src, tar)


if __name__ == '__main__':
    add_mim_extension()
    setup()
