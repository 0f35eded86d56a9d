"""A local control channel for a running ``posture monitor``: ``status``, ``pause``, ``resume``.

The monitor runs a :class:`ControlServer`; ``posture status|pause|resume`` in another terminal call
:func:`send_command`. Only the same user can reach it:

* POSIX: a Unix domain socket ``control.sock`` in the user's runtime folder (created 0o700, the
  socket chmod 0o600); on Linux the server also checks the peer's uid with ``SO_PEERCRED`` and
  refuses other users, and the client checks the server's uid the same way.
* Where ``socket.AF_UNIX`` is missing (Windows): TCP on 127.0.0.1 with an ephemeral port; the port
  and a random 32-byte token are written to ``control.json`` (0o600) in the same folder, the client
  sends the token with every request and the server rejects a wrong one.

Protocol: one JSON object per line each way, one request per connection. Requests are
``{"cmd": "status"}``, ``{"cmd": "pause", "until_s": <unix time> | null}`` (null: until resumed)
and ``{"cmd": "resume"}``; answers are ``{"ok": true, ...}`` or ``{"ok": false, "error": "..."}``.
Requests are limited to 64 KiB and a client has 2 s to send its line.
"""

from __future__ import annotations

import contextlib
import errno
import hmac
import json
import logging
import math
import os
import re
import secrets
import socket
import stat
import struct
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from posture.errors import PostureError
from posture.untrusted import printable

__all__ = [
    "COMMANDS",
    "MAX_PAUSE_S",
    "MAX_REQUEST_BYTES",
    "NOT_RUNNING",
    "PORT_FILE_NAME",
    "RUNTIME_DIR_ENV",
    "SOCKET_NAME",
    "TOMORROW_HOUR",
    "USER_PAUSE_REASON",
    "ControlError",
    "ControlHandler",
    "ControlServer",
    "MonitorNotRunningError",
    "default_runtime_dir",
    "default_socket_path",
    "format_status",
    "parse_duration",
    "send_command",
    "validate_request",
]

log = logging.getLogger(__name__)

RUNTIME_DIR_ENV = "POSTURE_RUNTIME_DIR"  # a folder that replaces the platform's user runtime folder
SOCKET_NAME = "control.sock"
PORT_FILE_NAME = "control.json"  # the TCP fallback's port and token
COMMANDS = ("status", "pause", "resume")
MAX_REQUEST_BYTES = 64 * 1024
MAX_RESPONSE_BYTES = 1024 * 1024
IDLE_TIMEOUT_S = 2.0  # a client must send its whole request within this time
MAX_CLIENTS = 8  # connections served at once; more get a "busy" answer
NOT_RUNNING = "no posture monitor is running"
TOMORROW_HOUR = 6  # "until-tomorrow" ends at the next 06:00 local time
MAX_PAUSE_S = 7 * 24 * 3600.0
MAX_REQUEST_DEPTH = 4  # {"cmd": ...} is one level; anything deeper is refused before parsing
_CLOCK_SLACK_S = 60.0  # a pause end this far in the past is taken as a clock difference
_DAY_S = 24 * 3600.0
USER_PAUSE_REASON = "paused by you"  # a status "reason" for a pause from `posture pause`

_HAS_AF_UNIX = hasattr(socket, "AF_UNIX")
_PING = "ping"  # answered by the server itself: tells a live monitor from a stale port file
_PING_TIMEOUT_S = 2.0
_AF_UNIX_PATH_MAX = 104  # sun_path is 108 bytes on Linux, 104 on macOS and the BSDs

ControlHandler = Callable[[dict[str, Any]], dict[str, Any]]


class ControlError(PostureError):
    """The control channel cannot be set up or reached, or the monitor refused a request."""


class MonitorNotRunningError(ControlError):
    """Nothing listens on the control channel: no monitor runs (or one crashed)."""

    def __init__(self, message: str = NOT_RUNNING) -> None:
        super().__init__(message)


