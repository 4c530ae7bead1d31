"""Data transforms of ava_plugins (mmaction2 ``TRANSFORMS``)."""
from .load_lfb_window import LoadLFBWindow

__all__ = ['LoadLFBWindow']
