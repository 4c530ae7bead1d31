"""Run an AVA action detector on a video: an annotated video and the predictions as an AVA CSV.

Options and formats: :mod:`ava_plugins.apis.demo_command`; ``--help`` lists them.
"""
import sys

from ava_plugins.apis.demo_command import main
from ava_plugins.engine.cli import run_cli

if __name__ == '__main__':
    sys.exit(run_cli(main))
