"""mmengine's local writes made atomic, so that a training killed at any point resumes.

mmengine writes checkpoints in place (``LocalBackend.put`` opens the final name), so a run
killed while saving leaves a truncated ``epoch_N.pth`` under its final name, which ``--resume``
then picks. :class:`AtomicLocalBackend` writes through :func:`ava_plugins.utils.atomic_open`
(temporary file beside the target, fsync, rename) and is registered as mmengine's ``local``
backend when ``ava_plugins`` is imported, so every checkpoint (and anything else mmengine
``put``s to a local path) is either complete or absent.

``CheckpointHook`` then writes ``last_checkpoint`` (the path ``--resume`` reads) with a plain
``open(path, 'w')``: killed there, the file is left empty and ``--resume`` fails on the path
``''``. :func:`register_atomic_local_backend` routes that write through ``atomic_open`` too, and
:class:`StaleTemporariesHook` (added by :func:`ava_plugins.engine.build_runner`) removes the
temporaries that writers killed in an earlier run left in the work directory.
"""
import builtins

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from ava_plugins.utils import atomic_open, remove_stale_temporaries


class AtomicLocalBackend(LocalBackend):
    """``LocalBackend`` whose ``put``/``put_text`` write atomically."""

    def put(self, obj: bytes, filepath) -> None:
        with atomic_open(filepath, 'wb') as f:
            f.write(obj)

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        self.put(obj.encode(encoding), filepath)


def _open_writing_atomically(file, mode='r', *args, **kwargs):
    """``open``, except that a plain ``'w'`` write goes through ``atomic_open``."""
    if mode == 'w' and not args and not kwargs:
        return atomic_open(file, 'w')
    return builtins.open(file, mode, *args, **kwargs)


def register_atomic_local_backend() -> None:
    """Make :class:`AtomicLocalBackend` mmengine's backend for local paths and
    ``CheckpointHook``'s ``last_checkpoint`` write atomic (idempotent)."""
    import mmengine.fileio.io as io
    import mmengine.hooks.checkpoint_hook as checkpoint_hook
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
    # backends mmengine already handed out as singletons keep the old class: drop them
    for key in [k for k, v in io.backend_instances.items() if type(v) is LocalBackend]:
        del io.backend_instances[key]
    checkpoint_hook.open = _open_writing_atomically  # its one open(): last_checkpoint


@HOOKS.register_module()
class StaleTemporariesHook(Hook):
    """Before training, remove from the work directory the temporaries of writes killed in an
    earlier run (main process; only files older than this process, see
    :func:`~ava_plugins.utils.remove_stale_temporaries`)."""

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        if is_main_process():
            remove_stale_temporaries(runner.work_dir)
