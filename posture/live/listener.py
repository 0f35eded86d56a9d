"""The listening end of the control channel: a private socket served in daemon threads.

Each connection gets one reply to its one line, within the limits of :mod:`posture.live.channel`
(size, time, depth, clients at once); a peer of another uid, a wrong TCP token and garbage are
answered with a one-line error and never reach the handler.
"""

from __future__ import annotations

import contextlib
import errno
import hmac
import json
import logging
import os
import secrets
import socket
import stat
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from posture.files import atomic_write
from posture.live import channel
from posture.live.channel import (
    MAX_CLIENTS,
    MAX_REQUEST_BYTES,
    MAX_REQUEST_DEPTH,
    PING,
    PORT_FILE_NAME,
    ControlError,
    NoAnswer,
    TooLarge,
    check_socket_path,
    encode,
    ensure_private_folder,
    error,
    exchange,
    one_line,
    read_line,
)
from posture.untrusted import UntrustedJSONError, load_json

__all__ = ["Handler", "Listener"]

log = logging.getLogger(__name__)

Handler = Callable[[Any], Mapping[str, Any]]  # a decoded message -> the reply, "ok" included


def _reply_and_close(conn: socket.socket, message: Mapping[str, Any]) -> None:
    try:
        conn.settimeout(channel.IDLE_TIMEOUT_S)
        conn.sendall(encode(message))
    except OSError:
        log.debug("could not answer a control client", exc_info=True)
    finally:
        conn.close()


# -- the listening end ---------------------------------------------------------------------------------


class Listener:
    """Serves the channel at ``path`` in daemon threads, passing each message to ``handler``.

    ``handler`` gets the decoded JSON value (the TCP token already checked and removed) and returns
    the reply, ``{"ok": ...}`` included; it must be thread-safe and should not raise. A context
    manager: entering starts it, leaving closes it.
    """

    def __init__(self, path: Path, handler: Handler, *, own_default: bool, force_tcp: bool = False) -> None:
        self.path = path
        self.port_file = path.with_name(PORT_FILE_NAME)
        self.transport = "tcp" if force_tcp or not channel.HAS_AF_UNIX else "unix"
        self.address: str | tuple[str, int] | None = None  # set by start()
        self._handler = handler
        self._own_default = own_default
        self._slots = threading.BoundedSemaphore(MAX_CLIENTS)
        self._token = secrets.token_hex(32)  # the TCP fallback's shared secret
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._inode: int | None = None  # the socket file we bound, so close() never removes another's

    def start(self) -> None:
        """Bind, listen and start accepting. Raises :class:`ControlError` when another monitor
        answers at the same place or the folder or socket cannot be set up; a stale socket or port
        file left by a crash is replaced."""
        if self._sock is not None:
            raise RuntimeError("the control server has already started")
        ensure_private_folder(self.path.parent, own_default=self._own_default)
        self._sock = self._bind_unix() if self.transport == "unix" else self._bind_tcp()
        self._thread = threading.Thread(target=self._accept_loop, name="posture-control", daemon=True)
        self._thread.start()
        log.debug("control server listening on %s", self.address)

    def _bind_unix(self) -> socket.socket:
        check_socket_path(self.path)
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
                self.path.unlink(missing_ok=True)
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
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(1.0)
            try:
                probe.connect(str(self.path))
            except (ConnectionRefusedError, FileNotFoundError):
                log.info("replacing the stale control socket %s left by a monitor that stopped", self.path)
                self.path.unlink(missing_ok=True)
                return
            except OSError as exc:
                raise ControlError(
                    f"cannot use the control socket {self.path}: {exc.strerror or exc}"
                ) from None
        raise ControlError("another posture monitor is already running")

    def _bind_tcp(self) -> socket.socket:
        if self.port_file.exists():
            # A monitor too busy to answer counts as live; a refused connection, a wrong token
            # (another program got the port) or an unreadable file make the port file stale.
            try:
                exchange(PING, self.path, channel.PING_TIMEOUT_S, tcp=True)
            except NoAnswer:
                raise ControlError("another posture monitor is already running") from None
            except ControlError:
                log.info("replacing the stale control file %s left by a monitor that stopped", self.port_file)
            else:
                raise ControlError("another posture monitor is already running")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", 0))
            sock.listen(MAX_CLIENTS)
            self.address = sock.getsockname()[:2]
            with atomic_write(self.port_file, mode=0o600) as f:
                json.dump({"port": self.address[1], "token": self._token, "pid": os.getpid()}, f)
        except OSError as exc:
            sock.close()
            raise ControlError(f"cannot open the control port: {exc.strerror or exc}") from None
        return sock

    def close(self) -> None:
        """Stop accepting, wait for the thread and remove the socket or port file; idempotent."""
        sock, self._sock = self._sock, None
        if sock is None:
            return
        self._stopping.set()
        with contextlib.suppress(OSError):  # wake the blocked accept() so that it sees _stopping
            family = socket.AF_UNIX if self.transport == "unix" else socket.AF_INET
            with socket.socket(family, socket.SOCK_STREAM) as s:
                s.settimeout(0.5)
                s.connect(self.address)
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            if self._thread.is_alive():
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)  # wakes accept() on Linux
                self._thread.join(timeout=1.0)
        sock.close()
        try:
            if self.transport == "unix":
                if os.lstat(self.path).st_ino == self._inode:
                    self.path.unlink()
            elif json.loads(self.port_file.read_text(encoding="utf-8")).get("token") == self._token:
                self.port_file.unlink()
        except (OSError, ValueError, AttributeError):
            log.debug("could not remove the control socket or port file", exc_info=True)
        log.debug("control server closed")

    def __enter__(self) -> Listener:
        if self._sock is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
                _reply_and_close(conn, error("the posture monitor is busy; try again"))
                continue
            threading.Thread(
                target=self._serve, args=(conn,), name="posture-control-client", daemon=True
            ).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            uid = channel.peer_uid(conn) if self.transport == "unix" else None
            if uid is not None and uid != os.getuid():
                log.warning("refused a control connection from uid %d", uid)
                _reply_and_close(conn, error("permission denied: the monitor belongs to another user"))
                return
            try:
                reply = self._reply(read_line(conn, MAX_REQUEST_BYTES, channel.IDLE_TIMEOUT_S))
            except TooLarge:
                reply = error(f"request too large (the limit is {MAX_REQUEST_BYTES // 1024} KiB)")
            except TimeoutError:
                reply = error(f"no complete request within {channel.IDLE_TIMEOUT_S:g} s")
            _reply_and_close(conn, reply)
        except Exception:  # a bug here must kill neither the thread silently nor the monitor
            log.warning("the control server failed on a request", exc_info=True)
            conn.close()
        finally:
            self._slots.release()

    def _reply(self, line: bytes) -> Mapping[str, Any]:
        try:
            data = load_json(line, max_depth=MAX_REQUEST_DEPTH)
        except UntrustedJSONError as exc:
            return error(f"the request is not valid JSON: {one_line(exc, 80)}")
        if self.transport == "tcp":
            token = data.pop("token", None) if isinstance(data, dict) else None
            if not isinstance(token, str) or not hmac.compare_digest(token.encode(), self._token.encode()):
                log.warning("refused a control request with a wrong token")
                return error("permission denied: wrong token")
        if data == PING:
            return {"ok": True}
        reply = self._handler(data)
        try:
            encode(reply)
        except (TypeError, ValueError):  # not JSON, or NaN
            log.warning("a control reply is not JSON: %r", reply)
            return error("the monitor sent a reply that is not JSON")
        return reply
