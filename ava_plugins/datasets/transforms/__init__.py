"""Data transforms of ava_plugins (mmaction2 ``TRANSFORMS``)."""
from .arm_rois import ArmRoIs
from .load_bank_window import LoadBankWindow
from .load_lfb_window import LoadLFBWindow
from .load_tube_res4 import LoadTubeRes4
from .pad_to_square import PadToSquare
from .whole_audio_clips import WholeAudioClips

__all__ = [
    'ArmRoIs', 'LoadBankWindow', 'LoadLFBWindow', 'LoadTubeRes4', 'PadToSquare', 'WholeAudioClips'
]
