"""A config inheriting mmaction2's AVA config, with one plugin module swapped in, runs on CPU."""
import textwrap

import torch
from mmengine.config import Config
from mmengine.structures import InstanceData

MMACTION_BASE = ('mmaction::detection/slowfast/'
                 'slowfast_kinetics400-pretrained-r50_8xb6-8x8x1-cosine-10e_ava22-rgb.py')


def test_inherit_mmaction_config_and_swap_bbox_head(tmp_path):
    """`_base_ = 'mmaction::...'` + custom_imports; the swapped head's pose softmax is in force."""
    cfg_file = tmp_path / 'swap.py'
    cfg_file.write_text(textwrap.dedent(f"""
        _base_ = '{MMACTION_BASE}'
        custom_imports = dict(imports=['ava_plugins'], allow_failed_imports=False)
        model = dict(
            init_cfg=None,
            backbone=dict(
                slow_pathway=dict(base_channels=8, stage_blocks=(1, 1, 1, 1)),
                fast_pathway=dict(base_channels=1, stage_blocks=(1, 1, 1, 1))),
            roi_head=dict(bbox_head=dict(type='PoseSoftmaxBBoxHeadAVA', in_channels=288)))
        """))
    cfg = Config.fromfile(str(cfg_file))
    assert cfg.model.roi_head.bbox_head.type == 'PoseSoftmaxBBoxHeadAVA'
    assert cfg.model.backbone.type == 'mmaction.ResNet3dSlowFast'  # inherited from mmaction2

    from mmengine.registry import init_default_scope
    from mmdet.registry import MODELS
    from mmaction.structures import ActionDataSample
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model).eval()
    assert type(model.roi_head.bbox_head).__name__ == 'PoseSoftmaxBBoxHeadAVA'

    torch.manual_seed(0)
    sample = ActionDataSample()
    sample.set_metainfo(dict(img_shape=(32, 32)))
    sample.proposals = InstanceData(bboxes=torch.tensor([[2., 2., 20., 30.], [10., 0., 31., 31.]]))
    inputs = torch.randint(0, 255, (1, 3, 8, 32, 32)).float()
    with torch.no_grad():
        batch = model.data_preprocessor(dict(inputs=[inputs[0]], data_samples=[sample]))
        out = model(**batch, mode='predict')[0].pred_instances
    scores = out.scores  # (2, 81): column 0 background, AVA ids 1..80 after it
    assert scores.shape == (2, 81)
    pose_sum = scores[:, 1:15].sum(dim=1)  # AVA ids 1-14 are the pose classes
    torch.testing.assert_close(pose_sum, torch.ones(2))
    assert not torch.allclose(scores[:, 15:].sum(dim=1), torch.ones(2))
