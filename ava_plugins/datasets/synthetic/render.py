"""Drawing the frames of a :class:`~.scene.VideoScript` (BGR uint8, OpenCV, sub-pixel AA)."""
import cv2
import numpy as np

from .figure import HEAD, HEAD_RADIUS, figure_points
from .scene import VideoScript

_SHIFT = 4  # fractional bits of OpenCV's sub-pixel drawing
_SCALE = 1 << _SHIFT
_SCREEN_OFF = (45, 45, 45)


def _pt(p) -> tuple:
    return int(round(p[0] * _SCALE)), int(round(p[1] * _SCALE))


def _line(img, a, b, color, thickness):
    cv2.line(img, _pt(a), _pt(b), color, thickness, cv2.LINE_AA, _SHIFT)


def render_frames(script: VideoScript, tau: np.ndarray) -> np.ndarray:
    """Frames (F, H, W, 3) uint8 BGR at times ``tau`` (F,) seconds of the video.

    Actors are drawn far to near (by ground line) over the background; the screen shows a
    colour changing every quarter second while on. A clapping actor's torso flashes white.
    """
    tau = np.asarray(tau, np.float64)
    pts = figure_points(script, tau)  # (A, F, 18, 2)
    H, W = script.background.shape[:2]
    seconds = np.clip(np.floor(tau + 0.5).astype(np.int64), 0, script.seconds - 1)
    quarter = np.clip(np.floor(tau * 4).astype(np.int64), 0, len(script.screen_colors) - 1)
    order = np.argsort(script.foot_y, kind='stable')
    clap = script.clap
    sx1, sy1, sx2, sy2 = (int(round(v)) for v in script.screen)
    out = np.empty((len(tau), H, W, 3), np.uint8)
    for i, (t, s) in enumerate(zip(tau, seconds)):
        img = out[i]
        img[:] = script.background
        on = script.screen_on[s]
        color = tuple(int(c) for c in script.screen_colors[quarter[i]]) if on else _SCREEN_OFF
        cv2.rectangle(img, (sx1 - 2, sy1 - 2), (sx2 + 2, sy2 + 2), (20, 20, 20), -1)
        cv2.rectangle(img, (sx1, sy1), (sx2, sy2), color, -1)
        for a in order:
            _draw_figure(img, script, pts[a, i], a, s, t, clap[a, s])
    return out


def _draw_figure(img, script, p, a, s, t, clapping):
    h = script.height[a]
    shirt, trousers, skin = (tuple(int(c) for c in col) for col in script.colors[a])
    if clapping:
        shirt = tuple(int(0.3 * c + 0.7 * 255) for c in shirt)
    limb = max(1, int(round(0.06 * h)))
    arm = max(1, int(round(0.045 * h)))
    for hip, knee, ankle in ((11, 13, 15), (12, 14, 16)):
        _line(img, p[hip], p[knee], trousers, limb)
        _line(img, p[knee], p[ankle], trousers, limb)
    torso = np.array([_pt(p[5]), _pt(p[6]), _pt(p[12]), _pt(p[11])], np.int32)
    cv2.fillConvexPoly(img, torso, shirt, cv2.LINE_AA, _SHIFT)
    for shoulder, elbow, wrist in ((5, 7, 9), (6, 8, 10)):
        _line(img, p[shoulder], p[elbow], shirt, arm)
        _line(img, p[elbow], p[wrist], skin, arm)
    head = p[HEAD]
    cv2.circle(img, _pt(head), int(round(HEAD_RADIUS * h * _SCALE)), skin, -1, cv2.LINE_AA,
               _SHIFT)
    eye = p[1]
    cv2.circle(img, _pt(eye), int(round(0.012 * h * _SCALE)) + 1, (20, 20, 20), -1,
               cv2.LINE_AA, _SHIFT)
    if script.talk[a, s] and np.sin(2 * np.pi * 4 * t + 0.5) > 0:
        mouth = (p[0][0], p[0][1] + 0.04 * h)
        cv2.circle(img, _pt(mouth), int(round(0.025 * h * _SCALE)), (30, 30, 120), -1,
                   cv2.LINE_AA, _SHIFT)
