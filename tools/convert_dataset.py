"""Convert one's own videos and action annotations into the AVA layout the configs read.

Options and formats: :mod:`ava_plugins.conversion.command`; ``--help`` lists them.
"""
import sys

from ava_plugins.conversion.command import main
from ava_plugins.engine.cli import run_cli

if __name__ == '__main__':
    sys.exit(run_cli(main))
