"""The project's own pose type: 33 named landmarks as numpy arrays.

MediaPipe's result objects are converted into :class:`Pose` at the estimator boundary, so nothing
downstream imports MediaPipe. Image coordinates are pixels with the origin at the top-left corner
and y pointing down; world coordinates are metres, centred between the hips, as MediaPipe gives them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

__all__ = ["N_LANDMARKS", "Landmark", "Pose"]


class Landmark(IntEnum):
    """BlazePose landmark indices (the same 33 points in the legacy and Tasks APIs)."""

    NOSE = 0
    LEFT_EYE_INNER = 1
    LEFT_EYE = 2
    LEFT_EYE_OUTER = 3
    RIGHT_EYE_INNER = 4
    RIGHT_EYE = 5
    RIGHT_EYE_OUTER = 6
    LEFT_EAR = 7
    RIGHT_EAR = 8
    MOUTH_LEFT = 9
    MOUTH_RIGHT = 10
    LEFT_SHOULDER = 11
    RIGHT_SHOULDER = 12
    LEFT_ELBOW = 13
    RIGHT_ELBOW = 14
    LEFT_WRIST = 15
    RIGHT_WRIST = 16
    LEFT_PINKY = 17
    RIGHT_PINKY = 18
    LEFT_INDEX = 19
    RIGHT_INDEX = 20
    LEFT_THUMB = 21
    RIGHT_THUMB = 22
    LEFT_HIP = 23
    RIGHT_HIP = 24
    LEFT_KNEE = 25
    RIGHT_KNEE = 26
    LEFT_ANKLE = 27
    RIGHT_ANKLE = 28
    LEFT_HEEL = 29
    RIGHT_HEEL = 30
    LEFT_FOOT_INDEX = 31
    RIGHT_FOOT_INDEX = 32


N_LANDMARKS = len(Landmark)

# Skeleton edges for drawing (upper body and legs; the hands' finger points are left out).
SKELETON: tuple[tuple[Landmark, Landmark], ...] = (
    (Landmark.LEFT_EAR, Landmark.LEFT_EYE),
    (Landmark.LEFT_EYE, Landmark.NOSE),
    (Landmark.NOSE, Landmark.RIGHT_EYE),
    (Landmark.RIGHT_EYE, Landmark.RIGHT_EAR),
    (Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER),
    (Landmark.LEFT_SHOULDER, Landmark.LEFT_ELBOW),
    (Landmark.LEFT_ELBOW, Landmark.LEFT_WRIST),
    (Landmark.RIGHT_SHOULDER, Landmark.RIGHT_ELBOW),
    (Landmark.RIGHT_ELBOW, Landmark.RIGHT_WRIST),
    (Landmark.LEFT_SHOULDER, Landmark.LEFT_HIP),
    (Landmark.RIGHT_SHOULDER, Landmark.RIGHT_HIP),
    (Landmark.LEFT_HIP, Landmark.RIGHT_HIP),
    (Landmark.LEFT_HIP, Landmark.LEFT_KNEE),
    (Landmark.LEFT_KNEE, Landmark.LEFT_ANKLE),
    (Landmark.RIGHT_HIP, Landmark.RIGHT_KNEE),
    (Landmark.RIGHT_KNEE, Landmark.RIGHT_ANKLE),
)


def _mirror_order() -> list[int]:
    order = []
    for lm in Landmark:
        name = lm.name
        if name.startswith("LEFT_"):
            order.append(Landmark["RIGHT_" + name[5:]])
        elif name.startswith("RIGHT_"):
            order.append(Landmark["LEFT_" + name[6:]])
        else:
            order.append(lm)
    return [int(i) for i in order]


# Index map that swaps every left landmark with its right twin (nose stays).
_MIRROR = _mirror_order()


@dataclass(frozen=True, eq=False)
class Pose:
    """One person's landmarks in one frame.

    ``xy_px`` is (33, 2) image pixels, ``visibility`` (33,) in [0, 1], ``world_m`` (33, 3) metres
    (x right, y down, z away from the camera) or ``None`` when the estimator gives no world points.
    ``image_size`` is (width, height) in pixels.
    """

    xy_px: np.ndarray
    visibility: np.ndarray
    world_m: np.ndarray | None
    image_size: tuple[int, int]

    def __post_init__(self) -> None:
        xy = np.asarray(self.xy_px, dtype=np.float64)
        vis = np.asarray(self.visibility, dtype=np.float64)
        if xy.shape != (N_LANDMARKS, 2):
            raise ValueError(f"xy_px must be ({N_LANDMARKS}, 2), got {xy.shape}")
        if vis.shape != (N_LANDMARKS,):
            raise ValueError(f"visibility must be ({N_LANDMARKS},), got {vis.shape}")
        object.__setattr__(self, "xy_px", xy)
        object.__setattr__(self, "visibility", np.clip(vis, 0.0, 1.0))
        if self.world_m is not None:
            world = np.asarray(self.world_m, dtype=np.float64)
            if world.shape != (N_LANDMARKS, 3):
                raise ValueError(f"world_m must be ({N_LANDMARKS}, 3), got {world.shape}")
            object.__setattr__(self, "world_m", world)

    def point(self, lm: Landmark) -> np.ndarray:
        return self.xy_px[lm]

    def vis(self, *lms: Landmark) -> float:
        """The lowest visibility among the given landmarks."""
        return float(min(self.visibility[lm] for lm in lms))

    @property
    def bbox_px(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) around the upper-body landmarks that are reasonably visible."""
        upper = [lm for lm in Landmark if lm <= Landmark.RIGHT_HIP]
        pts = self.xy_px[upper][self.visibility[upper] >= 0.3]
        if len(pts) == 0:
            pts = self.xy_px
        x0, y0 = pts.min(axis=0)
        x1, y1 = pts.max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)

    def mirrored(self) -> Pose:
        """The same pose as seen in a horizontally flipped image: x mirrored and the left and
        right landmarks swapped, so an estimate on a flipped image can be brought back."""
        w = self.image_size[0]
        xy = self.xy_px[_MIRROR].copy()
        xy[:, 0] = w - xy[:, 0]
        world = None
        if self.world_m is not None:
            world = self.world_m[_MIRROR].copy()
            world[:, 0] = -world[:, 0]
        return Pose(xy, self.visibility[_MIRROR], world, self.image_size)

    @staticmethod
    def mean(poses: list[Pose]) -> Pose:
        """Landmark-wise average of several estimates of the same person in the same image."""
        if not poses:
            raise ValueError("mean of no poses")
        xy = np.mean([p.xy_px for p in poses], axis=0)
        vis = np.mean([p.visibility for p in poses], axis=0)
        worlds = [p.world_m for p in poses if p.world_m is not None]
        world = np.mean(worlds, axis=0) if len(worlds) == len(poses) else None
        return Pose(xy, vis, world, poses[0].image_size)

    def transformed(self, matrix: np.ndarray, image_size: tuple[int, int]) -> Pose:
        """This pose with its image points mapped by a 2x3 affine matrix (used by tests)."""
        m = np.asarray(matrix, dtype=np.float64)
        xy = self.xy_px @ m[:, :2].T + m[:, 2]
        return Pose(xy, self.visibility, self.world_m, image_size)
