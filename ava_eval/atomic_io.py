"""The project's one way to write a file so that readers never see it half-written."""
import contextlib
import os
import os.path as osp
import tempfile
import time

from .errors import InputError

# Temporaries older than this process are left by a killed writer (see remove_stale_temporaries).
_PROCESS_START = time.time()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_open(path, mode: str = 'wb', fsync: bool = True):
    """Open a temporary file beside ``path``; on success flush, fsync and rename it to ``path``.

    On any exception the temporary file is removed and ``path`` is left as it was. The file
    gets the usual permissions (``0o666`` less the umask), not ``mkstemp``'s private ones. A
    ``path`` that is a directory is an :class:`~ava_plugins.utils.InputError`.
    """
    path = os.fspath(path)
    if osp.isdir(path):
        raise InputError(f'{path}: is a directory; expected the path of a file to write')
    directory = osp.dirname(osp.abspath(path))
    if osp.exists(directory) and not osp.isdir(directory):
        raise InputError(f'{path}: {directory} is a file, not a directory')
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f'.{osp.basename(path)}.', suffix='.tmp')
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def remove_stale_temporaries(directory, older_than: float = None) -> int:
    """Remove the temporaries that killed :func:`atomic_open` writers left in ``directory``
    (``.<name>.<random>.tmp``, modified before ``older_than``, default: when this process
    started, so that live writers of other processes keep theirs). Returns how many."""
    directory = os.fspath(directory)
    if not osp.isdir(directory):
        return 0
    cutoff = _PROCESS_START if older_than is None else older_than
    removed = 0
    for name in os.listdir(directory):
        path = osp.join(directory, name)
        if not (name.startswith('.') and name.endswith('.tmp')) or not osp.isfile(path):
            continue
        try:
            if osp.getmtime(path) < cutoff:
                os.remove(path)
                removed += 1
        except FileNotFoundError:  # removed meanwhile by another process
            pass
    return removed
