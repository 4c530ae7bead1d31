"""Write RGB frames as a video file with PyAV, atomically (temporary file, then renamed).

The container follows the extension (``.mp4``, ``.mov``, ``.mkv``, ``.avi``); frames are
encoded with H.264 (``libx264``, yuv420p) where the container takes it, MPEG-4 part 2 for
``.avi``, at the given frame rate, one output frame per input frame. yuv420p needs even sides:
an odd width or height is padded by one replicated column or row (our choice).
"""
import os.path as osp
from fractions import Fraction
from typing import Iterable

import numpy as np

from ava_plugins.utils import InputError, atomic_open

FORMATS = {'.mp4': ('mp4', 'libx264'), '.mov': ('mov', 'libx264'),
           '.mkv': ('matroska', 'libx264'), '.avi': ('avi', 'mpeg4')}


def check_video_path(path: str) -> None:
    """Raise :class:`InputError` unless ``path`` has an extension this writer handles."""
    ext = osp.splitext(path)[1].lower()
    if ext not in FORMATS:
        raise InputError(f'{path}: the output video must end in one of '
                         f'{", ".join(sorted(FORMATS))}')


def write_video(frames: Iterable[np.ndarray], path: str, fps) -> int:
    """Encode ``(H, W, 3)`` uint8 RGB frames into ``path`` at ``fps``; returns the frame count."""
    import av
    check_video_path(path)
    fmt, codec = FORMATS[osp.splitext(path)[1].lower()]
    rate = Fraction(fps).limit_denominator(1001)
    count = 0
    with atomic_open(path, 'wb') as f:
        container = av.open(f, 'w', format=fmt)
        try:
            stream = None
            for frame in frames:
                h, w = frame.shape[:2]
                frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode='edge')
                if stream is None:
                    stream = container.add_stream(codec, rate=rate)
                    stream.width, stream.height = frame.shape[1], frame.shape[0]
                    stream.pix_fmt = 'yuv420p'
                container.mux(stream.encode(av.VideoFrame.from_ndarray(
                    np.ascontiguousarray(frame), format='rgb24')))
                count += 1
            if stream is None:
                raise InputError(f'{path}: no frames to write')
            container.mux(stream.encode())
        finally:
            container.close()
    return count
