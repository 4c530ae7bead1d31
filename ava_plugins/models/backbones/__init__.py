"""Backbones; registered into mmaction2's ``MODELS``."""
from .slowfast_full_span import ResNet3dSlowFastFullSpan, full_span_indices

__all__ = ['ResNet3dSlowFastFullSpan', 'full_span_indices']
