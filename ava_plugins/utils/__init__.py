"""Small utilities shared across ava_plugins.

The error convention and atomic writes live in the numpy-only :mod:`ava_eval` (so that the
evaluator and its tool import without torch) and are re-exported here.
"""
from ava_eval.atomic_io import atomic_open, remove_stale_temporaries
from ava_eval.errors import EXIT_BAD_INPUT, InputError

from .fingerprint import file_fingerprint, text_fingerprint
from .settings_record import changed_settings

__all__ = [
    'atomic_open', 'remove_stale_temporaries', 'EXIT_BAD_INPUT', 'InputError', 'file_fingerprint',
    'text_fingerprint', 'changed_settings'
]
