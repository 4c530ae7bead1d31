"""datasets of ava_plugins; importing it registers its modules."""
from .ava_dataset import AVADataWarning, ValidatedAVADataset
from .keypoints_io import AVADataError, load_keypoints, load_proposals
from .synthetic import (SYNTHETIC_CLASSES, SyntheticAVAConfig, capability_groups,
                        generate_synthetic_ava, synthetic_ava_files)
from .transforms import LoadBankWindow, LoadLFBWindow, PadToSquare

__all__ = [
    'AVADataError', 'AVADataWarning', 'ValidatedAVADataset', 'load_keypoints', 'load_proposals',
    'LoadBankWindow', 'LoadLFBWindow', 'PadToSquare', 'SYNTHETIC_CLASSES',
    'SyntheticAVAConfig', 'capability_groups', 'generate_synthetic_ava', 'synthetic_ava_files'
]
