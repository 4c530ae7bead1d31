"""The synthetic capability benchmark: plan, runs, statistics and report.

``tools/benchmarks/synthetic_capabilities.py`` is its command line and ``tools/run_demo.py``
uses its single-run functions. Not imported by ``ava_plugins`` itself (it registers nothing).
"""
from .capabilities import BASELINE, run_capability_benchmark
from .planner import Planner, Task, discover_configs
from .report import markdown_table, plot_table, read_results, report
from .statistics import aggregate, compare_claims, mean_std
from .synthetic_runs import (ensure_synthetic_data, execute, execute_bank, execute_run,
                             execute_tubes, read_data_meta)
from .task_pool import execute_tasks

__all__ = [
    'BASELINE', 'Planner', 'Task', 'aggregate', 'compare_claims', 'discover_configs',
    'ensure_synthetic_data', 'execute', 'execute_bank', 'execute_run', 'execute_tasks',
    'execute_tubes', 'markdown_table', 'mean_std', 'plot_table', 'read_data_meta',
    'read_results', 'report', 'run_capability_benchmark'
]
