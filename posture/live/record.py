"""``posture record``: save a few seconds of camera video, on request only.

This module is the ONLY path by which camera frames reach the disk, and it runs only when the user
asks for it (``posture record OUT.webm``): monitoring and calibration never write frames anywhere.
A recording is useful to reproduce a problem, to tune thresholds, or to analyse later with
``posture analyze``.

The file is written by the one video writer (:mod:`posture.outputs.video`), so it plays in a
browser (VP8 WebM, or H.264 MP4 with the ``h264`` extra) and an interrupted or failed recording
never leaves a half-written video under the name asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posture.errors import InputError, UnreadableSourceError
from posture.outputs.video import VideoWriter, encoder_for
from posture.sources.media import Frame

__all__ = ["RecordResult", "record", "record_camera"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordResult:
    path: Path
    frames: int  # frames written
    duration_s: float  # playing time of the file: frames / fps
    size: tuple[int, int]  # (width, height) in pixels


def _check_out(out: Path) -> None:
    """Typed errors for a file name no encoder here makes, or a folder that cannot be used."""
    encoder_for(out)
    if not out.parent.is_dir():
        raise InputError(f"cannot record to {out}: folder {out.parent} does not exist")
    if out.is_dir():
        raise InputError(f"cannot record to {out}: it is a folder")


def _fitted(image: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """``image`` as BGR (from grey or BGRA) and at ``size`` (the first frame's) when it differs."""
    import cv2

    if image.ndim == 2 or image.shape[2] == 1:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if size is not None and (image.shape[1], image.shape[0]) != size:
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(image, dtype=np.uint8)


def record(frames: Iterable[Frame], out: Path, *, seconds: float, fps: float) -> RecordResult:
    """Write ``seconds`` of source time from ``frames`` to ``out`` (.webm: VP8, .mp4: H.264).

    The file plays at ``fps`` and at the real speed: frames are placed by their timestamps, a frame
    repeated where the source fell behind (a camera that delivered fewer frames) and dropped where
    it came faster. This is the only path by which camera frames reach the disk, and only when the
    user asks for it.
    """
    out = Path(out)
    _check_out(out)
    if not seconds > 0:
        raise InputError("the recording's length must be a positive number of seconds")
    with VideoWriter(out, fps) as rec:
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
                last = _fitted(frame.image, rec.size)
                rec.write(last, due - rec.frames)
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
