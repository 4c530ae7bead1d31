"""mmaction2's rawframes layout, the one home of where a video's frames are.

``ROOT/<video_id>/img_00001.jpg`` (``filename_tmpl``, first index ``start_index``), at ``fps``
frames a second; the keyframe of second ``t`` is frame ``(t - start) * fps + start_index``
(``AVADataset`` / ``SampleAVAFrames``), ``start`` being ``timestamp_start`` (AVA: 900) or, for
AVA-Kinetics clips named ``<youtube_id>_<start>_<end>``, the clip's start
(``AVAKineticsDataset.get_timestamp``). The keyframe tools address frames through
:func:`keyframe_path` (their ``--frames``, ``--fps``, ``--timestamp-start``, ``--timestamp-end``,
``--filename-tmpl`` and ``--start-index``), ``ValidatedAVADataset`` checks the files a clip
reads with :func:`frame_paths` and :func:`check_frame_files`.
"""
import os
import os.path as osp
from types import SimpleNamespace
from typing import List, Tuple

import numpy as np

from ava_eval.errors import AVADataError

# Last bytes of a complete file, by extension (JPEG end-of-image marker, PNG IEND chunk).
_END_MARKERS = {'.jpg': b'\xff\xd9', '.jpeg': b'\xff\xd9', '.png': b'IEND\xaeB`\x82'}


def clip_start(video: str, args) -> Tuple[int, int]:
    """(start, end) seconds of a video, by mmaction2's ``AVAKineticsDataset`` naming rule."""
    from mmaction.datasets import AVAKineticsDataset
    return AVAKineticsDataset.get_timestamp(
        SimpleNamespace(timestamp_start=args.timestamp_start, timestamp_end=args.timestamp_end),
        video)


def keyframe_path(video: str, timestamp: int, args) -> str:
    """Path of the keyframe of second ``timestamp`` of ``video``."""
    start, _ = clip_start(video, args)
    index = (timestamp - start) * args.fps + args.start_index
    return osp.join(args.frames, video, args.filename_tmpl.format(index))


def frame_paths(results: dict) -> List[str]:
    """The files ``RawFrameDecode`` reads for ``results`` (RGB: one per frame, Flow: x and y)."""
    inds = np.unique(np.ravel(results['frame_inds']) + results.get('offset', 0))
    tmpl, directory = results['filename_tmpl'], results['frame_dir']
    if results.get('modality', 'RGB') == 'Flow':
        return [osp.join(directory, tmpl.format(d, int(i))) for i in inds for d in ('x', 'y')]
    return [osp.join(directory, tmpl.format(int(i))) for i in inds]


def check_frame_files(paths: List[str], img_key: str) -> None:
    """Raises :class:`AVADataError` naming the first missing, empty or truncated frame."""
    for path in paths:
        marker = _END_MARKERS.get(osp.splitext(path)[1].lower())
        try:
            size = os.path.getsize(path)
            tail = b''
            if marker and size:
                with open(path, 'rb') as f:
                    f.seek(max(0, size - 64))
                    tail = f.read().rstrip(b'\x00\r\n ')
        except OSError as err:
            raise AVADataError(f'{path}: frame of keyframe {img_key!r} cannot be read '
                               f'({err.strerror or err}); expected an image file') from None
        if size == 0:
            raise AVADataError(f'{path}: frame of keyframe {img_key!r} is empty')
        if marker and not tail.endswith(marker):
            raise AVADataError(f'{path}: frame of keyframe {img_key!r} is truncated (no '
                               f'{osp.splitext(path)[1]} end marker); re-extract the frames')


def read_frame(path: str) -> np.ndarray:
    """BGR image ``(H, W, 3)`` of a frame file."""
    import mmcv
    img = mmcv.imread(path)
    if img is None:
        raise AVADataError(f'{path}: not a readable image')
    return img
