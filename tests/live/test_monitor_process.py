"""The monitor the tray starts and owns: its command, its last words, its end."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

from posture.live.monitor_process import MonitorProcess


def test_monitor_process_command_and_last_words(tmp_path: Path) -> None:
    own = MonitorProcess(["--source", "/x/clip.mp4", "--no-context"], tmp_path / "m.log", camera=None)
    assert own.command(None) == [
        sys.executable,
        "-m",
        "posture",
        "monitor",
        "--source",
        "/x/clip.mp4",
        "--no-context",
    ]
    assert own.command(1)[-2:] == ["--camera", "1"]
    assert not own.started() and own.exit_code() is None and own.last_words() is None
    (tmp_path / "m.log").write_text(
        "posture monitor: watching\nposture: error: camera 0 is not available\n\n"
    )
    assert own.last_words() == "camera 0 is not available"


@pytest.mark.slow
def test_a_monitor_that_fails_at_once_is_seen_as_ended(tmp_path: Path) -> None:
    own = MonitorProcess(["--source", str(tmp_path / "missing.mp4")], tmp_path / "m.log")
    own.start()
    assert own.started() and own.wait(60) == 2
    assert own.exit_code() == 2 and "missing.mp4" in (own.last_words() or "")


def _sleeper(own: MonitorProcess) -> None:
    """Make ``own`` start a process that only sleeps, in place of ``posture monitor``."""
    own.command = lambda camera: [sys.executable, "-c", "import time; time.sleep(60)"]  # type: ignore[method-assign]


@pytest.mark.skipif(sys.platform == "win32", reason="Windows has no SIGTERM")
def test_terminate_sends_sigterm_not_sigkill(tmp_path: Path) -> None:
    own = MonitorProcess([], tmp_path / "m.log")
    _sleeper(own)
    own.start()
    own.terminate()
    assert own.wait(10) == -signal.SIGTERM
    own.terminate()  # once it has ended: nothing to do
    own.kill()
