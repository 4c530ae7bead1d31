"""Frames of a video file or of a folder of frames, in order, as RGB arrays.

Video files are decoded with PyAV (the stack's pinned ``av``, ``requirements/stack.txt``),
whatever container and codec its FFmpeg reads (tested here: mp4 with H.264 and with MPEG-4
part 2). A folder of frames is
read with mmcv in file-name order (jpg/jpeg/png/bmp), at the frame rate the caller gives.
"""
import os
import os.path as osp
from fractions import Fraction
from typing import Iterator, Optional

import numpy as np

from ava_plugins.utils import InputError

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp')


class VideoSource:
    """A video (``path`` a file) or a folder of frames (``path`` a directory).

    Attributes:
        path: the input.
        fps: frame rate (``Fraction`` for a video file: its stream's average rate).
        num_frames: number of frames (a video: its packets, counted by demuxing).
        width, height: frame size in pixels.
    """

    def __init__(self, path: str, fps: Optional[float] = None):
        self.path = os.fspath(path)
        if osp.isdir(self.path):
            self._files = sorted(f for f in os.listdir(self.path)
                                 if f.lower().endswith(IMAGE_EXTENSIONS))
            if not self._files:
                raise InputError(f'{self.path}: no frame ({"/".join(IMAGE_EXTENSIONS)}) in '
                                 'this folder')
            if fps is None or fps <= 0:
                raise InputError(f'{self.path}: a folder of frames needs its frame rate '
                                 '(fps > 0)')
            self.fps = Fraction(fps).limit_denominator(1001)
            self.num_frames = len(self._files)
            first = self._read_file(self._files[0])
            self.height, self.width = first.shape[:2]
            return
        if not osp.isfile(self.path):
            raise InputError(f'{self.path}: video not found')
        self._files = None
        import av
        try:
            with av.open(self.path) as container:
                if not container.streams.video:
                    raise InputError(f'{self.path}: no video stream')
                stream = container.streams.video[0]
                rate = stream.average_rate or stream.guessed_rate
                self.width, self.height = stream.width, stream.height
                self.num_frames = sum(1 for p in container.demux(stream) if p.size)
        except av.FFmpegError as err:
            raise InputError(f'{self.path}: not a readable video ({err})') from None
        if not rate or self.num_frames == 0 or not self.width:
            raise InputError(f'{self.path}: not a readable video (no frames or no frame rate)')
        self.fps = Fraction(rate)
        if fps is not None and abs(float(fps) - float(self.fps)) > 1e-3:
            raise InputError(f'{self.path}: the video runs at {float(self.fps):g} fps, '
                             f'not the {fps} given')

    def _read_file(self, name: str) -> np.ndarray:
        import mmcv
        img = mmcv.imread(osp.join(self.path, name), channel_order='rgb')
        if img is None:
            raise InputError(f'{osp.join(self.path, name)}: not a readable image')
        return img

    def frames(self) -> Iterator[np.ndarray]:
        """Every frame in order, ``(H, W, 3)`` uint8 RGB."""
        if self._files is not None:
            for name in self._files:
                yield self._read_file(name)
            return
        import av
        try:
            with av.open(self.path) as container:
                for frame in container.decode(video=0):
                    yield frame.to_ndarray(format='rgb24')
        except av.FFmpegError as err:
            raise InputError(f'{self.path}: decoding failed ({err})') from None

    @property
    def name(self) -> str:
        """The file or folder name without extension (the default video id)."""
        return osp.splitext(osp.basename(osp.normpath(self.path)))[0]
