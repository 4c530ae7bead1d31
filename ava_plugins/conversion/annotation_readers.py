"""Readers of action annotations on videos into one record type, with errors naming file and line.

Formats:

* the simple CSV: ``video,second,x1,y1,x2,y2,action,person_id`` per row (an optional header
  row whose second field is not a number is skipped); ``video`` a file name (with or without
  extension) in the videos folder; ``second`` a whole second of the video; the box in pixels of
  the video frame or normalised to [0, 1] (the caller says which); ``action`` a class name or
  id of the class list; ``person_id`` an integer, the same person across seconds. A box with
  several actions is several rows.
* CVAT for video 1.1 XML (CVAT's "CVAT for video 1.1" export): each ``<track>`` is a person
  (its ``id`` is the person id), its ``<box frame=...>`` the boxes in pixels at the video's own
  frames; a box at frame ``round(t * video_fps)`` gives the annotation of second ``t``; boxes
  with ``outside="1"`` are not there. The actions are the values of the box's attribute named
  ``action`` (several separated by commas), else the track's ``label`` (a label ``person``
  without that attribute is an error). The video is the task's ``<source>`` unless given.
"""
import csv
import json
import os
import os.path as osp
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple
from xml.parsers import expat

from ava_plugins.utils import InputError


@dataclass
class BoxAnnotation:
    """One person box with its actions at one second of a video.

    Attributes:
        video: video file name as written (resolved against the videos folder later).
        second: whole second of the video.
        box: ``(x1, y1, x2, y2)`` in pixels (``normalised`` False) or in [0, 1].
        actions: class names or ids as written.
        person_id: the person's id.
        normalised: whether ``box`` is normalised.
        where: ``'file, line N'`` for messages.
        frame: the video frame the box was drawn on (CVAT), or None (second given).
    """
    video: str
    second: int
    box: Tuple[float, float, float, float]
    actions: List[str]
    person_id: int
    normalised: bool
    where: str
    frame: Optional[int] = None


def _number(text: str, what: str, where: str, integer: bool = False):
    try:
        value = float(text)
    except ValueError:
        raise InputError(f'{where}: {what} must be a number, got {text!r}') from None
    if integer:
        if value != int(value):
            raise InputError(f'{where}: {what} must be a whole number, got {text!r}')
        return int(value)
    return value


def read_simple_csv(path: str, normalised: bool) -> List[BoxAnnotation]:
    """Rows of the simple CSV (module docstring)."""
    if not osp.isfile(path):
        raise InputError(f'{path}: annotation file not found')
    out = []
    with open(path, newline='') as f:
        for lineno, row in enumerate(csv.reader(f), 1):
            if not row or not ''.join(row).strip():
                continue
            where = f'{path}, line {lineno}'
            row = [c.strip() for c in row]
            if lineno == 1 and len(row) > 1:
                try:
                    float(row[1])
                except ValueError:
                    continue  # a header
            if len(row) != 8:
                raise InputError(f'{where}: expected 8 columns video,second,x1,y1,x2,y2,action,'
                                 f'person_id, got {len(row)}')
            second = _number(row[1], 'second', where, integer=True)
            box = tuple(_number(v, n, where) for v, n in zip(row[2:6], ('x1', 'y1', 'x2', 'y2')))
            out.append(BoxAnnotation(row[0], second, box, [row[6]],
                                     _number(row[7], 'person_id', where, integer=True),
                                     normalised, where))
    if not out:
        raise InputError(f'{path}: no annotation rows')
    return out


class _Element:
    def __init__(self, tag, attrs, line):
        self.tag, self.attrs, self.line, self.children, self.text = tag, attrs, line, [], ''

    def find(self, tag):
        return next((c for c in self.children if c.tag == tag), None)

    def findall(self, tag):
        return [c for c in self.children if c.tag == tag]


