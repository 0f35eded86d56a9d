"""One video writer: BGR frames in, one file that browsers play out.

Annotated videos and ``posture record`` both write through :class:`VideoWriter`, with one choice
of encoder: H.264 in MP4 through ``imageio_ffmpeg.write_frames`` where the optional ``h264`` extra
is installed (``pip install "posture-monitor[h264]"``), otherwise VP8 in WebM through OpenCV's own writer,
which every install has. VP9 would be the better WebM codec, but OpenCV's VP9 writer (fixed
settings, no speed option) took 261 s for the 64 s demo clip on two cores where VP8 took 32 s and
H.264 4 s, so VP8 it is. Where neither encoder works, :class:`NoEncoderError` says so in one line.

The file is written under a temporary name beside the target (:func:`posture.atomic.atomic_path`)
and renamed when complete, so a failure, Ctrl-C or SIGTERM never leaves half a video.

OpenCV's writer takes no encoder options (``OPENCV_FFMPEG_WRITER_OPTIONS`` is parsed but never
reaches ``avcodec_open2``: the file came out byte-identical with ``deadline;realtime|cpu-used;8``),
so VP8 runs at libvpx's default speed, about 25 ms a 640x688 frame here. What can be done is to
encode on a core of its own: ``VideoWriter(..., background=True)`` encodes in a thread (OpenCV
and the ffmpeg pipe release the GIL) while the caller decodes and draws the next frames.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import queue
import tempfile
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from posture import extra_hint
from posture.atomic import atomic_path
from posture.errors import InputError, PostureError
from posture.sources.media import opencv_name

__all__ = [
    "ENCODERS",
    "H264_MP4",
    "VP8_WEBM",
    "Encoder",
    "NoEncoderError",
    "VideoEncodeError",
    "VideoWriter",
    "default_encoder",
    "encoder_for",
    "h264_available",
    "probe_encoder",
]

log = logging.getLogger(__name__)

H264_EXTRA = extra_hint("h264", "imageio-ffmpeg")


class VideoEncodeError(PostureError):
    """The encoder failed while writing (it stopped, or its file came out incomplete)."""


class NoEncoderError(VideoEncodeError, InputError):
    """No encoder here can write the video asked for (exit 2): no encoder at all, a container that
    needs the ``h264`` extra, or a file name whose extension no encoder makes."""


@dataclass(frozen=True)
class Encoder:
    """One way to write a video: a codec in a container, by ffmpeg or by OpenCV."""

    name: str  # as ``posture check`` reports it
    suffix: str  # the container, as a file extension
    codec: str  # ffmpeg encoder name, or OpenCV FourCC


H264_MP4 = Encoder("ffmpeg-h264", ".mp4", "libx264")
VP8_WEBM = Encoder("opencv-vp8", ".webm", "VP80")
ENCODERS = (H264_MP4, VP8_WEBM)  # in order of preference

# libx264 settings: fast enough to trail the analysis, small files, playable from the first byte.
_H264_OPTIONS = ["-preset", "veryfast", "-crf", "26", "-movflags", "+faststart", "-f", "mp4"]


@functools.lru_cache(maxsize=1)
def _ffmpeg_exe() -> str | None:
    """The ffmpeg of the optional ``imageio-ffmpeg`` (or what ``IMAGEIO_FFMPEG_EXE`` names)."""
    try:
        import imageio_ffmpeg
    except ImportError:
        log.info("no imageio-ffmpeg: WebM, not H.264 MP4; for H.264: %s", H264_EXTRA)
        return None
    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError as exc:  # no binary for this platform
        log.info("imageio-ffmpeg has no ffmpeg here: %s", exc)
        return None


def h264_available() -> bool:
    """Whether the ``h264`` extra's ffmpeg is installed here."""
    return _ffmpeg_exe() is not None


def default_encoder() -> Encoder:
    """H.264 MP4 where the ``h264`` extra is installed, else VP8 WebM (OpenCV)."""
    return H264_MP4 if h264_available() else VP8_WEBM


def encoder_for(path: Path) -> Encoder:
    """The encoder that makes ``path``'s container (its extension, in any case); a typed error
    for an extension no encoder makes, or an MP4 without the ``h264`` extra."""
    suffix = Path(path).suffix.lower()
    if suffix == H264_MP4.suffix:
        if not h264_available():
            raise NoEncoderError(
                f"cannot write {Path(path).name}: H.264 MP4 needs the h264 extra, {H264_EXTRA}; "
                "a .webm file works without it"
            )
        return H264_MP4
    if suffix == VP8_WEBM.suffix:
        return VP8_WEBM
    raise NoEncoderError(f"cannot write a video to {Path(path).name}: use a .webm or .mp4 file name")


