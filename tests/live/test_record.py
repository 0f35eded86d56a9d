"""``posture record``: synthetic frames written to .mp4 and .avi and read back with OpenCV."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from posture.errors import InputError, UnreadableSourceError
from posture.live.record import RecordError, VideoRecorder, record
from posture.sources.media import Frame


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
    return sorted(p.name for p in folder.iterdir() if ".part" in p.name)


@pytest.mark.parametrize("suffix", [".mp4", ".avi", ".MP4"])
def test_record_writes_a_readable_video(tmp_path: Path, suffix: str) -> None:
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
    out = tmp_path / "slow.avi"
    result = record(_frames(3.0, 5.0), out, seconds=2.0, fps=10.0)
    assert result.frames == 20
    assert _read_back(out)[0] == 20
    # One that delivers 30, recorded at 10: two frames in three are dropped.
    fast = record(_frames(3.0, 30.0), tmp_path / "fast.avi", seconds=2.0, fps=10.0)
    assert fast.frames == 20


def test_record_stops_when_the_source_ends(tmp_path: Path) -> None:
    result = record(_frames(1.0, 10.0), tmp_path / "short.mp4", seconds=5.0, fps=10.0)
    assert result.frames == 10
    assert result.duration_s == pytest.approx(1.0)


def test_frames_of_another_size_and_grey_frames_are_fitted(tmp_path: Path) -> None:
    out = tmp_path / "mixed.avi"
    with VideoRecorder(out, 10.0) as rec:
        rec.write(np.zeros((120, 160, 3), np.uint8))
        rec.write(np.full((240, 320, 3), 200, np.uint8))
        rec.write(np.full((120, 160), 90, np.uint8))
    assert rec.frames == 3
    assert _read_back(out) == (3, 160, 120)


@pytest.mark.parametrize("name", ["clip.mov", "clip.mkv", "clip", "clip.gif"])
def test_a_bad_suffix_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError, match=r"\.mp4 or \.avi"):
        record(_frames(1.0, 10.0), tmp_path / name, seconds=1.0, fps=10.0)
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        record(_frames(1.0, 10.0), tmp_path / "no" / "clip.mp4", seconds=1.0, fps=10.0)
    with pytest.raises(InputError, match="positive"):
        record(_frames(1.0, 10.0), tmp_path / "clip.mp4", seconds=0.0, fps=10.0)
    with pytest.raises(InputError, match="positive"):
        record(_frames(1.0, 10.0), tmp_path / "clip.mp4", seconds=1.0, fps=0.0)
    with pytest.raises(UnreadableSourceError):
        record(iter(()), tmp_path / "clip.mp4", seconds=1.0, fps=10.0)
    assert list(tmp_path.iterdir()) == []


def test_no_temp_file_and_no_target_after_an_error(tmp_path: Path) -> None:
    def failing():
        yield from _frames(1.0, 10.0)
        raise RuntimeError("camera unplugged")

    out = tmp_path / "clip.mp4"
    with pytest.raises(RuntimeError, match="unplugged"):
        record(failing(), out, seconds=5.0, fps=10.0)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_is_replaced_only_on_success(tmp_path: Path) -> None:
    out = tmp_path / "clip.avi"
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


def test_an_unwritable_target_is_a_record_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class ClosedWriter:
        def __init__(self, *args: object) -> None:
            pass

        def isOpened(self) -> bool:
            return False

        def release(self) -> None:
            pass

    monkeypatch.setattr(cv2, "VideoWriter", ClosedWriter)
    with pytest.raises(RecordError, match="cannot write"):
        record(_frames(1.0, 10.0), tmp_path / "clip.mp4", seconds=1.0, fps=10.0)
    assert list(tmp_path.iterdir()) == []