def _parse_xml(path: str) -> _Element:
    """The XML tree with each element's line (expat: ElementTree keeps no line numbers)."""
    parser = expat.ParserCreate()
    stack = [_Element('#root', {}, 0)]

    def start(tag, attrs):
        el = _Element(tag, attrs, parser.CurrentLineNumber)
        stack[-1].children.append(el)
        stack.append(el)

    def end(tag):
        stack.pop()

    def text(data):
        stack[-1].text += data

    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.CharacterDataHandler = text
    with open(path, 'rb') as f:
        try:
            parser.ParseFile(f)
        except expat.ExpatError as err:
            raise InputError(f'{path}, line {err.lineno}: not well-formed XML '
                             f'({expat.ErrorString(err.code)})') from None
    return stack[0]


def _cvat_root(path: str) -> _Element:
    if not osp.isfile(path):
        raise InputError(f'{path}: annotation file not found')
    root = _parse_xml(path).find('annotations')
    if root is None:
        raise InputError(f'{path}: no <annotations> element; expected a CVAT for video 1.1 '
                         'export')
    return root


def cvat_video_name(path: str, root: Optional[_Element] = None) -> str:
    """The video file a CVAT export was made on (its task's ``<source>``)."""
    root = root or _cvat_root(path)
    meta = root.find('meta')
    task = meta.find('task') if meta is not None else None
    source = task.find('source') if task is not None else None
    if source is None or not source.text.strip():
        raise InputError(f'{path}: no <meta><task><source> naming the video; give the video')
    return source.text.strip()


def read_cvat_video_xml(path: str, video_fps: float, video: Optional[str] = None,
                        action_attribute: str = 'action') -> List[BoxAnnotation]:
    """Boxes at whole seconds of a CVAT "video 1.1" export (module docstring).

    Args:
        video_fps: the annotated video's frame rate (CVAT numbers the video's own frames).
        video: the video file name (default: the task's ``<source>``).
    """
    root = _cvat_root(path)
    version = root.find('version')
    if version is not None and version.text.strip() != '1.1':
        raise InputError(f'{path}, line {version.line}: CVAT format version '
                         f'{version.text.strip()!r}, expected 1.1')
    if root.find('image') is not None:
        raise InputError(f'{path}: a CVAT for images export (<image> elements); export the task '
                         'as "CVAT for video 1.1"')
    video = video or cvat_video_name(path, root)
    out = []
    for track in root.findall('track'):
        where = f'{path}, line {track.line}'
        if 'id' not in track.attrs:
            raise InputError(f'{where}: <track> without id')
        person = _number(track.attrs['id'], 'track id', where, integer=True)
        for box in track.findall('box'):
            where = f'{path}, line {box.line}'
            if box.attrs.get('outside', '0') == '1':
                continue
            missing = [k for k in ('frame', 'xtl', 'ytl', 'xbr', 'ybr') if k not in box.attrs]
            if missing:
                raise InputError(f'{where}: <box> without {", ".join(missing)}')
            frame = _number(box.attrs['frame'], 'frame', where, integer=True)
            second = int(round(frame / video_fps))
            if int(round(second * video_fps)) != frame:
                continue  # not a keyframe
            coords = tuple(_number(box.attrs[k], k, where) for k in ('xtl', 'ytl', 'xbr', 'ybr'))
            attrs = [a for a in box.findall('attribute')
                     if a.attrs.get('name') == action_attribute]
            if attrs:
                actions = [v.strip() for a in attrs for v in a.text.split(',') if v.strip()]
            else:
                label = track.attrs.get('label', '')
                if not label or label.lower() == 'person':
                    raise InputError(f'{where}: no <attribute name="{action_attribute}"> and the '
                                     f'track label {label!r} is no action')
                actions = [label]
            if not actions:
                raise InputError(f'{where}: empty {action_attribute!r} attribute')
            out.append(BoxAnnotation(video, second, coords, actions, person, False, where, frame))
    if not out:
        raise InputError(f'{path}: no box at a whole second of the video ({video_fps:g} fps)')
    return out


