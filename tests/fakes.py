"""The shared fakes: a scripted pose estimator and a tiny video to run it over.

Injected through :class:`posture.pipeline.Pipeline`'s estimator factory (``estimators=``), never
by monkeypatching. Both pickle, so parallel workers (spawned processes) can open them too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posture.landmarks import Pose
from posture.sources.media import Frame


@dataclass(frozen=True)
class Script:
    """Segments of (seconds, pose or None): the pose the person holds, one segment after another."""

    segments: tuple[tuple[float, Pose | None], ...]

    def pose_at(self, t_s: float) -> Pose | None:
        end = 0.0
        for seconds, pose in self.segments:
            end += seconds
            if t_s < end - 1e-9:
                return pose
        return self.segments[-1][1] if self.segments else None


class ScriptedEstimator:
    """A pose estimator that returns the script's pose for each frame's time.

    ``script`` is a :class:`Script` or any function of the frame's time; ``calls`` lists the
    times it was asked about.
    """

    name = "scripted"

    def __init__(
        self, script: Script | Callable[[float], Pose | None], *, video: bool = True, sampled: bool = False
    ) -> None:
        self.pose_at = script.pose_at if isinstance(script, Script) else script
        self.video, self.sampled = video, sampled
        self.closed = False
        self.calls: list[float] = []

    def estimate(self, frame: Frame) -> Pose | None:
        assert not self.closed, "estimate() after close()"
        self.calls.append(frame.t_s)
        return self.pose_at(frame.t_s)

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> ScriptedEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class ScriptedEstimators:
    """An estimator factory (``Pipeline(config, estimators=ScriptedEstimators(script))``)."""

    script: Script

    def __call__(
        self, model: Path | None, *, video: bool, model_complexity: int = 1, sampled: bool = False
    ) -> ScriptedEstimator:
        return ScriptedEstimator(self.script, video=video, sampled=sampled)


class ClosedVideoWriter:
    """Stands in for ``cv2.VideoWriter`` in an OpenCV build that cannot write the format."""

    def __init__(self, *args: object) -> None:
        pass

    def isOpened(self) -> bool:
        return False

    def release(self) -> None:
        pass


def write_clip(path: Path, seconds: float, fps: float = 10.0, size: tuple[int, int] = (160, 120)) -> Path:
    """A small Motion-JPEG clip whose frames change (so nothing is skipped as a still picture)."""
    import cv2

    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    try:
        for i in range(round(seconds * fps)):
            writer.write(np.full((h, w, 3), 40 + (i * 5) % 200, np.uint8))
    finally:
        writer.release()
    return path
