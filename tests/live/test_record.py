"""``posture record``: synthetic frames written to .webm and .mp4 (files browsers play) and read back."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from posture.errors import InputError, UnreadableSourceError
from posture.live.record import record
from posture.outputs import video as vid
from posture.sources.media import Frame
from tests.fakes import ClosedVideoWriter


def _frames(seconds: float, fps: float, size: tuple[int, int] = (160, 120), t0: float = 5.0):
    w, h = size
    for i in range(round(seconds * fps)):
        image = np.zeros((h, w, 3), np.uint8)
        image[:, : (i * 7) % w] = (40, 160, 220)  # something that changes from frame to frame
        yield Frame(image, i, t0 + i / fps)


def _read_back(path: Path) -> tuple[int, int, int]:
    cap = cv2.VideoCapture(str(path))
    assert cap.isOpened()
    count = 0
    size = (0, 0)
    while True:
        ok, image = cap.read()
        if not ok:
            break
        count += 1
        size = (image.shape[1], image.shape[0])
    cap.release()
    return count, size[0], size[1]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _h264() -> None:
    if not vid.h264_available():
        pytest.skip("the h264 extra (imageio-ffmpeg) is not installed here")


@pytest.mark.parametrize("suffix", [".webm", ".mp4", ".MP4"])
def test_record_writes_a_readable_video(tmp_path: Path, suffix: str) -> None:
    if suffix.lower() == ".mp4":
        _h264()
    out = tmp_path / f"clip{suffix}"
    result = record(_frames(5.0, 10.0), out, seconds=2.0, fps=10.0)
    assert result.path == out
    assert result.frames == 20
    assert result.duration_s == pytest.approx(2.0)
    assert result.size == (160, 120)
    assert _read_back(out) == (20, 160, 120)
    assert _leftovers(tmp_path) == []


def test_record_keeps_real_speed_from_timestamps(tmp_path: Path) -> None:
    # A camera that delivers 5 frames a second, recorded at 10 fps: each frame is written twice.
    out = tmp_path / "slow.webm"
    result = record(_frames(3.0, 5.0), out, seconds=2.0, fps=10.0)
    assert result.frames == 20
    assert _read_back(out)[0] == 20
    # One that delivers 30, recorded at 10: two frames in three are dropped.
    fast = record(_frames(3.0, 30.0), tmp_path / "fast.webm", seconds=2.0, fps=10.0)
    assert fast.frames == 20


def test_record_stops_when_the_source_ends(tmp_path: Path) -> None:
    result = record(_frames(1.0, 10.0), tmp_path / "short.webm", seconds=5.0, fps=10.0)
    assert result.frames == 10
    assert result.duration_s == pytest.approx(1.0)


def test_frames_of_another_size_and_grey_frames_are_fitted(tmp_path: Path) -> None:
    def mixed():
        yield Frame(np.zeros((120, 160, 3), np.uint8), 0, 0.0)
        yield Frame(np.full((240, 320, 3), 200, np.uint8), 1, 0.1)
        yield Frame(np.full((120, 160), 90, np.uint8), 2, 0.2)
        yield Frame(np.full((120, 160, 4), 90, np.uint8), 3, 0.3)

    out = tmp_path / "mixed.webm"
    result = record(mixed(), out, seconds=0.4, fps=10.0)
    assert result.frames == 4 and result.size == (160, 120)
    assert _read_back(out) == (4, 160, 120)


@pytest.mark.parametrize("name", ["clip.avi", "clip.mov", "clip.mkv", "clip", "clip.gif"])
def test_a_bad_suffix_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError, match=r"\.webm or \.mp4"):
        record(_frames(1.0, 10.0), tmp_path / name, seconds=1.0, fps=10.0)
    assert list(tmp_path.iterdir()) == []


def test_an_mp4_without_the_h264_extra_is_refused_before_recording(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(vid, "h264_available", lambda: False)
    with pytest.raises(InputError, match=r"posture-monitor\[h264\]"):
        record(_frames(1.0, 10.0), tmp_path / "clip.mp4", seconds=1.0, fps=10.0)
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        record(_frames(1.0, 10.0), tmp_path / "no" / "clip.webm", seconds=1.0, fps=10.0)
    with pytest.raises(InputError, match="positive"):
        record(_frames(1.0, 10.0), tmp_path / "clip.webm", seconds=0.0, fps=10.0)
    with pytest.raises(InputError, match="positive"):
        record(_frames(1.0, 10.0), tmp_path / "clip.webm", seconds=1.0, fps=0.0)
    with pytest.raises(UnreadableSourceError):
        record(iter(()), tmp_path / "clip.webm", seconds=1.0, fps=10.0)
    assert list(tmp_path.iterdir()) == []


def test_no_temp_file_and_no_target_after_an_error(tmp_path: Path) -> None:
    def failing():
        yield from _frames(1.0, 10.0)
        raise RuntimeError("camera unplugged")

    out = tmp_path / "clip.webm"
    with pytest.raises(RuntimeError, match="unplugged"):
        record(failing(), out, seconds=5.0, fps=10.0)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_is_replaced_only_on_success(tmp_path: Path) -> None:
    out = tmp_path / "clip.webm"
    out.write_bytes(b"previous recording")

    def failing():
        yield from _frames(0.5, 10.0)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        record(failing(), out, seconds=5.0, fps=10.0)
    assert out.read_bytes() == b"previous recording"
    assert _leftovers(tmp_path) == []
    record(_frames(1.0, 10.0), out, seconds=1.0, fps=10.0)
    assert _read_back(out)[0] == 10


def test_no_webm_encoder_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cv2, "VideoWriter", ClosedVideoWriter)
    monkeypatch.setattr(vid, "h264_available", lambda: False)
    with pytest.raises(vid.NoEncoderError, match=r"cannot write VP8 WebM.*posture-monitor\[h264\]"):
        record(_frames(1.0, 10.0), tmp_path / "clip.webm", seconds=1.0, fps=10.0)
    assert list(tmp_path.iterdir()) == []
