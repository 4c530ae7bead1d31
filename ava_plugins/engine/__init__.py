"""Runner set-up shared by the project's tools (train, test, feature extraction)."""
from .launch import build_runner, setup_distributed

__all__ = ['build_runner', 'setup_distributed']
