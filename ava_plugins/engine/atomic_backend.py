"""mmengine's local file backend, writing atomically.

mmengine writes checkpoints in place (``LocalBackend.put`` opens the final name), so a run
killed while saving leaves a truncated ``epoch_N.pth`` under its final name, which ``--resume``
then picks. :class:`AtomicLocalBackend` writes through :func:`ava_plugins.utils.atomic_open`
(temporary file beside the target, fsync, rename) and is registered as mmengine's ``local``
backend when ``ava_plugins`` is imported, so every checkpoint (and anything else mmengine
``put``s to a local path) is either complete or absent.
"""
from mmengine.fileio import LocalBackend, register_backend

from ava_plugins.utils import atomic_open


class AtomicLocalBackend(LocalBackend):
    """``LocalBackend`` whose ``put``/``put_text`` write atomically."""

    def put(self, obj: bytes, filepath) -> None:
        with atomic_open(filepath, 'wb') as f:
            f.write(obj)

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        self.put(obj.encode(encoding), filepath)


def register_atomic_local_backend() -> None:
    """Make :class:`AtomicLocalBackend` mmengine's backend for local paths (idempotent)."""
    import mmengine.fileio.io as io
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
    # backends mmengine already handed out as singletons keep the old class: drop them
    for key in [k for k, v in io.backend_instances.items() if type(v) is LocalBackend]:
        del io.backend_instances[key]
