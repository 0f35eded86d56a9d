"""A local JSON-lines channel that only the same user can reach: the transport of ``control``.

One JSON object per line each way, one exchange per connection. This module (the wire, the
private folder and the calling end) and :mod:`posture.live.listener` (the listening end) know
nothing of the commands; they keep strangers and garbage out:

* POSIX: a Unix socket in the user's runtime folder (created 0o700, the socket 0o600, a folder that
  is a symbolic link or another user's refused); on Linux the server checks the peer's uid with
  ``SO_PEERCRED`` and refuses other users, and the client checks the server's uid the same way.
* Where ``socket.AF_UNIX`` is missing (Windows): TCP on 127.0.0.1 with an ephemeral port; the port
  and a random 32-byte token are written to ``control.json`` (0o600) beside the socket's path, and
  every message must carry the token.
* A request is one line of at most 64 KiB, sent within 2 s, nested at most 4 deep. One thread
  serves every connection, so a silent or slow client holds up no other; at most 32 connections
  are held at once, and past that the one idle longest is dropped.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import stat
import struct
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from posture import paths
from posture.errors import ExitCode, PostureError
from posture.untrusted import UntrustedJSONError, load_json, printable

__all__ = [
    "NOT_RUNNING",
    "AlreadyRunningError",
    "ControlError",
    "MonitorNotRunningError",
    "NoAnswer",
    "ensure_private_folder",
    "error",
    "exchange",
    "one_line",
]

log = logging.getLogger(__name__)

PORT_FILE_NAME = "control.json"  # the TCP fallback's port and token
MAX_REQUEST_BYTES = 64 * 1024
MAX_REPLY_BYTES = 1024 * 1024
MAX_REQUEST_DEPTH = 4  # {"cmd": ...} is one level; anything deeper is refused before parsing
IDLE_TIMEOUT_S = 2.0  # a client must send its whole line within this time
MAX_CONNECTIONS = 32  # connections held at once; past that the one idle longest is dropped
LISTEN_BACKLOG = 128  # connections the kernel queues until the server takes them
NOT_RUNNING = "no posture monitor is running"
PING = {"cmd": "ping"}  # answered by every posture listener: tells a live one from a stale port file
PING_TIMEOUT_S = 2.0
_AF_UNIX_PATH_MAX = 104  # sun_path is 108 bytes on Linux, 104 on macOS and the BSDs
HAS_AF_UNIX = hasattr(socket, "AF_UNIX")


class ControlError(PostureError):
    """The control channel cannot be set up or reached, or the monitor refused a request."""


class MonitorNotRunningError(ControlError):
    """Nothing listens on the control channel: no monitor runs (or one crashed)."""

    def __init__(self, message: str = NOT_RUNNING) -> None:
        super().__init__(message)


class AlreadyRunningError(ControlError):
    """Another monitor already answers on the control channel (a usage error: exit 2)."""

    exit_code = ExitCode.BAD_INPUT

    def __init__(self, message: str = "another posture monitor is already running") -> None:
        super().__init__(message)


class NoAnswer(ControlError):
    """The monitor accepted the connection but did not answer in time."""


def one_line(text: object, limit: int = 200) -> str:
    """``text`` on one printable line of at most ``limit`` characters (for error replies)."""
    return printable(" ".join(str(text).split()), limit)


def error(message: str) -> dict[str, Any]:
    return {"ok": False, "error": message}


# -- the folder ----------------------------------------------------------------------------------------


def ensure_private_folder(folder: Path, *, own_default: bool) -> None:
    """Create the runtime folder readable by the user alone; refuse one that belongs to another user.

    With posture's own default (``$XDG_RUNTIME_DIR/posture``, or ``/tmp/runtime-UID/posture`` when
    ``XDG_RUNTIME_DIR`` is unset), both levels are created 0o700 and an existing one is tightened;
    either is refused when it is a symbolic link or belongs to another user, since ``/tmp`` is
    shared with everyone. A folder the user named is created 0o700 but not tightened.
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
    else:
        _private_level(folder, tighten=not folder.exists(), root_ok=False)


def _private_level(folder: Path, *, tighten: bool, root_ok: bool) -> None:
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        os.mkdir(folder, 0o700)
        tighten = True  # ours from the start: mkdir's mode was filtered by the umask
    except FileExistsError:
        pass
    except OSError as exc:
        raise ControlError(f"cannot create the control folder {folder}: {exc.strerror or exc}") from None
    advice = f"set {paths.RUNTIME_DIR_ENV} to a private folder"
    st = os.lstat(folder)
    if stat.S_ISLNK(st.st_mode):
        raise ControlError(f"the control folder {folder} is a symbolic link; {advice}")
    if not stat.S_ISDIR(st.st_mode):
        raise ControlError(f"{folder} is not a folder; {advice}")
    if st.st_uid != os.getuid() and not (root_ok and st.st_uid == 0):
        raise ControlError(f"the control folder {folder} belongs to another user; {advice}")
    if tighten and st.st_uid == os.getuid() and (st.st_mode & 0o777) != 0o700:
        folder.chmod(0o700)


