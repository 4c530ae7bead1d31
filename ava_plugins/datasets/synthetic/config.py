"""Settings of the synthetic AVA generator (one dataclass, validated on construction)."""
from dataclasses import asdict, dataclass, fields
from typing import Tuple


@dataclass(frozen=True)
class SyntheticAVAConfig:
    """What :func:`generate_synthetic_ava` writes; the defaults are the project's demo dataset.

    Sizes: ``train_videos`` + ``val_videos`` videos of ``seconds`` s at ``fps`` frames/s,
    frames ``size`` px high and ``round(size * 16 / 9)`` px wide (AVA is mostly 16:9), with
    ``actors`` (min, max) persons each. Timestamps are AVA's absolute seconds starting at
    ``timestamp_start`` (AVA: 900); seconds 2 .. ``seconds`` - 2 are annotated, as AVA
    annotates 902..1798 of 900..1800. Proposals imitate a person detector: ``miss_rate`` of
    the persons are missed (more when occluded), ``loose_fraction`` of the detections are
    loose, ``duplicate_rate`` get a second, looser box and ``fp_per_frame`` false positives
    (Poisson mean) are added per keyframe. ``long_term_gap`` is the range of ``t - e``
    (seconds between an actor's clap ``e`` and the labelled timestamp ``t``) that makes
    class 10 positive.
    """
    train_videos: int = 10
    val_videos: int = 4
    seconds: int = 40
    fps: int = 10
    size: int = 144
    actors: Tuple[int, int] = (2, 4)
    timestamp_start: int = 900
    jpeg_quality: int = 90
    miss_rate: float = 0.05
    loose_fraction: float = 0.2
    duplicate_rate: float = 0.1
    fp_per_frame: float = 0.6
    long_term_gap: Tuple[int, int] = (6, 20)

    def __post_init__(self):
        checks = [
            (self.train_videos >= 1 and self.val_videos >= 1, 'train_videos and val_videos >= 1'),
            (self.seconds >= 8, 'seconds >= 8 (2 s margins at each end, as AVA)'),
            (self.timestamp_start + self.seconds <= 9999,
             'timestamp_start + seconds <= 9999 (AVA keys hold 4-digit timestamps)'),
            (self.timestamp_start >= 0, 'timestamp_start >= 0'),
            (2 <= self.fps <= 60, '2 <= fps <= 60'),
            (48 <= self.size <= 1080, '48 <= size <= 1080'),
            (1 <= self.actors[0] <= self.actors[1] <= 6, '1 <= actors[0] <= actors[1] <= 6'),
            (1 <= self.jpeg_quality <= 100, '1 <= jpeg_quality <= 100'),
            (0 <= self.miss_rate < 0.5, '0 <= miss_rate < 0.5'),
            (0 <= self.loose_fraction <= 1, '0 <= loose_fraction <= 1'),
            (0 <= self.duplicate_rate <= 1, '0 <= duplicate_rate <= 1'),
            (0 <= self.fp_per_frame <= 10, '0 <= fp_per_frame <= 10'),
            (6 <= self.long_term_gap[0] <= self.long_term_gap[1],
             '6 <= long_term_gap[0] <= long_term_gap[1] (the clap must end >= 5 s before the '
             'clip)'),
        ]
        bad = [msg for ok, msg in checks if not ok]
        if bad:
            raise ValueError(f'invalid SyntheticAVAConfig {self}: expected ' + '; '.join(bad))

    @property
    def width(self) -> int:
        return int(round(self.size * 16 / 9))

    @property
    def timestamp_end(self) -> int:
        """AVADataset's ``timestamp_end``: frames cover [start, end) at ``fps``."""
        return self.timestamp_start + self.seconds

    @property
    def total_frames(self) -> int:
        return self.seconds * self.fps

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_kwargs(cls, **kwargs) -> 'SyntheticAVAConfig':
        """Build from keyword settings, naming any unknown key."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise ValueError(f'unknown synthetic AVA setting(s) {unknown}; expected some of '
                             f'{sorted(known)}')
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
        return cls(**kwargs)
