"""Small utilities shared across ava_plugins."""
from .atomic_io import atomic_open, remove_stale_temporaries
from .errors import EXIT_BAD_INPUT, InputError
from .fingerprint import file_fingerprint, text_fingerprint
from .settings_record import changed_settings

__all__ = [
    'atomic_open', 'remove_stale_temporaries', 'EXIT_BAD_INPUT', 'InputError', 'file_fingerprint',
    'text_fingerprint', 'changed_settings'
]
