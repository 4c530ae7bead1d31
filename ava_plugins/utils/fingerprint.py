"""Content fingerprints, so resumable tools key their finished work on what made it (the bytes
of a checkpoint or config), not on a path that may now hold another file."""
import hashlib
import os


def file_fingerprint(path) -> str:
    """``sha256:<hex>`` of the file's bytes (read in 1 MiB chunks)."""
    h = hashlib.sha256()
    with open(os.fspath(path), 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return 'sha256:' + h.hexdigest()


def text_fingerprint(text: str) -> str:
    """``sha256:<hex>`` of ``text`` (UTF-8), e.g. a merged config's ``pretty_text``."""
    return 'sha256:' + hashlib.sha256(text.encode()).hexdigest()
