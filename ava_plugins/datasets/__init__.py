"""datasets of ava_plugins; importing it registers its modules."""
from .synthetic import (SYNTHETIC_CLASSES, SyntheticAVAConfig, capability_groups,
                        generate_synthetic_ava, synthetic_ava_files)
from .transforms import LoadLFBWindow

__all__ = [
    'LoadLFBWindow', 'SYNTHETIC_CLASSES', 'SyntheticAVAConfig', 'capability_groups',
    'generate_synthetic_ava', 'synthetic_ava_files'
]
