"""Every tiny head config of ``configs/synthetic`` trains the linear baseline's backbone, BN mode,
optimiser and gradient clipping, so that the capability benchmark compares heads only."""
from pathlib import Path

import pytest
import torch
from mmaction.registry import MODELS
from mmaction.utils import register_all_modules
from mmengine.config import Config

import ava_plugins  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
SYNTHETIC = REPO / 'configs' / 'synthetic'
BASELINE = 'linear_slowfast_tiny.py'
# (test-time augmentation wrappers of a config are not heads)
HEADS = sorted(p.name for p in SYNTHETIC.glob('*.py')
               if p.name != BASELINE and not p.name.endswith('_tta.py'))
# Multi-sec stage 2 trains its head on the stage-1 backbone it loads (the report's two stages):
# the stages its real config freezes stay frozen.
FROZEN_STAGES = {'multisec_t5_slowfast_tiny.py': 3, 'multisec_t9_slowfast_tiny.py': 3,
                 'multisec_t9_slowfast_tiny_maxpool.py': 3}

register_all_modules()
torch.set_num_threads(2)


def load(name):
    cfg = Config.fromfile(str(SYNTHETIC / name))
    cfg.model.init_cfg = None
    return cfg


def backbone_cfg(cfg, name):
    backbone = cfg.model.backbone.to_dict()
    frozen = FROZEN_STAGES.get(name)
    for path in ('slow_pathway', 'fast_pathway'):
        if frozen is not None:
            assert backbone[path].pop('frozen_stages') == frozen
    return backbone


def bn_statistics_update(model, frozen_stages=-1):
    """Forward a random clip through ``model.backbone`` in ``train()``; the BN layers whose
    running mean moved / all BN layers outside the frozen stages."""
    model.train()
    bns = {}
    for name, module in model.backbone.named_modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            stage = next((int(part[5:]) for part in name.split('.')
                          if part.startswith('layer') and part[5:].isdigit()), 0)
            if stage > frozen_stages:
                bns[name] = module.running_mean.clone()
    with torch.no_grad():
        model.backbone(torch.randn(2, 3, 8, 64, 64))
    modules = dict(model.backbone.named_modules())
    moved = [n for n, before in bns.items() if not torch.equal(modules[n].running_mean, before)]
    trainable = [n for n in bns if modules[n].weight.requires_grad]
    return moved, trainable, list(bns)


def test_the_baseline_bn_trains():
    """The reference itself: every BN of the baseline's backbone updates its statistics."""
    torch.manual_seed(0)
    model = MODELS.build(load(BASELINE).model)
    moved, trainable, bns = bn_statistics_update(model)
    assert len(bns) > 20 and moved == bns and trainable == bns


@pytest.mark.parametrize('name', HEADS)
def test_tiny_heads_train_the_baselines_backbone_and_optimiser(name):
    """Backbone and optimiser settings equal the baseline's, and the built model's backbone BN
    layers update their running statistics in ``train()`` and have trainable weights.

    Would have caught: ``acar_slowfast_tiny.py`` / ``acfb_slowfast_tiny.py`` inheriting the
    pretrained recipe's frozen BN (``norm_eval=True``) while training from scratch (BN stays the
    identity), a wider backbone, res5 dilation, Nesterov SGD without clipping."""
    base, cfg = load(BASELINE), load(name)
    assert backbone_cfg(cfg, name) == backbone_cfg(base, BASELINE)
    assert cfg.optim_wrapper.to_dict() == base.optim_wrapper.to_dict()
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    moved, trainable, bns = bn_statistics_update(model, FROZEN_STAGES.get(name, -1))
    assert len(bns) > 4 and moved == bns and trainable == bns
