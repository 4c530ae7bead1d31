"""evaluation of ava_plugins; importing it registers its modules.

The exact, vectorised AVA frame-mAP evaluator (:func:`evaluate_ava`), its file readers, the
per-class AP chart and :class:`AVAFrameMetric` (mmaction2 ``METRICS``, a drop-in for
mmaction2's ``AVAMetric``).
"""
from .ap_plot import plot_per_class_ap
from .ava_io import (AVAInputError, AVATable, read_ava_csv, read_exclusions, read_label_map,
                     write_ava_csv)
from .ava_metric import AVAFrameMetric
from .frame_ap import AVA_GROUPS, AVAEvalWarning, AVAResult, average_precision, evaluate_ava

__all__ = [
    'AVA_GROUPS', 'AVAEvalWarning', 'AVAFrameMetric', 'AVAInputError', 'AVAResult', 'AVATable',
    'average_precision', 'evaluate_ava', 'plot_per_class_ap', 'read_ava_csv', 'read_exclusions',
    'read_label_map', 'write_ava_csv'
]
