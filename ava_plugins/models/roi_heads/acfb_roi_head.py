"""``BoxJitterRoIHead`` for ACAR-Net's Actor-Context Feature Bank head.

``ACFBHead`` attends from the current clip's first-order maps to the clip's bank window. The
window travels as every bank window of the project does (data-sample fields, see
:mod:`.bank_window_inputs`); this head hands each clip's window to the shared head with the
clip's metainfo, where ``ACFBHead`` reads its per-clip inputs (``img_shape``, ``pad_shape``,
``flip``). Everything else is :class:`~.box_jitter_roi_head.BoxJitterRoIHead` (ACAR-Net's
training-time box jitter after assignment).
"""
from mmdet.registry import MODELS

from .bank_window_inputs import window_fields
from .box_jitter_roi_head import BoxJitterRoIHead


@MODELS.register_module()
class ACFBRoIHead(BoxJitterRoIHead):
    """``BoxJitterRoIHead`` whose shared head is an ``ACFBHead`` fed from the data samples'
    window fields (``shared_head.feat_key`` ``(L, d, Hb, Wb)``, ``shared_head.mask_key``
    ``(L,)``).

    Args:
        **kwargs: the arguments of :class:`BoxJitterRoIHead`.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        if not self.with_shared_head or not hasattr(self.shared_head, 'bank_memory'):
            raise ValueError('ACFBRoIHead needs shared_head=dict(type="ACFBHead", ...)')

    def _with_windows(self, data_samples) -> list:
        head = self.shared_head
        feats, masks = window_fields(data_samples, head.feat_key, head.mask_key,
                                     'LoadBankWindow')
        return [
            _SampleWithWindow(sample, {head.feat_key: feat, head.mask_key: mask})
            for sample, feat, mask in zip(data_samples, feats, masks)
        ]

    def loss(self, x, rpn_results_list, data_samples, **kwargs) -> dict:
        return super().loss(x, rpn_results_list, self._with_windows(data_samples), **kwargs)

    def predict(self, x, rpn_results_list, data_samples, **kwargs):
        return super().predict(x, rpn_results_list, self._with_windows(data_samples), **kwargs)


class _SampleWithWindow:
    """A data sample as ``AVARoIHead`` reads it (``gt_instances``, ``metainfo``), whose
    ``metainfo`` also holds the clip's window (the sample itself is left unchanged)."""

    def __init__(self, sample, window: dict) -> None:
        self._sample = sample
        self.metainfo = dict(sample.metainfo, **window)

    def __getattr__(self, name):
        return getattr(self._sample, name)
