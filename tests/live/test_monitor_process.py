"""The monitor the tray starts and owns: its command, its last words, its end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from posture.live.monitor_process import MonitorProcess

ROOT = Path(__file__).resolve().parents[2]


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


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")


@linux_only
def test_the_child_only_calls_prctl_resolved_in_the_parent(monkeypatch: pytest.MonkeyPatch) -> None:
    """Between fork and exec nothing may load a library (ctypes.CDLL): it can deadlock on a lock
    that another of the tray's threads held at the fork."""
    import ctypes

    from posture import lifecycle

    arm = lifecycle.parent_death_preexec(0)  # 0: no signal, so calling it here changes nothing
    assert arm is not None

    def no_loading(*args: object, **kwargs: object) -> None:
        raise AssertionError("a library loaded between fork and exec")

    exits: list[int] = []
    monkeypatch.setattr(ctypes, "CDLL", no_loading)
    monkeypatch.setattr(lifecycle.os, "_exit", exits.append)
    monkeypatch.setattr(lifecycle.os, "getppid", os.getpid)  # as in the child: its parent is this process
    arm()
    assert exits == []
    monkeypatch.setattr(lifecycle.os, "getppid", lambda: 1)  # the parent died before prctl: end at once
    arm()
    assert exits == [1]


@linux_only
@pytest.mark.slow
def test_the_monitor_gets_sigterm_when_the_tray_dies(tmp_path: Path) -> None:
    tray = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, threading; from pathlib import Path\n"
            "from posture.live.monitor_process import MonitorProcess\n"
            "own = MonitorProcess([], Path(sys.argv[1]))\n"
            "own.command = lambda camera: [sys.executable, '-c', 'import time; time.sleep(60)']\n"
            "t = threading.Thread(target=own.start); t.start(); t.join()\n"  # as the tray: from a thread
            "print(own.pid, flush=True)\n",
            str(tmp_path / "m.log"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    pid = int(tray.stdout)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_last_words_are_this_runs_not_the_previous_ones(tmp_path: Path) -> None:
    log_path = tmp_path / "m.log"
    log_path.write_text("posture: error: camera 0 is not available\n")  # a run before this one
    own = MonitorProcess([], log_path)
    own.command = lambda camera: [sys.executable, "-c", "pass"]  # type: ignore[method-assign]
    own.start()
    assert own.wait(30) == 0
    assert own.last_words() is None  # it said nothing: no reason of an earlier run's
    assert log_path.read_text().startswith("posture: error: camera 0")  # earlier runs' lines are kept
