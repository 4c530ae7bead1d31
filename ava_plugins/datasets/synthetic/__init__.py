"""Synthetic AVA: the project's embedded default dataset (see :mod:`.generator`)."""
from .classes import (GROUPS, SYNTHETIC_CLASSES, SyntheticClass, capability_groups, class_names,
                      pose_class_ids)
from .config import SyntheticAVAConfig
from .generator import generate_synthetic_ava, synthetic_ava_files
from .stats import proposal_recall, read_person_boxes, recall_at_iou

__all__ = [
    'GROUPS', 'SYNTHETIC_CLASSES', 'SyntheticClass', 'SyntheticAVAConfig', 'capability_groups',
    'class_names', 'generate_synthetic_ava', 'pose_class_ids', 'proposal_recall',
    'read_person_boxes', 'recall_at_iou', 'synthetic_ava_files'
]
