"""Drawing spatio-temporal action detections."""
from .detection_video import draw_detections, save_gif, top_labels

__all__ = ['draw_detections', 'save_gif', 'top_labels']
