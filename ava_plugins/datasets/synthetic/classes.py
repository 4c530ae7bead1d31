"""The synthetic AVA classes and the capability each group of them tests.

Ids follow AVA's label-map style: 1..K, pose classes first (AVA's person-movement classes are
its first 14 ids), so "pose indices derived from the class list" selects exactly the
mutually-exclusive pose classes. Why each group needs its capability, and why the linear
baseline lacks the information, is argued in :mod:`ava_plugins.datasets.synthetic.generator`.
"""
from typing import Dict, List, NamedTuple


class SyntheticClass(NamedTuple):
    """One action class: AVA id (1-based), name as written in the label map, capability group."""
    id: int
    name: str
    group: str


SYNTHETIC_CLASSES = (
    SyntheticClass(1, 'stand', 'pose'),
    SyntheticClass(2, 'walk', 'pose'),
    SyntheticClass(3, 'jump', 'pose'),
    SyntheticClass(4, 'sit', 'pose'),
    SyntheticClass(5, 'talk (mouth moves)', 'actor'),
    SyntheticClass(6, 'wave (arm raised above head)', 'actor'),
    SyntheticClass(7, 'clap (arms up, body flashes)', 'actor'),
    SyntheticClass(8, 'listen to (a talking person on the side faced)', 'interaction'),
    SyntheticClass(9, 'watch screen (screen on, faced, not moving)', 'scene'),
    SyntheticClass(10, 'clapped 6-20 s ago', 'long_term'),
    SyntheticClass(11, 'tap (fast small hand motion)', 'arm'),
)

#: Capability groups in the order the benchmark reports them.
GROUPS = ('pose', 'actor', 'interaction', 'scene', 'long_term', 'arm')


def class_names() -> Dict[int, str]:
    """``{class id: name}`` of the synthetic label map."""
    return {c.id: c.name for c in SYNTHETIC_CLASSES}


def capability_groups() -> Dict[str, List[int]]:
    """``{group: [class ids]}``: which classes test which capability.

    ``pose``: one per actor per second (pose softmax); ``actor``: visible in the actor's own
    box (sanity classes for every head); ``interaction``: actor-actor relations (ACAR's
    high-order relations); ``scene``: decided by a scene object (global/context branch);
    ``long_term``: decided by an event of the same actor >= 5 s outside the clip (feature
    banks, multi-second tubes); ``arm``: small fast arm motion in a still body (arm RoIs).
    """
    return {g: [c.id for c in SYNTHETIC_CLASSES if c.group == g] for g in GROUPS}


def pose_class_ids() -> List[int]:
    """Ids of the mutually exclusive pose classes (exactly one per actor per second)."""
    return capability_groups()['pose']