class _Ffmpeg:
    """H.264 MP4 through ``imageio_ffmpeg.write_frames`` (ffmpeg in its own process)."""

    def __init__(self, tmp: Path, size: tuple[int, int], fps: float) -> None:
        import imageio_ffmpeg

        self._tmp = tmp
        w, h = size
        options = list(_H264_OPTIONS)
        if w % 2 or h % 2:  # 4:2:0 chroma needs even sizes: pad by one pixel rather than scale
            options = ["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", *options]
        self._gen = imageio_ffmpeg.write_frames(
            str(tmp),
            size,
            pix_fmt_in="bgr24",
            fps=Fraction(fps).limit_denominator(1001),  # 29.97 → 30000/1001
            codec=H264_MP4.codec,
            quality=None,  # the options above set the quality
            macro_block_size=1,  # no rescaling to multiples of 16; odd sizes are padded above
            # ffmpeg writes straight to our stderr: only where debugging, so errors stay one line.
            ffmpeg_log_level="error" if log.isEnabledFor(logging.DEBUG) else "quiet",
            output_params=options,
        )
        try:
            self._gen.send(None)  # starts ffmpeg
        except OSError as exc:  # a binary that does not run here
            raise VideoEncodeError(f"cannot start ffmpeg: {exc}") from None

    def write(self, image: np.ndarray) -> None:
        try:
            self._gen.send(image)
        except (OSError, StopIteration):  # its message is ffmpeg's whole command line
            raise VideoEncodeError(f"ffmpeg stopped while writing {self._tmp.name}") from None

    def close(self, frames: int) -> None:
        import imageio_ffmpeg

        self._gen.close()  # closes ffmpeg's input and waits for it to finish the file
        # write_frames does not report ffmpeg's exit status: read the file back (stream copy,
        # about 0.5 s for the 64 s demo) to make sure it holds every frame.
        try:
            count, _ = imageio_ffmpeg.count_frames_and_secs(str(self._tmp))
        except (RuntimeError, OSError):
            count = 0
        if count != frames:
            raise VideoEncodeError(f"ffmpeg wrote {count} of {frames} frames: the video is incomplete")

    def abort(self) -> None:
        # A BaseException thrown in makes write_frames kill ffmpeg instead of waiting for it.
        with contextlib.suppress(_Abort, OSError):
            self._gen.throw(_Abort())


class _Abort(BaseException):
    pass


class _OpenCV:
    """VP8 WebM through OpenCV's bundled FFmpeg (in every install of posture)."""

    def __init__(self, tmp: Path, size: tuple[int, int], fps: float) -> None:
        import cv2

        self._tmp = tmp
        with opencv_name(tmp) as name:  # FFmpeg opens the file here and holds it
            self._writer: Any = cv2.VideoWriter(name, cv2.VideoWriter_fourcc(*VP8_WEBM.codec), fps, size)
        if not self._writer.isOpened():
            self._writer.release()
            extra = "" if h264_available() else f"; {H264_EXTRA} adds H.264 MP4"
            raise NoEncoderError(f"OpenCV cannot write VP8 WebM here{extra}")

    def write(self, image: np.ndarray) -> None:
        self._writer.write(image)

    def close(self, frames: int) -> None:
        self._writer.release()
        if self._tmp.stat().st_size == 0:
            raise VideoEncodeError(f"OpenCV wrote nothing to {self._tmp.name}")

    def abort(self) -> None:
        self._writer.release()


