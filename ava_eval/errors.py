"""The project's one error convention for bad user input.

Every error a user can cause with a file, a line of it or an option derives from
:class:`InputError` (a ``ValueError``); its message names the file, line, key or option and
what was expected. Tools print it as one ``error:`` line and exit with :data:`EXIT_BAD_INPUT`
(:func:`ava_eval.cli.run_cli`, re-exported as ``ava_plugins.engine.cli.run_cli``); anything
else is a bug and keeps its traceback.
"""

EXIT_BAD_INPUT = 2


class InputError(ValueError):
    """Bad user input; the message names the file, line, key or option and what was expected."""
