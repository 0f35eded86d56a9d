"""A hostile local client against a running monitor: every message gets an answer, the monitor runs on.

The monitor runs its real loop in a thread (a fake camera and a scripted estimator, real clock),
behind a real control socket.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from posture.config import Config
from posture.live.control import Command, ControlServer, Request, RequestError, send_command
from posture.live.monitor import Monitor
from posture.sources.media import Frame
from tests.builders import side_pose
from tests.fakes import ScriptedEstimator

pytestmark = pytest.mark.adversarial

GOOD = side_pose(trunk_deg=-8.0, neck_deg=8.0, pitch_deg=10.0)
STATUS, RESUME = Request(Command.STATUS), Request(Command.RESUME)


class LiveFakeCamera:
    name = "fake camera"
    ended = False

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.count = 0
        self.is_open = False

    def open(self) -> None:
        self.is_open = True

    def close(self) -> None:
        self.is_open = False

    def read(self) -> Frame | None:
        self.count += 1
        image = np.full((48, 64, 3), self.count % 255, np.uint8)  # moves: the model runs each time
        return Frame(image, self.count, time.monotonic() - self.t0)


@pytest.fixture()
def live_monitor() -> Iterator[tuple[Monitor, Path, threading.Thread]]:
    folder = Path(tempfile.mkdtemp(prefix="pfz", dir="/tmp"))
    sock = folder / "control.sock"
    monitor = Monitor(Config(), LiveFakeCamera(), ScriptedEstimator(lambda t_s: GOOD))
    errors: list[BaseException] = []

    def run() -> None:
        try:
            monitor.run()
        except BaseException as exc:  # the test fails on it below
            errors.append(exc)

    thread = threading.Thread(target=run, name="monitor-under-test", daemon=True)
    with ControlServer(monitor, sock):
        thread.start()
        deadline = time.monotonic() + 10
        while send_command(STATUS, path=sock).state == "starting":
            assert time.monotonic() < deadline, "the monitor never started"
            time.sleep(0.02)
        try:
            yield monitor, sock, thread
        finally:
            monitor.stop()
            thread.join(10)
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
    assert not thread.is_alive()
    assert not errors, errors


def _raw(sock_path: Path, data: bytes, *, close_write: bool = True) -> dict | None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5.0)
        s.connect(str(sock_path))
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            s.sendall(data)
            if close_write:
                s.shutdown(socket.SHUT_WR)
        buf = b""
        with contextlib.suppress(ConnectionResetError):
            while not buf.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
    return json.loads(buf) if buf else None


NOW = time.time()
MALFORMED: dict[str, bytes] = {
    "pause-year-33658": b'{"cmd": "pause", "until_s": 1e12}\n',
    "pause-1e308": b'{"cmd": "pause", "until_s": 1e308}\n',
    "pause-negative": b'{"cmd": "pause", "until_s": -1}\n',
    "pause-zero": b'{"cmd": "pause", "until_s": 0}\n',
    "pause-past": json.dumps({"cmd": "pause", "until_s": NOW - 3600}).encode() + b"\n",
    "pause-8-days": json.dumps({"cmd": "pause", "until_s": NOW + 9 * 86400}).encode() + b"\n",
    "pause-NaN": b'{"cmd": "pause", "until_s": NaN}\n',
    "pause-Infinity": b'{"cmd": "pause", "until_s": Infinity}\n',
    "pause-string": b'{"cmd": "pause", "until_s": "tomorrow"}\n',
    "pause-bool": b'{"cmd": "pause", "until_s": false}\n',
    "pause-list": b'{"cmd": "pause", "until_s": [1]}\n',
    "pause-object": b'{"cmd": "pause", "until_s": {"t": 1}}\n',
    "pause-huge-int": b'{"cmd": "pause", "until_s": ' + b"9" * 4000 + b"}\n",
    "pause-extra-field": json.dumps({"cmd": "pause", "until_s": None, "x": 1}).encode() + b"\n",
    "status-extra-field": b'{"cmd": "status", "verbose": true}\n',
    "cmd-number": b'{"cmd": 3}\n',
    "cmd-null": b'{"cmd": null}\n',
    "cmd-list": b'{"cmd": ["status"]}\n',
    "cmd-unknown": b'{"cmd": "shutdown"}\n',
    "cmd-escapes": b'{"cmd": "\\u001b[2J\\u001b]0;x\\u0007"}\n',
    "no-cmd": b'{"until_s": 5}\n',
    "array": b'["status"]\n',
    "string": b'"status"\n',
    "number": b"42\n",
    "null": b"null\n",
    "empty-line": b"\n",
    "not-json": b"status please\n",
    "bad-utf8": b'{"cmd": "\xff\xfe"}\n',
    "nul-bytes": b"\x00" * 100 + b"\n",
    "deep-lists": b"[" * 30000 + b"]" * 30000 + b"\n",
    "deep-objects": b'{"a":' * 20000 + b"1" + b"}" * 20000 + b"\n",
    "deep-inside": b'{"cmd": "status", "x": ' + b"[" * 10000 + b"]" * 10000 + b"}\n",
    "too-large": b'{"cmd": "status", "pad": "' + b"x" * (70 * 1024) + b'"}\n',
    "duplicate-keys": b'{"cmd": "status", "cmd": "pause", "until_s": 1e12}\n',
    "two-lines": b'{"cmd": "status"}\n{"cmd": "pause", "until_s": 1e12}\n',
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_message_gets_an_error_and_the_monitor_runs_on(live_monitor, name: str) -> None:
    _monitor, sock, thread = live_monitor
    answer = _raw(sock, MALFORMED[name])
    if name == "two-lines":  # one request per connection: the first line is answered, the rest ignored
        assert answer is not None and answer["ok"] is True
    else:
        assert answer is not None and answer["ok"] is False, answer
        assert isinstance(answer["error"], str) and "\n" not in answer["error"]
    time.sleep(0.3)  # the loop has had a turn
    assert thread.is_alive()
    assert send_command(STATUS, path=sock).state in ("running", "away")


def _fuzz_message(rng: random.Random) -> bytes:
    """One random request: valid-looking, mutated, or garbage."""
    choice = rng.random()
    if choice < 0.25:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300))) + b"\n"
    values = [
        None,
        True,
        0,
        -1,
        1e12,
        -1e300,
        float(rng.randint(-(10**9), 10**13)),
        "x" * rng.randint(0, 50),
        [],
        {},
        [[[]]],
        NOW + rng.uniform(-1e6, 1e6),
    ]
    request: dict = {"cmd": rng.choice(["status", "pause", "resume", "ping", "", "PAUSE", 1, None])}
    for _ in range(rng.randint(0, 3)):
        request[rng.choice(["until_s", "cmd", "token", "x", "\u202e"])] = rng.choice(values)
    text = json.dumps(request)
    if choice < 0.5 and text:
        cut = rng.randint(0, len(text))
        text = text[:cut] + rng.choice(["", "{", "]", '"', "\\", "NaN", "\x00"]) + text[cut:]
    return text.encode("utf-8", "surrogatepass") + (b"\n" if rng.random() < 0.9 else b"")


@pytest.mark.slow
def test_a_thousand_fuzzed_messages_leave_the_monitor_running(live_monitor) -> None:
    _monitor, sock, thread = live_monitor
    rng = random.Random(11)
    answered = 0
    for _ in range(1000):
        answer = _raw(sock, _fuzz_message(rng))
        assert answer is not None, "a message went unanswered"
        assert isinstance(answer.get("ok"), bool)
        answered += 1
    assert answered == 1000
    time.sleep(0.3)
    assert thread.is_alive()
    send_command(RESUME, path=sock)
    assert send_command(STATUS, path=sock).state in ("running", "away")


def test_pause_is_applied_before_the_answer(live_monitor) -> None:
    """posture status right after posture pause shows the pause (20 times in a row, no sleep)."""
    _monitor, sock, _thread = live_monitor
    for _ in range(20):
        until = time.time() + 300
        reply = send_command(Request(Command.PAUSE, until), path=sock)
        assert reply.state == "paused" and reply.paused_until_s == pytest.approx(until)  # the reply says so
        status = send_command(STATUS, path=sock)
        assert status.state == "paused" and status.paused_until_s == pytest.approx(until)
        assert send_command(RESUME, path=sock).state != "paused"
        assert send_command(STATUS, path=sock).state != "paused"
    assert send_command(Request(Command.PAUSE, None), path=sock).state == "paused"
    status = send_command(STATUS, path=sock)
    assert status.state == "paused" and status.paused_until_s is None


@pytest.mark.slow
def test_the_loop_keeps_the_pause_it_was_given(live_monitor) -> None:
    monitor, sock, _thread = live_monitor
    send_command(Request(Command.PAUSE, time.time() + 60), path=sock)
    time.sleep(0.6)  # several loop turns
    assert send_command(STATUS, path=sock).state == "paused"
    assert not monitor.frames.is_open  # the camera is released while paused
    send_command(RESUME, path=sock)


@pytest.mark.parametrize(
    ("request_", "ok"),
    [
        ({"cmd": "status"}, True),
        ({"cmd": "resume"}, True),
        ({"cmd": "pause"}, True),
        ({"cmd": "pause", "until_s": None}, True),
        ({"cmd": "pause", "until_s": NOW + 60}, True),
        ({"cmd": "pause", "until_s": NOW + 7 * 86400}, True),
        ({"cmd": "pause", "until_s": NOW + 9 * 86400}, False),
        ({"cmd": "pause", "until_s": NOW - 600}, False),
        ({"cmd": "pause", "until_s": math.nan}, False),
        ({"cmd": "pause", "until_s": math.inf}, False),
        ({"cmd": "pause", "until_s": "1"}, False),
        ({"cmd": "status", "until_s": None}, False),
        ({"cmd": "resume", "until_s": None}, False),
        ({"cmd": "nope"}, False),
        ({}, False),
    ],
)
def test_validate_request(request_: dict, ok: bool) -> None:
    if ok:
        request = Request.from_json(request_, NOW)
        assert request.cmd.value == request_["cmd"] and request.until_s == request_.get("until_s")
        assert Request.from_json(request.to_json(), NOW) == request  # a round trip
    else:
        with pytest.raises(RequestError) as refused:
            Request.from_json(request_, NOW)
        assert "\n" not in str(refused.value)


@pytest.mark.parametrize("until_s", [1e12, -1.0, math.nan, math.inf, "x", True])
def test_the_monitor_itself_refuses_a_bad_pause(until_s) -> None:
    """Defence in depth: Monitor.pause never lets a bad time reach the loop."""
    monitor = Monitor(Config(), LiveFakeCamera(), ScriptedEstimator(lambda t_s: GOOD))
    if until_s in (1e12, -1.0):  # numbers: accepted here (the server bounds them); the loop copes
        assert monitor.pause(until_s).state == "paused"
        monitor._apply_commands()  # logs without datetime overflow
        monitor._paused_reason(0.0)
    else:
        with pytest.raises(RequestError, match="pause needs until_s"):
            monitor.pause(until_s)
        assert monitor.status().state == "starting"
