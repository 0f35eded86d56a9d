"""``posture record``: save a few seconds of camera video, on request only.

This module is the ONLY path by which camera frames reach the disk, and it runs only when the user
asks for it (``posture record OUT.mp4``): monitoring and calibration never write frames anywhere.
A recording is useful to reproduce a problem, to tune thresholds, or to analyse later with
``posture analyze``.

The file is written under a temporary name beside the target and renamed when complete, so an
interrupted or failed recording never leaves a half-written video under the name asked for.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from posture.errors import InputError, PostureError, UnreadableSourceError
from posture.sources.media import Frame

__all__ = ["FOURCC", "RecordError", "RecordResult", "VideoRecorder", "record", "record_camera"]

log = logging.getLogger(__name__)

# The codec for each container OpenCV's bundled FFmpeg writes without extra libraries.
FOURCC = {".mp4": "mp4v", ".avi": "MJPG"}


class RecordError(PostureError):
    """The video file cannot be written (no permission, disk full, no encoder)."""


@dataclass(frozen=True)
class RecordResult:
    path: Path
    frames: int  # frames written
    duration_s: float  # playing time of the file: frames / fps
    size: tuple[int, int]  # (width, height) in pixels


def _check_out(out: Path) -> str:
    """The FourCC for ``out``; typed errors for a suffix or folder that cannot be used."""
    fourcc = FOURCC.get(out.suffix.lower())
    if fourcc is None:
        raise InputError(f"cannot record to {out.name}: use a .mp4 or .avi file name")
    if not out.parent.is_dir():
        raise InputError(f"cannot record to {out}: folder {out.parent} does not exist")
    if out.is_dir():
        raise InputError(f"cannot record to {out}: it is a folder")
    return fourcc


class VideoRecorder:
    """An OpenCV ``VideoWriter`` as a context manager that commits atomically.

    The writer opens on the first frame (its size fixes the video's); later frames of another size
    are scaled to it. On a clean exit the temporary file is renamed to ``out``; on an error, or when
    no frame was written, it is removed.
    """

    def __init__(self, out: Path, fps: float) -> None:
        self.out = Path(out)
        self._fourcc = _check_out(self.out)
        if not fps > 0:
            raise InputError("the recording's frame rate must be positive")
        self.fps = float(fps)
        # Same folder (so the rename is atomic) and same suffix (OpenCV picks the container by it).
        self._tmp = self.out.with_name(f".{self.out.stem}.{os.getpid()}.part{self.out.suffix}")
        self._writer: Any = None
        self.size: tuple[int, int] | None = None  # (width, height), fixed by the first frame
        self.frames = 0  # frames written so far

    def __enter__(self) -> VideoRecorder:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self._release()
        if exc_type is None and self.frames > 0:
            os.replace(self._tmp, self.out)
            log.info("recorded %d frames to %s", self.frames, self.out)
        else:
            self._tmp.unlink(missing_ok=True)

    def _release(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def _open(self, width: int, height: int) -> None:
        import cv2

        writer = cv2.VideoWriter(
            str(self._tmp), cv2.VideoWriter_fourcc(*self._fourcc), self.fps, (width, height)
        )
        if not writer.isOpened():
            writer.release()
            self._tmp.unlink(missing_ok=True)
            raise RecordError(f"cannot write a {self._fourcc} video to {self.out}")
        self._writer = writer
        self.size = (width, height)

    def write(self, image: np.ndarray, repeat: int = 1) -> None:
        """Append ``image`` (BGR or grey uint8) ``repeat`` times."""
        import cv2

        if image.ndim == 2 or image.shape[2] == 1:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        elif image.shape[2] == 4:
            image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
        h, w = image.shape[:2]
        if self._writer is None:
            self._open(w, h)
        elif (w, h) != self.size:
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        image = np.ascontiguousarray(image, dtype=np.uint8)
        for _ in range(repeat):
            self._writer.write(image)
        self.frames += repeat


def record(frames: Iterable[Frame], out: Path, *, seconds: float, fps: float) -> RecordResult:
    """Write ``seconds`` of source time from ``frames`` to ``out`` (.mp4: mp4v, .avi: MJPG).

    The file plays at ``fps`` and at the real speed: frames are placed by their timestamps, a frame
    repeated where the source fell behind (a camera that delivered fewer frames) and dropped where
    it came faster. This is the only path by which camera frames reach the disk, and only when the
    user asks for it.
    """
    out = Path(out)
    _check_out(out)
    if not seconds > 0:
        raise InputError("the recording's length must be a positive number of seconds")
    with VideoRecorder(out, fps) as rec:
        t0: float | None = None
        last: np.ndarray | None = None  # the latest image written
        for frame in frames:
            if t0 is None:
                t0 = frame.t_s
            t = frame.t_s - t0
            if t >= seconds:
                # The last image lasts until the end of the recording.
                end = int(seconds * fps + 1e-6)
                if last is not None and end > rec.frames:
                    rec.write(last, end - rec.frames)
                break
            due = int(t * fps + 1e-6) + 1  # frames the file should hold once this one is in
            if due > rec.frames:
                rec.write(frame.image, due - rec.frames)
                last = frame.image
        if rec.frames == 0:
            raise UnreadableSourceError("the source delivered no frames: nothing was recorded")
        size = rec.size or (0, 0)
    return RecordResult(out, rec.frames, rec.frames / fps, size)


def record_camera(
    out: Path,
    *,
    camera: int = 0,
    seconds: float = 10.0,
    fps: float = 30.0,
    width: int = 640,
    height: int = 480,
) -> RecordResult:
    """``posture record``: ``seconds`` of camera ``camera`` to ``out``, at real speed."""
    from posture.sources.camera import CameraFrames

    _check_out(Path(out))  # refuse a bad name before the camera light comes on
    cam = CameraFrames(camera, width, height)
    cam.open()
    try:
        return record(iter(cam.read, None), out, seconds=seconds, fps=fps)
    finally:
        cam.close()