class VideoWriter:
    """BGR uint8 frames in, one video file out at ``path``, whose extension picks the encoder
    (:func:`encoder_for`; :func:`default_encoder` gives the best one here).

    A context manager: the file appears under ``path`` when the block ends normally and at least
    one frame was written; on an exception the encoder is stopped and nothing is left. The size is
    ``size``, or the first frame's; a frame of another size is a ``ValueError``.

    ``background=True`` encodes in a thread of its own, a few frames behind :meth:`write` (which
    then copies each frame, so the caller may reuse its buffer); an encoder failure is raised by
    the next ``write`` or at the end of the block.
    """

    _QUEUE_FRAMES = 8  # frames waiting for the background encoder (a few MB)

    def __init__(
        self, path: Path, fps: float, *, size: tuple[int, int] | None = None, background: bool = False
    ) -> None:
        self.path = Path(path)
        self.encoder = encoder_for(self.path)
        if not (fps > 0 and np.isfinite(fps)):
            raise InputError(f"a video's frame rate must be positive, not {fps}")
        if size is not None and (size[0] <= 0 or size[1] <= 0):
            raise ValueError(f"bad video size {size}")
        self.fps = float(fps)
        self.size = None if size is None else (int(size[0]), int(size[1]))  # (width, height)
        self.frames = 0  # written so far
        self._stack = contextlib.ExitStack()
        self._tmp: Path | None = None
        self._sink: _Ffmpeg | _OpenCV | None = None
        self._background = background
        self._queue: queue.Queue[tuple[np.ndarray, int] | None] = queue.Queue(self._QUEUE_FRAMES)
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None  # what stopped the background encoder
        self._stopping = threading.Event()  # the block failed: the encoder drops what is queued

    def __enter__(self) -> VideoWriter:
        self._tmp = self._stack.enter_context(atomic_path(self.path, suffix=self.encoder.suffix))
        try:
            if self.size is not None:
                self._open(self.size)
        except BaseException:
            self._stack.close()
            raise
        return self

    def _open(self, size: tuple[int, int]) -> None:
        assert self._tmp is not None, "use VideoWriter in a with block"
        backend = _Ffmpeg if self.encoder is H264_MP4 else _OpenCV
        self._sink = backend(self._tmp, size, self.fps)
        self.size = size
        log.info("writing %s with %s", self.path, self.encoder.name)

    def write(self, image: np.ndarray, repeat: int = 1) -> None:
        """Append ``image`` (BGR uint8, the video's size) ``repeat`` times."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"a frame must be BGR uint8, not {image.shape} {image.dtype}")
        h, w = image.shape[:2]
        if self._sink is None:
            self._open((w, h))
        elif (w, h) != self.size:
            raise ValueError(f"frame is {w}x{h}, the video {self.size[0]}x{self.size[1]}")  # type: ignore[index]
        assert self._sink is not None
        if not self._background:
            self._encode(np.ascontiguousarray(image), repeat)
        else:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._encode_queued, name="posture-encode", daemon=True
                )
                self._thread.start()
            self._put((np.array(image, order="C", copy=True), repeat))
        self.frames += repeat

    def _encode(self, image: np.ndarray, repeat: int) -> None:
        assert self._sink is not None
        for _ in range(repeat):
            self._sink.write(image)

    def _encode_queued(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._failure is None and not self._stopping.is_set():
                try:
                    self._encode(*item)
                except BaseException as exc:  # raised in the caller's thread
                    self._failure = exc

    def _put(self, item: tuple[np.ndarray, int] | None) -> None:
        while True:
            if self._failure is not None:
                raise self._failure
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                if self._thread is None or not self._thread.is_alive():
                    raise VideoEncodeError("the background encoder stopped") from None

    def _drain(self, *, abandon: bool) -> None:
        """Wait for the background encoder to finish what is queued (or drop it: ``abandon``)."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        if abandon:
            self._stopping.set()
        self._queue.put(None)  # the encoder takes every item, so there is room soon
        thread.join()
        if self._failure is not None and not abandon:
            raise self._failure

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        sink = self._sink
        try:
            self._drain(abandon=exc_type is not None)
            if exc_type is None:
                if sink is None or self.frames == 0:
                    raise VideoEncodeError(f"no frames were written to {self.path.name}")
                self._sink = None
                sink.close(self.frames)
        except BaseException as failure:
            self._discard(sink, type(failure), failure, failure.__traceback__)
            raise
        if exc_type is None:
            self._stack.__exit__(None, None, None)  # renames the file into place
        else:
            self._discard(sink, exc_type, exc, tb)  # the exception goes on

    def _discard(self, sink: _Ffmpeg | _OpenCV | None, exc_type: Any, exc: Any, tb: Any) -> None:
        """Stop the encoder and remove the partial file."""
        self._sink = None
        if sink is not None:
            sink.abort()
        self._stack.__exit__(exc_type, exc, tb)


def probe_encoder() -> Encoder | None:
    """The encoder a video would be written with here, found by writing a tiny one: the
    default, else VP8 WebM when the ``h264`` extra's ffmpeg fails; None when neither works."""
    candidates = [default_encoder()] + ([VP8_WEBM] if default_encoder() is not VP8_WEBM else [])
    with tempfile.TemporaryDirectory(prefix="posture-probe-") as tmp:
        for encoder in candidates:
            try:
                with VideoWriter(Path(tmp) / f"probe{encoder.suffix}", 10.0) as writer:
                    writer.write(np.zeros((48, 64, 3), np.uint8))
            except VideoEncodeError as exc:
                log.info("%s does not work here: %s", encoder.name, exc)
                continue
            return encoder
    return None
