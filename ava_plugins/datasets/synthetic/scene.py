"""The synthetic world: a scene, its actors, their per-second behaviour and the labels it implies.

A :class:`VideoScript` holds everything that happens in one video on a per-second grid: second
``s`` (video-relative, AVA timestamp ``timestamp_start + s``) governs the frames with time
``tau`` in ``[s - 0.5, s + 0.5)``, so a clip of at most 1 s around a keyframe sees one state.
:func:`sample_video` draws a script from a seeded generator; :meth:`VideoScript.labels` derives
the multi-label targets from the script by the rules argued in
:mod:`ava_plugins.datasets.synthetic.generator`.
"""
from dataclasses import dataclass

import cv2
import numpy as np

from .classes import SYNTHETIC_CLASSES
from .config import SyntheticAVAConfig

STAND, WALK, JUMP, SIT = 0, 1, 2, 3
_POSE_PROBS = (0.3, 0.3, 0.15, 0.25)
_WALK_SPEED = 0.1  # frame widths per second


@dataclass
class VideoScript:
    """One video's scene and actors. ``A`` actors, ``T`` seconds, all positions in pixels.

    Scene: ``background`` (H, W, 3) uint8 BGR with the static objects drawn in;
    ``screen`` (4,) x1, y1, x2, y2 of the screen object, ``screen_on`` (T,) bool and
    ``screen_colors`` (4 T, 3) its colour per quarter second when on.
    Actors: ``height`` (A,) figure height, ``foot_y`` (A,) ground line, ``colors`` (A, 3, 3)
    shirt / trousers / skin BGR, ``clap_second`` (A,) the second of each actor's clap.
    Per second (A, T): ``pose`` (STAND/WALK/JUMP/SIT), ``facing`` (+1 right, -1 left), ``x``
    (body centre at ``tau = s``), ``velocity`` (px/s within the second) and the bool states
    ``talk``, ``wave``, ``arm_forward``, ``tap``.
    """
    video_id: str
    fps: int
    background: np.ndarray
    screen: np.ndarray
    screen_on: np.ndarray
    screen_colors: np.ndarray
    height: np.ndarray
    foot_y: np.ndarray
    colors: np.ndarray
    clap_second: np.ndarray
    pose: np.ndarray
    facing: np.ndarray
    x: np.ndarray
    velocity: np.ndarray
    talk: np.ndarray
    wave: np.ndarray
    arm_forward: np.ndarray
    tap: np.ndarray
    long_term_gap: tuple

    @property
    def num_actors(self) -> int:
        return self.pose.shape[0]

    @property
    def seconds(self) -> int:
        return self.pose.shape[1]

    @property
    def clap(self) -> np.ndarray:
        """(A, T) bool: the actor claps during second ``s``."""
        return np.arange(self.seconds)[None] == self.clap_second[:, None]

    def labels(self) -> np.ndarray:
        """(A, T, K) bool targets, column ``k`` for class id ``k + 1`` of SYNTHETIC_CLASSES."""
        A, T = self.pose.shape
        out = np.zeros((A, T, len(SYNTHETIC_CLASSES)), bool)
        out[..., :4] = self.pose[..., None] == np.arange(4)
        out[..., 4] = self.talk
        out[..., 5] = self.wave
        out[..., 6] = self.clap
        # listen to: not talking, and some other actor who talks is on the side this one faces.
        side = np.sign(self.x[None, :, :] - self.x[:, None, :])  # (i, j, T): j's side seen by i
        faced_talker = (side == self.facing[:, None, :]) & self.talk[None, :, :]
        out[..., 7] = ~self.talk & faced_talker.any(axis=1)
        # watch screen: the screen is on, the actor faces it and stands or sits still.
        screen_side = np.sign((self.screen[0] + self.screen[2]) / 2 - self.x)
        still = (self.pose == STAND) | (self.pose == SIT)
        out[..., 8] = self.screen_on[None] & still & (screen_side == self.facing)
        # clapped long ago: t - e within the gap (the clap ends >= 5 s before a <= 1 s clip).
        gap = np.arange(T)[None] - self.clap_second[:, None]
        out[..., 9] = (gap >= self.long_term_gap[0]) & (gap <= self.long_term_gap[1])
        out[..., 10] = self.tap
        return out


