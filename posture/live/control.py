"""The control channel of a running ``posture monitor``: ``status``, ``pause``, ``resume``,
``calibrate`` and ``stop``.

Requests are ``{"cmd": "status"}``, ``{"cmd": "pause", "until_s": <unix time> | null}`` (null:
until resumed), ``{"cmd": "resume"}``, ``{"cmd": "calibrate"}`` (a new calibration taken by the
monitor itself, on its own camera, so that nothing else has to open it) and ``{"cmd": "stop"}``
(end the session as Ctrl-C does: saved, exit 0; what the tray uses to close a monitor it started,
on every OS alike), one JSON line per connection over the private channel
of :mod:`posture.live.channel` (a Unix socket only the same user reaches; TCP with a token where
there is none). Each request is parsed into a :class:`Request` (anything else gets a one-line
refusal), dispatched through one table to the monitor (a :class:`Controlled`), and answered with
``{"ok": true, <the monitor's Status after the command>}`` or ``{"ok": false, "error": "..."}``.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

from posture import paths
from posture.errors import PostureError
from posture.live.channel import (
    NOT_RUNNING,
    ControlError,
    MonitorNotRunningError,
    error,
    exchange,
    one_line,
)
from posture.live.listener import Listener
from posture.untrusted import printable

__all__ = [
    "COMMANDS",
    "MAX_PAUSE_S",
    "NOT_RUNNING",
    "USER_PAUSE_REASON",
    "Command",
    "ControlError",
    "ControlServer",
    "Controlled",
    "MonitorNotRunningError",
    "Request",
    "RequestError",
    "Status",
    "finite_number",
    "send_command",
]

log = logging.getLogger(__name__)

MAX_PAUSE_S = 7 * 24 * 3600.0
USER_PAUSE_REASON = "paused by you"  # the status "reason" of a pause from `posture pause`
_CLOCK_SLACK_S = 60.0  # a pause end this far in the past is taken as a clock difference
_DAY_S = 24 * 3600.0  # slack above MAX_PAUSE_S for clocks and "until-tomorrow"


class Command(str, Enum):
    STATUS = "status"
    PAUSE = "pause"
    RESUME = "resume"
    CALIBRATE = "calibrate"
    STOP = "stop"


COMMANDS = tuple(c.value for c in Command)


class RequestError(ControlError):
    """A request that is not one the monitor takes (its message is the one-line reply)."""


def finite_number(value: object) -> float | None:
    """A finite float from a JSON value, or None (booleans, strings, NaN, huge ints)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value) if math.isfinite(value) else None
    except OverflowError:  # an int with thousands of digits
        return None


# -- the messages --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """A validated control request."""

    cmd: Command
    until_s: float | None = None  # pause only: the unix time the pause ends; None = until resumed

    def to_json(self) -> dict[str, Any]:
        if self.cmd is Command.PAUSE:
            return {"cmd": self.cmd.value, "until_s": self.until_s}
        return {"cmd": self.cmd.value}

    @classmethod
    def from_json(cls, data: object, now_s: float) -> Request:
        """The request a decoded JSON value stands for; :class:`RequestError` in one line otherwise.

        Every field is checked: ``cmd`` is a command, no field other than those it takes, and
        ``until_s`` is null or a unix time from now to :data:`MAX_PAUSE_S` ahead (plus a day's
        slack for clocks and ``until-tomorrow``).
        """
        if not isinstance(data, Mapping):
            raise RequestError("the request must be a JSON object")
        raw = data.get("cmd")
        cmd = next((c for c in Command if c.value == raw), None) if isinstance(raw, str) else None
        if cmd is None:
            raise RequestError(f"unknown command {one_line(repr(raw), 40)}: expected {', '.join(COMMANDS)}")
        allowed = {"cmd", "until_s"} if cmd is Command.PAUSE else {"cmd"}
        extra = sorted(str(k) for k in data if k not in allowed)
        if extra:
            raise RequestError(f"unexpected field(s) for {cmd.value}: {one_line(', '.join(extra), 60)}")
        until = data.get("until_s")
        if until is None:
            return cls(cmd)
        until_s = finite_number(until)
        if until_s is None:
            raise RequestError("pause needs until_s: a unix time, or null to pause until resumed")
        if until_s < now_s - _CLOCK_SLACK_S:
            raise RequestError("until_s is in the past")
        if until_s > now_s + MAX_PAUSE_S + _DAY_S:
            raise RequestError(
                "until_s is more than 7 days ahead: pause indefinitely (null) and resume instead"
            )
        return cls(cmd, until_s)


