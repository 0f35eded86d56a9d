"""Hand-built poses for the pure tests: a person in profile or facing the camera."""

from __future__ import annotations

import math

import numpy as np

from posture.landmarks import N_LANDMARKS, Pose
from posture.landmarks import Landmark as L


def _polar(origin: np.ndarray, length: float, angle_deg: float, facing: int) -> np.ndarray:
    """A point ``length`` px from ``origin`` at ``angle_deg`` from straight up, + toward ``facing``."""
    a = math.radians(angle_deg)
    return origin + np.array([facing * length * math.sin(a), -length * math.cos(a)])


def side_pose(
    *,
    trunk_deg: float = 0.0,
    neck_deg: float = 10.0,
    pitch_deg: float = 10.0,
    facing: int = 1,
    hips_visible: bool = True,
    standing: bool = False,
    size: tuple[int, int] = (640, 480),
) -> Pose:
    """A person in profile with chosen trunk and neck inclinations and head pitch (image pixels).

    World landmarks put one shoulder behind the other (yaw 90°), as a real side view does.
    """
    xy = np.zeros((N_LANDMARKS, 2))
    vis = np.full(N_LANDMARKS, 0.95)
    hip = np.array([320.0, 400.0])
    shoulder = _polar(hip, 200.0, trunk_deg, facing)
    ear = _polar(shoulder, 80.0, neck_deg, facing)
    p = math.radians(pitch_deg)
    ahead = np.array([facing * math.cos(p), math.sin(p)])  # the face's forward direction
    down = np.array([-facing * math.sin(p), math.cos(p)])  # and its downward direction
    nose = ear + 40.0 * ahead
    for lm in L:
        xy[lm] = shoulder
    for a, b, point in (
        (L.LEFT_HIP, L.RIGHT_HIP, hip),
        (L.LEFT_SHOULDER, L.RIGHT_SHOULDER, shoulder),
        (L.LEFT_EAR, L.RIGHT_EAR, ear),
    ):
        xy[a] = point + np.array([1.0, 0.0])
        xy[b] = point - np.array([1.0, 0.0])
    xy[L.NOSE] = nose
    for lm in (L.LEFT_EYE, L.RIGHT_EYE, L.LEFT_EYE_INNER, L.RIGHT_EYE_INNER):
        xy[lm] = ear + 28.0 * ahead - 8.0 * down
    for lm in (L.MOUTH_LEFT, L.MOUTH_RIGHT):
        xy[lm] = ear + 30.0 * ahead + 22.0 * down
    # Seated: the thighs run forward from the hips, nearly horizontal.
    for knee in (L.LEFT_KNEE, L.RIGHT_KNEE):
        xy[knee] = hip + np.array([facing * 180.0, 10.0])
    if standing:  # thighs hanging straight down, knees still inside the picture
        for knee in (L.LEFT_KNEE, L.RIGHT_KNEE):
            xy[knee] = hip + np.array([facing * 5.0, 75.0])
    if not hips_visible:
        vis[[L.LEFT_HIP, L.RIGHT_HIP, L.LEFT_KNEE, L.RIGHT_KNEE]] = 0.1
    world = np.zeros((N_LANDMARKS, 3))
    world[L.LEFT_SHOULDER] = [0.0, -0.5, 0.15]
    world[L.RIGHT_SHOULDER] = [0.0, -0.5, -0.15]
    return Pose(xy, vis, world, size)


def front_pose(
    *,
    shoulder_width: float = 200.0,
    head_height: float = 110.0,
    face_width: float = 70.0,
    tilt_deg: float = 0.0,
    centre: tuple[float, float] = (320.0, 300.0),
    hips_visible: bool = False,
    size: tuple[int, int] = (640, 480),
    head_forward_m: float = 0.02,
) -> Pose:
    """A person facing the camera (not mirrored: their left is image-right); ``head_forward_m``:
    how far the ears are nearer the camera than the shoulders, in MediaPipe's world metres."""
    xy = np.zeros((N_LANDMARKS, 2))
    vis = np.full(N_LANDMARKS, 0.95)
    c = np.array(centre)
    t = math.radians(tilt_deg)
    half = np.array([math.cos(t), -math.sin(t)]) * shoulder_width / 2  # + tilt raises the left side
    xy[L.LEFT_SHOULDER], xy[L.RIGHT_SHOULDER] = c + half, c - half
    ears = c + np.array([0.0, -head_height])
    xy[L.LEFT_EAR], xy[L.RIGHT_EAR] = (
        ears + np.array((face_width / 2, 0)),
        ears - np.array((face_width / 2, 0)),
    )
    xy[L.NOSE] = ears + np.array((0.0, 10.0))
    xy[L.LEFT_EYE], xy[L.RIGHT_EYE] = ears + np.array((15.0, -8.0)), ears - np.array((15.0, 8.0))
    xy[L.MOUTH_LEFT], xy[L.MOUTH_RIGHT] = ears + np.array((10.0, 28.0)), ears + np.array((-10.0, 28.0))
    xy[L.LEFT_HIP], xy[L.RIGHT_HIP] = c + np.array((70.0, 250.0)), c + np.array((-70.0, 250.0))
    if not hips_visible:
        vis[[L.LEFT_HIP, L.RIGHT_HIP]] = 0.1
    world = np.zeros((N_LANDMARKS, 3))
    world[L.LEFT_SHOULDER] = [0.18, -0.5, 0.0]
    world[L.RIGHT_SHOULDER] = [-0.18, -0.5, 0.0]
    world[L.LEFT_EAR] = [0.07, -0.7, -head_forward_m]
    world[L.RIGHT_EAR] = [-0.07, -0.7, -head_forward_m]
    return Pose(xy, vis, world, size)
