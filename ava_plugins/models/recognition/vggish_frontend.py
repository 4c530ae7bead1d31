"""VGGish's log-mel front end: 16 kHz waveform -> ``(n, 96, 64)`` examples of 0.96 s.

Restated from the AudioSet release's ``vggish_params.py`` / ``mel_features.py`` /
``vggish_input.py`` (https://github.com/tensorflow/models/tree/master/research/audioset/vggish),
which the Qiniu ActivityNet 2018 report (https://arxiv.org/abs/1806.04391, §2.2) uses through
the pre-trained VGGish model:

- frames of 25 ms (400 samples) every 10 ms (160 samples), no padding (a partial frame at the
  end is dropped), each multiplied by a *periodic* Hann window (period 400, not ``np.hanning``);
- the magnitude (not power) of a 512-point real FFT (257 bins, the window length rounded up to
  a power of two);
- 64 triangular mel bands from 125 to 7500 Hz, HTK mel scale ``1127 ln(1 + f / 700)``, band
  edges evenly spaced in mel, triangles linear in mel, unnormalised (peak 1), the DC bin
  excluded;
- ``ln(mel + 0.01)``;
- examples of 96 consecutive frames (0.96 s), hop 96 (no overlap), a partial one dropped.

All in float64 as the reference (numpy); returned as float32. The waveform must already be
mono 16 kHz; resampling is left to the caller (the reference uses resampy, the project's
extractor librosa/soxr: ours).
"""
import numpy as np

SAMPLE_RATE = 16000
WINDOW_SAMPLES = 400  # 0.025 s
HOP_SAMPLES = 160  # 0.010 s
FFT_LENGTH = 512
NUM_BANDS = 64
MEL_MIN_HZ = 125.0
MEL_MAX_HZ = 7500.0
LOG_OFFSET = 0.01
EXAMPLE_FRAMES = 96  # 0.96 s of 10 ms frames, hop 96 (no overlap)


def hertz_to_mel(hz):
    """HTK mel scale, ``1127 ln(1 + f / 700)``."""
    return 1127.0 * np.log1p(np.asarray(hz, dtype=np.float64) / 700.0)


def periodic_hann(length: int) -> np.ndarray:
    """``0.5 - 0.5 cos(2 pi n / length)``, ``n = 0 .. length - 1`` (period ``length``)."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(length) / length)


def mel_matrix(num_bands: int = NUM_BANDS, fft_length: int = FFT_LENGTH,
               sample_rate: int = SAMPLE_RATE, lower_hz: float = MEL_MIN_HZ,
               upper_hz: float = MEL_MAX_HZ) -> np.ndarray:
    """``(fft_length // 2 + 1, num_bands)`` weights that right-multiply magnitude spectra.

    Band ``i`` is a triangle in mel with edges ``e[i]``, ``e[i + 2]`` and peak 1 at ``e[i + 1]``,
    ``e`` = ``num_bands + 2`` points evenly spaced in mel over ``[lower_hz, upper_hz]``;
    FFT bin ``k`` sits at ``k * sample_rate / fft_length`` Hz; row 0 (DC) is zero.
    """
    if not 0 <= lower_hz < upper_hz <= sample_rate / 2:
        raise ValueError(f'mel_matrix: need 0 <= lower_hz < upper_hz <= Nyquist, got '
                         f'{lower_hz}, {upper_hz} at {sample_rate} Hz')
    bins_mel = hertz_to_mel(np.linspace(0.0, sample_rate / 2, fft_length // 2 + 1))
    edges = np.linspace(hertz_to_mel(lower_hz), hertz_to_mel(upper_hz), num_bands + 2)
    lo, mid, hi = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins_mel[:, None] - lo) / (mid - lo)
    falling = (hi - bins_mel[:, None]) / (hi - mid)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[0] = 0.0
    return weights


def log_mel(waveform: np.ndarray) -> np.ndarray:
    """``(samples,)`` mono 16 kHz -> ``(frames, 64)`` float32 ``ln(mel magnitude + 0.01)``,
    ``frames = 1 + (samples - 400) // 160`` (0 for fewer than 400 samples)."""
    y = np.asarray(waveform, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(f'log_mel: expected a mono waveform (samples,), got shape {y.shape}')
    if len(y) < WINDOW_SAMPLES:
        return np.zeros((0, NUM_BANDS), dtype=np.float32)
    num_frames = 1 + (len(y) - WINDOW_SAMPLES) // HOP_SAMPLES
    starts = HOP_SAMPLES * np.arange(num_frames)
    frames = y[starts[:, None] + np.arange(WINDOW_SAMPLES)]
    spectrum = np.abs(np.fft.rfft(frames * periodic_hann(WINDOW_SAMPLES), FFT_LENGTH))
    return np.log(spectrum @ mel_matrix() + LOG_OFFSET).astype(np.float32)


def examples(log_mel_frames: np.ndarray) -> np.ndarray:
    """``(frames, 64)`` -> ``(frames // 96, 96, 64)``: non-overlapping 0.96 s examples."""
    n = len(log_mel_frames) // EXAMPLE_FRAMES
    return np.ascontiguousarray(
        log_mel_frames[:n * EXAMPLE_FRAMES].reshape(n, EXAMPLE_FRAMES, -1))


def waveform_to_examples(waveform: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Mono 16 kHz waveform -> ``(n, 96, 64)`` float32 VGGish input examples."""
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f'VGGish front end: the waveform must be at {SAMPLE_RATE} Hz, got '
                         f'{sample_rate} Hz (resample it first)')
    return examples(log_mel(waveform))
