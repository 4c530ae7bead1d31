"""One's own videos and box annotations (simple CSV, CVAT for video 1.1 XML) to the AVA layout
that every config reads (:func:`convert_to_ava`)."""
from .annotation_readers import (BoxAnnotation, cvat_video_name, find_video, read_class_list,
                                 read_cvat_video_xml, read_simple_csv,
                                 read_via_video_json)
from .ava_layout import convert_to_ava, write_dataset_config

__all__ = [
    'BoxAnnotation', 'convert_to_ava', 'cvat_video_name', 'find_video', 'read_class_list',
    'read_cvat_video_xml', 'read_simple_csv', 'read_via_video_json',
    'write_dataset_config'
]