def _segments(rng: np.random.Generator, T: int, p_on: float, on_len, off_len) -> np.ndarray:
    """(T,) bool: alternating on/off runs with lengths drawn uniformly from the given ranges."""
    out = np.zeros(T, bool)
    t, on = 0, rng.random() < p_on
    while t < T:
        n = int(rng.integers(*(on_len if on else off_len), endpoint=True))
        out[t:t + n] = on
        t, on = t + n, not on
    return out


def _pose_track(rng: np.random.Generator, T: int) -> np.ndarray:
    """(T,) poses in runs of 2-5 s, each run a different pose from the previous one."""
    out = np.empty(T, np.int64)
    t, prev = 0, -1
    while t < T:
        probs = np.array(_POSE_PROBS)
        if prev >= 0:
            probs[prev] = 0
        prev = int(rng.choice(4, p=probs / probs.sum()))
        n = int(rng.integers(2, 5, endpoint=True))
        out[t:t + n] = prev
        t += n
    return out


def _walk(rng, pose, x0, lo, hi, speed, min_sep):
    """Facing, centre positions and velocities (A, T) of all actors, simulated together.

    ``x[a, s]`` is the centre at ``tau = s``; within second ``s`` the centre moves at
    ``velocity[a, s]``, so paths are continuous at every half second. Walkers turn at the
    frame borders and before coming closer than ``min_sep`` px to another actor, so persons
    rarely hide each other; others turn round at random when their pose changes.
    """
    A, T = pose.shape
    facing = np.empty((A, T), np.int64)
    x = np.empty((A, T))
    vel = np.zeros((A, T))
    f = np.where(rng.random(A) < 0.5, 1, -1)
    edge = np.array(x0, np.float64)  # centres at tau = s - 0.5
    for s in range(T):
        for a in range(A):
            new_run = s == 0 or pose[a, s] != pose[a, s - 1]
            if new_run and rng.random() < 0.5:
                f[a] = -f[a]
            if pose[a, s] == WALK:
                target = edge[a] + f[a] * speed
                others = np.delete(edge, a)
                ahead = (others - edge[a]) * f[a] > 0
                blocked = (ahead & (np.abs(others - target) < min_sep)).any()
                if blocked or not lo[a] <= target <= hi[a]:
                    f[a] = -f[a]
                vel[a, s] = f[a] * speed
            facing[a, s] = f[a]
            x[a, s] = edge[a] + vel[a, s] / 2
            edge[a] = x[a, s] + vel[a, s] / 2
    return facing, x, vel


def _background(rng: np.random.Generator, H: int, W: int) -> np.ndarray:
    """Textured wall and floor: low-frequency colour fields plus fixed fine grain."""
    wall = rng.uniform(90, 200, 3)
    floor = rng.uniform(50, 150, 3)
    img = np.where((np.arange(H) < int(0.55 * H))[:, None, None], wall, floor)
    low = cv2.resize(rng.uniform(-35, 35, (6, 8, 3)).astype(np.float32), (W, H),
                     interpolation=cv2.INTER_CUBIC)
    grain = rng.normal(0, 6, (H, W, 3))
    stripes = 10 * np.sin(np.arange(W) * (2 * np.pi / rng.uniform(10, 30)))[None, :, None]
    img = img + low + grain + stripes * (np.arange(H) < int(0.55 * H))[:, None, None]
    return np.clip(img, 0, 255).astype(np.uint8)


