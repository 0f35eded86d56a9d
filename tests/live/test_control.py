"""The control channel: a real server on a short temporary socket, its TCP fallback with a token,
stale and live sockets, permissions, bad requests. (The typed messages are tested in
test_control_messages.py, the words of ``posture status`` and ``pause`` in tests/cli/test_live_text.py.)"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from posture import paths
from posture.errors import PostureError
from posture.live import channel
from posture.live.channel import MAX_REQUEST_BYTES
from posture.live.control import (
    NOT_RUNNING,
    Command,
    ControlError,
    ControlServer,
    MonitorNotRunningError,
    Request,
    Status,
    send_command,
)

STATUS, RESUME = Request(Command.STATUS), Request(Command.RESUME)


def pause(until_s: float | None = None) -> Request:
    return Request(Command.PAUSE, until_s)


SOON = float(round(time.time()) + 3600)  # a pause end the server accepts (within 7 days from now)

needs_unix = pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix domain sockets here")


@pytest.fixture
def runtime_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A short folder under /tmp (AF_UNIX paths are limited to ~104 bytes) named by POSTURE_RUNTIME_DIR.

    The ``rt`` folder itself does not exist yet, so the server creates it.
    """
    base = Path(tempfile.mkdtemp(dir="/tmp", prefix="pc"))
    folder = base / "rt"
    monkeypatch.setenv(paths.RUNTIME_DIR_ENV, str(folder))
    yield folder
    shutil.rmtree(base, ignore_errors=True)


