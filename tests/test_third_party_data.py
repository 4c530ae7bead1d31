"""The tests run on mmaction2's real fixtures, shipped unchanged in ``tests/data/mmaction2``.

Each file's git blob hash must equal the one recorded from open-mmlab/mmaction2 (commit in the
README beside the files): a regenerated or edited fixture fails here, and so does one that is
shipped without being recorded, or recorded without being shipped.
"""
import csv
import hashlib

from third_party_data import AVA_DATASET_DIR, MANIFEST, MMACTION2_DATA


def _git_blob_sha1(data: bytes) -> str:
    """The object id ``git hash-object`` gives a file: sha1 of ``b'blob <size>\\0' + data``."""
    return hashlib.sha1(b'blob %d\0' % len(data) + data).hexdigest()


def _manifest() -> dict:
    with open(MANIFEST, newline='') as f:
        return {row['file']: row for row in csv.DictReader(f, delimiter='\t')}


def test_git_blob_hash_matches_a_hand_computed_object_id():
    """The hash restated from git's object format: ``printf 'hello\\n' | git hash-object --stdin``."""
    assert _git_blob_sha1(b'hello\n') == 'ce013625030ba8dba906f756967f9e9ca394464a'


def test_every_shipped_file_is_upstream_mmaction2_unchanged():
    rows = _manifest()
    shipped = {p.relative_to(MMACTION2_DATA).as_posix() for p in MMACTION2_DATA.rglob('*')
               if p.is_file() and p.name not in ('README.md', 'manifest.tsv')}
    assert shipped == set(rows), 'files shipped and files recorded in manifest.tsv differ'
    for name, row in rows.items():
        assert _git_blob_sha1((MMACTION2_DATA / name).read_bytes()) == row['git_blob'], (
            f'{name} differs from mmaction2 {row["upstream_path"]}')
    assert rows['LICENSE']['upstream_path'] == 'LICENSE'


def test_tiny_ava_dataset_is_built_on_the_real_annotations(tiny_ava):
    """The shared ``tiny_ava`` fixture copies mmaction2's files, it does not synthesise them."""
    for name in ('ava_sample.csv', 'action_list.txt', 'ava_proposals_sample.pkl'):
        assert (tiny_ava['root'] / name).read_bytes() == (AVA_DATASET_DIR / name).read_bytes()
    with open(tiny_ava['ann_file']) as f:
        videos = sorted({row[0] for row in csv.reader(f)})
    assert videos and all((tiny_ava['frames'] / v).is_dir() for v in videos)
