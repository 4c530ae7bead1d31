"""Inference on videos, in mmaction2's and mmdet's style: build a model (:func:`init_model`),
predict the persons' actions at a video's keyframes (:func:`inference_video`), smooth them along
linked tubes (:func:`smooth_predictions`) and render an annotated video plus an AVA CSV
(:func:`demo_video`)."""
from .demo import annotated_frames, demo_video
from .inference import (KeyframePrediction, detect_persons, inference_video, init_model,
                        person_class, predictions_to_table)
from .tube_smoothing import smooth_predictions
from .video_source import VideoSource
from .video_writer import write_video

__all__ = [
    'KeyframePrediction', 'VideoSource', 'annotated_frames', 'demo_video', 'detect_persons',
    'inference_video', 'init_model', 'person_class', 'predictions_to_table', 'smooth_predictions',
    'write_video'
]
