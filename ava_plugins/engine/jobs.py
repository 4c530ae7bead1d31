"""The one resumable per-video job mechanism of the project.

Bank extraction, person detection, keypoint extraction and tube linking all do the same thing:
compute one result per video, hours in total on AVA, on one or several ranks, and continue
where a killed run stopped. Here, once:

* :func:`assign_videos` deals the sorted video ids to ranks (every ``world_size``-th), so each
  video has exactly one rank whatever order the ids came in;
* :func:`run_jobs` runs one rank's share: it skips the videos already done, computes the
  others one by one (or in ``workers`` processes that die with their parent) and shows one
  progress bar on rank 0;
* :class:`PartStore` keeps per-video results of one output file as atomically written parts
  ``OUT.parts/<video>.pkl`` tagged with the settings that made them (a part made with other
  settings counts as not done), and joins them into ``OUT`` (atomically) once all exist.

The feature bank (:mod:`ava_plugins.structures.feature_bank`) is its own store (one shard per
video) and only uses :func:`run_jobs`.
"""
import os
import os.path as osp
import pickle
import shutil
import time
from typing import Callable, Dict, Iterable, List, Optional, Sequence
from urllib.parse import quote

from ..utils import atomic_open, remove_stale_temporaries

__all__ = ['PartStore', 'assign_videos', 'run_jobs']


def assign_videos(videos: Iterable[str], rank: int, world_size: int) -> List[str]:
    """The videos rank ``rank`` of ``world_size`` computes: every ``world_size``-th of the
    sorted ids.

    Raises:
        ValueError: for a repeated video id or a rank outside ``[0, world_size)``.
    """
    if not 0 <= rank < world_size:
        raise ValueError(f'rank must lie in [0, world_size={world_size}), got {rank}')
    ids = list(videos)
    seen = set()
    for v in ids:
        if v in seen:
            raise ValueError(f'video {v!r} is listed twice')
        seen.add(v)
    return sorted(ids)[rank::world_size]


