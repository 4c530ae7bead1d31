"""Small utilities shared across ava_plugins."""
from .atomic_io import atomic_open

__all__ = ['atomic_open']
