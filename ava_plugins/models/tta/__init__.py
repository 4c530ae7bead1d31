"""Test-time augmentation (scales x flip) for AVA detectors; importing it registers
``AVATTAModel`` in mmaction2's ``MODELS``."""
from .ava_tta_model import (MERGE_MODES, TTA_META_KEYS, AVATTAModel, ava_tta_pipeline,
                            boxes_to_original)

__all__ = ['AVATTAModel', 'MERGE_MODES', 'TTA_META_KEYS', 'ava_tta_pipeline', 'boxes_to_original']
