"""Random states in checkpoints, so that ``--resume`` continues the run it interrupted.

mmengine's checkpoints hold weights, optimiser, schedulers and the seed, but no random-number
state: a resumed run re-seeds and then draws other flips, jitters, dropout masks and dataloader
worker seeds than the uninterrupted run. :class:`RandomStateHook` stores Python's, numpy's and
torch's (CPU and CUDA) generator states in every checkpoint and restores them when a run
resumes, just before the first training epoch after the checkpoint; validation runs on a copy
of the states, so whether it runs between two epochs does not change what training draws.

With an epoch-based loop, a run resumed from ``epoch_N.pth`` equals the uninterrupted run at a
fixed seed (tested). mmengine's ``IterBasedTrainLoop`` resumes from ``iter_N.pth`` by fetching
and dropping the first N batches again (its sampler then stands where it stood); that replay
draws from the fresh seed, so the saved states are restored only after it, right before the
first batch that is trained on: the resumed run then equals the uninterrupted one too (tested).
"""
import random
from typing import Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

KEY = 'random_state'


def get_random_state() -> dict:
    """The generator states of Python, numpy and torch, in types ``torch.load`` accepts with
    ``weights_only=True`` (tuples, ints, floats, tensors)."""
    np_state = np.random.get_state()
    state = dict(python=random.getstate(),
                 numpy=(np_state[0], torch.from_numpy(np_state[1].astype(np.int64)),
                        int(np_state[2]), int(np_state[3]), float(np_state[4])),
                 torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_random_state(state: dict) -> None:
    """Restore what :func:`get_random_state` returned."""
    random.setstate(state['python'])
    name, keys, pos, has_gauss, gauss = state['numpy']
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Save the random states with each checkpoint; restore them on resume (see the module)."""

    priority = 'VERY_LOW'  # restore after every other hook's before_train_epoch

    def __init__(self):
        self._pending: Optional[dict] = None
        self._outside_val: Optional[dict] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # mmengine also saves during validation (best checkpoint, and epoch_N.pth again): those
        # hold the training stream's state, the one validation will restore.
        checkpoint[KEY] = (self._outside_val if self._outside_val is not None else
                           get_random_state())

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop
        loop = getattr(runner, '_train_loop', None)
        if (getattr(runner, '_resume', False) and KEY in checkpoint
                and isinstance(loop, (EpochBasedTrainLoop, IterBasedTrainLoop))):
            self._pending = checkpoint[KEY]  # applied once mmengine has finished resuming

    def before_train(self, runner) -> None:
        from mmengine.runner import IterBasedTrainLoop
        loop = runner.train_loop
        if self._pending is not None and isinstance(loop, IterBasedTrainLoop):
            # the loop fetches loop.iter batches to skip them, then the one it trains on
            loop.dataloader_iterator = _RestoreBeforeFetch(loop.dataloader_iterator, loop.iter,
                                                           self._pending)
            self._pending = None

    def before_train_epoch(self, runner) -> None:
        if self._pending is not None:
            set_random_state(self._pending)
            self._pending = None

    def before_val(self, runner) -> None:
        self._outside_val = get_random_state()

    def after_val(self, runner) -> None:
        if self._outside_val is not None:
            set_random_state(self._outside_val)
            self._outside_val = None


class _RestoreBeforeFetch:
    """A dataloader iterator that restores ``state`` just before its ``skip + 1``-th batch."""

    def __init__(self, iterator, skip: int, state: dict) -> None:
        self._iterator, self._skip, self._state = iterator, skip, state

    def __iter__(self):
        return self

    def __next__(self):
        if self._skip == 0 and self._state is not None:
            set_random_state(self._state)
            self._state = None
        self._skip -= 1
        return next(self._iterator)

    def __getattr__(self, name):
        return getattr(self._iterator, name)
