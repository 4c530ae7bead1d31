"""ava_plugins.utils.atomic_open and the detection GIF writer."""
import os

import numpy as np
import pytest
from PIL import Image

from ava_plugins.utils import atomic_open
from ava_plugins.visualization import draw_detections, save_gif, top_labels


def test_failed_write_leaves_old_file_and_no_temporaries(tmp_path):
    path = tmp_path / 'out.csv'
    path.write_text('old')
    with pytest.raises(RuntimeError):
        with atomic_open(path, 'w') as f:
            f.write('new')
            raise RuntimeError('interrupted')
    assert path.read_text() == 'old'
    assert os.listdir(tmp_path) == ['out.csv']


def test_successful_write_replaces_with_usual_permissions(tmp_path):
    path = tmp_path / 'sub' / 'out.bin'
    with atomic_open(path, 'wb') as f:
        f.write(b'\x00\x01')
    assert path.read_bytes() == b'\x00\x01'
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_boxes_drawn_at_their_place_and_gif_round_trip(tmp_path):
    frame = np.zeros((40, 60, 3), dtype=np.uint8)
    box = np.array([[0.25, 0.25, 0.75, 0.75]])  # pixels x 15..45, y 10..30
    drawn = draw_detections(frame, box, [[]])
    changed = np.argwhere(drawn.any(axis=2))
    assert changed[:, 0].min() >= 9 and changed[:, 0].max() <= 31
    assert changed[:, 1].min() >= 14 and changed[:, 1].max() <= 46
    assert drawn[20, 30].sum() == 0  # inside the box, away from the edges and any text
    path = save_gif([drawn, frame], str(tmp_path / 'd.gif'), fps=5)
    with Image.open(path) as im:
        assert im.n_frames == 2 and im.size == (60, 40)
        assert im.info['duration'] == 200


def test_top_labels_keeps_best_above_threshold():
    names = {1: 'stand', 2: 'walk', 3: 'talk'}
    scores = np.array([[0.9, 0.1, 0.6], [0.2, 0.3, 0.1]])
    assert top_labels(scores, names, [1, 2, 3], thr=0.5) == [['stand 0.90', 'talk 0.60'], []]


def test_stale_temporaries_of_killed_writers_are_removed(tmp_path):
    """A killed atomic write leaves its ``.<name>.<random>.tmp``; the resumable tools remove
    those older than their own start, and keep a live writer's (newer) and other files."""
    import os
    import time

    from ava_plugins.utils import remove_stale_temporaries
    stale, live = tmp_path / '.tubes.pkl.ab12cd.tmp', tmp_path / '.tubes.pkl.ef34gh.tmp'
    other = tmp_path / 'notes.tmp'
    for path in (stale, live, other):
        path.write_bytes(b'x')
    start = time.time()
    os.utime(stale, (start - 3600, start - 3600))
    os.utime(other, (start - 3600, start - 3600))
    assert remove_stale_temporaries(tmp_path, older_than=start - 60) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])


def test_mmengine_local_backend_writes_atomically_in_the_asked_encoding(tmp_path):
    """ava_plugins makes mmengine's local backend atomic; put_text keeps mmengine's encoding."""
    import ava_plugins  # noqa: F401  (registers the backend)
    from mmengine.fileio import get_file_backend
    from ava_plugins.engine.atomic_backend import AtomicLocalBackend
    path = tmp_path / 'note.txt'
    backend = get_file_backend(str(path))
    assert isinstance(backend, AtomicLocalBackend)
    backend.put_text('caf\u00e9', str(path), encoding='latin-1')
    assert path.read_bytes() == b'caf\xe9'