class _NoAnswer(ControlError):
    """The monitor accepted the connection but did not answer in time."""


def _one_line(text: object, limit: int = 200) -> str:
    s = printable(" ".join(str(text).split()))
    return s if len(s) <= limit else s[: limit - 1] + "…"


# -- where ---------------------------------------------------------------------------------------------


def default_runtime_dir() -> Path:
    """``$POSTURE_RUNTIME_DIR``, else the platform's user runtime folder for posture."""
    override = os.environ.get(RUNTIME_DIR_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset and falls back to /tmp/runtime-<uid>,
        # whose ownership _ensure_private_folder checks.
        warnings.simplefilter("ignore")
        return platformdirs.user_runtime_path("posture", appauthor=False)


def default_socket_path() -> Path:
    """``control.sock`` in :func:`default_runtime_dir` (the TCP fallback's ``control.json`` sits beside it)."""
    return default_runtime_dir() / SOCKET_NAME


def _ensure_private_folder(folder: Path, *, own_default: bool) -> None:
    """Create the runtime folder readable by the user alone; refuse one that belongs to another user.

    With posture's own default (``$XDG_RUNTIME_DIR/posture``, or ``/tmp/runtime-UID/posture`` when
    ``XDG_RUNTIME_DIR`` is unset), both levels are created 0o700 and an existing one is tightened;
    either is refused when it is a symbolic link or belongs to another user, since ``/tmp`` is
    shared with everyone. A folder the user named is created 0o700 but not tightened (it may
    hold other things).
    """
    if os.name != "posix":
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ControlError(f"cannot create the control folder {folder}: {exc.strerror or exc}") from None
        return
    if own_default:
        _private_level(folder.parent, tighten=True, root_ok=True)
        _private_level(folder, tighten=True, root_ok=False)
        return
    created = not folder.exists()
    _private_level(folder, tighten=created, root_ok=False)


def _private_level(folder: Path, *, tighten: bool, root_ok: bool) -> None:
    uid = os.getuid()
    try:
        if not folder.parent.exists():
            folder.parent.mkdir(parents=True, exist_ok=True)
        os.mkdir(folder, 0o700)
        tighten = True  # ours from the start: mkdir's mode was filtered by the umask
    except FileExistsError:
        pass
    except OSError as exc:
        raise ControlError(f"cannot create the control folder {folder}: {exc.strerror or exc}") from None
    advice = f"set {RUNTIME_DIR_ENV} to a private folder"
    st = os.lstat(folder)
    if stat.S_ISLNK(st.st_mode):
        raise ControlError(f"the control folder {folder} is a symbolic link; {advice}")
    if not stat.S_ISDIR(st.st_mode):
        raise ControlError(f"{folder} is not a folder; {advice}")
    if st.st_uid != uid and not (root_ok and st.st_uid == 0):
        raise ControlError(f"the control folder {folder} belongs to another user; {advice}")
    if tighten and st.st_uid == uid and (st.st_mode & 0o777) != 0o700:
        folder.chmod(0o700)


def _check_socket_path(path: Path) -> None:
    if len(os.fsencode(str(path))) >= _AF_UNIX_PATH_MAX:
        raise ControlError(
            f"the control socket path {path} is too long for a Unix socket; set {RUNTIME_DIR_ENV} to a shorter folder"
        )


def _is_socket(path: Path) -> bool:
    try:
        return stat.S_ISSOCK(os.lstat(path).st_mode)
    except OSError:
        return False


def _peer_uid(conn: socket.socket) -> int | None:
    """The uid of the process at the other end of a Unix socket, where the OS tells (Linux)."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    try:
        creds = conn.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    except OSError:
        log.debug("SO_PEERCRED failed", exc_info=True)
        return None
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid


# -- line I/O ------------------------------------------------------------------------------------------


class _TooLarge(Exception):
    pass


def _read_line(conn: socket.socket, limit: int, timeout_s: float) -> bytes:
    """Bytes up to the first newline (or the end of the stream), within ``timeout_s`` in all.

    Raises ``socket.timeout`` when the time runs out and ``_TooLarge`` past ``limit`` bytes.
    """
    deadline = time.monotonic() + timeout_s
    buf = bytearray()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("timed out")
        conn.settimeout(remaining)
        chunk = conn.recv(4096)
        if not chunk:
            return bytes(buf)
        newline = chunk.find(b"\n")
        if newline >= 0:
            buf += chunk[:newline]
            if len(buf) > limit:
                raise _TooLarge
            return bytes(buf)
        buf += chunk
        if len(buf) > limit:
            raise _TooLarge


def _encode(message: Mapping[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode("utf-8") + b"\n"


def _error(message: str) -> dict[str, Any]:
    return {"ok": False, "error": message}


# -- the server ----------------------------------------------------------------------------------------


class ControlServer:
    """Answers control requests for a running monitor in a daemon thread.

    ``handler`` receives each valid request (``{"cmd": ...}``, plus ``until_s`` for ``pause``) and
    returns the answer's fields; ``"ok": true`` is added unless it sets ``ok`` itself. It runs in
    the server's threads, one call at a time, but concurrently with the monitor's own loop, so it
    must be thread-safe (take a lock, or only read and set simple attributes). A
    :class:`~posture.errors.PostureError` it raises becomes ``{"ok": false, "error": str(exc)}``.

    ``path`` is the socket's path (default :func:`default_socket_path`); the TCP fallback, used
    where ``AF_UNIX`` is missing or with ``force_tcp``, writes ``control.json`` beside it. Use as a
    context manager (``__enter__`` starts it) or call :meth:`start` and :meth:`close`.
    """

    def __init__(self, handler: ControlHandler, path: Path | None = None, *, force_tcp: bool = False) -> None:
        self._own_default = path is None and not os.environ.get(RUNTIME_DIR_ENV)
        self.path = Path(path) if path is not None else default_socket_path()
        self.port_file = self.path.with_name(PORT_FILE_NAME)
        self.transport = "tcp" if force_tcp or not _HAS_AF_UNIX else "unix"
        self.address: str | tuple[str, int] | None = None  # set by start()
        self._handler = handler
        self._handler_lock = threading.Lock()  # one handler call at a time
        self._slots = threading.BoundedSemaphore(MAX_CLIENTS)
        self._uid = os.getuid() if hasattr(os, "getuid") else None
        self._token = secrets.token_hex(32)
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._inode: int | None = None  # the socket file we bound, so close() never removes another's

    # -- life cycle --

    def start(self) -> None:
        """Bind, listen and start the accepting thread.

        Raises :class:`ControlError` when another monitor answers on the same path, or when the
        folder or socket cannot be set up. A stale socket or port file left by a crash is replaced.
        """
        if self._sock is not None:
            raise RuntimeError("the control server has already started")
        _ensure_private_folder(self.path.parent, own_default=self._own_default)
        if self.transport == "unix":
            self._sock = self._bind_unix()
        else:
            self._sock = self._bind_tcp()
        self._thread = threading.Thread(target=self._accept_loop, name="posture-control", daemon=True)
        self._thread.start()
        log.debug("control server listening on %s", self.address)

    def _bind_unix(self) -> socket.socket:
        _check_socket_path(self.path)
        self._clear_stale_socket()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(str(self.path))
            os.chmod(self.path, 0o600)  # the 0o700 folder already keeps others out
            self._inode = os.lstat(self.path).st_ino
            sock.listen(MAX_CLIENTS)
        except OSError as exc:
            sock.close()
            if self._inode is not None:  # bound, then chmod or listen failed
                with contextlib.suppress(OSError):
                    self.path.unlink()
            if exc.errno == errno.EADDRINUSE:  # another monitor won the race since the stale check
                raise ControlError("another posture monitor is already running") from None
            raise ControlError(f"cannot open the control socket {self.path}: {exc.strerror or exc}") from None
        self.address = str(self.path)
        return sock

    def _clear_stale_socket(self) -> None:
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(st.st_mode):
            raise ControlError(f"{self.path} exists and is not a control socket; move it aside")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.settimeout(1.0)
        try:
            probe.connect(str(self.path))
        except (ConnectionRefusedError, FileNotFoundError):
            log.info("replacing the stale control socket %s left by a monitor that stopped", self.path)
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            return
        except OSError as exc:
            raise ControlError(f"cannot use the control socket {self.path}: {exc.strerror or exc}") from None
        finally:
            probe.close()
        raise ControlError("another posture monitor is already running")

    def _bind_tcp(self) -> socket.socket:
        if self.port_file.exists() and _tcp_ping(self.port_file):
            raise ControlError("another posture monitor is already running")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", 0))
            sock.listen(MAX_CLIENTS)
            self.address = sock.getsockname()[:2]
            self._write_port_file(self.address[1])
        except OSError as exc:
            sock.close()
            raise ControlError(f"cannot open the control port: {exc.strerror or exc}") from None
        return sock

    def _write_port_file(self, port: int) -> None:
        """``control.json`` created 0o600 under a temporary name, then renamed into place."""
        fd, tmp = tempfile.mkstemp(dir=self.port_file.parent, prefix=".control.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"port": port, "token": self._token, "pid": os.getpid()}, f)
            os.replace(tmp, self.port_file)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def close(self) -> None:
        """Stop accepting, wait for the thread and remove the socket or port file; idempotent."""
        sock, self._sock = self._sock, None
        if sock is None:
            return
        self._stopping.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            if self._thread.is_alive():
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)  # wakes accept() on Linux
                self._thread.join(timeout=1.0)
        sock.close()
        if self.transport == "unix":
            try:
                if os.lstat(self.path).st_ino == self._inode:
                    self.path.unlink()
            except OSError:
                log.debug("could not remove %s", self.path, exc_info=True)
        else:
            try:
                if json.loads(self.port_file.read_text(encoding="utf-8")).get("token") == self._token:
                    self.port_file.unlink()
            except (OSError, ValueError, AttributeError):
                log.debug("could not remove %s", self.port_file, exc_info=True)
        log.debug("control server closed")

    def _wake(self) -> None:
        """Connect once to our own address so the blocked accept() returns and sees ``_stopping``."""
        family = socket.AF_UNIX if self.transport == "unix" else socket.AF_INET
        try:
            with socket.socket(family, socket.SOCK_STREAM) as s:
                s.settimeout(0.5)
                s.connect(self.address)
        except OSError:
            log.debug("could not wake the control thread", exc_info=True)

    def __enter__(self) -> ControlServer:
        if self._sock is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- serving --

    def _accept_loop(self) -> None:
        sock = self._sock
        assert sock is not None
        while not self._stopping.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                if self._stopping.is_set():
                    break
                log.debug("accept failed", exc_info=True)
                time.sleep(0.05)  # e.g. out of file descriptors: do not spin
                continue
            if self._stopping.is_set():
                conn.close()
                break
            if not self._slots.acquire(blocking=False):
                self._reply_and_close(conn, _error("the posture monitor is busy; try again"))
                continue
            threading.Thread(
                target=self._serve, args=(conn,), name="posture-control-client", daemon=True
            ).start()

    @staticmethod
    def _reply_and_close(conn: socket.socket, message: Mapping[str, Any]) -> None:
        try:
            conn.settimeout(IDLE_TIMEOUT_S)
            conn.sendall(_encode(message))
        except OSError:
            log.debug("could not answer a control client", exc_info=True)
        finally:
            conn.close()

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self.transport == "unix" and self._uid is not None:
                uid = _peer_uid(conn)
                if uid is not None and uid != self._uid:
                    log.warning("refused a control connection from uid %d", uid)
                    self._reply_and_close(
                        conn, _error("permission denied: the monitor belongs to another user")
                    )
                    return
            try:
                raw = _read_line(conn, MAX_REQUEST_BYTES, IDLE_TIMEOUT_S)
            except _TooLarge:
                answer = _error(f"request too large (the limit is {MAX_REQUEST_BYTES // 1024} KiB)")
            except TimeoutError:
                answer = _error(f"no complete request within {IDLE_TIMEOUT_S:g} s")
            else:
                answer = self._answer(raw)
            self._reply_and_close(conn, answer)
        except Exception:  # a bug here must not kill the thread silently nor the monitor
            log.warning("the control server failed on a request", exc_info=True)
            conn.close()
        finally:
            self._slots.release()

    def _answer(self, raw: bytes) -> dict[str, Any]:
        """The answer to one request line: validated here, then passed to the handler."""
        from posture.untrusted import UntrustedJSONError, load_json

        try:
            request = load_json(raw, max_depth=MAX_REQUEST_DEPTH)
        except UntrustedJSONError as exc:
            return _error(f"the request is not valid JSON: {_one_line(exc, 80)}")
        if not isinstance(request, dict):
            return _error("the request must be a JSON object")
        if self.transport == "tcp":
            token = request.pop("token", None)
            if not isinstance(token, str) or not hmac.compare_digest(token.encode(), self._token.encode()):
                log.warning("refused a control request with a wrong token")
                return _error("permission denied: wrong token")
        problem = validate_request(request, time.time())
        if problem is not None:
            return _error(problem)
        cmd = request["cmd"]
        if cmd == _PING:
            return {"ok": True}
        if cmd == "pause":
            until = request.get("until_s")
            request["until_s"] = None if until is None else float(until)
        with self._handler_lock:
            try:
                answer = self._handler(request)
            except PostureError as exc:
                return _error(_one_line(exc))
            except Exception as exc:
                log.warning("the control handler failed on %r", cmd, exc_info=True)
                return _error(f"the monitor failed to {cmd}: {_one_line(type(exc).__name__)}")
        if not isinstance(answer, Mapping):
            log.warning("the control handler returned %s, not a dict", type(answer).__name__)
            return _error(f"the monitor failed to {cmd}")
        out = {"ok": True, **answer}
        try:
            json.dumps(out)
        except (TypeError, ValueError):
            log.warning("the control handler's answer to %r is not JSON", cmd)
            return _error(f"the monitor failed to {cmd}")
        return out


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int with thousands of digits
        return False


def validate_request(request: Mapping[str, Any], now_s: float) -> str | None:
    """What is wrong with a decoded control request, in one line, or None when it is valid.

    Every field is checked: ``cmd`` is one of the commands, no other field than those the command
    takes, and ``until_s`` is null or a unix time from now to :data:`MAX_PAUSE_S` ahead (plus a
    day's slack for clocks and ``until-tomorrow``).
    """
    cmd = request.get("cmd")
    if not isinstance(cmd, str) or (cmd != _PING and cmd not in COMMANDS):
        return f"unknown command {_one_line(repr(cmd), 40)}: expected {', '.join(COMMANDS)}"
    allowed = {"cmd", "until_s"} if cmd == "pause" else {"cmd"}
    extra = sorted(str(k) for k in request if k not in allowed)
    if extra:
        return f"unexpected field(s) for {cmd}: {_one_line(', '.join(extra), 60)}"
    if cmd == "pause" and "until_s" in request:
        until = request["until_s"]
        if until is None:
            return None
        if isinstance(until, bool) or not isinstance(until, (int, float)) or not _finite(until):
            return "pause needs until_s: a unix time, or null to pause until resumed"
        if until < now_s - _CLOCK_SLACK_S:
            return "until_s is in the past"
        if until > now_s + MAX_PAUSE_S + _DAY_S:
            return "until_s is more than 7 days ahead: pause indefinitely (null) and resume instead"
    return None


# -- the client ----------------------------------------------------------------------------------------


def _read_port_file(port_file: Path) -> tuple[int, str]:
    try:
        if os.name == "posix" and port_file.stat().st_uid != os.getuid():
            raise ControlError(f"{port_file} belongs to another user")
        data = json.loads(port_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MonitorNotRunningError from None
    except (OSError, ValueError) as exc:
        raise ControlError(f"cannot read {port_file}: {_one_line(exc)}") from None
    port = data.get("port") if isinstance(data, dict) else None
    token = data.get("token") if isinstance(data, dict) else None
    if not isinstance(port, int) or not 0 < port < 65536 or not isinstance(token, str):
        raise ControlError(f"{port_file} is not a posture control file; remove it")
    return port, token


def _tcp_ping(port_file: Path) -> bool:
    """Whether a live monitor answers on the port ``port_file`` names (False for a stale file).

    A monitor too busy to answer within the time counts as live; a refused connection, a wrong
    token (another program got the port) or an unreadable file make the file stale.
    """
    try:
        _request({"cmd": _PING}, port_file.with_name(SOCKET_NAME), _PING_TIMEOUT_S, tcp=True)
    except _NoAnswer:
        return True
    except ControlError:
        log.info("replacing the stale control file %s left by a monitor that stopped", port_file)
        return False
    return True


def _connect(family: int, address: str | tuple[str, int], timeout_s: float, where: str) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout_s)
    try:
        sock.connect(address)
    except (ConnectionRefusedError, FileNotFoundError):
        sock.close()
        raise MonitorNotRunningError from None
    except TimeoutError:
        sock.close()
        raise _NoAnswer(f"the posture monitor did not answer within {timeout_s:g} s") from None
    except OSError as exc:
        sock.close()
        raise ControlError(f"cannot reach the posture monitor at {where}: {exc.strerror or exc}") from None
    return sock


def send_command(
    request: Mapping[str, Any], *, path: Path | None = None, timeout_s: float = 2.0
) -> dict[str, Any]:
    """Send one request to the running monitor and return its answer (``ok`` is true).

    ``path`` is the socket path (default :func:`default_socket_path`); when no socket is there
    (or ``AF_UNIX`` is missing), the TCP port file beside it is used. Raises :class:`ControlError`
    with a one-line message: ``no posture monitor is running`` when nothing listens, the monitor's
    own ``error`` when it answers ``ok: false``, or what else went wrong.
    """
    if not timeout_s > 0:
        raise ValueError("timeout_s must be positive")
    return _request(request, Path(path) if path is not None else default_socket_path(), timeout_s)


def _request(
    request: Mapping[str, Any], sock_path: Path, timeout_s: float, *, tcp: bool = False
) -> dict[str, Any]:
    """:func:`send_command` on an explicit path; ``tcp`` skips the Unix socket."""
    port_file = sock_path.with_name(PORT_FILE_NAME)
    payload = dict(request)
    if _HAS_AF_UNIX and not tcp and _is_socket(sock_path):
        _check_socket_path(sock_path)
        conn = _connect(socket.AF_UNIX, str(sock_path), timeout_s, str(sock_path))
        uid = _peer_uid(conn)
        if uid is not None and uid != os.getuid():
            conn.close()
            raise ControlError(f"the control socket {sock_path} belongs to another user")
    elif port_file.exists():
        port, payload["token"] = _read_port_file(port_file)
        conn = _connect(socket.AF_INET, ("127.0.0.1", port), timeout_s, f"127.0.0.1:{port}")
    else:
        raise MonitorNotRunningError
    with conn:
        try:
            # A server that refuses (another user) answers before reading: its answer may be waiting.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                conn.sendall(_encode(payload))
            raw = _read_line(conn, MAX_RESPONSE_BYTES, timeout_s)
        except TimeoutError:
            raise _NoAnswer(f"the posture monitor did not answer within {timeout_s:g} s") from None
        except _TooLarge:
            raise ControlError("the posture monitor sent an answer that is too large") from None
        except OSError as exc:
            raise ControlError(f"lost the connection to the posture monitor: {exc.strerror or exc}") from None
    if not raw:
        raise ControlError("the posture monitor closed the connection without answering")
    try:
        answer = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        answer = None
    if not isinstance(answer, dict):
        raise ControlError("the posture monitor sent an unreadable answer")
    if answer.get("ok") is not True:
        raise ControlError(_one_line(answer.get("error") or "the posture monitor refused the request"))
    return answer


# -- durations -----------------------------------------------------------------------------------------

_UNIT_S = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1.0),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60.0),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600.0),
    **dict.fromkeys(("d", "day", "days"), 86400.0),
}
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)")
_INDEFINITE = ("indefinite", "indefinitely", "forever")
_TOMORROW = ("until-tomorrow", "until tomorrow", "tomorrow")
_EXAMPLES = "e.g. 15m, 1h, 1h30m, 90s, until-tomorrow or indefinite"


def parse_duration(text: str, now: datetime) -> float | None:
    """The unix time at which a pause given as ``text`` ends, or None for ``indefinite``/``forever``.

    Durations are numbers with units, summed: ``15m``, ``1h``, ``90s``, ``1h30m``, ``2h 15m``,
    ``1.5h`` (units s, m, h, d and their long forms), at most 7 days.
    ``until-tomorrow`` ends at the *next* 06:00 local time after ``now``: at 23:30 that is 06:00
    the next morning, at 02:00 it is 06:00 the same morning (someone still up at 2 am means "until
    after I have slept"). A naive ``now`` is local time; an aware one defines the local zone.
    Raises ``ValueError`` with a one-line message for anything else (no unit, an unknown unit,
    zero, negative).
    """
    words = " ".join(text.strip().lower().split())
    if not words:
        raise ValueError(f"no pause duration given: {_EXAMPLES}")
    if words in _INDEFINITE:
        return None
    if words in _TOMORROW:
        end = now.replace(hour=TOMORROW_HOUR, minute=0, second=0, microsecond=0)
        if end <= now:
            end += timedelta(days=1)
        return end.timestamp()
    if words.startswith("-"):
        raise ValueError(f"a pause duration must be positive, not {text.strip()!r}")
    total_s = 0.0
    pos = 0
    while pos < len(words):
        match = _PART.match(words, pos)
        if match is None:
            raise ValueError(f"cannot read the pause duration {text.strip()!r}: {_EXAMPLES}")
        number, unit = match.groups()
        if not unit:
            raise ValueError(
                f"{text.strip()!r} has no unit: write e.g. {number}m for minutes or {number}h for hours"
            )
        if unit not in _UNIT_S:
            raise ValueError(f"unknown unit {unit!r} in {text.strip()!r}: use s, m, h or d")
        total_s += float(number) * _UNIT_S[unit]
        pos = match.end()
        while pos < len(words) and words[pos] in " ,":
            pos += 1
    if not math.isfinite(total_s) or total_s <= 0:
        raise ValueError(f"a pause must be longer than zero, not {text.strip()!r}")
    if total_s > MAX_PAUSE_S:
        raise ValueError(f"{text.strip()!r} is longer than 7 days: pause 'indefinite' and resume instead")
    return now.timestamp() + total_s


# -- status --------------------------------------------------------------------------------------------


def _clock_time(t_s: float, now: datetime) -> str:
    """``14:30`` today, ``tomorrow 06:00``, or ``Mon 3 Mar 06:00`` further away, in now's zone."""
    end = datetime.fromtimestamp(t_s, tz=now.tzinfo)
    days = (end.date() - now.date()).days
    hhmm = end.strftime("%H:%M")
    if days == 0:
        return hhmm
    if days == 1:
        return f"tomorrow {hhmm}"
    return f"{end.strftime('%a')} {end.day} {end.strftime('%b')} {hhmm}"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def format_status(status: Mapping[str, Any], now: datetime | None = None) -> str:
    """A few human-readable lines from a ``status`` answer, for ``posture status``.

    Keys (all optional): ``state`` (running, paused, away, camera-lost, stopped), ``paused_until_s``,
    ``reason`` (why paused: ``paused by you``, or a context such as ``screen locked``),
    ``verdict``, ``findings`` {code: severity}, ``alert``, ``session_s``, ``poor_s``,
    ``present_s``, ``source``, ``sample_fps``. ``now`` (default: the local time) sets the day and
    zone in which a pause's end is shown.
    """
    from posture.durations import format_duration
    from posture.findings import FINDING_WORDS as finding_words

    now = now or datetime.now()
    state = printable(status.get("state") or "running")
    source = status.get("source")
    source = None if source is None else printable(source)
    fps = _number(status.get("sample_fps"))
    where = f" {source}" if source not in (None, "") else ""
    rate = f" (analysing {fps:.1f} frames/s)" if fps is not None and state == "running" else ""

    lines: list[str] = []
    reason = status.get("reason")
    if state == "paused" and reason and reason != USER_PAUSE_REASON and status.get("paused_until_s") is None:
        lines.append(f"Paused: {printable(_one_line(reason, 80))} (monitoring resumes by itself).")
    elif state == "paused":
        until = _number(status.get("paused_until_s"))
        if until is None:
            lines.append("Paused until you resume (posture resume).")
        else:
            left = max(until - now.timestamp(), 0.0)
            lines.append(
                f"Paused until {_clock_time(until, now)} ({format_duration(left, 'words')} from now)."
            )
    elif state == "away":
        lines.append(f"Monitoring{where}: nobody at the desk.")
    elif state == "camera-lost":
        lines.append(f"Monitoring{where}: the camera stopped delivering frames; waiting for it.")
    elif state == "stopped":
        lines.append("The monitor is stopping.")
    elif state == "starting":
        lines.append("The monitor is starting.")
    elif state == "running":
        lines.append(f"Monitoring{where}{rate}.")
    else:
        lines.append(f"State: {_one_line(state, 40)}.")

    verdict = status.get("verdict")
    verdict = printable(verdict) if verdict else verdict
    if verdict and state != "paused":
        findings = status.get("findings") or {}
        if not isinstance(findings, Mapping):
            findings = {}
        severities = ((printable(code), _number(value)) for code, value in findings.items())
        active = sorted(((c, s) for c, s in severities if s is not None and s > 0), key=lambda cs: -cs[1])
        parts = [
            f"{finding_words.get(code, code.replace('_', ' '))} ({sev:.2f}{', past the limit' if sev >= 1.0 else ''})"
            for code, sev in active
        ]
        lines.append(f"Posture now: {verdict}" + (f": {', '.join(parts)}." if parts else "."))
    if status.get("alert") and state != "paused":
        lines.append("An alert is active.")

    session_s = _number(status.get("session_s"))
    poor_s = _number(status.get("poor_s")) or 0.0
    present_s = _number(status.get("present_s")) or 0.0
    if session_s is not None:
        if present_s > 0:
            lines.append(
                f"This session: {format_duration(session_s, 'words')}; poor posture {format_duration(poor_s, 'words')}"
                f" ({poor_s / present_s:.0%} of {format_duration(present_s, 'words')} at the desk)."
            )
        else:
            lines.append(f"This session: {format_duration(session_s, 'words')}; nobody at the desk yet.")
    return "\n".join(lines) + "\n"