def _draw_static_objects(rng, img, screen_x_range):
    """A table and a plant on the wall/floor line, away from the screen's half of the frame."""
    H, W = img.shape[:2]
    y_line = int(0.55 * H)
    lo, hi = screen_x_range
    free = (hi, W) if lo < W / 2 else (0, lo)
    tx = int(rng.uniform(free[0] + 0.05 * W, free[1] - 0.3 * W))
    tw, th = int(0.22 * W), int(0.1 * H)
    wood = tuple(int(v) for v in rng.uniform([20, 50, 90], [50, 90, 150]))
    cv2.rectangle(img, (tx, y_line - th), (tx + tw, y_line - th + max(2, H // 40)), wood, -1)
    for leg in (tx + 2, tx + tw - 4):
        cv2.rectangle(img, (leg, y_line - th), (leg + max(2, W // 80), y_line + H // 20), wood, -1)
    px = int(rng.uniform(0.1, 0.9) * W)
    stem = (40, 90, 60)
    cv2.line(img, (px, y_line + H // 15), (px, y_line - H // 10), stem, max(1, H // 60))
    cv2.circle(img, (px, y_line - H // 8), max(3, H // 18),
               tuple(int(v) for v in rng.uniform([20, 110, 20], [70, 200, 80])), -1)
    cv2.rectangle(img, (px - H // 30, y_line + H // 15), (px + H // 30, y_line + H // 9),
                  (60, 70, 140), -1)


def sample_video(rng: np.random.Generator, cfg: SyntheticAVAConfig, video_id: str) -> VideoScript:
    """Draw one video's script. Actors' boxes stay below the screen (top 22 % of the frame)."""
    H, W, T = cfg.size, cfg.width, cfg.seconds
    A = int(rng.integers(cfg.actors[0], cfg.actors[1], endpoint=True))

    left = rng.random() < 0.5
    sx1 = rng.uniform(0.04, 0.1) * W if left else rng.uniform(0.62, 0.68) * W
    screen = np.array([sx1, 0.03 * H, sx1 + 0.28 * W, 0.2 * H])
    background = _background(rng, H, W)
    _draw_static_objects(rng, background, (screen[0], screen[2]))
    screen_on = _segments(rng, T, 0.5, (3, 8), (3, 8))
    screen_colors = rng.integers(80, 256, (4 * T, 3))

    depth = rng.random(A)  # 0 far, 1 near
    foot_y = H * (0.86 + 0.11 * depth)
    height = H * (0.36 + 0.10 * depth)
    colors = np.stack([rng.integers(30, 230, (A, 3)), rng.integers(20, 120, (A, 3)),
                       np.array([[90, 140, 200], [60, 100, 160], [140, 180, 230]])[
                           rng.integers(0, 3, A)]], axis=1)
    lo, hi = 0.08 * W + 0.25 * height, 0.92 * W - 0.25 * height
    slots = rng.permutation(A)
    x0 = lo + (hi - lo) * (slots + rng.uniform(0.2, 0.8, A)) / A

    pose = np.stack([_pose_track(rng, T) for _ in range(A)])
    facing, x, velocity = _walk(rng, pose, x0, lo, hi, _WALK_SPEED * W, 0.5 * height.max())

    clap_second = rng.integers(0, max(1, T - cfg.long_term_gap[0]), A)
    clap = np.arange(T)[None] == clap_second[:, None]
    talk = np.stack([_segments(rng, T, 0.3, (2, 4), (2, 6)) for _ in range(A)])
    wave = np.stack([_segments(rng, T, 0.1, (1, 2), (3, 10)) for _ in range(A)])
    wave &= (pose != JUMP) & ~clap
    still = (pose == STAND) | (pose == SIT)
    arm_forward = np.stack([_segments(rng, T, 0.5, (2, 4), (2, 4)) for _ in range(A)])
    arm_forward &= still & ~wave & ~clap
    tap = np.stack([_segments(rng, T, 0.5, (1, 3), (1, 3)) for _ in range(A)]) & arm_forward

    return VideoScript(
        video_id=video_id, fps=cfg.fps, background=background, screen=screen,
        screen_on=screen_on, screen_colors=screen_colors, height=height, foot_y=foot_y,
        colors=colors, clap_second=clap_second, pose=pose, facing=facing, x=x,
        velocity=velocity, talk=talk, wave=wave, arm_forward=arm_forward, tap=tap,
        long_term_gap=tuple(cfg.long_term_gap))
