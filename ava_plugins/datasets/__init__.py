"""datasets of ava_plugins; importing it registers its modules."""
from ava_eval.errors import AVADataError, AVADataWarning
from ava_eval.keyframe_pickles import load_keypoints, load_proposals, load_tubes

from .ava_dataset import ValidatedAVADataset
from .synthetic import (SYNTHETIC_CLASSES, SyntheticAVAConfig, capability_groups,
                        generate_synthetic_ava, synthetic_ava_files)
from .transforms import LoadBankWindow, LoadLFBWindow, PadToSquare

__all__ = [
    'AVADataError', 'AVADataWarning', 'ValidatedAVADataset', 'load_keypoints', 'load_proposals',
    'load_tubes',
    'LoadBankWindow', 'LoadLFBWindow', 'PadToSquare', 'SYNTHETIC_CLASSES',
    'SyntheticAVAConfig', 'capability_groups', 'generate_synthetic_ava', 'synthetic_ava_files'
]