def read_via_video_json(path: str, video_fps, action_attribute: str = 'action',
                        person_attribute: str = 'person_id') -> List[BoxAnnotation]:
    """Boxes at whole seconds of a VIA 3 video project (module docstring).

    Args:
        video_fps: the videos' frame rate, or a function of a video file name giving it.
    """
    fps_of = video_fps if callable(video_fps) else (lambda name: video_fps)
    if not osp.isfile(path):
        raise InputError(f'{path}: annotation file not found')
    try:
        with open(path) as f:
            project = json.load(f)
    except ValueError as err:
        raise InputError(f'{path}: not a JSON file ({err})') from None
    if not isinstance(project, dict) or not all(k in project for k in (
            'attribute', 'file', 'view', 'metadata')):
        raise InputError(f'{path}: expected a VIA 3 project (keys attribute, file, view, '
                         'metadata)')
    attrs = project['attribute']
    by_name = {a.get('aname'): (aid, a) for aid, a in attrs.items()}
    if action_attribute not in by_name:
        raise InputError(f'{path}: no attribute named {action_attribute!r} (attributes: '
                         f'{sorted(map(str, by_name))})')
    action_id, action_attr = by_name[action_attribute]
    options = {str(k): v for k, v in (action_attr.get('options') or {}).items()}
    person_id = by_name.get(person_attribute, (None,))[0]
    out = []
    for n, (key, region) in enumerate(project['metadata'].items()):
        where = f'{path}, metadata {key!r}'
        xy, z = region.get('xy') or [], region.get('z') or []
        if len(z) != 1 or len(xy) != 5 or xy[0] != 2:
            continue  # a temporal segment or another shape: not a box at one time
        try:
            files = project['view'][str(region['vid'])]['fid_list']
            video = project['file'][str(files[0])]['fname']
        except (KeyError, IndexError, TypeError):
            raise InputError(f'{where}: its view {region.get("vid")!r} names no file') from None
        t, fps = float(z[0]), float(fps_of(video))
        second = int(round(t))
        if int(round(t * fps)) != int(round(second * fps)):
            continue  # not a keyframe
        x, y, w, h = (float(v) for v in xy[1:])
        value = str((region.get('av') or {}).get(action_id, '')).strip()
        actions = [options.get(v.strip(), v.strip()) for v in value.split(',') if v.strip()]
        if not actions:
            raise InputError(f'{where}: no {action_attribute!r} value')
        person = n
        if person_id is not None:
            person = _number(str((region.get('av') or {}).get(person_id, '')), person_attribute,
                             where, integer=True)
        out.append(BoxAnnotation(video, second, (x, y, x + w, y + h), actions, person, False,
                                 where, int(round(t * fps))))
    if not out:
        raise InputError(f'{path}: no box at a whole second of its videos')
    return out


def read_class_list(path: str) -> Sequence[Tuple[int, str]]:
    """``[(id, name), ...]`` from a label map (pbtxt or ``id: name`` txt) or a plain list of
    names, one per line (ids 1, 2, ... in order)."""
    from ava_plugins.evaluation import read_label_map
    if not osp.isfile(path):
        raise InputError(f'{path}: class list not found')
    with open(path) as f:
        lines = [line.strip() for line in f if line.strip()]
    if any(line.startswith('item') for line in lines) or all(':' in line for line in lines):
        names = read_label_map(path)
        return sorted(names.items())
    seen = {}
    for lineno, name in enumerate(lines, 1):
        if name in seen:
            raise InputError(f'{path}, line {lineno}: class {name!r} repeats line {seen[name]}')
        seen[name] = lineno
    if not lines:
        raise InputError(f'{path}: no class')
    return list(enumerate(lines, 1))


def find_video(videos: str, name: str, where: str) -> str:
    """The file of ``name`` (with or without extension) in folder ``videos``."""
    if not osp.isdir(videos):
        raise InputError(f'--videos {videos}: not a directory (the folder of the annotated '
                         'videos)')
    path = osp.join(videos, name)
    if osp.isfile(path):
        return path
    stem = osp.splitext(name)[0]
    matches = sorted(f for f in os.listdir(videos) if osp.splitext(f)[0] == stem
                     and osp.isfile(osp.join(videos, f)))
    if len(matches) == 1:
        return osp.join(videos, matches[0])
    if matches:
        raise InputError(f'{where}: video {name!r} is ambiguous in {videos}: {matches}')
    raise InputError(f'{where}: video {name!r} not found in {videos}')
