"""Signals at random moments: no process left behind, no partial file, a clean exit.

Real processes: ``posture analyze --workers 2`` and ``posture monitor`` run as subprocesses with
private folders; every test kills what it started, whatever happens.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.adversarial.helpers import children_of, monitor_env, posture_cmd, spawn_monitor, stop, wait_gone
from tests.builders import write_video

pytestmark = [pytest.mark.adversarial, pytest.mark.mediapipe]

RNG = random.Random(1111)


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 s at 10 fps: with --every-frame each of two workers has 300 frames to estimate."""
    return write_video(tmp_path_factory.mktemp("clip") / "long.avi", seconds=60.0, fps=10.0)


def _wait_for_workers(proc: subprocess.Popen, n: int, timeout_s: float = 60.0) -> set[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, "analyze ended before its workers started"
        kids = children_of(proc.pid)
        workers = {p for p in kids if "posture-worker" in _cmdline(p) or "multiprocessing" in _cmdline(p)}
        if len(workers) >= n:
            return kids
        time.sleep(0.05)
    raise AssertionError("the workers did not start")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@pytest.mark.parametrize(
    ("signum", "expected"),
    [(signal.SIGTERM, 128 + 15), (signal.SIGHUP, 128 + 1), (signal.SIGINT, 130), (signal.SIGKILL, -9)],
    ids=["SIGTERM", "SIGHUP", "SIGINT", "SIGKILL"],
)
def test_analyze_with_two_workers_stops_with_its_parent(
    signum: int, expected: int, long_clip: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    proc = subprocess.Popen(
        posture_cmd(
            "analyze", str(long_clip), "--out", str(out), "--workers", "2", "--every-frame", "--quiet"
        ),
        env=monitor_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    family: set[int] = set()
    try:
        family = _wait_for_workers(proc, 2)
        time.sleep(RNG.uniform(0.2, 1.5))  # a random moment while they work
        family |= children_of(proc.pid)
        assert proc.poll() is None, "analyze finished before the signal"
        os.kill(proc.pid, signum)
        _, err = proc.communicate(timeout=15)
        left = wait_gone(family, 2.0)
        assert not left, f"processes left 2 s after {signal.Signals(signum).name}: {left}"
    finally:
        stop(proc)
        from tests.adversarial.helpers import kill_all

        kill_all(family)
    assert proc.returncode == expected, err
    if signum != signal.SIGKILL:
        assert "Traceback" not in err
        assert len([line for line in err.splitlines() if line.strip()]) == 1, err
        assert not out.exists() or list(out.iterdir()) == [], list(out.iterdir())  # nothing half-written
    else:  # a killed run leaves at most its hidden staging folder, which the next run removes
        assert all(p.name.startswith(".posture-partial-") for p in out.iterdir())


def _wait_status(env: dict[str, str], proc: subprocess.Popen, timeout_s: float = 60.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        res = subprocess.run(posture_cmd("status"), env=env, capture_output=True, text=True, timeout=30)
        if res.returncode == 0 and "starting" not in res.stdout:  # answers while it starts, too
            return res.stdout
        time.sleep(0.2)
    raise AssertionError("the monitor never answered")


@pytest.mark.parametrize(
    "signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=["SIGTERM", "SIGHUP", "SIGINT"]
)
def test_monitor_ends_cleanly_on_a_signal(signum: int, long_clip: Path, tmp_path: Path) -> None:
    """Closing the terminal (SIGHUP) ends the session like Ctrl-C: exit 0, socket gone, session done."""
    proc, env = spawn_monitor(long_clip, tmp_path)
    try:
        _wait_status(env, proc)
        time.sleep(RNG.uniform(0.0, 1.5))
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)
    finally:
        stop(proc)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "session over" in out
    assert not (Path(env["POSTURE_RUNTIME_DIR"]) / "control.sock").exists()
    res = subprocess.run(
        posture_cmd("history", "--all", "--json"), env=env, capture_output=True, text=True, timeout=60
    )
    assert json.loads(res.stdout)["sessions"][0]["status"] == "done"


def test_a_new_monitor_replaces_the_stale_socket_of_a_killed_one(long_clip: Path, tmp_path: Path) -> None:
    proc, env = spawn_monitor(long_clip, tmp_path)
    try:
        _wait_status(env, proc)
        proc.kill()
        proc.wait(timeout=10)
        assert (Path(env["POSTURE_RUNTIME_DIR"]) / "control.sock").exists()  # left by kill -9
        res = subprocess.run(posture_cmd("status"), env=env, capture_output=True, text=True, timeout=30)
        assert res.returncode == 1 and "no posture monitor is running" in res.stderr
        second = subprocess.Popen(
            posture_cmd("monitor", "--source", str(long_clip), "--no-context", "--alerts", "console"),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert "monitor" in _wait_status(env, second).lower()  # the new one answers
            second.terminate()
            _, err = second.communicate(timeout=30)
        finally:
            stop(second)
        assert second.returncode == 0, err
    finally:
        stop(proc)


def test_a_missing_camera_is_reported_as_such_even_with_a_stale_socket(tmp_path: Path) -> None:
    """The camera is opened before the control channel: never 'another monitor is running'."""
    import socket

    env = monitor_env(tmp_path)
    folder = Path(env["POSTURE_RUNTIME_DIR"])
    folder.mkdir(mode=0o700, exist_ok=True)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(folder / "control.sock"))
    stale.close()  # a socket file nobody listens on, as a crashed monitor leaves
    res = subprocess.run(
        posture_cmd("monitor", "--camera", "9", "--no-history", "--no-context", "--alerts", "console"),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "posture: error: camera 9 is not available (posture check lists the cameras it finds, "
        "try another with --camera N; --source FILE plays a recording instead)"
    ]


def test_worker_guard_without_pdeathsig_kills_the_orphan(tmp_path: Path) -> None:
    """The portable fallback alone (the watchdog on the pipe from the parent) ends an orphaned worker."""
    script = tmp_path / "parent.py"
    script.write_text(
        "import multiprocessing as mp, sys, time\n"
        "from posture.lifecycle import die_with_parent\n"
        "def child():\n"
        "    die_with_parent(pdeathsig=False)\n"
        "    time.sleep(120)\n"
        "if __name__ == '__main__':\n"
        "    p = mp.get_context('spawn').Process(target=child)\n"
        "    p.start()\n"
        "    print(p.pid, flush=True)\n"
        "    time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    child = 0
    try:
        child = int(parent.stdout.readline())
        time.sleep(1.0)  # the child has armed its watchdog
        assert wait_gone({child}, 0.0) == {child}
        parent.kill()
        parent.wait(10)
        assert not wait_gone({child}, 2.0), "the orphan outlived its parent by 2 s"
    finally:
        stop(parent)
        if child:
            from tests.adversarial.helpers import kill_all

            kill_all({child})
