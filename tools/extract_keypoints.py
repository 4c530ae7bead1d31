"""Run a top-down mmpose model on every proposal box; write keypoints row-aligned with them.

Everything (options, formats, resuming): :mod:`ava_plugins.engine.keypoint_extraction`; ``--help``
lists it.
"""
import sys

from ava_plugins.engine.cli import run_cli
from ava_plugins.engine.keypoint_extraction import main

if __name__ == '__main__':
    sys.exit(run_cli(main))
