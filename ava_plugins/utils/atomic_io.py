"""The project's one way to write a file so that readers never see it half-written."""
import contextlib
import os
import os.path as osp
import tempfile


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_open(path, mode: str = 'wb', fsync: bool = True):
    """Open a temporary file beside ``path``; on success flush, fsync and rename it to ``path``.

    On any exception the temporary file is removed and ``path`` is left as it was. The file
    gets the usual permissions (``0o666`` less the umask), not ``mkstemp``'s private ones.
    """
    path = os.fspath(path)
    directory = osp.dirname(osp.abspath(path))
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
