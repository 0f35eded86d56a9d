"""The one video writer: encoder choice, atomic files, frames read back, and its errors."""

from __future__ import annotations

import contextlib
import resource
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from posture.errors import InputError
from posture.outputs import video as vid
from tests.fakes import ClosedVideoWriter

WEBM_FOURCCS = {"VP80", "vp80", "VP8 "}
H264_FOURCCS = {"h264", "avc1"}


def _frames(n: int, size: tuple[int, int] = (64, 48)):
    w, h = size
    for i in range(n):
        image = np.zeros((h, w, 3), np.uint8)
        image[:, : (i * 5) % w] = (40, 160, 220)
        yield image


def _read_back(path: Path) -> tuple[int, tuple[int, int], str]:
    cap = cv2.VideoCapture(str(path))
    assert cap.isOpened(), f"OpenCV cannot open {path}"
    fourcc = int(cap.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode("latin-1")
    count, size = 0, (0, 0)
    while True:
        ok, image = cap.read()
        if not ok:
            break
        count += 1
        size = (image.shape[1], image.shape[0])
    cap.release()
    return count, size, fourcc


@pytest.fixture()
def no_h264(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vid, "h264_available", lambda: False)


def _h264() -> None:
    if not vid.h264_available():
        pytest.skip("the h264 extra (imageio-ffmpeg) is not installed here")


def test_webm_is_written_by_opencv_vp8(tmp_path: Path) -> None:
    out = tmp_path / "clip.webm"
    with vid.VideoWriter(out, 10.0) as writer:
        for image in _frames(12):
            writer.write(image)
    assert writer.encoder is vid.VP8_WEBM and writer.size == (64, 48) and writer.frames == 12
    count, size, fourcc = _read_back(out)
    assert (count, size) == (12, (64, 48)) and fourcc in WEBM_FOURCCS
    assert list(tmp_path.iterdir()) == [out]


def test_mp4_is_h264_through_imageio_ffmpeg(tmp_path: Path) -> None:
    _h264()
    out = tmp_path / "clip.MP4"  # the extension in any case
    with vid.VideoWriter(out, 29.97) as writer:
        for image in _frames(10):
            writer.write(image, repeat=2)
    assert writer.encoder is vid.H264_MP4 and writer.frames == 20
    count, size, fourcc = _read_back(out)
    assert (count, size) == (20, (64, 48)) and fourcc in H264_FOURCCS
    assert list(tmp_path.iterdir()) == [out]


def test_the_default_encoder_is_h264_only_with_the_extra(no_h264) -> None:
    assert vid.default_encoder() is vid.VP8_WEBM


@pytest.mark.parametrize("name", ["clip.avi", "clip.mov", "clip.mkv", "clip", "clip.gif"])
def test_an_extension_no_encoder_makes_is_a_one_line_input_error(tmp_path: Path, name: str) -> None:
    with pytest.raises(vid.NoEncoderError, match=r"\.webm or \.mp4") as raised:
        vid.VideoWriter(tmp_path / name, 10.0)
    assert isinstance(raised.value, InputError) and raised.value.exit_code == 2
    assert list(tmp_path.iterdir()) == []


def test_mp4_without_the_extra_names_it_and_the_webm_alternative(tmp_path: Path, no_h264) -> None:
    with pytest.raises(vid.NoEncoderError, match=r"posture-monitor\[h264\].*\.webm"):
        vid.VideoWriter(tmp_path / "clip.mp4", 10.0)


@pytest.mark.parametrize("suffix", [".webm", ".mp4"])
def test_an_exception_in_the_block_leaves_no_file(tmp_path: Path, suffix: str) -> None:
    if suffix == ".mp4":
        _h264()
    out = tmp_path / f"clip{suffix}"
    out.write_bytes(b"the previous file")
    with pytest.raises(KeyboardInterrupt), vid.VideoWriter(out, 10.0) as writer:
        for image in _frames(5):
            writer.write(image)
        raise KeyboardInterrupt
    assert [p.name for p in tmp_path.iterdir()] == [out.name]
    assert out.read_bytes() == b"the previous file"


def test_no_frames_is_an_error_and_no_file(tmp_path: Path) -> None:
    with pytest.raises(vid.VideoEncodeError, match="no frames"), vid.VideoWriter(tmp_path / "a.webm", 10.0):
        pass
    assert list(tmp_path.iterdir()) == []


def test_frames_must_keep_the_size_and_be_bgr(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="50x48"), vid.VideoWriter(tmp_path / "a.webm", 10.0) as writer:
        writer.write(np.zeros((48, 64, 3), np.uint8))
        writer.write(np.zeros((48, 50, 3), np.uint8))
    with pytest.raises(ValueError, match="BGR"), vid.VideoWriter(tmp_path / "b.webm", 10.0) as writer:
        writer.write(np.zeros((48, 64), np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_a_given_size_opens_the_encoder_at_once(tmp_path: Path) -> None:
    with pytest.raises(ValueError), vid.VideoWriter(tmp_path / "a.webm", 10.0, size=(64, 48)) as writer:
        assert len(list(tmp_path.iterdir())) == 1  # the temporary file, hidden beside the target
        assert next(tmp_path.iterdir()).name.startswith(".a.webm.part-")
        writer.write(np.zeros((50, 64, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fps", [0.0, -5.0, float("nan"), float("inf")])
def test_a_bad_frame_rate_is_an_input_error(tmp_path: Path, fps: float) -> None:
    with pytest.raises(InputError, match="positive"):
        vid.VideoWriter(tmp_path / "a.webm", fps)


def test_ffmpeg_stopping_midway_is_a_one_line_error_and_no_file(tmp_path: Path) -> None:
    # A file size limit inherited by ffmpeg alone: it is killed (SIGXFSZ) once the file passes 16 KB.
    _h264()
    out = tmp_path / "clip.mp4"
    rng = np.random.default_rng(0)
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    stack = contextlib.ExitStack()
    with pytest.raises(vid.VideoEncodeError) as raised:
        resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, limits[1]))
        try:
            writer = stack.enter_context(vid.VideoWriter(out, 10.0, size=(320, 240)))  # ffmpeg starts
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        with stack:
            for _ in range(300):
                writer.write(rng.integers(0, 255, (240, 320, 3), np.uint8))
    assert "ffmpeg" in str(raised.value) and "\n" not in str(raised.value)
    assert list(tmp_path.iterdir()) == []


def test_an_incomplete_h264_file_is_caught_on_close(tmp_path: Path, monkeypatch) -> None:
    # write_frames does not report ffmpeg's exit status: the writer counts the frames it wrote.
    _h264()
    import imageio_ffmpeg

    monkeypatch.setattr(imageio_ffmpeg, "count_frames_and_secs", lambda path: (3, 0.3))
    with pytest.raises(vid.VideoEncodeError, match="3 of 5"), vid.VideoWriter(tmp_path / "a.mp4", 10.0) as w:
        for image in _frames(5):
            w.write(image)
    assert list(tmp_path.iterdir()) == []


def test_the_probe_names_the_encoder_that_works(no_h264) -> None:
    assert vid.probe_encoder() is vid.VP8_WEBM


def test_the_probe_falls_back_to_webm_when_ffmpeg_fails(monkeypatch) -> None:
    _h264()

    def broken(*args: object, **kwargs: object) -> None:
        raise vid.VideoEncodeError("ffmpeg stopped")

    monkeypatch.setattr(vid._Ffmpeg, "__init__", broken)
    assert vid.probe_encoder() is vid.VP8_WEBM


def test_the_probe_is_none_without_any_encoder(monkeypatch, no_h264) -> None:
    monkeypatch.setattr(cv2, "VideoWriter", ClosedVideoWriter)
    assert vid.probe_encoder() is None


def test_an_ffmpeg_that_does_not_run_is_an_encode_error_and_the_probe_falls_back(
    tmp_path: Path, monkeypatch
) -> None:
    _h264()
    import imageio_ffmpeg

    not_a_program = tmp_path / "ffmpeg"
    not_a_program.write_text("not a program")  # not executable
    monkeypatch.setattr(imageio_ffmpeg._io, "get_ffmpeg_exe", lambda: str(not_a_program))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with (
        pytest.raises(vid.VideoEncodeError, match="cannot start ffmpeg"),
        vid.VideoWriter(out_dir / "a.mp4", 10.0) as writer,
    ):
        writer.write(next(_frames(1)))
    assert list(out_dir.iterdir()) == []
    assert vid.probe_encoder() is vid.VP8_WEBM


# -- encoding on a thread of its own (background=True) ----------------------------------------------


def test_background_encoding_writes_every_frame_and_lets_the_caller_reuse_its_buffer(tmp_path: Path) -> None:
    out = tmp_path / "clip.webm"
    buffer = np.zeros((48, 64, 3), np.uint8)
    expected = []  # the stripe's width in each frame of the file
    with vid.VideoWriter(out, 10.0, background=True) as writer:
        for i, image in enumerate(_frames(30)):
            buffer[:] = image  # the same array every time: write() must have copied it
            repeat = 1 + i % 2
            writer.write(buffer, repeat=repeat)
            expected += [(i * 5) % 64] * repeat
    assert writer.frames == len(expected)
    cap = cv2.VideoCapture(str(out))
    widths = []
    while True:
        ok, image = cap.read()
        if not ok:
            break
        widths.append(int((image[24, :, 2] > 128).sum()))  # the stripe's width on the middle row
    cap.release()
    assert len(widths) == len(expected)
    assert all(abs(w - e) <= 2 for w, e in zip(widths, expected, strict=True)), (widths, expected)
    assert list(tmp_path.iterdir()) == [out]


class _FailingSink:
    def __init__(self, *args: object) -> None:
        self.written = 0

    def write(self, image: np.ndarray) -> None:
        self.written += 1
        if self.written == 3:
            raise vid.VideoEncodeError("the encoder stopped")

    def close(self, frames: int) -> None:
        pass

    def abort(self) -> None:
        pass


def test_a_background_encoder_failure_reaches_the_caller_and_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vid, "_OpenCV", _FailingSink)
    with (
        pytest.raises(vid.VideoEncodeError, match="stopped"),
        vid.VideoWriter(tmp_path / "a.webm", 10.0, background=True) as writer,
    ):
        for image in _frames(200):  # raised by a later write, or at the end of the block
            writer.write(image)
    assert list(tmp_path.iterdir()) == []


def test_an_exception_while_encoding_in_the_background_leaves_no_file(tmp_path: Path) -> None:
    with (
        pytest.raises(KeyboardInterrupt),
        vid.VideoWriter(tmp_path / "a.webm", 10.0, background=True) as writer,
    ):
        for image in _frames(20):
            writer.write(image)
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
    assert not any(t.name == "posture-encode" for t in threading.enumerate())
