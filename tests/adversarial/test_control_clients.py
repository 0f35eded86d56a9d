"""Clients that hold the control socket (issue 19, item 7): silent, slow, oversized and malformed
connections, all at once, never keep ``posture status`` from being answered; a second monitor
is refused before it writes anything.
"""

from __future__ import annotations

import contextlib
import json
import random
import shutil
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from posture import paths
from posture.live.channel import MAX_CONNECTIONS, MAX_REQUEST_BYTES
from posture.live.control import ControlServer, Status
from tests.adversarial.helpers import assert_one_line_error, run_cli, spawn_monitor, stop
from tests.builders import write_video

pytestmark = pytest.mark.adversarial


class Monitor:
    """What the control server controls, without the loop around it."""

    def __init__(self) -> None:
        self.state = "running"

    def status(self) -> Status:
        return Status(state=self.state, verdict="good")

    def pause(self, until_s: float | None) -> Status:
        self.state = "paused"
        return Status(state="paused", reason="paused by you", paused_until_s=until_s)

    def resume(self) -> Status:
        self.state = "running"
        return self.status()


@pytest.fixture()
def server() -> Iterator[ControlServer]:
    with ControlServer(Monitor()) as running:
        yield running


def _connect(path: Path) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5.0)
    s.connect(str(path))
    return s


def _timed_status(capsys) -> float:
    """``posture status`` in-process; returns how long it took (it must answer)."""
    started = time.monotonic()
    code, out, err = run_cli(["status"], capsys)
    took = time.monotonic() - started
    assert code == 0, err
    assert "running" in out.lower() or "monitoring" in out.lower(), out
    return took


def test_status_is_answered_while_sixteen_silent_clients_hold_the_socket(server, capsys) -> None:
    silent = [_connect(server.path) for _ in range(16)]
    try:
        for _ in range(3):
            assert _timed_status(capsys) < 1.0
    finally:
        for s in silent:
            s.close()


def test_past_the_bound_the_connection_idle_longest_is_dropped(server, capsys) -> None:
    first = _connect(server.path)
    time.sleep(0.05)
    rest = [_connect(server.path) for _ in range(MAX_CONNECTIONS + 5)]
    try:
        assert _timed_status(capsys) < 1.0
        first.settimeout(2.0)
        answer = first.recv(4096)  # dropped, told why
        assert answer == b"" or json.loads(answer)["error"].startswith("too many connections")
    finally:
        for s in [first, *rest]:
            s.close()


def _silent(path: Path, stop: threading.Event) -> None:
    held: list[socket.socket] = []
    while not stop.is_set():
        with contextlib.suppress(OSError):
            held.append(_connect(path))
        if len(held) > 20:
            held.pop(0).close()
        time.sleep(0.01)
    for s in held:
        s.close()


def _slow(path: Path, stop: threading.Event) -> None:
    """A valid request, one byte every 0.2 s: never finished within the deadline."""
    while not stop.is_set():
        with contextlib.suppress(OSError), _connect(path) as s:
            for byte in b'{"cmd": "status"}':
                if stop.wait(0.2):
                    break
                s.send(bytes([byte]))


def _oversized(path: Path, stop: threading.Event) -> None:
    blob = b"x" * (MAX_REQUEST_BYTES * 4)
    while not stop.is_set():
        with contextlib.suppress(OSError), _connect(path) as s:
            s.sendall(blob)
            s.recv(4096)


def _malformed(path: Path, stop: threading.Event) -> None:
    rng = random.Random(19)
    lines = [
        b"[" * 100_000 + b"\n",
        b'{"cmd": "pause", "until_s": 1e400}\n',
        b'{"cmd": "pause", "until_s": ' + b"9" * 5000 + b"}\n",
        b"\xff\xfe\x00\n",
        b'{"cmd": "\x1b[2J"}\n',
    ]
    while not stop.is_set():
        data = (
            rng.choice(lines) if rng.random() < 0.6 else bytes(rng.getrandbits(8) for _ in range(64)) + b"\n"
        )
        with contextlib.suppress(OSError), _connect(path) as s:
            s.sendall(data)
            reply = s.recv(65536)
            assert not reply or json.loads(reply)["ok"] is False


@pytest.mark.slow
def test_fuzz_silent_slow_oversized_and_malformed_clients_at_once(server, capsys) -> None:
    stop = threading.Event()
    attackers = [
        threading.Thread(target=attack, args=(server.path, stop), daemon=True)
        for attack in (_silent, _silent, _slow, _slow, _slow, _oversized, _malformed, _malformed)
    ]
    for thread in attackers:
        thread.start()
    try:
        time.sleep(0.3)  # let the attack build up
        times = []
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            times.append(_timed_status(capsys))
            time.sleep(0.1)
        assert max(times) < 1.0, times
    finally:
        stop.set()
        for thread in attackers:
            thread.join(10)
    assert not any(thread.is_alive() for thread in attackers)
    assert _timed_status(capsys) < 1.0


def test_a_second_monitor_is_refused_and_writes_nothing(server, capsys, tmp_path: Path) -> None:
    clip = write_video(tmp_path / "clip.avi", seconds=1.0)
    code, _out, err = run_cli(["monitor", "--source", str(clip), "--duration", "2"], capsys)
    assert "already running" in assert_one_line_error(code, err)
    assert not paths.history_db_path().exists()  # no session, not even an empty database
    assert _timed_status(capsys) < 1.0  # the first one is untouched


def test_a_second_monitor_is_refused_while_clients_fill_the_backlog(server, capsys, tmp_path: Path) -> None:
    clip = write_video(tmp_path / "clip.avi", seconds=1.0)
    silent = [_connect(server.path) for _ in range(MAX_CONNECTIONS + 20)]
    try:
        code, _out, err = run_cli(["monitor", "--source", str(clip), "--no-history"], capsys)
        assert "already running" in assert_one_line_error(code, err)
    finally:
        for s in silent:
            s.close()
    assert server.path.exists()


@pytest.mark.slow
@pytest.mark.mediapipe
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_while_the_monitor_starts(tmp_path: Path, signum: int) -> None:
    """The socket answers "starting" while the model loads; a signal then stops it cleanly, soon."""
    proc, env = spawn_monitor(write_video(tmp_path / "clip.avi", seconds=2.0), tmp_path)
    run = Path(env["POSTURE_RUNTIME_DIR"])
    try:
        deadline = time.monotonic() + 60
        while not (run / "control.sock").exists():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        proc.send_signal(signum)
        _out, err = proc.communicate(timeout=30)
        socket_left = (run / "control.sock").exists()
    finally:
        stop(proc)
        shutil.rmtree(run, ignore_errors=True)
    assert proc.returncode in (0, 130), err
    assert "Traceback" not in err and len(err.splitlines()) <= 1, err
    assert not socket_left