class Recorder:
    """A small monitor that records the commands it gets."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, Any]] = []
        self.lock = threading.Lock()

    def _record(self, cmd: str, arg: Any = None) -> None:
        with self.lock:
            self.requests.append((cmd, arg))

    def status(self) -> Status:
        self._record("status")
        return Status(state="running", verdict="good")

    def pause(self, until_s: float | None) -> Status:
        self._record("pause", until_s)
        return Status(state="paused", reason="paused by you", paused_until_s=until_s)

    def resume(self) -> Status:
        self._record("resume")
        return Status(state="running")

    def calibrate(self) -> Status:
        self._record("calibrate")
        return Status(state="calibrating", calibration="calibrating")

    def finish(self) -> Status:
        self._record("stop")
        return Status(state="stopping")


@pytest.fixture
def servers() -> Iterator[Callable[..., ControlServer]]:
    """Start servers that are always closed at the end of the test."""
    started: list[ControlServer] = []

    def start(target: Any = None, **kwargs: Any) -> ControlServer:
        server = ControlServer(target or Recorder(), **kwargs)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def raw_request(server: ControlServer, data: bytes) -> dict[str, Any]:
    """Send raw bytes to the server and read its one-line answer."""
    if server.transport == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with sock:
        sock.settimeout(5.0)
        sock.connect(server.address)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)  # a server that refuses answers before reading
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            buf += chunk
    return json.loads(buf)


# -- where ---------------------------------------------------------------------------------------------


def test_runtime_dir_env_override_and_platform_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(paths.RUNTIME_DIR_ENV, str(tmp_path / "rt"))
    assert paths.runtime_dir() == tmp_path / "rt"
    assert paths.socket_path() == tmp_path / "rt" / "control.sock"
    assert ControlServer(Recorder()).path == tmp_path / "rt" / "control.sock"
    monkeypatch.delenv(paths.RUNTIME_DIR_ENV)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "xdg"))
    path = paths.socket_path()
    assert path.name == "control.sock" and path.parent.name == "posture"


# -- round trips over the Unix socket ------------------------------------------------------------------


@needs_unix
def test_status_pause_resume_reach_the_handler(
    runtime_dir: Path, servers: Callable[..., ControlServer]
) -> None:
    handler = Recorder()
    server = servers(handler)
    assert server.transport == "unix" and server.path == runtime_dir / "control.sock"

    assert send_command(STATUS) == Status(state="running", verdict="good")
    assert send_command(pause(SOON)) == Status(state="paused", reason="paused by you", paused_until_s=SOON)
    assert send_command(pause(None)).paused_until_s is None
    assert send_command(RESUME) == Status(state="running")
    assert raw_request(server, b'{"cmd": "pause"}\n')["paused_until_s"] is None  # no until_s: until resumed
    assert handler.requests == [
        ("status", None),
        ("pause", SOON),
        ("pause", None),
        ("resume", None),
        ("pause", None),
    ]
    # the reply carries every status field, under its public name
    assert set(raw_request(server, b'{"cmd": "status"}\n')) == {"ok", *Status().to_json()}


@needs_unix
def test_calibrate_and_stop_reach_the_handler(
    runtime_dir: Path, servers: Callable[..., ControlServer]
) -> None:
    handler = Recorder()
    server = servers(handler)
    assert send_command(Request(Command.CALIBRATE)).state == "calibrating"
    assert send_command(Request(Command.STOP)).state == "stopping"
    assert handler.requests == [("calibrate", None), ("stop", None)]
    refused = raw_request(server, b'{"cmd": "stop", "until_s": null}\n')
    assert refused["ok"] is False and "unexpected field" in refused["error"]


@needs_unix
def test_handler_refusals_become_control_errors(
    runtime_dir: Path, servers: Callable[..., ControlServer]
) -> None:
    class Refuses:
        def resume(self) -> Status:
            raise PostureError("the monitor is not paused")

        def pause(self, until_s: float | None) -> Status:
            raise PostureError("cannot pause while\ncalibrating")

        def status(self) -> Status:
            raise RuntimeError("a bug")

    server = servers(Refuses())
    with pytest.raises(ControlError, match=r"^the monitor is not paused$"):
        send_command(RESUME)
    with pytest.raises(ControlError, match=r"^cannot pause while calibrating$"):  # one line
        send_command(pause(None))
    with pytest.raises(ControlError, match="the monitor failed to status: RuntimeError"):
        send_command(STATUS)
    assert raw_request(server, b'{"cmd": "shutdown"}\n')["error"].startswith("unknown command 'shutdown'")


@needs_unix
def test_a_reply_that_is_not_a_status_is_refused(
    runtime_dir: Path, servers: Callable[..., ControlServer]
) -> None:
    class Broken(Recorder):
        def status(self) -> Any:
            return {"state": "running"}

    servers(Broken())
    with pytest.raises(ControlError, match=r"^the monitor failed to status$"):
        send_command(STATUS)
    assert send_command(RESUME).state == "running"


@needs_unix
def test_no_server_means_not_running(runtime_dir: Path) -> None:
    with pytest.raises(MonitorNotRunningError, match=f"^{NOT_RUNNING}$"):
        send_command(STATUS)
    runtime_dir.mkdir()
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(runtime_dir / "control.sock"))  # a socket file nobody listens on
    dead.close()
    with pytest.raises(ControlError, match=f"^{NOT_RUNNING}$"):
        send_command(STATUS)


@needs_unix
def test_stale_socket_from_a_crash_is_replaced(
    runtime_dir: Path, servers: Callable[..., ControlServer]
) -> None:
    runtime_dir.mkdir(mode=0o700)
    path = runtime_dir / "control.sock"
    crashed = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    crashed.bind(str(path))
    crashed.listen(1)
    crashed.close()  # a crash leaves the file behind
    assert path.exists()
    servers()
    assert send_command(STATUS).state == "running"


@needs_unix
def test_a_second_live_monitor_refuses_to_start(
    runtime_dir: Path, servers: Callable[..., ControlServer]
) -> None:
    first = servers()
    with pytest.raises(ControlError, match=r"^another posture monitor is already running$"):
        ControlServer(Recorder()).start()
    assert send_command(STATUS).state == "running"  # the first one still answers
    first.close()
    assert not first.path.exists()
    first.close()  # idempotent
    with pytest.raises(ControlError, match=NOT_RUNNING):
        send_command(STATUS)


@needs_unix
def test_a_file_that_is_not_a_socket_is_left_alone(runtime_dir: Path) -> None:
    runtime_dir.mkdir()
    (runtime_dir / "control.sock").write_text("mine")
    with pytest.raises(ControlError, match="is not a control socket"):
        ControlServer(Recorder()).start()
    assert (runtime_dir / "control.sock").read_text() == "mine"


@needs_unix
def test_context_manager_starts_and_removes_the_socket(runtime_dir: Path) -> None:
    with ControlServer(Recorder()) as server:
        assert send_command(STATUS, path=server.path).state == "running"
    assert not server.path.exists()


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
@needs_unix
def test_folder_and_socket_permissions(runtime_dir: Path, servers: Callable[..., ControlServer]) -> None:
    old = os.umask(0o022)
    try:
        server = servers()
    finally:
        os.umask(old)
    assert stat.S_IMODE(runtime_dir.stat().st_mode) == 0o700
    assert stat.S_ISSOCK(server.path.lstat().st_mode)
    assert stat.S_IMODE(server.path.lstat().st_mode) == 0o600


@pytest.mark.skipif(os.name != "posix", reason="POSIX owners")
def test_a_folder_of_another_user_is_refused(runtime_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime_dir.mkdir()
    monkeypatch.setattr(os, "getuid", lambda: runtime_dir.stat().st_uid + 1)
    with pytest.raises(ControlError, match="belongs to another user"):
        ControlServer(Recorder()).start()


@needs_unix
def test_a_socket_path_too_long_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / ("x" * 120) / "control.sock"
    with pytest.raises(ControlError, match="too long"):
        ControlServer(Recorder(), path).start()


@needs_unix
def test_other_users_are_refused_both_ways(
    runtime_dir: Path, servers: Callable[..., ControlServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = Recorder()
    server = servers(handler)
    monkeypatch.setattr(channel, "peer_uid", lambda conn: os.getuid() + 1)
    answer = raw_request(server, b'{"cmd": "status"}\n')  # the server sees a stranger
    assert answer == {"ok": False, "error": "permission denied: the monitor belongs to another user"}
    with pytest.raises(ControlError, match="belongs to another user"):  # the client sees a stranger
        send_command(STATUS)
    assert handler.requests == []


# -- bad requests --------------------------------------------------------------------------------------


@needs_unix
@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"{not json\n", "the request is not valid JSON"),
        (b"\xff\xfe\n", "the request is not valid JSON"),
        (b"[1, 2]\n", "the request must be a JSON object"),
        (b'{"cmd": 3}\n', "unknown command 3: expected status, pause, resume"),
        (b'{"cmd": "pause", "until_s": "soon"}\n', "pause needs until_s"),
        (b'{"cmd": "pause", "until_s": true}\n', "pause needs until_s"),
        (b"\n", "the request is not valid JSON"),
    ],
)
def test_malformed_requests_get_an_error(
    runtime_dir: Path, servers: Callable[..., ControlServer], data: bytes, error: str
) -> None:
    handler = Recorder()
    server = servers(handler)
    answer = raw_request(server, data)
    assert answer["ok"] is False and answer["error"].startswith(error)
    assert handler.requests == []
    assert send_command(STATUS).state == "running"  # still serving


@needs_unix
def test_oversized_requests_get_an_error(runtime_dir: Path, servers: Callable[..., ControlServer]) -> None:
    handler = Recorder()
    server = servers(handler)
    big = json.dumps({"cmd": "status", "pad": "x" * MAX_REQUEST_BYTES}).encode() + b"\n"
    assert raw_request(server, big) == {"ok": False, "error": "request too large (the limit is 64 KiB)"}
    assert handler.requests == []
    assert send_command(STATUS).state == "running"


@needs_unix
def test_idle_clients_time_out_without_blocking_others(
    runtime_dir: Path, servers: Callable[..., ControlServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(channel, "IDLE_TIMEOUT_S", 0.3)
    server = servers()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as idle:
        idle.settimeout(5.0)
        idle.connect(server.address)
        idle.sendall(b'{"cmd": "sta')  # and then nothing
        assert send_command(STATUS).state == "running"  # served meanwhile
        answer = json.loads(idle.recv(4096))
    assert answer == {"ok": False, "error": "no complete request within 0.3 s"}


@needs_unix
def test_a_slow_monitor_is_a_timeout(runtime_dir: Path, servers: Callable[..., ControlServer]) -> None:
    class Slow(Recorder):
        def status(self) -> Status:
            time.sleep(0.6)
            return Status()

    servers(Slow())
    with pytest.raises(ControlError, match=r"did not answer within 0\.2 s"):
        send_command(STATUS, timeout_s=0.2)


# -- the TCP fallback ----------------------------------------------------------------------------------


def test_tcp_fallback_with_its_token(runtime_dir: Path, servers: Callable[..., ControlServer]) -> None:
    handler = Recorder()
    server = servers(handler, force_tcp=True)
    assert server.transport == "tcp"
    assert not (runtime_dir / "control.sock").exists()
    info = json.loads((runtime_dir / "control.json").read_text())
    assert info["port"] == server.address[1] and len(info["token"]) == 64
    if os.name == "posix":
        assert stat.S_IMODE((runtime_dir / "control.json").stat().st_mode) == 0o600
        assert stat.S_IMODE(runtime_dir.stat().st_mode) == 0o700

    assert send_command(pause(SOON + 0.5)).paused_until_s == SOON + 0.5
    assert handler.requests == [("pause", SOON + 0.5)]  # the token stays in the server

    wrong = json.dumps({"cmd": "status", "token": "0" * 64}).encode() + b"\n"
    assert raw_request(server, wrong) == {"ok": False, "error": "permission denied: wrong token"}
    assert raw_request(server, b'{"cmd": "status"}\n') == {
        "ok": False,
        "error": "permission denied: wrong token",
    }
    assert len(handler.requests) == 1

    with pytest.raises(ControlError, match="already running"):
        ControlServer(Recorder(), force_tcp=True).start()
    server.close()
    assert not (runtime_dir / "control.json").exists()
    with pytest.raises(ControlError, match=f"^{NOT_RUNNING}$"):
        send_command(STATUS)


def test_tcp_fallback_replaces_a_stale_port_file(
    runtime_dir: Path, servers: Callable[..., ControlServer]
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]  # closed again: nothing listens there
    runtime_dir.mkdir(mode=0o700)
    (runtime_dir / "control.json").write_text(json.dumps({"port": dead_port, "token": "ab" * 32}))
    with pytest.raises(ControlError, match=f"^{NOT_RUNNING}$"):
        send_command(STATUS)
    servers(force_tcp=True)
    assert send_command(STATUS).state == "running"


@pytest.mark.slow
def test_tcp_fallback_a_busy_monitor_counts_as_live(
    runtime_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(channel, "PING_TIMEOUT_S", 0.3)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)  # accepts connections but never answers
        runtime_dir.mkdir(mode=0o700)
        (runtime_dir / "control.json").write_text(
            json.dumps({"port": busy.getsockname()[1], "token": "ab" * 32})
        )
        with pytest.raises(ControlError, match="already running"):
            ControlServer(Recorder(), force_tcp=True).start()
        with pytest.raises(ControlError, match=r"did not answer within 0\.3 s"):
            send_command(STATUS, timeout_s=0.3)


def test_a_broken_port_file_is_a_clear_error(runtime_dir: Path) -> None:
    runtime_dir.mkdir(mode=0o700)
    (runtime_dir / "control.json").write_text('{"port": "x"}')
    with pytest.raises(ControlError, match="is not a posture control file"):
        send_command(STATUS)
