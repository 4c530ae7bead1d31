"""The one way a bank window reaches an RoI head: data-sample fields.

``LoadBankWindow`` (and ``LoadLFBWindow``) add a clip's window to the pipeline's results;
``PackActionInputs(algorithm_keys=(feat_key, mask_key))`` makes them tensor fields of the data
sample, which the data preprocessor moves to the model's device with the clip. RoI heads read
them here (``ThreeBranchRoIHead``, ``ACFBRoIHead``); the tubes of the multi-second model travel
the same way (``LoadTubeRes4``, ``MultiSecRoIHead``).
"""
from typing import List, Sequence, Tuple

import torch
from torch import Tensor


def window_fields(data_samples: Sequence, feat_key: str, mask_key: str,
                  loader: str) -> Tuple[List[Tensor], List[Tensor]]:
    """Each clip's window ``(L, *item_shape)`` and bool mask ``(L,)``.

    Raises:
        ValueError: naming the clip (``img_key``) and the pipeline steps that add the fields
            (``loader`` and the ``algorithm_keys`` of ``PackActionInputs``), for a sample without
            them.
    """
    feats, masks = [], []
    for i, sample in enumerate(data_samples):
        fields = sample.keys()  # data fields only (``in sample`` also looks at the metainfo)
        if feat_key not in fields or mask_key not in fields:
            key = sample.metainfo.get('img_key', f'#{i}')
            raise ValueError(f'data sample {key} has no bank window {feat_key!r}/{mask_key!r}: '
                             f'add {loader} (feat_key={feat_key!r}, mask_key={mask_key!r}) to '
                             f'the pipeline and algorithm_keys=({feat_key!r}, {mask_key!r}) to '
                             f'PackActionInputs')
        feats.append(torch.as_tensor(sample.get(feat_key)))
        masks.append(torch.as_tensor(sample.get(mask_key)).bool())
    return feats, masks
