"""MFCC, log-mel and VGGish features of the audio of video / audio files, one ``.npy`` per file
(:func:`extract`; ``tools/extract_audio_features.py`` is its command line).

Qiniu ActivityNet 2018 report (https://arxiv.org/abs/1806.04391), §2.2: MFCC features
of the raw audio feed the SE-ResNet-50 / ResNet-50 acoustic models, and the pre-trained VGGish
model gives ``n x 128`` features. Audio is decoded with soundfile (WAV, FLAC, OGG) or PyAV (any
container ffmpeg reads: mp4, mkv, webm, m4a, ...), mixed down to mono by averaging channels and
resampled with librosa (soxr). Features::

    mfcc           librosa.feature.mfcc(y, sr, n_mfcc, n_fft, hop_length, win_length, n_mels,
                   fmin, fmax)                                   (frames, n_mfcc)
    logmel         librosa.power_to_db(librosa.feature.melspectrogram(...), ref=1.0,
                   amin=1e-10)                                   (frames, n_mels)
    vggish-logmel  VGGish's own front end (ava_plugins.models.recognition.vggish_frontend:
                   25 ms periodic Hann, 10 ms hop, 512-point FFT magnitude, 64 HTK mel bands
                   125-7500 Hz, ln(mel + 0.01); --sr must be 16000)   (frames, 64)
    vggish         that front end in 0.96 s examples through VGGish with the weights of
                   --checkpoint (torchvggish layout; with --pca, the AudioSet release's PCA and
                   8-bit quantisation)                           (n, 128), n = 0.96 s examples

``mfcc`` / ``logmel`` settings (bands, range, dB) are ours, not VGGish's; the two ``vggish``
kinds ignore --n-mfcc, --n-mels, --win-ms, --hop-ms, --fmin and --fmax. Audio shorter than one
0.96 s example (0.975 s) gives ``(0, 128)`` VGGish embeddings, as the reference gives none.

Each output is ``float32`` with time first (100 frames/s for the frame features), the layout
mmaction2's ``LoadAudioFeature`` / ``AudioFeatureSelector`` / ``FormatAudioShape`` and the
project's ``WholeAudioClips`` read (``NCTF``). Outputs mirror the input tree (``a/b.mp4`` ->
``OUT/a/b.npy``), are written atomically, and existing ones are skipped, so an interrupted run
continues where it stopped; the settings (with the checkpoint's content fingerprint) are
recorded and a rerun with others is refused. Files that fail (no audio stream, unreadable) are
listed at the end and the exit code is 1.
"""
import os
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np

FEATURES = ('mfcc', 'logmel', 'vggish-logmel', 'vggish')
MEDIA_EXTS = ('mp4', 'mkv', 'webm', 'avi', 'mov', 'm4a', 'mp3', 'aac', 'wav', 'flac', 'ogg')


class AudioDecodeError(ValueError):
    """A file whose audio cannot be read; the message names the file."""


def load_audio(path: str, sr: int) -> np.ndarray:
    """Mono float32 waveform of ``path`` at ``sr`` Hz, shape ``(samples,)``.

    soundfile for the formats libsndfile reads, PyAV (ffmpeg) otherwise; channels averaged;
    ``librosa.resample`` to ``sr`` when the file's rate differs.
    """
    import librosa
    import soundfile
    try:
        data, native_sr = soundfile.read(path, dtype='float32', always_2d=True)
        audio = data.mean(axis=1)
    except (soundfile.LibsndfileError, RuntimeError, TypeError):
        audio, native_sr = _decode_with_pyav(path)
    if audio.size == 0:
        raise AudioDecodeError(f'{path}: the audio stream is empty')
    if native_sr != sr:
        audio = librosa.resample(audio, orig_sr=native_sr, target_sr=sr)
    return np.ascontiguousarray(audio, dtype=np.float32)