def is_socket(path: Path) -> bool:
    try:
        return stat.S_ISSOCK(os.lstat(path).st_mode)
    except OSError:
        return False


def check_socket_path(path: Path) -> None:
    if len(os.fsencode(str(path))) >= _AF_UNIX_PATH_MAX:
        raise ControlError(
            f"the control socket path {path} is too long for a Unix socket; "
            f"set {paths.RUNTIME_DIR_ENV} to a shorter folder"
        )


def peer_uid(conn: socket.socket) -> int | None:
    """The uid of the process at the other end of a Unix socket, where the OS tells (Linux)."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    try:
        creds = conn.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    except OSError:
        log.debug("SO_PEERCRED failed", exc_info=True)
        return None
    return struct.unpack("3i", creds)[1]


# -- lines ---------------------------------------------------------------------------------------------


class TooLarge(Exception):
    pass


def read_line(conn: socket.socket, limit: int, timeout_s: float) -> bytes:
    """Bytes up to the first newline (or the end of the stream), within ``timeout_s`` in all.

    Raises ``TimeoutError`` when the time runs out and ``TooLarge`` past ``limit`` bytes.
    """
    deadline = time.monotonic() + timeout_s
    buf = bytearray()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("timed out")
        conn.settimeout(remaining)
        chunk = conn.recv(4096)
        newline = chunk.find(b"\n")
        buf += chunk if newline < 0 else chunk[:newline]
        if len(buf) > limit:
            raise TooLarge
        if not chunk or newline >= 0:
            return bytes(buf)


def encode(message: Mapping[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), allow_nan=False).encode("utf-8") + b"\n"


# -- the calling end -----------------------------------------------------------------------------------


def exchange(
    message: Mapping[str, Any], sock_path: Path, timeout_s: float, *, tcp: bool = False
) -> dict[str, Any]:
    """Send ``message`` to the listener at ``sock_path`` (or the TCP port file beside it) and return
    its reply when ``ok`` is true. Raises :class:`ControlError` in one line otherwise:
    :class:`MonitorNotRunningError` when nothing listens, the listener's own error when it refuses."""
    port_file = sock_path.with_name(PORT_FILE_NAME)
    if HAS_AF_UNIX and not tcp and is_socket(sock_path):
        check_socket_path(sock_path)
        conn = _connect(socket.AF_UNIX, str(sock_path), timeout_s, str(sock_path))
        uid = peer_uid(conn)
        if uid is not None and uid != os.getuid():
            conn.close()
            raise ControlError(f"the control socket {sock_path} belongs to another user")
    elif port_file.exists():
        port, token = _read_port_file(port_file)
        message = {**message, "token": token}
        conn = _connect(socket.AF_INET, ("127.0.0.1", port), timeout_s, f"127.0.0.1:{port}")
    else:
        raise MonitorNotRunningError
    with conn:
        try:
            # A listener that refuses (another user) answers before reading: its answer may be waiting.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                conn.sendall(encode(message))
            raw = read_line(conn, MAX_REPLY_BYTES, timeout_s)
        except TimeoutError:
            raise NoAnswer(f"the posture monitor did not answer within {timeout_s:g} s") from None
        except TooLarge:
            raise ControlError("the posture monitor sent an answer that is too large") from None
        except OSError as exc:
            raise ControlError(f"lost the connection to the posture monitor: {exc.strerror or exc}") from None
    if not raw:
        raise ControlError("the posture monitor closed the connection without answering")
    try:  # the reply is another process's: bounded like a request (no RecursionError, no 5000 digits)
        reply = load_json(raw)
    except UntrustedJSONError:
        reply = None
    if not isinstance(reply, dict):
        raise ControlError("the posture monitor sent an unreadable answer")
    if reply.get("ok") is not True:
        raise ControlError(one_line(reply.get("error") or "the posture monitor refused the request"))
    return reply


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
        raise NoAnswer(f"the posture monitor did not answer within {timeout_s:g} s") from None
    except OSError as exc:
        sock.close()
        raise ControlError(f"cannot reach the posture monitor at {where}: {exc.strerror or exc}") from None
    return sock


def _read_port_file(port_file: Path) -> tuple[int, str]:
    try:
        if os.name == "posix" and port_file.stat().st_uid != os.getuid():
            raise ControlError(f"{port_file} belongs to another user")
        data = json.loads(port_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MonitorNotRunningError from None
    except (OSError, ValueError) as exc:
        raise ControlError(f"cannot read {port_file}: {one_line(exc)}") from None
    port = data.get("port") if isinstance(data, dict) else None
    token = data.get("token") if isinstance(data, dict) else None
    if (
        isinstance(port, bool)
        or not isinstance(port, int)
        or not 0 < port < 65536
        or not isinstance(token, str)
    ):
        raise ControlError(f"{port_file} is not a posture control file; remove it")
    return port, token
