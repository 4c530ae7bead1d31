"""ava_plugins: ActivityNet-challenge methods for AVA spatio-temporal action detection.

Importing this package applies the stack compatibility fixes (:mod:`ava_plugins.compat`) and
registers every module of the project into the OpenMMLab registries (mmdet's ``MODELS`` for
RoI heads, bbox heads and their losses; mmaction2's for datasets, transforms, metrics and the
tube-slots hook; mmpose's for pose models; mmengine's ``HOOKS`` for the random-state and
stale-temporaries hooks), and makes mmengine write local files (checkpoints, last_checkpoint)
atomically (:mod:`ava_plugins.engine.atomic_backend`).
"""
from . import compat  # noqa: F401  (must come first)
from . import datasets, ensemble, evaluation, models, structures  # noqa: F401
from .engine.atomic_backend import register_atomic_local_backend
from .engine.random_state import RandomStateHook  # noqa: F401  (registers)
from .engine.tube_slots_hook import TubeSlotsHook  # noqa: F401  (registers)

register_atomic_local_backend()
from .version import __version__

__all__ = ['__version__']
