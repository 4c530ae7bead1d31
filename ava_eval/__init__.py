"""ava_eval: the AVA frame-mAP evaluator and the stdlib pieces it needs, numpy only.

Importing it (or ``tools/eval_ava.py``) loads neither torch nor the OpenMMLab stack, unlike
``import ava_plugins``, which registers every module of the project. Here: the exact,
vectorised evaluator (:func:`evaluate_ava`, ActivityNet AVA protocol), the AVA file readers
and writer, the per-class AP chart, and the project's error convention
(:class:`~ava_eval.errors.InputError`), atomic writes and tool runner, which ``ava_plugins``
re-exports (``ava_plugins.evaluation``, ``ava_plugins.utils``, ``ava_plugins.engine.cli``).
"""
from .ap_plot import plot_per_class_ap
from .ava_io import (AVAInputError, AVATable, read_ava_csv, read_exclusions, read_label_map,
                     write_ava_csv)
from .frame_ap import AVA_GROUPS, AVAEvalWarning, AVAResult, average_precision, evaluate_ava

__all__ = [
    'AVA_GROUPS', 'AVAEvalWarning', 'AVAInputError', 'AVAResult', 'AVATable',
    'average_precision', 'evaluate_ava', 'plot_per_class_ap', 'read_ava_csv', 'read_exclusions',
    'read_label_map', 'write_ava_csv'
]
