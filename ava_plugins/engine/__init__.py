"""Runner set-up shared by the project's tools (train, test, feature extraction)."""
from .launch import build_runner, init_distributed, setup_distributed

__all__ = ['build_runner', 'init_distributed', 'setup_distributed']
