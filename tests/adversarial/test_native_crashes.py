"""What used to kill the process with signal 11 inside OpenCV (issue 19, item 5), and camera
indices OpenCV cannot take (item 19).

A regression here would take the whole test run down, so every case that reaches OpenCV runs in a
subprocess of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.adversarial.helpers import assert_one_line_error, posture_cmd, run_cli
from tests.builders import write_video

pytestmark = pytest.mark.adversarial

NOT_UTF8 = os.fsdecode(b"clip-\xff\xfe-caf\xe9")  # a Latin-1 name from an old disk


def _run(argv: list[str], tmp_path: Path, timeout_s: float = 120.0) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "POSTURE_DATA_DIR": str(tmp_path / "data")}
    return subprocess.run(
        argv, cwd=tmp_path, env=env, capture_output=True, text=True, errors="replace", timeout=timeout_s
    )


@pytest.mark.slow
@pytest.mark.mediapipe
def test_analyze_a_file_whose_name_is_not_utf8_with_history(tmp_path: Path) -> None:
    clip = write_video(tmp_path / "plain.avi", seconds=1.0)
    bad = tmp_path / f"{NOT_UTF8}.avi"
    clip.rename(bad)
    out = tmp_path / f"{NOT_UTF8}-out"
    done = _run(posture_cmd("analyze", str(bad), "--out", str(out), "--quiet", "--annotate"), tmp_path)
    assert done.returncode == 0, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    assert {p.name for p in out.iterdir()} >= {"timeline.csv", "summary.json", "report.html"}
    history = _run(posture_cmd("history", "--all", "--json"), tmp_path, 30)
    assert history.returncode == 0, history.stderr
    sessions = json.loads(history.stdout)["sessions"]
    assert [s["source"] for s in sessions] == ["clip-\ufffd\ufffd-caf\ufffd.avi"]


@pytest.mark.slow
def test_opencv_opens_and_writes_names_that_are_not_utf8(tmp_path: Path) -> None:
    """Every place posture hands a path to OpenCV: the file source, the live stand-in, the WebM
    writer and the report's key frames."""
    folder = tmp_path / NOT_UTF8
    folder.mkdir()
    write_video(tmp_path / "plain.avi", seconds=1.0).rename(folder / f"{NOT_UTF8}.avi")
    script = textwrap.dedent(
        f"""
        import os, sys
        from pathlib import Path
        import numpy as np
        from posture.sources.media import VideoFileSource
        from posture.sources.camera import FileFrames
        from posture.outputs.video import VideoWriter
        folder = Path(os.fsdecode({os.fsencode(folder)!r}))
        clip = folder / (folder.name + ".avi")
        with VideoFileSource(clip) as src:
            assert src.info.frame_count == 10, src.info
            assert len(list(src)) == 10
        with FileFrames(clip) as live:
            assert live.read() is not None
        with VideoWriter(folder / "out.webm", 10.0) as writer:
            for _ in range(5):
                writer.write(np.zeros((48, 64, 3), np.uint8))
        assert (folder / "out.webm").stat().st_size > 0
        print("ok")
        """
    )
    done = _run([sys.executable, "-c", script], tmp_path, 60)
    assert done.returncode == 0 and done.stdout.strip() == "ok", (done.returncode, done.stderr[-2000:])


@pytest.mark.slow
@pytest.mark.parametrize("index", ["-1", "-2147483649", "2147483648", "200"])
def test_monitor_on_a_camera_index_opencv_cannot_take(tmp_path: Path, index: str) -> None:
    done = _run(posture_cmd("monitor", "--camera", index, "--duration", "1", "--no-history"), tmp_path, 60)
    assert_one_line_error(done.returncode, done.stderr)
    assert "camera index from 0 to 99" in done.stderr


@pytest.mark.parametrize("command", [["monitor"], ["calibrate"], ["record", "x.webm"]])
@pytest.mark.parametrize("index", ["-1", "2147483648", "1e3", "9" * 5000])
def test_every_camera_flag_refuses_what_is_not_a_camera_index(capsys, command: list[str], index: str) -> None:
    code, _out, err = run_cli([*command, "--camera", index], capsys)
    line = assert_one_line_error(code, err)
    assert len(line) < 200, line


def test_the_library_refuses_a_camera_index_too() -> None:
    from posture.errors import CameraUnavailableError
    from posture.sources.camera import CameraFrames

    for index in (-1, 100, 2**31, True):
        with pytest.raises(CameraUnavailableError, match="0 to 99"):
            CameraFrames(index)


def test_names_that_are_not_utf8_become_storable_text() -> None:
    from posture.untrusted import as_text

    assert as_text(NOT_UTF8) == "clip-\ufffd\ufffd-caf\ufffd"
    assert as_text(Path(NOT_UTF8) / "x.mp4").endswith("caf\ufffd/x.mp4")
    assert as_text("plain é.mp4") == "plain é.mp4"
    assert as_text("\ud800") == "?"  # a lone surrogate no file name decoding makes
