"""Media files: video files and still images, their checks, and sources yielding ``Frame``s.

Every frame carries its own timestamp in seconds of source time (``t_s``): the container's
presentation time for videos (so variable frame rates come out right), 0 for a still image, and
the monotonic clock since opening for a camera (:mod:`posture.sources.camera`). Every video file
posture reads is opened here (:func:`open_video`): the analysed video, a file played as a camera,
the report's key frames. Writing videos is :mod:`posture.outputs.video`'s.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import queue
import stat
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from posture.errors import (
    NotAMediaError,
    SourceNotFoundError,
    UnreadableSourceError,
)
from posture.untrusted import printable

__all__ = [
    "Frame",
    "ImageSource",
    "VideoFileSource",
    "VideoInfo",
    "check_frame_timing",
    "check_media_path",
    "is_image_file",
    "load_image",
    "open_video",
    "opencv_name",
    "read_frames_at",
]

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}


@dataclass(frozen=True)
class Frame:
    """One decoded frame: ``image`` is BGR uint8 (OpenCV's order), ``t_s`` seconds of source time."""

    image: np.ndarray
    index: int
    t_s: float


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    frame_count: int  # as the container states it; 0 when unknown

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps if self.fps > 0 and self.frame_count > 0 else 0.0

    @property
    def frame_step_s(self) -> float:
        """Seconds between two frames; 1/30 s when the container does not say."""
        return 1.0 / self.fps if self.fps > 0 else 1.0 / 30.0

    def sample_step_s(self, sample_fps: float | None) -> float:
        """Seconds between two analysed frames, so how long each stands for: ``1/sample_fps``, or
        the frame step when every frame is analysed (``sample_fps`` None or 0)."""
        return 1.0 / sample_fps if sample_fps else self.frame_step_s


def check_media_path(path: Path) -> None:
    """Raise a typed error for paths that cannot be media at all, before any decoder sees them.

    Only regular files pass: a FIFO would block the first read for ever and a device never ends.
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        raise SourceNotFoundError(f"no such file: {path}") from None
    except OSError as exc:
        raise UnreadableSourceError(f"cannot read {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise NotAMediaError(f"{path} is a directory, not an image or video")
    if not stat.S_ISREG(st.st_mode):
        raise NotAMediaError(
            f"{path} is not a regular file (a pipe, socket or device), not an image or video"
        )
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise UnreadableSourceError(f"cannot read {path}: {exc.strerror or exc}") from None
    if st.st_size == 0:
        raise UnreadableSourceError(f"{path} is empty")


@contextlib.contextmanager
def opencv_name(path: Path) -> Iterator[str]:
    """A name for ``path`` that OpenCV can be given, valid while the block runs.

    OpenCV's Python binding kills the process (signal 11) when handed a string that is not valid
    UTF-8, which is what Python makes of a file name holding other bytes (``surrogateescape``:
    a Latin-1 name from an old disk, say). Such a path is reached through a symbolic link with a
    plain name in a private temporary folder; OpenCV keeps the file open once it has opened it,
    so the link may go when the block ends. Where there are no symbolic links, such a name is
    refused as bad input.
    """
    name = str(path)
    if is_utf8(name):
        yield name
        return
    if os.name != "posix":
        raise UnreadableSourceError(
            f"{printable(name)}: OpenCV cannot open a file whose name is not valid text; rename it"
        )
    suffix = path.suffix if is_utf8(path.suffix) else ""
    with tempfile.TemporaryDirectory(prefix="posture-name-") as folder:
        link = Path(folder) / f"media{suffix}"
        os.symlink(os.fsencode(path.absolute()), link)
        yield str(link)


MAX_CAMERA_FPS = 240.0  # the fastest a camera films (phones' slow motion); a desk is filmed at 5-60


def check_frame_timing(path: Path, name: str, stated_fps: float) -> None:
    """Refuse a video whose frames are stamped closer together than any camera films them.

    An AVI's clock is its header's frame rate: one claiming 900 frames a second makes 75 frames
    last 0.08 s, and the analysis would see one frame of them. A stated rate above
    :data:`MAX_CAMERA_FPS` (or none) is checked against the timestamps of the first frames, so a
    WebM whose header gives its time base (1000) but whose frames are stamped 33 ms apart is
    fine. ``name`` is what OpenCV opens (:func:`opencv_name`).
    """
    if 0 < stated_fps <= MAX_CAMERA_FPS:
        return
    import cv2

    cap = cv2.VideoCapture(name)
    try:
        stamps = []
        for _ in range(4):
            if not cap.grab():
                break
            stamps.append(float(cap.get(cv2.CAP_PROP_POS_MSEC) or 0.0) / 1000.0)
    finally:
        cap.release()
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    if len(gaps) < 1 or max(gaps) <= 0:
        return  # one frame, or no timestamps at all: the frame count and a fallback rate time it
    gap_s = sorted(gaps)[len(gaps) // 2]
    if gap_s < 0.95 / MAX_CAMERA_FPS:
        raise UnreadableSourceError(
            f"{path} stamps its frames {gap_s * 1000:.2g} ms apart ({1 / gap_s:.0f} a second"
            f"{f'; its header says {stated_fps:g}' if stated_fps > 0 else ''}): no camera films that fast, "
            "so its timing is broken; re-encode it at its real frame rate (e.g. ffmpeg -r 30 -i IN OUT.mp4)"
        )


def open_video(path: Path, *, threads: int | None = None, check_timing: bool = True) -> Any:
    """An opened ``cv2.VideoCapture`` of the video file ``path``; the caller releases it.

    ``threads``: FFmpeg's decoding threads (None: OpenCV's choice). ``check_timing`` refuses a
    video stamped faster than any camera films (:func:`check_frame_timing`). A file OpenCV cannot
    open is a :class:`NotAMediaError`; a name that is not valid text is reached through a link
    (:func:`opencv_name`).
    """
    import cv2

    with opencv_name(path) as name:
        cap = None
        if threads is not None:
            cap = cv2.VideoCapture(name, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, threads])
            if not cap.isOpened():
                cap.release()
                cap = None
        if cap is None:
            cap = cv2.VideoCapture(name)
        if not cap.isOpened():
            cap.release()
            raise NotAMediaError(f"{path} is not a video OpenCV can open")
        if check_timing:
            try:
                check_frame_timing(path, name, float(cap.get(cv2.CAP_PROP_FPS) or 0.0))
            except BaseException:
                cap.release()
                raise
    return cap


def read_frames_at(path: Path, times_s: Sequence[float]) -> list[np.ndarray | None]:
    """The picture at each of ``times_s`` (seconds into the video, seeking), None where it cannot
    be read; a :class:`NotAMediaError` when the video cannot be opened at all."""
    import cv2

    cap = open_video(path, check_timing=False)
    images: list[np.ndarray | None] = []
    try:
        for t_s in times_s:
            cap.set(cv2.CAP_PROP_POS_MSEC, t_s * 1000.0)
            ok, image = cap.read()
            images.append(image if ok and image is not None else None)
    finally:
        cap.release()
    return images


def is_utf8(text: str) -> bool:
    """Whether ``text`` encodes as UTF-8 (a file name decoded with ``surrogateescape`` may not)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_image_file(path: Path) -> bool:
    """True when Pillow recognises the file as an image (by content, not by name)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                im.verify()
    except Image.DecompressionBombError:
        return True  # an image, too large to read: load_image says so
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return False
    return True


def _to_8bit_rgb(im: Any) -> Any:
    """An RGB image for any mode Pillow reads; 16-bit and 32-bit greyscale (``I;16``, ``I``, ``F``)
    are scaled to 8 bits rather than clipped (clipping turns a 16-bit photo white)."""
    from PIL import Image

    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        values = np.asarray(im, dtype=np.float64)
        if im.mode.startswith("I;16") or (values.size and float(np.nanmax(values)) > 255.0):
            values = values / 257.0  # 0-65535 to 0-255
        grey = np.clip(np.nan_to_num(values), 0.0, 255.0).round().astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    return im.convert("RGB")


def load_image(path: Path) -> np.ndarray:
    """A still image as BGR uint8 with its EXIF orientation applied (phones store photos sideways).

    Images larger than Pillow's decompression-bomb limit (about 89 megapixels) are refused.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    check_media_path(path)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                upright = _to_8bit_rgb(ImageOps.exif_transpose(im))
        # Pillow warns (with a source line) about EXIF data it cannot parse, and carries on.
        if any("EXIF" in str(w.message) for w in caught):
            log.warning("%s: its EXIF data is damaged and was ignored (the photo is used as stored)", path)
        for w in caught:
            if "EXIF" not in str(w.message):
                log.info("%s: %s", path, w.message)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise NotAMediaError(
            f"{path} is too large an image (over {(Image.MAX_IMAGE_PIXELS or 0) / 1e6:.0f} megapixels)"
        ) from None
    except (UnidentifiedImageError, SyntaxError) as exc:
        raise NotAMediaError(f"{path} is not an image Pillow can read") from exc
    except (OSError, ValueError) as exc:
        raise UnreadableSourceError(f"{path} is damaged: {exc}") from None
    rgb = np.asarray(upright)
    return np.ascontiguousarray(rgb[:, :, ::-1])


