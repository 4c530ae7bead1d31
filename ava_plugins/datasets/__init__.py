"""datasets of ava_plugins; importing it registers its modules."""
from .synthetic import (SYNTHETIC_CLASSES, SyntheticAVAConfig, capability_groups,
                        generate_synthetic_ava, synthetic_ava_files)

__all__ = [
    'SYNTHETIC_CLASSES', 'SyntheticAVAConfig', 'capability_groups', 'generate_synthetic_ava',
    'synthetic_ava_files'
]