@dataclass(frozen=True)
class Status:
    """What a running monitor reports: the reply to every command, taken after it took effect."""

    state: str = "running"  # starting, running, away, paused, camera-lost, calibrating, stopping, stopped
    reason: str | None = None  # why paused: USER_PAUSE_REASON, or a context such as "screen locked"
    paused_until_s: float | None = None  # unix time a user's pause ends; None: until resumed
    verdict: str | None = None  # the last reading's posture
    findings: Mapping[str, float] = field(default_factory=dict)  # code -> severity, those above 0
    alert: bool = False  # a sustained-posture alert is active
    view: str | None = None
    source: str | None = None  # the camera or file watched
    sample_fps: float | None = None  # the sampling rate now
    session_s: float | None = None  # since the monitor started
    poor_s: float = 0.0
    present_s: float = 0.0
    profile: str | None = None  # a warning about the calibration profile or the camera set-up
    alerts: int = 0  # sustained-posture alerts this session
    calibration: str | None = None  # the outcome of the last calibration asked for, in words

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "findings": dict(self.findings)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Status:
        """A status from a reply, leniently: a field of the wrong type keeps its default, and text
        is made safe to print (the reply comes from another process)."""

        def text(key: str) -> str | None:
            value = data.get(key)
            return printable(value) if isinstance(value, str) and value else None

        findings = data.get("findings")
        pairs = findings.items() if isinstance(findings, Mapping) else ()
        severities = {printable(code): finite_number(value) for code, value in pairs}
        return cls(
            state=text("state") or "running",
            reason=text("reason"),
            paused_until_s=finite_number(data.get("paused_until_s")),
            verdict=text("verdict"),
            findings={code: sev for code, sev in severities.items() if sev is not None},
            alert=data.get("alert") is True,
            view=text("view"),
            source=text("source"),
            sample_fps=finite_number(data.get("sample_fps")),
            session_s=finite_number(data.get("session_s")),
            poor_s=finite_number(data.get("poor_s")) or 0.0,
            present_s=finite_number(data.get("present_s")) or 0.0,
            profile=text("profile"),
            alerts=min(max(int(finite_number(data.get("alerts")) or 0), 0), 10**9),
            calibration=text("calibration"),
        )


class Controlled(Protocol):
    """What the server controls (the monitor). Each method returns the status after the change,
    is called from the server's threads (one call at a time) and raises PostureError to refuse."""

    def status(self) -> Status: ...

    def pause(self, until_s: float | None) -> Status: ...

    def resume(self) -> Status: ...

    def calibrate(self) -> Status: ...

    def finish(self) -> Status: ...


# The one dispatcher: each command and what it does to the monitor.
_DISPATCH: Mapping[Command, Callable[[Controlled, Request], Status]] = {
    Command.STATUS: lambda target, _req: target.status(),
    Command.PAUSE: lambda target, req: target.pause(req.until_s),
    Command.RESUME: lambda target, _req: target.resume(),
    Command.CALIBRATE: lambda target, _req: target.calibrate(),
    Command.STOP: lambda target, _req: target.finish(),
}


# -- the two ends ---------------------------------------------------------------------------------------


class ControlServer:
    """Answers control requests for ``target`` (the monitor) while it runs.

    Started before the monitor is built, it claims the channel first (a second monitor stops
    there, having written nothing); ``target`` is then None and every request is answered
    with the state ``starting`` until the monitor is set.
    ``path`` is the socket's path (default :func:`posture.paths.socket_path`); the TCP fallback,
    used where ``AF_UNIX`` is missing or with ``force_tcp``, writes ``control.json`` beside it. A
    context manager: entering starts it (:meth:`start`), leaving closes it (:meth:`close`).
    """

    def __init__(
        self, target: Controlled | None, path: Path | None = None, *, force_tcp: bool = False
    ) -> None:
        own_default = path is None and not os.environ.get(paths.RUNTIME_DIR_ENV)
        self.path = Path(path) if path is not None else paths.socket_path()
        self.target = target  # None while the monitor starts: status says "starting"
        self._lock = threading.Lock()  # one command at a time
        self._listener = Listener(self.path, self.reply, own_default=own_default, force_tcp=force_tcp)
        self.port_file = self._listener.port_file
        self.transport = self._listener.transport

    @property
    def address(self) -> str | tuple[str, int] | None:
        return self._listener.address

    def start(self) -> None:
        """Start listening; :class:`~posture.live.channel.AlreadyRunningError` (exit 2) when
        another monitor runs, :class:`ControlError` when the folder is unsafe."""
        self._listener.start()

    def close(self) -> None:
        """Stop listening and remove the socket (idempotent)."""
        self._listener.close()

    def __enter__(self) -> ControlServer:
        self._listener.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def reply(self, data: object) -> dict[str, Any]:
        """The reply to one decoded request: validated, dispatched, and the status after it."""
        try:
            request = Request.from_json(data, time.time())
        except RequestError as exc:
            return error(str(exc))
        with self._lock:
            target = self.target
            if target is None:
                if request.cmd is Command.STATUS:
                    return {"ok": True, **Status(state="starting").to_json()}
                return error("the posture monitor is starting; try again in a moment")
            try:
                status = _DISPATCH[request.cmd](target, request)
            except PostureError as exc:
                return error(one_line(exc))
            except Exception as exc:
                log.warning("the monitor failed on %r", request.cmd.value, exc_info=True)
                return error(f"the monitor failed to {request.cmd.value}: {one_line(type(exc).__name__)}")
        if not isinstance(status, Status):
            log.warning(
                "the monitor answered %r with %s, not a Status", request.cmd.value, type(status).__name__
            )
            return error(f"the monitor failed to {request.cmd.value}")
        return {"ok": True, **status.to_json()}


def send_command(request: Request, *, path: Path | None = None, timeout_s: float = 2.0) -> Status:
    """Send one request to the running monitor and return its status after the command.

    ``path`` is the socket (default :func:`posture.paths.socket_path`). Raises
    :class:`ControlError` in one line: ``no posture monitor is running`` when nothing listens,
    the monitor's own error when it refuses, or what else went wrong.
    """
    if not timeout_s > 0:
        raise ValueError("timeout_s must be positive")
    sock_path = Path(path) if path is not None else paths.socket_path()
    return Status.from_json(exchange(request.to_json(), sock_path, timeout_s))
