"""Detect persons on AVA / AVA-Kinetics keyframes with any mmdet detector, or make
class-agnostic region proposals with an mmdet RPN; write mmaction2's proposal pickle.

Everything (options, formats, resuming): :mod:`ava_plugins.engine.person_detection`; ``--help``
lists it.
"""
import sys

from ava_plugins.engine.cli import run_cli
from ava_plugins.engine.person_detection import main

if __name__ == '__main__':
    sys.exit(run_cli(main))