def _decode_with_pyav(path: str):
    """``(mono float32 samples, sample rate)`` of the first audio stream of ``path``."""
    import av
    try:
        container = av.open(path)
    except (av.error.FFmpegError, OSError) as e:
        raise AudioDecodeError(f'{path}: cannot be opened as audio or video ({e})') from e
    with container:
        if not container.streams.audio:
            raise AudioDecodeError(f'{path}: no audio stream')
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        resampler = av.AudioResampler(format='fltp', layout=stream.codec_context.layout.name,
                                      rate=rate)
        chunks = []
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
        except av.error.FFmpegError as e:
            raise AudioDecodeError(f'{path}: audio decoding failed ({e})') from e
    if not chunks:
        raise AudioDecodeError(f'{path}: the audio stream is empty')
    return np.concatenate(chunks, axis=1).mean(axis=0), rate


def compute_features(audio: np.ndarray, sr: int, feature: str = 'mfcc', n_mfcc: int = 40,
                     n_mels: int = 80, win_ms: float = 25.0, hop_ms: float = 10.0,
                     fmin: float = 0.0, fmax: Optional[float] = None,
                     vggish=None) -> np.ndarray:
    """``(frames, bins)`` float32 MFCC (``bins = n_mfcc``), log-mel (``bins = n_mels``) or
    VGGish log-mel (64 bins), or ``(n, 128)`` VGGish embeddings with the model ``vggish``."""
    if feature in ('vggish-logmel', 'vggish'):
        from ..models.recognition import vggish_frontend
        if sr != vggish_frontend.SAMPLE_RATE:
            raise ValueError(f'{feature} needs --sr {vggish_frontend.SAMPLE_RATE}, got {sr}')
        frames = vggish_frontend.log_mel(audio)
        if feature == 'vggish-logmel':
            return frames
        return embed_with_vggish(vggish, vggish_frontend.examples(frames))
    import librosa
    win_length = int(round(sr * win_ms / 1000))
    hop_length = int(round(sr * hop_ms / 1000))
    n_fft = 1 << (win_length - 1).bit_length()
    kwargs = dict(y=audio, sr=sr, n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                  n_mels=n_mels, fmin=fmin, fmax=fmax)
    if feature == 'mfcc':
        feats = librosa.feature.mfcc(n_mfcc=n_mfcc, **kwargs)
    elif feature == 'logmel':
        feats = librosa.power_to_db(librosa.feature.melspectrogram(**kwargs), ref=1.0,
                                    amin=1e-10)
    else:
        raise ValueError(f'feature must be one of {FEATURES}, got {feature!r}')
    return np.ascontiguousarray(feats.T, dtype=np.float32)


