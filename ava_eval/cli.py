"""The tools' runner: every tool's one error convention for bad input (stdlib only).

:func:`run_cli` prints an :class:`~ava_eval.errors.InputError` as one ``error:`` line and
returns exit status 2; ``ava_plugins.engine.cli`` re-exports it for the tools that need the
OpenMMLab stack.
"""
import sys
from typing import Callable, Optional, Sequence

from .errors import EXIT_BAD_INPUT, InputError


def error_text(err: BaseException) -> str:
    """The message of ``err``; for an error re-raised from a dataloader worker (its message
    holds the worker's traceback) the original error's last line."""
    text = str(err)
    if 'Traceback (most recent call last)' in text:
        last = text.rstrip().splitlines()[-1]
        text = last.split(': ', 1)[1] if ': ' in last else last
    return text


def run_cli(main: Callable, argv: Optional[Sequence[str]] = None) -> int:
    """Run a tool's ``main(argv)``; an :class:`~ava_eval.errors.InputError` (bad config, AVA
    file, bank, checkpoint, output path, ...) is printed as one ``error:`` line on stderr and
    gives :data:`~ava_eval.errors.EXIT_BAD_INPUT`; any other exception is a bug and propagates.

    Returns the exit status (``main``'s own if it returns an int, else 0), for
    ``sys.exit(run_cli(main))``.
    """
    try:
        status = main(argv)
    except InputError as err:
        print(f'error: {error_text(err)}', file=sys.stderr)
        return EXIT_BAD_INPUT
    return status if isinstance(status, int) else 0
