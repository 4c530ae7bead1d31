"""Helpers of the multi-sec tests: the synthetic set's config options.

The fixtures built on them (``synthetic``, ``res4_bank``) are in ``conftest.py``.
"""
import os

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE_CONFIG = os.path.join(REPO, 'configs/synthetic/multisec_res4_cache_slowfast_tiny.py')


def synthetic_options(paths):
    opts = {}
    for split in ('train', 'val', 'test'):
        data = 'val' if split == 'test' else split
        ds = f'{split}_dataloader.dataset'
        opts.update({
            f'{ds}.ann_file': paths[f'{data}_csv'],
            f'{ds}.exclude_file': paths[f'{data}_excluded'],
            f'{ds}.label_file': paths['label_map'],
            f'{ds}.proposal_file': paths[f'{data}_proposals'],
            f'{ds}.data_prefix.img': paths['rawframes'],
            f'{ds}.timestamp_end': 912,
            f'{split}_dataloader.num_workers': 0,
        })
    return opts
