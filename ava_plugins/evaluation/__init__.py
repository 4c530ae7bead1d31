"""evaluation of ava_plugins; importing it registers its modules.

:class:`AVAFrameMetric` (mmaction2 ``METRICS``, a drop-in for mmaction2's ``AVAMetric``), and
the numpy-only evaluator of :mod:`ava_eval` re-exported: the exact, vectorised AVA frame-mAP
(:func:`evaluate_ava`), its file readers and the per-class AP chart.
"""
from ava_eval import (AVA_GROUPS, AVAEvalWarning, AVAInputError, AVAResult, AVATable,
                      average_precision, evaluate_ava, plot_per_class_ap, read_ava_csv,
                      read_exclusions, read_label_map, write_ava_csv)
from .ava_metric import AVAFrameMetric

__all__ = [
    'AVA_GROUPS', 'AVAEvalWarning', 'AVAFrameMetric', 'AVAInputError', 'AVAResult', 'AVATable',
    'average_precision', 'evaluate_ava', 'plot_per_class_ap', 'read_ava_csv', 'read_exclusions',
    'read_label_map', 'write_ava_csv'
]
