"""Runner set-up shared by the project's tools (train, test, feature extraction) and hooks."""
from .launch import build_runner, init_distributed, setup_distributed
from .tube_slots_hook import TubeSlotsHook, borrowed_slots

__all__ = [
    'TubeSlotsHook', 'borrowed_slots', 'build_runner', 'init_distributed', 'setup_distributed'
]
