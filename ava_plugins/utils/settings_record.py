"""What changed between two settings records (the ``settings.json`` of a resumable output), as
the one line a refused rerun prints."""


def changed_settings(old: dict, new: dict) -> str:
    """``"key: <old> there, <new> now; ..."`` for every key whose value differs, sorted."""
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return '; '.join(f'{k}: {old.get(k)!r} there, {new.get(k)!r} now' for k in keys)
