"""Training-log report of the multi-sec tube slots that borrow another keyframe's data.

``LoadTubeRes4`` gives each proposal ``K`` (box, res4 volume) slots; a slot whose keyframe has
no tube box (the tube ended there) or no cached volume borrows the nearest valid keyframe's
(``tube_clips[i, k] != k``). Duplicated clips weaken the multi-second model silently, so this
hook puts the fraction of borrowed slots into the training log: ``train/tube_borrowed`` every
iteration (smoothed by mmengine's log processor like the losses) and an epoch summary line.
"""
from typing import Optional, Sequence, Tuple

import torch
from mmaction.registry import HOOKS
from mmengine.hooks import Hook


def borrowed_slots(data_samples: Sequence) -> Tuple[int, int]:
    """``(borrowed, total)`` slots of a batch's ``tube_clips`` ``(n, K)`` (``LoadTubeRes4``)."""
    borrowed = total = 0
    for sample in data_samples:
        clips = torch.as_tensor(sample.tube_clips)
        own = torch.arange(clips.shape[-1], device=clips.device)
        borrowed += int((clips != own).sum())
        total += clips.numel()
    return borrowed, total


@HOOKS.register_module()
class TubeSlotsHook(Hook):
    """Log the fraction of ``LoadTubeRes4`` slots that borrow another keyframe's box/volume."""

    priority = 'NORMAL'  # before LoggerHook (BELOW_NORMAL): the scalar is in the same line

    def __init__(self) -> None:
        self.borrowed = self.total = 0

    def before_train_epoch(self, runner) -> None:
        self.borrowed = self.total = 0

    def after_train_iter(self, runner, batch_idx: int, data_batch: Optional[dict] = None,
                         outputs=None) -> None:
        samples = (data_batch or {}).get('data_samples') or []
        if not samples or not all('tube_clips' in s for s in samples):
            return
        borrowed, total = borrowed_slots(samples)
        self.borrowed += borrowed
        self.total += total
        runner.message_hub.update_scalar('train/tube_borrowed', borrowed / max(total, 1))

    def after_train_epoch(self, runner) -> None:
        if self.total:
            runner.logger.info(
                f'tubes: {self.borrowed} of {self.total} (proposal, keyframe) slots '
                f'({100 * self.borrowed / self.total:.1f}%) borrowed the nearest valid '
                f'keyframe\'s box and res4 volume this epoch')
