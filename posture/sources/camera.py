"""Live sources: a webcam, and a video file played at real speed as a stand-in for one.

A live source is opened, read only when a sample is due (the freshest frame, timed by the
monotonic clock since opening), released while the monitor is paused or nobody is there, and
opened again later: :class:`LiveFrames`. Both kinds are context managers as well, for a caller
that opens them once. A camera is opened here; a file through :func:`posture.sources.media.open_video`,
like every video file. ``cv2`` is imported only on opening.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from posture.config import MAX_CAMERA_INDEX
from posture.errors import CameraUnavailableError, NotAMediaError, UnreadableSourceError
from posture.sources.media import Frame

__all__ = [
    "MAX_CAMERA_INDEX",
    "WARM_UP_FRAMES",
    "CameraFrames",
    "FileFrames",
    "LiveFrames",
    "cameras_found",
    "thumbnail",
]


class LiveFrames(Protocol):
    """A camera, or a stand-in for one: opened, read when a sample is due, released."""

    name: str

    def open(self) -> None: ...

    def close(self) -> None: ...

    def read(self) -> Frame | None:
        """The freshest frame, or None when the device delivered nothing (lost, ended)."""
        ...

    @property
    def ended(self) -> bool:
        """True when no more frames will ever come (a file stand-in at its end)."""
        ...


WARM_UP_FRAMES = 3  # frames dropped after opening a camera, while its exposure settles


def cameras_found(indices: range = range(4)) -> list[int]:
    """Which of the first camera indices open (each is released at once)."""
    import cv2

    from posture.sources.media import quiet_opencv

    quiet_opencv()
    found = []
    for index in indices:
        cap = cv2.VideoCapture(index)
        if cap.isOpened():
            found.append(index)
        cap.release()
    return found


_S = TypeVar("_S", bound="_Reopenable")


class _Reopenable:
    """``with source:`` opens it and always releases it, for callers that open a source once."""

    def open(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self: _S) -> _S:
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class CameraFrames(_Reopenable):
    """A webcam at a modest resolution. Opening a camera that does not exist is an input error."""

    def __init__(
        self, index: int, width: int = 640, height: int = 480, opener: Callable[[int], Any] | None = None
    ):
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= MAX_CAMERA_INDEX:
            raise CameraUnavailableError(
                f"a camera index is a number from 0 to {MAX_CAMERA_INDEX}, not {index!r}"
            )
        self.index = index
        self.name = f"camera {index}"
        self._size = (width, height)
        self._opener = opener
        self._cap: Any = None
        self._t0 = 0.0
        self._count = 0

    def open(self) -> None:
        import cv2

        from posture.sources.media import quiet_opencv

        quiet_opencv()
        cap = self._opener(self.index) if self._opener else cv2.VideoCapture(self.index)
        if not cap.isOpened():
            cap.release()
            raise CameraUnavailableError(f"camera {self.index} is not available")
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self._size[0])
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self._size[1])
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # keep only the newest frame queued, where supported
        for _ in range(WARM_UP_FRAMES):  # auto-exposure needs a few frames after opening
            cap.grab()
        self._cap = cap
        if not self._t0:
            self._t0 = time.monotonic()

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    @property
    def ended(self) -> bool:
        return False

    def read(self) -> Frame | None:
        if self._cap is None:
            return None
        # grab() only dequeues the driver's buffer; retrieve() decodes and converts this one frame.
        if not self._cap.grab():
            return None
        ok, image = self._cap.retrieve()
        if not ok or image is None:
            return None
        self._count += 1
        return Frame(image, self._count, time.monotonic() - self._t0)


class FileFrames(_Reopenable):
    """A video file played at real speed as a stand-in for a camera (``--source``).

    The file's clock runs from ``open()``; a read returns the frame due at that moment. Like a
    webcam, which drops the frames nobody asks for, the stand-in avoids work on the frames between
    samples: a Motion-JPEG file (the format most webcams deliver) is read as raw packets and only
    the due frame is decoded; other codecs are grabbed forward (decoded, as inter-frame codecs
    require, but never converted), and a gap longer than ``seek_after_s`` is skipped by seeking.
    ``loop`` starts over at the end, like a camera that never stops; otherwise the stand-in ends
    with the file.
    """

    seek_after_s = 3.0

    def __init__(self, path: Path, *, loop: bool = False, clock: Callable[[], float] = time.monotonic):
        from posture.sources.media import check_media_path, is_image_file

        check_media_path(path)
        if is_image_file(path):
            raise NotAMediaError(f"{path} is a still image, not a video to play as a camera")
        self.path = path
        self.name = str(path)
        self.loop = loop
        self._clock = clock
        self._cap: Any = None
        self._t0: float | None = None  # clock time at which the file's time 0 played
        self._offset_s = 0.0  # source time added per loop, so t_s keeps increasing
        self._pos_s = -1.0  # time of the last grabbed frame
        self._index = -1  # index of the last grabbed frame
        self._fps = 0.0
        self._raw_jpeg = False  # packets are JPEG images, decoded only when due
        self._length_s = 0.0  # the file's length as far as known (stated, or played so far)
        self._ended = False
        self._check_first_frame()  # a file that is no video is refused before anything starts

    def _open_capture(self, *, check_timing: bool = False) -> Any:
        from posture.sources.media import open_video

        # One decoding thread: the stand-in decodes about one frame in 25 that it uses, and frame
        # threading costs more CPU than it saves at that pace (measured: 1.9 % against 2.4 % of a
        # core per second of 630x360 H.264).
        return open_video(self.path, threads=1, check_timing=check_timing)

    def _capture(self) -> Any:
        import cv2

        cap = self._open_capture()
        self._fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        fourcc = int(cap.get(cv2.CAP_PROP_FOURCC) or 0).to_bytes(4, "little").decode("latin-1").upper()
        self._raw_jpeg = fourcc == "MJPG" and self._fps > 0 and bool(cap.set(cv2.CAP_PROP_FORMAT, -1))
        count = float(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0.0)
        if self._fps > 0 and count > 0:
            self._length_s = max(self._length_s, count / self._fps)
        self._pos_s, self._index = -1.0, -1
        return cap

    def open(self) -> None:
        self._cap = self._capture()
        if self._t0 is None:
            self._t0 = self._clock()

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def _check_first_frame(self) -> None:
        """A file OpenCV opens but cannot decode (text named .jpg, a broken clip), or whose
        frames are timed faster than any camera films, is bad input."""
        cap = self._open_capture(check_timing=True)
        try:
            ok, image = cap.read()
        finally:
            cap.release()
        if not ok or image is None or getattr(image, "ndim", 0) != 3:
            raise UnreadableSourceError(f"{self.path} has no video frame OpenCV can read")

    @property
    def ended(self) -> bool:
        return self._ended

    def _grab(self) -> bool:
        import cv2

        if not self._cap.grab():
            return False
        self._index += 1
        if self._raw_jpeg:
            self._pos_s = self._index / self._fps
        else:
            self._pos_s = float(self._cap.get(cv2.CAP_PROP_POS_MSEC) or 0.0) / 1000.0
        self._length_s = max(self._length_s, self._pos_s)
        return True

    def read(self) -> Frame | None:
        import cv2

        if self._cap is None or self._ended or self._t0 is None:
            return None
        target = self._clock() - self._t0 - self._offset_s
        if self.loop and self._length_s > 0 and target >= self._length_s:
            # The file's end went by unseen (the stand-in was paused or released meanwhile):
            # skip the whole plays it missed, as a camera's picture would have moved on.
            plays = math.floor(target / self._length_s)
            self._offset_s += plays * self._length_s
            target -= plays * self._length_s
            self._cap.release()
            self._cap = self._capture()
        if not self._raw_jpeg and target - self._pos_s > self.seek_after_s:
            self._cap.set(cv2.CAP_PROP_POS_MSEC, target * 1000.0)
            self._index = int(self._cap.get(cv2.CAP_PROP_POS_FRAMES) or 0) - 1
        restarted = False  # started over and no frame since: a file that gives none ends
        while True:
            if not self._grab():
                # At the end; or past it, after a seek to where a pause left the clock.
                if self.loop and not restarted and (self._pos_s > 0 or self._length_s > 0):
                    played = self._pos_s + (1.0 / self._fps if self._fps else 0.04)
                    self._offset_s += played if self._pos_s > 0 else self._length_s
                    self._cap.release()
                    self._cap = self._capture()
                    target = self._clock() - self._t0 - self._offset_s
                    restarted = True
                    continue
                self._ended = True
                return None
            restarted = False
            if self._pos_s + 1e-3 >= target:
                break
        ok, data = self._cap.retrieve()
        if not ok or data is None:
            return None
        image = cv2.imdecode(data, cv2.IMREAD_COLOR) if self._raw_jpeg else data
        if image is None:
            return None
        return Frame(image, self._index, self._offset_s + self._pos_s)


def thumbnail(image: Any, width: int = 64) -> Any:
    """A tiny greyscale copy of a frame for the monitor's change gate (area-averaged, which also
    averages out the sensor's noise)."""
    import cv2

    h, w = image.shape[:2]
    size = (width, max(1, round(h * width / max(w, 1))))
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