def _die_with_parent() -> None:
    """Worker initialiser: the kernel kills this worker when the main process dies (Linux
    ``PR_SET_PDEATHSIG``), so a killed run leaves no worker processes behind."""
    import ctypes
    import signal
    try:
        ctypes.CDLL('libc.so.6', use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    except OSError:  # not Linux: workers end when they find the pipe to the parent closed
        pass


def run_jobs(videos: Sequence[str], work: Callable, done: Callable[[str], bool], *,
             rank: int = 0, world_size: int = 1, workers: int = 1, desc: str = 'videos',
             weights: Optional[Dict[str, int]] = None, progress: bool = True,
             inputs: Optional[Dict[str, object]] = None) -> dict:
    """Run ``work`` for this rank's videos of ``videos`` that are not ``done``.

    Args:
        videos: every video id of the job (all ranks pass the same list).
        work: ``work(video, tick)`` (``work(video, inputs[video], tick)`` with ``inputs``)
            computes and stores ``video``'s result; ``tick()`` moves the progress bar by one
            unit (``weights[video]`` units per video, e.g. its keyframes; with no ``weights``
            or in worker processes the bar moves a video at a time). With ``workers > 1`` it
            must be picklable (a module-level function or a ``functools.partial`` of one) and
            small: it travels with every video, while ``inputs[video]`` travels with its own.
        done: whether a video's result is already stored (then it is skipped).
        rank, world_size: this process's share (:func:`assign_videos`).
        workers: processes computing videos at once (each dies with this process).
        desc, weights, progress: the progress bar (on rank 0).

    Returns:
        ``{"computed": [...], "skipped": [...]}`` video ids of this rank.
    """
    mine = assign_videos(videos, rank, world_size)
    todo = [v for v in mine if not done(v)]
    pending = set(todo)
    result = {'computed': [], 'skipped': [v for v in mine if v not in pending]}
    weight = (lambda v: 1) if weights is None else (lambda v: int(weights[v]))
    bar = None
    if progress and rank == 0:
        from tqdm import tqdm
        bar = tqdm(total=sum(weight(v) for v in mine),
                   initial=sum(weight(v) for v in result['skipped']),
                   desc=f'{desc} (rank {rank}/{world_size})', unit='video' if weights is None
                   else 'item')
    ticked = [0]

    def tick(n: int = 1) -> None:
        ticked[0] += n
        if bar is not None:
            bar.update(n)

    def finish(video: str) -> None:
        if bar is not None and ticked[0] < weight(video):  # work ticked less than its weight
            bar.update(weight(video) - ticked[0])
        ticked[0] = 0
        result['computed'].append(video)

    args = [(v, ) if inputs is None else (v, inputs[v]) for v in todo]
    if workers <= 1:
        for video, arg in zip(todo, args):
            work(*arg, tick)
            finish(video)
    else:
        from concurrent.futures import ProcessPoolExecutor
        with ProcessPoolExecutor(workers, initializer=_die_with_parent) as pool:
            columns = list(zip(*args)) + [[_no_tick] * len(todo)]
            for video, _ in zip(todo, pool.map(work, *columns, chunksize=1)):
                finish(video)
    if bar is not None:
        bar.close()
    return result


def _no_tick(n: int = 1) -> None:
    """The progress callback of worker processes (their parent moves the bar)."""


class PartStore:
    """Per-video results of the output file ``out``, kept as parts until joined.

    Each part ``OUT.parts/<quoted video>.pkl`` holds ``{"params": ..., "result": ...}``, written
    atomically; a part counts only for the ``params`` it was made with.
    """

    def __init__(self, out: str) -> None:
        self.out = out
        self.dir = out + '.parts'

    def path(self, video: str) -> str:
        return osp.join(self.dir, quote(video, safe='') + '.pkl')

    def remove_stale_temporaries(self) -> None:
        """Remove what writers killed in an earlier run left beside ``out`` and its parts."""
        remove_stale_temporaries(self.dir)
        remove_stale_temporaries(osp.dirname(osp.abspath(self.out)))

    def load(self, video: str, params: dict):
        """``video``'s finished result made with ``params``, or None (missing, unreadable, or
        made with other settings)."""
        try:
            with open(self.path(video), 'rb') as f:
                part = pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError):
            return None
        if not isinstance(part, dict) or part.get('params') != params:
            return None
        return part['result']

    def has(self, video: str, params: dict) -> bool:
        return self.load(video, params) is not None

    def save(self, video: str, params: dict, result) -> None:
        with atomic_open(self.path(video), 'wb') as f:
            pickle.dump(dict(params=params, result=result), f, pickle.HIGHEST_PROTOCOL)

    def collect(self, videos: Sequence[str], params: Callable[[str], dict],
                wait_s: int = 60) -> Dict[str, object]:
        """``{video: result}`` of every part (waiting up to ``wait_s`` for a part written by
        another rank to show up on a shared file system).

        Raises:
            RuntimeError: naming the part that is still missing.
        """
        out = {}
        for video in videos:
            for _ in range(max(wait_s, 1)):
                part = self.load(video, params(video))
                if part is not None:
                    break
                time.sleep(1)
            else:
                raise RuntimeError(f'{self.path(video)}: part of video {video!r} missing; '
                                   'rerun to compute it')
            out[video] = part
        return out

    def finish(self, joined) -> None:
        """Write ``joined`` to ``out`` (atomically), then remove the parts (the folder
        ``OUT.parts`` belongs to ``out`` alone)."""
        os.makedirs(osp.dirname(osp.abspath(self.out)), exist_ok=True)
        with atomic_open(self.out, 'wb') as f:
            pickle.dump(joined, f, pickle.HIGHEST_PROTOCOL)
        shutil.rmtree(self.dir, ignore_errors=True)
