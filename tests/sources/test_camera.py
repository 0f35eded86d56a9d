"""Live sources: a webcam through a fake capture, and clips made here played at real speed on a
scripted clock (no camera, no footage)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from posture.errors import CameraUnavailableError, NotAMediaError, UnreadableSourceError
from posture.sources.camera import WARM_UP_FRAMES, CameraFrames, FileFrames

FPS = 10.0


class FakeCapture:
    """What ``cv2.VideoCapture`` does for a camera, recorded."""

    def __init__(self, opened: bool = True, frames: int = 100) -> None:
        self.opened = opened
        self.left = frames
        self.grabs = 0
        self.released = False
        self.props: dict[int, float] = {}

    def isOpened(self) -> bool:
        return self.opened

    def set(self, prop: int, value: float) -> bool:
        self.props[prop] = value
        return True

    def grab(self) -> bool:
        self.grabs += 1
        self.left -= 1
        return self.left >= 0

    def retrieve(self) -> tuple[bool, np.ndarray]:
        return True, np.full((48, 64, 3), self.grabs % 256, np.uint8)

    def release(self) -> None:
        self.released = True


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def write_clip(path: Path, fourcc: str, frames: int = 30) -> Path:
    """A clip whose frame i is a flat grey of level 8 * i, so a read tells which frame came."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), FPS, (64, 48))
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((48, 64, 3), 8 * i, np.uint8))
    writer.release()
    return path


def level(frame) -> int:
    """The frame number a frame of :func:`write_clip` shows (codecs blur the grey a little)."""
    return round(float(frame.image.mean()) / 8)


# -- the camera ----------------------------------------------------------------------------------------


def test_camera_opens_small_warms_up_and_counts_its_frames() -> None:
    import cv2

    cap = FakeCapture()
    camera = CameraFrames(2, 320, 240, opener=lambda index: cap)
    assert camera.name == "camera 2" and camera.ended is False
    assert camera.read() is None  # not open yet
    with camera as same:
        assert same is camera
        assert cap.grabs == WARM_UP_FRAMES  # the first frames, while the exposure settles, are dropped
        assert cap.props[cv2.CAP_PROP_FRAME_WIDTH] == 320 and cap.props[cv2.CAP_PROP_FRAME_HEIGHT] == 240
        assert cap.props[cv2.CAP_PROP_BUFFERSIZE] == 1  # only the freshest frame waits
        first, second = camera.read(), camera.read()
        assert (first.index, second.index) == (1, 2)
        assert 0.0 <= first.t_s <= second.t_s
    assert cap.released and camera.read() is None


def test_a_missing_camera_is_an_input_error_and_is_released() -> None:
    cap = FakeCapture(opened=False)
    with pytest.raises(CameraUnavailableError, match="camera 7 is not available"):
        CameraFrames(7, opener=lambda index: cap).open()
    assert cap.released


def test_a_camera_that_stops_delivering_reads_none_and_reopens() -> None:
    caps = [FakeCapture(frames=WARM_UP_FRAMES + 1), FakeCapture()]
    camera = CameraFrames(0, opener=lambda index: caps.pop(0))
    camera.open()
    assert camera.read() is not None
    assert camera.read() is None  # unplugged
    camera.close()
    camera.open()  # plugged in again: the frame count and the clock go on
    assert camera.read().index == 2
    camera.close()


def test_the_context_manager_releases_on_an_error() -> None:
    cap = FakeCapture()
    with pytest.raises(RuntimeError), CameraFrames(0, opener=lambda index: cap):
        raise RuntimeError("boom")
    assert cap.released


# -- a file played at real speed -----------------------------------------------------------------------


@pytest.mark.parametrize("fourcc", ["MJPG", "FFV1"])  # raw JPEG packets, and a codec that is decoded
def test_a_file_plays_at_the_speed_of_its_clock(tmp_path: Path, fourcc: str) -> None:
    clock = Clock()
    with FileFrames(write_clip(tmp_path / "clip.avi", fourcc), clock=clock) as frames:
        assert frames.name.endswith("clip.avi")
        first = frames.read()
        assert first.t_s == pytest.approx(0.0) and level(first) == 0
        clock.t += 1.0  # one second later the frame due is frame 10, whatever was skipped
        later = frames.read()
        assert later.t_s == pytest.approx(1.0, abs=1e-3) and level(later) == 10
        assert later.index == 10
        clock.t += 0.04  # too early for the next frame: the next one comes (never an old one)
        assert frames.read().t_s == pytest.approx(1.1, abs=1e-3)
        clock.t += 10.0
        assert frames.read() is None and frames.ended  # the file is over: the stand-in ends


def test_a_long_gap_is_skipped_by_seeking(tmp_path: Path) -> None:
    clock = Clock()
    frames = FileFrames(write_clip(tmp_path / "clip.avi", "FFV1"), clock=clock)
    frames.seek_after_s = 0.5
    with frames:
        frames.read()
        clock.t += 2.0
        frame = frames.read()
        assert frame.t_s == pytest.approx(2.0, abs=0.11) and abs(level(frame) - 20) <= 1
        assert abs(frame.index - 20) <= 1


def test_a_looping_file_goes_on_with_increasing_time(tmp_path: Path) -> None:
    clock = Clock()
    with FileFrames(write_clip(tmp_path / "clip.avi", "MJPG", frames=20), loop=True, clock=clock) as frames:
        times, levels = [], []
        for _ in range(12):
            frame = frames.read()
            assert frame is not None and not frames.ended
            times.append(frame.t_s)
            levels.append(level(frame))
            clock.t += 0.5
        assert times == sorted(times) and times[-1] == pytest.approx(5.5, abs=0.11)  # past the 2 s clip
        assert levels[:4] == [0, 5, 10, 15] and levels[4] < 5  # the picture starts over


def test_a_file_reopened_after_a_pause_keeps_its_clock(tmp_path: Path) -> None:
    clock = Clock()
    frames = FileFrames(write_clip(tmp_path / "clip.avi", "MJPG"), clock=clock)
    frames.open()
    frames.read()
    frames.close()
    assert frames.read() is None  # released
    clock.t += 2.0
    frames.open()
    assert frames.read().t_s == pytest.approx(2.0, abs=1e-3)
    frames.close()


def test_what_is_not_a_video_is_refused(tmp_path: Path) -> None:
    import cv2

    still = tmp_path / "still.png"
    cv2.imwrite(str(still), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(NotAMediaError, match="still image"):
        FileFrames(still)
    fake = tmp_path / "notes.avi"
    fake.write_text("not a video at all\n" * 50)
    with pytest.raises((NotAMediaError, UnreadableSourceError)):
        FileFrames(fake).open()


def test_thumbnail_is_small_grey_and_keeps_the_aspect() -> None:
    from posture.sources.camera import thumbnail

    image = np.zeros((480, 640, 3), np.uint8)
    image[:, 320:] = 200  # right half bright
    small = thumbnail(image)
    assert small.shape == (48, 64) and small.dtype == np.uint8
    assert small[:, :31].max() == 0 and small[:, 33:].min() == 200  # area-averaged, edges kept
    assert thumbnail(np.zeros((30, 40), np.uint8), width=20).shape == (15, 20)  # already grey
