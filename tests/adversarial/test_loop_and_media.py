"""A looping stand-in paused across the end of its file (issue 19, item 18), and video files whose
metadata lies about their frame rate (item 19).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from posture.config import Config
from posture.live.control import Command, ControlServer, Request, send_command
from posture.live.monitor import Monitor
from posture.sources.camera import FileFrames
from tests.adversarial.helpers import write_video
from tests.builders import side_pose

pytestmark = pytest.mark.adversarial

GOOD = side_pose(trunk_deg=-8.0, neck_deg=8.0, pitch_deg=10.0)


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


@pytest.mark.parametrize("fourcc", ["MJPG", "FFV1"])  # raw JPEG packets, and a codec that seeks
@pytest.mark.parametrize("paused_s", [1.5, 2.5, 7.3, 3600.0])  # across one end, several, an hour
def test_a_looping_file_paused_across_its_end_plays_on(tmp_path: Path, fourcc: str, paused_s: float) -> None:
    clip = write_video(tmp_path / "clip.avi", seconds=2.0, fps=10.0, fourcc=fourcc)
    clock = Clock()
    frames = FileFrames(clip, loop=True, clock=clock)
    frames.seek_after_s = 0.5
    frames.open()
    clock.t += 1.0
    before = frames.read()
    assert before is not None
    frames.close()  # the monitor releases the stand-in while paused ...
    clock.t += paused_s
    frames.open()  # ... and opens it again on resume, past the file's end
    times = [before.t_s]
    for _ in range(8):
        frame = frames.read()
        assert frame is not None and not frames.ended, f"ended after a pause of {paused_s} s"
        times.append(frame.t_s)
        clock.t += 0.3
    frames.close()
    assert times == sorted(times) and len(set(times)) == len(times)  # time only goes forward
    assert times[1] == pytest.approx(1.0 + paused_s, abs=0.15)  # where a camera would be


class GoodPose:
    def estimate(self, frame):
        return GOOD


@pytest.mark.slow
def test_monitor_loop_survives_a_pause_over_the_end_of_the_file(tmp_path: Path) -> None:
    """The whole monitor on a real clock: a 1 s clip, paused for 1.5 s, still running after."""
    clip = write_video(tmp_path / "clip.avi", seconds=1.0, fps=10.0, fourcc="FFV1")
    frames = FileFrames(clip, loop=True)
    frames.seek_after_s = 0.5  # as a long pause over a long file does
    monitor = Monitor(Config(), frames, GoodPose())
    thread = threading.Thread(target=monitor.run, daemon=True)
    with ControlServer(monitor):
        thread.start()
        try:
            deadline = time.monotonic() + 5
            while monitor.status().state == "starting":
                assert time.monotonic() < deadline
                time.sleep(0.02)
            send_command(Request(Command.PAUSE, time.time() + 60))
            time.sleep(1.5)
            send_command(Request(Command.RESUME))
            time.sleep(1.2)
            assert thread.is_alive(), "the monitor ended with the file"
            assert send_command(Request(Command.STATUS)).state in ("running", "away")
        finally:
            monitor.stop()
            thread.join(10)
    assert not thread.is_alive()
