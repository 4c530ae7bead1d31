"""ensemble of ava_plugins: combining several models' AVA results.

Readers for result CSVs and test-tool dumps, per-class weights from validation AP (ACAR-Net
2020), box fusion (ByteDance 2019), class-subset replacement (Fujitsu 2020) and plain
averaging, all through :func:`combine_results`. ``tools/ensemble.py`` is the command line.
"""
from ..structures.boxes import elementwise_iou as pair_iou  # its former name here
from .box_fusion import fuse_boxes
from .class_selection import ClassSelection, select_classes_by_gain
from .combine import combine_results
from .result_io import dump_to_table, load_results
from .score_fusion import accuracy_report, fuse_scores, load_recognition_dump
from .weights import (EnsembleWeights, fit_class_weights, load_weights, replacement_weights,
                      save_weights, uniform_weights)

__all__ = [
    'accuracy_report', 'fuse_scores', 'load_recognition_dump',
    'ClassSelection', 'EnsembleWeights', 'combine_results', 'dump_to_table',
    'fit_class_weights', 'fuse_boxes', 'load_results', 'load_weights', 'pair_iou',
    'replacement_weights', 'save_weights', 'select_classes_by_gain', 'uniform_weights'
]
