"""Small utilities shared across ava_plugins."""
from .atomic_io import atomic_open
from .errors import EXIT_BAD_INPUT, InputError

__all__ = ['atomic_open', 'EXIT_BAD_INPUT', 'InputError']
