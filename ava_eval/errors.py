"""The project's one error convention for bad user input, and every AVA error and warning class.

Every error a user can cause with a file, a line of it or an option derives from
:class:`InputError` (a ``ValueError``); its message names the file, line, key or option and
what was expected. Tools print it as one ``error:`` line and exit with :data:`EXIT_BAD_INPUT`
(:func:`ava_eval.cli.run_cli`, re-exported as ``ava_plugins.engine.cli.run_cli``); anything
else is a bug and keeps its traceback.
"""

EXIT_BAD_INPUT = 2


class InputError(ValueError):
    """Bad user input; the message names the file, line, key or option and what was expected."""


class AVAInputError(InputError):
    """Bad AVA evaluation input; the message names the file, line and what was expected."""


class AVADataError(AVAInputError):
    """Bad AVA training/testing data; the message names the file, key or line and the rule."""


class AVAEvalWarning(UserWarning):
    """Rows skipped or changed under a documented rule, or a suspicious input."""


class AVADataWarning(UserWarning):
    """Rows or keys of AVA data that are skipped or merged, with their count."""
