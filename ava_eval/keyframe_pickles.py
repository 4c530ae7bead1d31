"""Readers of AVA's per-keyframe pickles (proposals, keypoints, tubes): the one home of their
key parser, validation and loading.

Formats (mmaction2's AVA layout, and this project's keypoint files):

* proposals: ``{"video_id,timestamp": ndarray (N, 4 or 5)}``, rows ``x1, y1, x2, y2[, score]``
  normalised to [0, 1] (the FAIR dense proposals of AVA; ``AVADataset.proposal_file``);
* tubes: ``{"video_id,timestamp": ndarray (N, T, 5)}`` (``tools/link_tubes.py``), proposal
  ``i``'s tube at the keyframes ``t - T//2 .. t + T//2``, NaN rows where it has no box;
* keypoints: ``{"video_id,timestamp": float32 (N, 17, 3)}``, COCO order, ``x, y`` normalised
  by the frame size and a score in [0, 1] (0: no evidence; ``tools/extract_keypoints.py``
  stores a heatmap model's maximum as a fraction of a training target's peak, e.g. CPN's
  ``max / 255 + 0.5`` as ``max / 255``, clipped), row ``i`` belonging to proposal box ``i`` of
  the same key.

Both readers raise :class:`AVADataError` naming the file, the key (and row) and what was
expected: an unreadable pickle, a value that is not an array of the right shape, a non-finite
value (a NaN score silently fails every score threshold), a box outside [0, 1] or inverted,
keypoints in pixels rather than normalised, a score outside [0, 1] (a pose model's own scale,
e.g. CPN's 0.5-1.5, on which a [0, 1] threshold is inert), keypoints out of step with the
proposals. Keys are
normalised to ``"video_id,%04d"`` (mmaction2's ``img_key``), so ``"v,902"`` and ``"v,0902"`` are
the same keyframe, as in the official evaluator's ``make_image_key``.
"""
import os
import pickle
from typing import Dict, Mapping, Optional, Tuple

import numpy as np

from .errors import AVADataError

NUM_KEYPOINTS = 17
# Normalised keypoints of a top-down estimator may leave the frame a little (its crop is
# larger than the box); coordinates beyond this range mean pixels, not fractions of the frame.
KEYPOINT_RANGE = (-1.0, 2.0)


def parse_key(key, where: str) -> Tuple[str, int]:
    """``"video_id,timestamp"`` -> ``(video_id, timestamp)``; an :class:`AVADataError` naming
    ``where`` (the file, or the structure) and the key otherwise."""
    if not isinstance(key, str):
        raise AVADataError(f'{where}: key {key!r}: expected a string "video_id,timestamp"')
    video, sep, stamp = key.rpartition(',')
    if not sep or not video or not stamp.strip().isdigit():
        raise AVADataError(f'{where}: key {key!r}: expected "video_id,timestamp" with an integer '
                           'timestamp (e.g. "-5KQ66BBWC4,0902")')
    return video, int(stamp)


def image_key(key, path: str) -> Tuple[str, str]:
    """Parses ``"video_id,timestamp"``; returns ``(normalised "video_id,%04d", video_id)``."""
    video, stamp = parse_key(key, path)
    return f'{video},{stamp:04d}', video


