"""What runs models and jobs for the tools: runner set-up (CPU/GPU, distributed), hooks, the
resumable per-video jobs, bank extraction, the shared CLI pieces."""
from .bank_extraction import extract_bank
from .jobs import PartStore, assign_videos, run_jobs
from .launch import build_runner, init_distributed, setup_distributed
from .tube_slots_hook import TubeSlotsHook, borrowed_slots

__all__ = [
    'PartStore', 'TubeSlotsHook', 'assign_videos', 'borrowed_slots', 'build_runner',
    'extract_bank', 'init_distributed', 'run_jobs', 'setup_distributed'
]
