"""A looping stand-in paused across the end of its file (issue 19, item 18), and video files whose
metadata lies about their frame rate (item 19).
"""

from __future__ import annotations

import threading
import time
import warnings
from pathlib import Path

import pytest

from posture.config import Config
from posture.live.control import Command, ControlServer, Request, send_command
from posture.live.monitor import Monitor
from posture.sources.camera import FileFrames
from tests.adversarial.helpers import assert_one_line_error, run_cli
from tests.builders import side_pose, write_video
from tests.fakes import ScriptedEstimator

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


@pytest.mark.slow
def test_monitor_loop_survives_a_pause_over_the_end_of_the_file(tmp_path: Path) -> None:
    """The whole monitor on a real clock: a 1 s clip, paused for 1.5 s, still running after."""
    clip = write_video(tmp_path / "clip.avi", seconds=1.0, fps=10.0, fourcc="FFV1")
    frames = FileFrames(clip, loop=True)
    frames.seek_after_s = 0.5  # as a long pause over a long file does
    monitor = Monitor(Config(), frames, ScriptedEstimator(lambda t_s: GOOD))
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


# -- item 19: what the files' metadata and the libraries say -----------------------------------------


@pytest.fixture(scope="module")
def absurd_avi(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """75 frames under a header that says 900 frames a second (0.08 s): a broken AVI."""
    import cv2
    import numpy as np

    path = tmp_path_factory.mktemp("absurd") / "absurd.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 900.0, (160, 120))
    for i in range(75):
        writer.write(np.full((120, 160, 3), (i * 3) % 255, np.uint8))
    writer.release()
    return path


@pytest.mark.parametrize(
    "argv",
    [
        ["analyze", "AVI", "--out", "OUT", "--quiet"],
        ["monitor", "--source", "AVI", "--duration", "1"],
        ["calibrate", "--source", "AVI"],
    ],
)
def test_a_video_timed_faster_than_any_camera(
    absurd_avi: Path, tmp_path: Path, capsys, argv: list[str]
) -> None:
    argv = [str(absurd_avi) if a == "AVI" else str(tmp_path / "out") if a == "OUT" else a for a in argv]
    code, _out, err = run_cli(argv, capsys)
    line = assert_one_line_error(code, err)
    assert "900 a second" in line and "re-encode" in line
    assert not (tmp_path / "out").exists()


def test_a_broken_exif_block_is_one_line_of_posture(tmp_path: Path, capsys) -> None:
    from PIL import Image

    photo = tmp_path / "photo.jpg"
    exif = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x05\x01\x12\x00\x03\x00\x00\x00\x01"  # cut short
    Image.new("RGB", (64, 48), (90, 120, 150)).save(photo, exif=exif)
    code, out, err = run_cli(["measure", str(photo)], capsys)
    assert code == 0, err
    assert err.splitlines() == [
        f"posture: {photo}: its EXIF data is damaged and was ignored (the photo is used as stored)"
    ]
    assert "photo.jpg: away" in out


def test_library_warnings_never_print_their_source_lines(tmp_path: Path, capsys) -> None:
    """matplotlib warns about glyphs its font lacks (a name in Chinese, say): with --verbose
    that is one line of posture's, and without it nothing."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    def draw() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("always")  # each time, not once per place
            fig = Figure()
            fig.suptitle("Ana \u4e2d\u6587")  # CJK: not in the DejaVu font matplotlib ships
            fig.savefig(io.BytesIO(), format="png")

    for verbose in (False, True):
        run_cli(["-v", "advice", "--list"] if verbose else ["advice", "--list"], capsys)  # sets up the CLI
        draw()
        err = capsys.readouterr().err
        assert "warnings.warn" not in err and ".py:" not in err, err
        if verbose:
            assert err.startswith("posture: UserWarning: Glyph"), err
        else:
            assert err == ""
