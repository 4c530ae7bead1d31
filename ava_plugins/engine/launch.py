"""Build mmengine Runners for the project's tools, on GPU or CPU-only machines.

mmengine 0.10.7's ``init_dist('pytorch')`` always calls ``torch.cuda.set_device`` and the
default ``env_cfg`` asks for NCCL, so ``tools/dist_train.sh`` fails on a machine without a GPU.
:func:`setup_distributed` picks the backend instead: NCCL where CUDA is available, otherwise gloo,
initialising the process group itself (mmengine then finds it initialised and skips its own
``init_dist``) and building DDP without ``device_ids`` as CPU modules require.
"""
import os
from typing import Optional

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.runner import Runner

from .atomic_backend import StaleTemporariesHook
from .random_state import RandomStateHook


def setup_distributed(cfg: Config) -> Config:
    """Choose the distributed backend for ``cfg.launcher`` and this machine; returns ``cfg``."""
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available():
        return cfg
    env_cfg = cfg.setdefault('env_cfg', {})
    env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel')
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    if launcher == 'pytorch' and not dist.is_initialized():
        # torchrun exports RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT.
        dist.init_process_group(backend='gloo', init_method='env://')
        os.environ.setdefault('LOCAL_RANK', os.environ.get('RANK', '0'))
    return cfg


def init_distributed(cfg: Config, launcher: str, device: Optional[str] = None):
    """Set up ``launcher`` for a tool that runs a model without a Runner (bank, detection and
    keypoint extraction): returns ``(rank, world_size, device)``, the device ``cuda:<current>``
    or ``cpu`` unless given."""
    from mmengine.dist import get_dist_info, init_dist
    cfg.launcher = launcher
    if launcher != 'none':
        setup_distributed(cfg)
        if torch.cuda.is_available():
            init_dist(launcher, **cfg.get('env_cfg', {}).get('dist_cfg', {}))
    rank, world_size = get_dist_info()
    if device is None:
        device = f'cuda:{torch.cuda.current_device()}' if torch.cuda.is_available() else 'cpu'
    return rank, world_size, device


def build_runner(cfg: Config) -> Runner:
    """Build the Runner named by ``cfg.runner_type`` (mmengine's default otherwise), with a
    :class:`~ava_plugins.engine.random_state.RandomStateHook` so that ``--resume`` restores the
    random states, and a :class:`~ava_plugins.engine.atomic_backend.StaleTemporariesHook` so
    that a training removes what writes killed in an earlier run left in its work directory."""
    setup_distributed(cfg)
    hooks = list(cfg.get('custom_hooks', None) or [])
    for hook in (RandomStateHook, StaleTemporariesHook):
        if not any(isinstance(h, dict) and h.get('type') in (hook.__name__, hook)
                   for h in hooks):
            hooks.append(dict(type=hook.__name__))
    cfg.custom_hooks = hooks
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    from mmaction.registry import RUNNERS
    return RUNNERS.build(cfg)
