"""The pinned OpenMMLab stack imports and works through ava_plugins' compatibility fixes."""
import importlib
import io
import os
import subprocess
import sys

import numpy as np
import pytest
import torch


def test_import_order_plugin_then_stack():
    """``import ava_plugins`` then every OpenMMLab model package, in a fresh interpreter."""
    code = ('import ava_plugins, mmaction.models, mmdet.models, mmpose.models, mmcv.ops; '
            'import torch, mmcv, mmdet, mmaction, mmpose, mmengine; '
            'print(torch.__version__, mmcv.__version__, mmdet.__version__, '
            'mmaction.__version__, mmpose.__version__, mmengine.__version__)')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    versions = out.stdout.split()
    assert versions[1:] == ['2.1.0', '3.3.0', '1.2.0', '1.3.2', '0.10.7']
    if not os.environ.get('AVA_TORCH'):  # the pinned torch unless the user chose another
        assert versions[0].split('+')[0] == '2.14.1'


def test_mmcv_compiled_roi_align_matches_torchvision():
    """mmcv's compiled RoIAlign (used by AVA RoI heads) agrees with torchvision's."""
    from mmcv.ops import RoIAlign
    from torchvision.ops import roi_align
    torch.manual_seed(0)
    feat = torch.randn(2, 3, 16, 16)
    rois = torch.tensor([[0, 1.0, 2.0, 10.0, 12.0], [1, 0.5, 0.5, 15.0, 9.0]])
    ours = RoIAlign((7, 7), spatial_scale=1.0, sampling_ratio=2, aligned=True)(feat, rois)
    ref = roi_align(feat, rois, (7, 7), spatial_scale=1.0, sampling_ratio=2, aligned=True)
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)


def test_missing_drn_gives_clear_error_and_is_not_registered():
    import ava_plugins  # noqa: F401
    from mmaction.registry import MODELS
    drn = importlib.import_module('mmaction.models.localizers.drn.drn')
    with pytest.raises(ImportError, match='mmaction2#2714'):
        drn.DRN()
    assert MODELS.get('DRN') is None


def test_checkpoint_numpy_meta_loads_but_arbitrary_objects_stay_refused(tmp_path):
    """torch's weights_only stays on: only the numpy types mmengine stores are allowed."""
    import ava_plugins  # noqa: F401
    from mmengine.runner import load_checkpoint
    meta = dict(seed=np.int64(3), hist=np.arange(4, dtype=np.float32), lr=np.float64(0.1))
    path = tmp_path / 'ckpt.pth'
    model = torch.nn.Linear(2, 2)
    torch.save(dict(state_dict=model.state_dict(), meta=meta), path)
    ckpt = load_checkpoint(torch.nn.Linear(2, 2), str(path), map_location='cpu')
    np.testing.assert_array_equal(ckpt['meta']['hist'], meta['hist'])
    assert ckpt['meta']['seed'] == 3

    class Evil:
        def __reduce__(self):
            return (print, ('pwned',))

    class SneakyGetattr:
        """Uses the getattr allowed for HistoryBuffer statistics to reach something else."""

        def __reduce__(self):
            return (getattr, (HistoryBuffer, '__init__'))

    from mmengine.logging.history_buffer import HistoryBuffer
    for obj, message in ((Evil(), 'Weights only load failed'),
                         (SneakyGetattr(), 'only the statistics methods')):
        buf = io.BytesIO()
        torch.save({'x': obj}, buf)
        buf.seek(0)
        with pytest.raises(Exception, match=message):
            torch.load(buf)


def test_mmaction_misc_inf_alias_is_local_to_mmaction():
    import ava_plugins  # noqa: F401
    import mmaction.utils.misc as misc
    assert misc.np.Inf == np.inf
    assert not hasattr(np, 'Inf')