def embed_with_vggish(model, examples: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """``(n, 96, 64)`` log-mel examples -> ``(n, 128)`` float32 embeddings of ``model``."""
    import torch
    device = next(model.parameters()).device
    out = [np.zeros((0, 128), dtype=np.float32)]
    with torch.no_grad():
        for start in range(0, len(examples), batch_size):
            batch = torch.from_numpy(examples[start:start + batch_size]).to(device)
            out.append(model.embed(batch).float().cpu().numpy())
    return np.concatenate(out)


def build_vggish(checkpoint: Optional[str], pca: Optional[str], final_relu: bool,
                 device: str):
    """The project's ``VGGish`` (eval mode on ``device``) with the user's weights."""
    from ..models.recognition import VGGish
    from ..utils import InputError
    if checkpoint is None:
        raise InputError('--feature vggish needs --checkpoint (VGGish weights in torchvggish '
                         'layout; they cannot be downloaded by this tool)')
    model = VGGish(final_relu=final_relu, postprocess=pca is not None, checkpoint=checkpoint,
                   pca_params=pca, frozen=True)
    model.init_weights()
    return model.to(device).eval()


def list_inputs(src: str, exts: Sequence[str]) -> List[str]:
    """Media files under directory ``src`` (relative paths, sorted), or the lines of a list
    file (paths relative to the list's directory, or absolute)."""
    if osp.isdir(src):
        found = []
        suffixes = tuple('.' + e.lower().lstrip('.') for e in exts)
        for root, _, files in os.walk(src):
            found += [osp.relpath(osp.join(root, f), src) for f in files
                      if f.lower().endswith(suffixes)]
        return sorted(found)
    if not osp.isfile(src):
        from ..utils import InputError
        raise InputError(f'{src}: no such directory or list file')
    with open(src) as f:
        return [line.split()[0] for line in f if line.strip()]


def check_settings(out_dir: str, settings: dict, overwrite: bool) -> bool:
    """Record ``settings`` in ``out_dir/settings.json``; refuse (:class:`InputError`) a folder
    whose features were computed with other settings unless ``overwrite``. Returns whether the
    existing ``.npy`` files may be kept."""
    import json

    from ..utils import InputError, atomic_open, changed_settings
    path = osp.join(out_dir, 'settings.json')
    old = None
    if osp.exists(path):
        with open(path) as f:
            old = json.load(f)
    has_features = osp.isdir(out_dir) and any(
        name.endswith('.npy') for _, _, names in os.walk(out_dir) for name in names)
    keep = old == settings
    if not keep and (old is not None or has_features) and not overwrite:
        if old is None:
            why = 'holds features but no record of the settings that made them'
        else:
            why = f'holds features computed with other settings: {changed_settings(old, settings)}'
        raise InputError(f'{out_dir}: {why}; write into a new folder or pass --overwrite')
    with atomic_open(path, 'w') as f:
        json.dump(settings, f, indent=1, sort_keys=True)
    return keep


def extract(src: str, out_dir: str, exts: Sequence[str] = MEDIA_EXTS, sr: int = 16000,
            overwrite: bool = False, checkpoint: Optional[str] = None, pca: Optional[str] = None,
            final_relu: bool = True, device: str = 'cpu', **feature_kwargs) -> dict:
    """Write ``out_dir/<relative path>.npy`` for every input not done yet (with the same
    settings: see :func:`check_settings`). ``checkpoint`` / ``pca`` / ``final_relu``: the VGGish
    weights and variant for ``feature='vggish'``, run on ``device``.

    Returns ``{'done': [...], 'skipped': [...], 'failed': {path: message}}``.
    """
    from tqdm import tqdm

    from ..utils import atomic_open
    base = src if osp.isdir(src) else osp.dirname(osp.abspath(src))
    inputs = list_inputs(src, exts)
    import inspect
    defaults = {k: v.default for k, v in inspect.signature(compute_features).parameters.items()
                if v.default is not inspect.Parameter.empty}
    settings = dict(defaults, sr=sr, **feature_kwargs)
    settings.pop('vggish')
    vggish = None
    if settings['feature'] == 'vggish':
        from ..utils import InputError, file_fingerprint
        if sr != 16000:
            raise InputError(f'--feature vggish needs --sr 16000, got {sr}')
        vggish = build_vggish(checkpoint, pca, final_relu, device)
        settings.update(checkpoint=file_fingerprint(checkpoint), final_relu=final_relu,
                        pca=None if pca is None else file_fingerprint(pca))
    elif settings['feature'] == 'vggish-logmel' and sr != 16000:
        from ..utils import InputError
        raise InputError(f'--feature vggish-logmel needs --sr 16000, got {sr}')
    keep = check_settings(out_dir, settings, overwrite)
    report = dict(done=[], skipped=[], failed={})
    progress = tqdm(total=len(inputs), desc='audio features', unit='file')
    for rel in inputs:
        path = rel if osp.isabs(rel) else osp.join(base, rel)
        out = osp.join(out_dir, osp.splitext(osp.relpath(path, base))[0] + '.npy')
        if keep and osp.exists(out):
            report['skipped'].append(path)
        else:
            try:
                if not osp.isfile(path):
                    raise AudioDecodeError(f'{path}: no such file')
                feats = compute_features(load_audio(path, sr), sr, vggish=vggish,
                                         **feature_kwargs)
                with atomic_open(out, 'wb') as f:
                    np.save(f, feats, allow_pickle=False)
                report['done'].append(path)
            except AudioDecodeError as e:
                report['failed'][path] = str(e)
        progress.update()
    progress.close()
    return report
