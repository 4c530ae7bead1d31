"""The package map of the README's "Architecture" section, checked on the source: the ground
floor ``ava_eval`` imports no stack, each folder of ``ava_plugins`` imports only the layers
below it, the library never loads a tool, tests never load tools by
path (they call the library, or run a tool as a user does)."""
import ast
import os
import os.path as osp
from collections import defaultdict

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

#: Subpackages of ava_plugins from the bottom up; a module may import its own layer and below.
LAYERS = [
    {'version', 'utils', 'compat'},
    {'structures', 'evaluation', 'models', 'visualization'},
    {'datasets', 'ensemble'},
    {'engine'},
    {'benchmarks', 'apis'},
    {'conversion'},
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def python_files(folder):
    for root, _, names in os.walk(osp.join(REPO, folder)):
        for name in sorted(names):
            if name.endswith('.py'):
                yield osp.join(root, name)


def imported_modules(path):
    """Absolute names of the modules ``path`` imports (relative imports resolved)."""
    rel = osp.relpath(path, REPO)[:-3].replace(os.sep, '.')
    package = rel[:-len('.__init__')] if rel.endswith('.__init__') else rel.rpartition('.')[0]
    out = []
    for node in ast.walk(ast.parse(open(path).read(), path)):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')[:len(package.split('.')) - node.level + 1]
                module = '.'.join(base + ([node.module] if node.module else []))
                names = [module] if node.module else [f'{module}.{a.name}' for a in node.names]
                out += names
            else:
                out.append(node.module)
    return out


def subpackage(module):
    parts = module.split('.')
    return parts[1] if len(parts) > 1 else None


def test_layers_import_only_downwards():
    edges = defaultdict(set)
    for path in python_files('ava_plugins'):
        src = subpackage(osp.relpath(path, REPO)[:-3].replace(os.sep, '.'))
        if src in (None, '__init__'):
            continue  # the package __init__ imports everything (it registers every module)
        for module in imported_modules(path):
            if module.startswith('ava_plugins.'):
                dst = subpackage(module)
                if dst != src:
                    edges[(src, dst)].add(osp.relpath(path, REPO))
    unknown = {s for pair in edges for s in pair} - set(RANK)
    assert not unknown, f'subpackages missing from LAYERS: {sorted(unknown)}'
    upward = {f'{a} -> {b}': sorted(files) for (a, b), files in edges.items()
              if RANK[b] > RANK[a]}
    assert not upward, upward


def test_the_ground_floor_imports_no_stack():
    """``ava_eval`` (AVA file formats, errors, atomic writes, the evaluator) imports neither
    ``ava_plugins`` nor torch nor the OpenMMLab stack, so its tools start at once."""
    heavy = {'ava_plugins', 'torch', 'mmengine', 'mmcv', 'mmdet', 'mmaction', 'mmpose'}
    found = {osp.relpath(path, REPO): sorted({m.split('.')[0] for m in imported_modules(path)}
                                             & heavy)
             for path in python_files('ava_eval')}
    assert not any(found.values()), {k: v for k, v in found.items() if v}


@pytest.mark.parametrize('folder', ['ava_plugins', 'tests'])
def test_nothing_loads_a_tool_by_path(folder):
    offenders = []
    for path in python_files(folder):
        text = open(path).read()
        if folder == 'ava_plugins' and ('tools' in [m.split('.')[0] for m in
                                                    imported_modules(path)]
                                        or 'spec_from_file_location' in text
                                        or 'runpy' in text):
            offenders.append(path)
        # kill_helpers runs a tool as a program (its __main__, in a subprocess of its own) with
        # a fault injected: that is a user's run, not an import of the tool
        program_runs = ('run_path(' in text and osp.basename(path) == 'kill_helpers.py')
        if folder == 'tests' and osp.basename(path) != osp.basename(__file__) and (
                'spec_from_file_location' in text or "'tools'))" in text
                or ('run_path(' in text and not program_runs)):
            offenders.append(path)
    assert not offenders, offenders


def test_the_checks_see_an_upward_import(tmp_path, monkeypatch):
    """The layer check finds a module of a lower layer importing a higher one."""
    pkg = tmp_path / 'ava_plugins' / 'utils'
    pkg.mkdir(parents=True)
    (pkg / 'bad.py').write_text('from ..engine import jobs\nimport ava_plugins.benchmarks\n')
    monkeypatch.setattr(__import__(__name__), 'REPO', str(tmp_path))
    assert imported_modules(str(pkg / 'bad.py')) == ['ava_plugins.engine',
                                                     'ava_plugins.benchmarks']
    with pytest.raises(AssertionError, match=r"utils -> (engine|benchmarks)"):
        test_layers_import_only_downwards()
