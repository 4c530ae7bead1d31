"""Test-time clips that cover a whole audio feature sequence.

mmaction2's audio test path (``SampleFrames`` + ``AudioFeatureSelector``) looks at a fixed
number of clips placed on the video's frame count; one clip of 128 MFCC frames is 1.28 s of a
~10 s Kinetics video. Video-level scores in the Qiniu ActivityNet 2018 report
(https://arxiv.org/abs/1806.04391) are averages over clips taken from the entire video (§2.1,
TSN); applying that to the whole audio track is ours. The recognizer's head averages the clips
(``average_clips``), so the test dataloader takes one video per batch (clip counts differ).
"""
from typing import Dict

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform


@TRANSFORMS.register_module()
class WholeAudioClips(BaseTransform):
    """Cut ``audios`` ``(L, F)`` into clips of ``clip_len`` frames covering all ``L`` frames.

    Clips start every ``stride`` frames (default ``clip_len``: no overlap); the last one is
    moved back to end at frame ``L`` (so it may overlap its neighbour and nothing is padded);
    an audio shorter than ``clip_len`` (or empty) gives one clip zero-padded at the end, as
    ``AudioFeatureSelector`` pads. ``num_clips = max(1, ceil((L - clip_len) / stride) + 1)``.

    Required keys: ``audios``. Modified: ``audios`` -> ``(num_clips, clip_len, F)``.
    Added: ``num_clips``, ``clip_len``, ``clip_starts``, ``audios_shape``.
    """

    def __init__(self, clip_len: int = 128, stride: int = None) -> None:
        stride = clip_len if stride is None else stride
        if clip_len < 1 or not 1 <= stride <= clip_len:
            raise ValueError(f'WholeAudioClips: need clip_len >= 1 and 1 <= stride <= clip_len, '
                             f'got clip_len={clip_len}, stride={stride}')
        self.clip_len, self.stride = clip_len, stride

    def transform(self, results: Dict) -> Dict:
        audio = np.asarray(results['audios'])
        length = len(audio)
        if length <= self.clip_len:
            starts = np.zeros(1, dtype=np.int64)
            clips = np.pad(audio, ((0, self.clip_len - length), (0, 0)))[None]
        else:
            last = length - self.clip_len
            starts = np.arange(0, last, self.stride)
            starts = np.append(starts, last)
            clips = np.stack([audio[s:s + self.clip_len] for s in starts])
        results.update(audios=clips, num_clips=len(clips), clip_len=self.clip_len,
                       clip_starts=starts, audios_shape=clips.shape)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(clip_len={self.clip_len}, stride={self.stride})'