class ImageSource:
    """A still image as a one-frame source at t_s = 0."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._image = load_image(self.path)

    @property
    def info(self) -> VideoInfo:
        h, w = self._image.shape[:2]
        return VideoInfo(w, h, 0.0, 1)

    def __enter__(self) -> ImageSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self._image = np.empty((0, 0, 3), np.uint8)

    def __iter__(self) -> Iterator[Frame]:
        yield Frame(self._image, 0, 0.0)


_END = object()


class VideoFileSource:
    """A video file decoded in a background thread.

    ``sample_fps`` keeps one frame per 1/sample_fps seconds of source time; the frames in between
    are grabbed (demuxed and decoded, as codecs require) but never converted or copied.
    ``keep_between`` also decodes the frames between two samples, for :meth:`with_between`
    (used to look closer where the measurement moves). ``realtime`` paces delivery at the video's
    own speed, so a file stands in for a camera.
    ``start_s``/``end_s`` restrict the frames to a time range (for splitting a video into chunks).
    After iteration, ``truncated`` tells whether the video ended well before its stated length.
    """

    def __init__(
        self,
        path: Path,
        sample_fps: float | None = None,
        *,
        realtime: bool = False,
        keep_between: bool = False,
        start_s: float = 0.0,
        end_s: float | None = None,
        queue_size: int = 8,
    ) -> None:
        import cv2

        self.path = Path(path)
        check_media_path(self.path)
        self._cv2 = cv2
        self._cap: Any = open_video(self.path)
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.info = VideoInfo(
            width=int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            height=int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            fps=fps if 0 < fps < 1000 else 0.0,
            frame_count=max(int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0),
        )
        self.sample_fps = sample_fps
        self.realtime = realtime
        self.keep_between = keep_between
        self.start_s = start_s
        self.end_s = end_s
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.frames_read = 0  # frames demuxed and decoded so far
        self.last_t_s = 0.0  # timestamp of the last frame seen
        self.truncated = False

    def __enter__(self) -> VideoFileSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            while self._thread.is_alive():
                try:  # unblock a producer waiting on a full queue
                    self._queue.get_nowait()
                except queue.Empty:
                    self._thread.join(timeout=0.05)
            self._thread = None
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def _timestamp(self, index: int) -> float:
        pos_ms = float(self._cap.get(self._cv2.CAP_PROP_POS_MSEC) or 0.0)
        if pos_ms > 0 or index == 0 or self.info.fps <= 0:
            return pos_ms / 1000.0
        return index / self.info.fps

    def _produce(self) -> None:
        cap = self._cap
        try:
            if self.start_s > 0:
                cap.set(self._cv2.CAP_PROP_POS_MSEC, self.start_s * 1000.0)
            step = 1.0 / self.sample_fps if self.sample_fps else 0.0
            next_t = self.start_s
            index = round(self.start_s * self.info.fps) if self.start_s > 0 else 0
            while not self._stop.is_set():
                if not cap.grab():
                    break
                t_s = self._timestamp(index)
                self.frames_read += 1
                self.last_t_s = t_s
                if self.end_s is not None and t_s >= self.end_s:
                    break
                # A small tolerance keeps frame timestamps' rounding from skipping a due sample.
                due = t_s + 1e-3 >= next_t and t_s >= self.start_s - 1e-3
                if due or (self.keep_between and t_s >= self.start_s - 1e-3):
                    ok, image = cap.retrieve()
                    if ok and image is not None:
                        self._put((Frame(image, index, t_s), due))
                        if due:
                            next_t = (next_t + step) if t_s < next_t + step else t_s + step
                index += 1
            stated = self.info.duration_s
            self.truncated = (
                self.end_s is None and stated > 2.0 and self.last_t_s < stated - max(1.0, 0.05 * stated)
            )
            self._put(_END)
        except BaseException as exc:  # forwarded to the consumer
            self._put(exc)

    def _put(self, item: Any) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[Frame]:
        """The sampled frames."""
        for frame, due in self._items():
            if due:
                yield frame

    def with_between(self) -> Iterator[tuple[Frame, bool]]:
        """Every decoded frame with whether it is a sample (needs ``keep_between=True``)."""
        return self._items()

    def _items(self) -> Iterator[tuple[Frame, bool]]:
        if self._cap is None:
            raise UnreadableSourceError(f"{self.path} is closed")
        self._thread = threading.Thread(target=self._produce, name="posture-decode", daemon=True)
        self._thread.start()
        clock_start: float | None = None
        delivered = 0
        while True:
            item = self._queue.get()
            if item is _END:
                break
            if isinstance(item, BaseException):
                raise item
            frame = item[0]
            if self.realtime:
                now = time.monotonic()
                if clock_start is None:
                    clock_start = now - (frame.t_s - self.start_s)
                delay = clock_start + (frame.t_s - self.start_s) - now
                if delay > 0:
                    time.sleep(delay)
            delivered += 1
            yield item
        if delivered == 0 and self.frames_read == 0:
            if self.start_s > 0:  # a chunk that starts past a truncated file's real end
                self.truncated = True
                return
            raise UnreadableSourceError(f"{self.path} has no decodable frames")


def quiet_opencv() -> None:
    """Keep OpenCV's own log lines (a missing camera is reported by every backend it tries) off
    the terminal; posture says what went wrong in one line of its own."""
    import cv2

    if hasattr(cv2, "setLogLevel"):
        cv2.setLogLevel(0)  # 0 = silent
