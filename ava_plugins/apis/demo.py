"""A video annotated with a model's keyframe predictions, and the predictions as an AVA CSV.

Every frame shows the boxes of its nearest keyframe (within half the keyframe interval) with
their top labels and scores, drawn by :func:`ava_plugins.visualization.draw_detections` (mmengine's
``Visualizer``, as the GIF of ``make demo``); the output keeps the input's frame count and rate.
"""
from typing import Optional, Sequence

import numpy as np

from ava_plugins.evaluation import write_ava_csv
from ava_plugins.visualization import draw_detections, top_labels

from .inference import KeyframePrediction, inference_video, predictions_to_table
from .tube_smoothing import smooth_predictions
from .video_source import VideoSource
from .video_writer import check_video_path, write_video


def annotated_frames(source: VideoSource, predictions: Sequence[KeyframePrediction],
                     score_thr: float, max_labels: int = 3, progress: bool = False):
    """The source's frames (RGB) with each one's nearest keyframe's detections drawn."""
    from mmengine.visualization import Visualizer
    vis = Visualizer.get_instance('ava_plugins_demo_video')
    keyframes = np.array([p.frame_index for p in predictions])
    if len(keyframes) > 1:
        reach = np.diff(keyframes).max() / 2
    else:
        reach = float(source.fps) / 2
    labels = [top_labels(p.scores, dict(zip(p.class_ids.tolist(), p.label_names)),
                         p.class_ids.tolist(), score_thr, max_labels) for p in predictions]
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=source.num_frames, desc='drawing', unit='frame')
    for i, frame in enumerate(source.frames()):
        k = int(np.argmin(np.abs(keyframes - i)))
        if abs(keyframes[k] - i) <= reach and len(predictions[k].bboxes_norm):
            frame = draw_detections(frame, predictions[k].bboxes_norm, labels[k], vis)
        if bar:
            bar.update(1)
        yield frame
    if bar:
        bar.close()


def demo_video(model, video: str, out: str, proposals=None, detector=None, *,
               score_thr: float = 0.5, out_csv: Optional[str] = None, link_tubes: bool = False,
               tube_span: int = 3, progress: bool = True, **inference_kwargs) -> dict:
    """Predict on ``video`` (:func:`inference_video`), optionally smooth along linked tubes
    (:func:`smooth_predictions`, ``tube_span`` keyframes), write the annotated video ``out``
    and, if ``out_csv``, the (box, class) rows scoring above ``score_thr`` as an AVA CSV.

    Returns ``dict(predictions, frames, fps, video, csv, rows)``.
    """
    check_video_path(out)
    source = VideoSource(video, fps=inference_kwargs.pop('fps', None))
    predictions = inference_video(model, source, proposals, detector, progress=progress,
                                  **inference_kwargs)
    if link_tubes:
        predictions = smooth_predictions(predictions, span=tube_span)
    rows = None
    if out_csv:
        table = predictions_to_table(predictions, score_thr)
        write_ava_csv(out_csv, table)
        rows = len(table)
    frames = write_video(annotated_frames(source, predictions, score_thr, progress=progress),
                         out, source.fps)
    return dict(predictions=predictions, frames=frames, fps=float(source.fps), video=out,
                csv=out_csv, rows=rows)
