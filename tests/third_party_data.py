"""Paths of the real third-party test data shipped in ``tests/data/mmaction2`` (Apache-2.0).

The one home of these paths: tests import them from here. ``manifest.tsv`` beside the files
records each one's upstream path and git blob hash in open-mmlab/mmaction2.
"""
from pathlib import Path

MMACTION2_DATA = Path(__file__).resolve().parent / 'data' / 'mmaction2'
MANIFEST = MMACTION2_DATA / 'manifest.tsv'
AVA_DATASET_DIR = MMACTION2_DATA / 'ava_dataset'
EVAL_DIR = MMACTION2_DATA / 'eval_detection'
LABEL_MAP_60 = MMACTION2_DATA / 'ava_label_map_60.txt'
DEMO_VIDEO = MMACTION2_DATA / 'demo_spatiotemporal_det.mp4'
