"""ava_plugins: ActivityNet-challenge methods for AVA spatio-temporal action detection.

Importing this package applies the stack compatibility fixes (:mod:`ava_plugins.compat`) and
registers every module of the project into the OpenMMLab registries (mmdet's ``MODELS`` for
RoI heads, bbox heads and their losses; mmaction2's for datasets, transforms and metrics;
mmpose's for pose models).
"""
from . import compat  # noqa: F401  (must come first)
from . import datasets, ensemble, evaluation, models, structures  # noqa: F401
from .version import __version__

__all__ = ['__version__']