def load_pickle_dict(path: os.PathLike, what: str) -> dict:
    """Loads a pickle holding a dict, or raises :class:`AVADataError` naming ``path``."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise AVADataError(f'{path}: {what} file not found')
    try:
        with open(path, 'rb') as f:
            obj = pickle.load(f)
    except Exception as err:  # a truncated or foreign file fails in many ways
        raise AVADataError(f'{path}: not a readable {what} pickle '
                           f'({type(err).__name__}: {err})') from None
    if not isinstance(obj, dict):
        raise AVADataError(f'{path}: expected a dict {{"video_id,timestamp": array}} of {what}, '
                           f'got {type(obj).__name__}')
    return obj


def _normalised_arrays(obj: dict, path: str, shape_text: str, check) -> Dict[str, np.ndarray]:
    """Normalises keys and checks each value with ``check(value) -> bool`` (type and shape)."""
    out: Dict[str, np.ndarray] = {}
    original: Dict[str, str] = {}
    for key, value in obj.items():
        norm, _ = image_key(key, path)
        if norm in out:
            raise AVADataError(f'{path}: keys {original[norm]!r} and {key!r} name the same '
                               f'keyframe {norm!r}')
        original[norm] = key
        if not isinstance(value, np.ndarray) or value.dtype.kind not in 'fiu' or not check(value):
            got = (f'{value.dtype} array of shape {value.shape}' if isinstance(
                value, np.ndarray) else type(value).__name__)
            raise AVADataError(f'{path}: key {key!r}: expected a real array of shape '
                               f'{shape_text}, got {got}')
        out[norm] = value
    return out


def _first_bad(arrays: Dict[str, np.ndarray], flat_bad: np.ndarray) -> Tuple[str, int]:
    """The key and row of the first flagged row of the concatenation of ``arrays``."""
    ends = np.cumsum([len(v) for v in arrays.values()])
    pos = int(np.argmax(flat_bad))
    k = int(np.searchsorted(ends, pos, side='right'))
    key = list(arrays)[k]
    return key, pos - (int(ends[k - 1]) if k else 0)


def check_proposal_rows(value: np.ndarray, where: str, normalised: bool = True) -> None:
    """The one check of proposal rows ``(N, 4 or 5)`` x1, y1, x2, y2[, score]: finite, not
    inverted and, when ``normalised``, inside [0, 1].

    Raises:
        AVADataError: naming ``where`` (the file and key, or the structure) and the first bad
            row.
    """
    bad = ~np.isfinite(value)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        what = 'score' if col == 4 else 'coordinate'
        raise AVADataError(f'{where}, row {row}: non-finite {what} ({value[row].tolist()})')
    if normalised:
        outside = ((value[:, :4] < 0) | (value[:, :4] > 1)).any(axis=1)
        if outside.any():
            row = int(np.argmax(outside))
            raise AVADataError(f'{where}, row {row}: expected box coordinates normalised to '
                               f'[0, 1], got x1,y1,x2,y2 = {value[row, :4].tolist()}')
    flipped = (value[:, 2] < value[:, 0]) | (value[:, 3] < value[:, 1])
    if flipped.any():
        row = int(np.argmax(flipped))
        raise AVADataError(f'{where}, row {row}: x2 < x1 or y2 < y1 '
                           f'({value[row, :4].tolist()}); expected x1, y1, x2, y2')


def load_proposals(path: os.PathLike) -> Dict[str, np.ndarray]:
    """Loads and validates an AVA proposal pickle (see the module docstring).

    Returns:
        ``{"video_id,%04d": ndarray (N, 4 or 5)}`` (values as stored; keys normalised).
    """
    path = os.fspath(path)
    props = _normalised_arrays(
        load_pickle_dict(path, 'proposal'), path, '(N, 5) = x1, y1, x2, y2, score (or (N, 4))',
        lambda v: v.ndim == 2 and v.shape[1] in (4, 5))
    if not props:
        return props
    width = {v.shape[1] for v in props.values()}
    if len(width) > 1:
        raise AVADataError(f'{path}: every array needs the same number of columns (4 or 5), '
                           f'got {sorted(width)}')
    flat = np.concatenate(list(props.values()), dtype=np.float64)
    with np.errstate(invalid='ignore'):
        bad = ~np.isfinite(flat).all(axis=1)
        bad |= ((flat[:, :4] < 0) | (flat[:, :4] > 1)).any(axis=1)
        bad |= (flat[:, 2] < flat[:, 0]) | (flat[:, 3] < flat[:, 1])
    if bad.any():  # the fast check found a row; the per-array one names it
        key, _ = _first_bad(props, bad)
        check_proposal_rows(props[key], f'{path}: key {key!r}')
    return props


def load_keypoints(path: os.PathLike,
                   proposals: Optional[Mapping[str, np.ndarray]] = None,
                   proposal_file: str = 'the proposal file') -> Dict[str, np.ndarray]:
    """Loads a keypoint pickle and checks that it is in step with ``proposals``.

    Args:
        path: ``{"video_id,timestamp": (N, 17, 3)}`` pickle (x, y normalised, score in
            [0, 1]).
        proposals: the output of :func:`load_proposals` the keypoints belong to; when given,
            every proposal key must be present with exactly one (17, 3) array per box, and no
            other key.
        proposal_file: the proposals' file name, for messages.

    Returns:
        ``{"video_id,%04d": float32 (N, 17, 3)}``.
    """
    path = os.fspath(path)
    kpts = _normalised_arrays(
        load_pickle_dict(path, 'keypoint'), path, f'(N, {NUM_KEYPOINTS}, 3) = x, y, score',
        lambda v: v.ndim == 3 and v.shape[1:] == (NUM_KEYPOINTS, 3))
    if kpts:
        flat = np.concatenate(list(kpts.values()), dtype=np.float64)
        bad = ~np.isfinite(flat).all(axis=(1, 2))
        if bad.any():
            key, row = _first_bad(kpts, bad)
            raise AVADataError(f'{path}: key {key!r}, row {row}: expected finite x, y, score')
        lo, hi = KEYPOINT_RANGE
        xy = flat[:, :, :2]
        bad = ((xy < lo) | (xy > hi)).any(axis=(1, 2))
        if bad.any():
            key, row = _first_bad(kpts, bad)
            raise AVADataError(f'{path}: key {key!r}, row {row}: expected x, y normalised by the '
                               f'frame size (within [{lo}, {hi}]), got values up to '
                               f'{np.abs(xy[bad]).max():.4g} (pixels?)')
        score = flat[:, :, 2]
        bad = ((score < 0) | (score > 1)).any(axis=1)
        if bad.any():
            key, row = _first_bad(kpts, bad)
            raise AVADataError(f'{path}: key {key!r}, row {row}: expected scores normalised to '
                               f'[0, 1], got values from {score[bad].min():.4g} to '
                               f'{score[bad].max():.4g} (a pose model\'s own scale? '
                               'tools/extract_keypoints.py normalises them)')
    if proposals is not None:
        missing = [k for k in proposals if k not in kpts]
        extra = [k for k in kpts if k not in proposals]
        if missing or extra:
            what = (f'{len(missing)} proposal keys have no keypoints (first {missing[0]!r})'
                    if missing else f'{len(extra)} keys are not in {proposal_file} (first '
                    f'{extra[0]!r})')
            raise AVADataError(f'{path}: out of step with {proposal_file}: {what}; expected the '
                               'same keys, one (17, 3) array per proposal box')
        keys = list(proposals)
        n_kpt = np.array([len(kpts[k]) for k in keys], dtype=np.int64)
        n_box = np.array([len(proposals[k]) for k in keys], dtype=np.int64)
        if (n_kpt != n_box).any():
            k = int(np.argmax(n_kpt != n_box))
            raise AVADataError(f'{path}: key {keys[k]!r} has {n_kpt[k]} keypoint rows but '
                               f'{proposal_file} has {n_box[k]} boxes there; expected one '
                               '(17, 3) array per proposal box, in the same order')
    return {k: v.astype(np.float32, copy=False) for k, v in kpts.items()}


def load_tubes(path: os.PathLike) -> Dict[str, np.ndarray]:
    """Loads a tube pickle of ``tools/link_tubes.py`` (see the module docstring); the arrays
    are checked where they are used (``LoadTubeRes4``, against their proposals).

    Raises:
        AVADataError: naming ``path``: missing (with the command that writes it), unreadable,
            or not a dict.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise AVADataError(f'{path}: tube file not found; write it with tools/link_tubes.py '
                           f'PROPOSALS.pkl {path} --span T')
    return load_pickle_dict(path, 'tube')
