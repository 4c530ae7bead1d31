"""Geometry of the rendered figures: 17 COCO keypoints (+ head centre) and person boxes.

A figure is a head (circle), a body (torso quadrilateral and two legs) and two arms, posed by
its actor's per-second state (:class:`~.scene.VideoScript`) at continuous time ``tau``. The
geometry is shared by the renderer (what is drawn), the annotation boxes (what is labelled)
and the proposal keypoints (what a pose estimator would return), so all three agree.
"""
import numpy as np

from .scene import JUMP, SIT, WALK, VideoScript

#: COCO keypoint order; index 17 is the head centre (drawn, not written to keypoint files).
COCO_KEYPOINTS = ('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder',
                  'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist',
                  'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle',
                  'right_ankle')
HEAD = 17
HEAD_RADIUS = 0.085  # in figure heights
LIMB_MARGIN = 0.03   # half limb thickness, in figure heights

# Standing figure facing right (+u), in figure heights: u to the right, v up from the feet.
# COCO "left" limbs are on the image right (+u), as for a person facing the camera.
_STAND = np.array([
    [0.06, 0.90], [0.045, 0.92], [0.015, 0.92], [0.02, 0.90], [-0.05, 0.90],
    [0.13, 0.78], [-0.13, 0.78], [0.16, 0.62], [-0.16, 0.62], [0.17, 0.47], [-0.17, 0.47],
    [0.08, 0.48], [-0.08, 0.48], [0.08, 0.25], [-0.08, 0.25], [0.08, 0.0], [-0.08, 0.0],
    [0.0, 0.90]])
_FACE = [0, 1, 2, 3, 4]
_UPPER = list(range(13)) + [HEAD]
_LEFT_ARM, _RIGHT_ARM = [7, 9], [8, 10]


def figure_points(script: VideoScript, tau: np.ndarray) -> np.ndarray:
    """Pixel positions of every figure's points at times ``tau`` (F,) seconds.

    Returns (A, F, 18, 2) x, y: the 17 COCO keypoints then the head centre.
    """
    tau = np.asarray(tau, np.float64)
    s = np.clip(np.floor(tau + 0.5).astype(np.int64), 0, script.seconds - 1)  # (F,)
    pose, face = script.pose[:, s], script.facing[:, s]  # (A, F)
    A, F = pose.shape
    p = np.broadcast_to(_STAND, (A, F, 18, 2)).copy()
    t = np.broadcast_to(tau, (A, F))
    f = face.astype(np.float64)

    # Face details turn with the facing (u mirrored); limbs are symmetric.
    p[:, :, _FACE, 0] *= f[..., None]

    walk = pose == WALK
    swing = 0.12 * np.sin(2 * np.pi * 1.5 * t) * walk
    p[:, :, 15, 0] += swing
    p[:, :, 16, 0] -= swing
    p[:, :, 13, 0] += swing / 2
    p[:, :, 14, 0] -= swing / 2
    p[:, :, 9, 0] -= swing / 2
    p[:, :, 10, 0] += swing / 2

    sit = pose == SIT
    p[:, :, _UPPER, 1] -= 0.2 * sit[..., None]
    for knee, ankle in ((13, 15), (14, 16)):
        p[:, :, knee] = np.where(sit[..., None], np.stack([0.22 * f, np.full_like(f, 0.28)], -1),
                                 p[:, :, knee])
        p[:, :, ankle] = np.where(sit[..., None], np.stack([0.22 * f, np.zeros_like(f)], -1),
                                  p[:, :, ankle])

    # Arms: the front arm is on the side faced (COCO left when facing right).
    front_elbow = np.where(f > 0, 7, 8)
    front_wrist = front_elbow + 2
    ai, fi = np.meshgrid(np.arange(A), np.arange(F), indexing='ij')
    top = p[:, :, HEAD, 1]  # head centre height after sitting
    wave = script.wave[:, s]
    fwd = script.arm_forward[:, s]
    tap = script.tap[:, s]
    clap = script.clap[:, s]
    elbow = np.stack([0.2 * f, top + 0.02], -1)
    wrist = np.stack([0.2 * f + 0.07 * np.sin(2 * np.pi * 2 * t), top + 0.22], -1)
    _set(p, ai, fi, front_elbow, elbow, wave)
    _set(p, ai, fi, front_wrist, wrist, wave)
    shoulder_v = p[:, :, 5, 1]
    elbow = np.stack([0.17 * f, shoulder_v - 0.15], -1)
    wrist = np.stack([0.3 * f, shoulder_v - 0.12 + 0.04 * np.sin(2 * np.pi * 4 * t + np.pi / 4)
                      * tap], -1)
    _set(p, ai, fi, front_elbow, elbow, fwd)
    _set(p, ai, fi, front_wrist, wrist, fwd)
    apart = 0.03 + 0.04 * np.abs(np.sin(2 * np.pi * 3 * t))
    for side, (e, w) in ((1, _LEFT_ARM), (-1, _RIGHT_ARM)):
        elbow = np.stack([np.full_like(t, side * 0.16), top + 0.05], -1)
        p[:, :, e] = np.where(clap[..., None], elbow, p[:, :, e])
        p[:, :, w] = np.where(clap[..., None], np.stack([side * apart, top + 0.2], -1),
                              p[:, :, w])

    jump = pose == JUMP
    p[..., 1] += (0.18 * np.abs(np.sin(2 * np.pi * t)) * jump)[..., None]

    x = script.x[:, s] + script.velocity[:, s] * (tau - s)[None]
    h = script.height[:, None, None]
    px = x[..., None] + p[..., 0] * h
    py = script.foot_y[:, None, None] - p[..., 1] * h
    return np.stack([px, py], -1)


def _set(p, ai, fi, index, value, mask):
    """p[a, f, index[a, f]] = value[a, f] where mask[a, f]."""
    cur = p[ai, fi, index]
    p[ai, fi, index] = np.where(mask[..., None], value, cur)


def figure_boxes(points: np.ndarray, height: np.ndarray) -> np.ndarray:
    """Person boxes (A, F, 4) x1, y1, x2, y2 in pixels: the figure's extent (head circle and
    limb thickness included) from ``figure_points`` output (A, F, 18, 2) and heights (A,)."""
    h = height[:, None]
    pad = LIMB_MARGIN * h
    head = points[:, :, HEAD]
    r = HEAD_RADIUS * h
    x1 = np.minimum(points[..., 0].min(-1) - pad, head[..., 0] - r)
    y1 = np.minimum(points[..., 1].min(-1) - pad, head[..., 1] - r)
    x2 = np.maximum(points[..., 0].max(-1) + pad, head[..., 0] + r)
    y2 = np.maximum(points[..., 1].max(-1) + pad, head[..., 1] + r)
    return np.stack([x1, y1, x2, y2], -1)
