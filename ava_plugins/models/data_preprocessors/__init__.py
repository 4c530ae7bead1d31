"""Data preprocessors of ava_plugins (registered into mmaction2's ``MODELS``)."""
from .mean_pad import MeanPadDataPreprocessor

__all__ = ['MeanPadDataPreprocessor']
