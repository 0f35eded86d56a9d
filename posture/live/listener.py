"""The listening end of the control channel: a private socket served by one thread.

One thread serves every connection through a selector, so no client can hold up another: each
connection gets one reply to its one line within the limits of :mod:`posture.live.channel`
(size, time, depth); at most :data:`~posture.live.channel.MAX_CONNECTIONS` are held, and past
that the connection idle longest is dropped for the new one. A peer of another uid, a wrong TCP
token and garbage are answered with a one-line error and never reach the handler.
"""

from __future__ import annotations

import contextlib
import errno
import hmac
import json
import logging
import os
import secrets
import selectors
import socket
import stat
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from posture.atomic import atomic_write
from posture.live import channel
from posture.live.channel import (
    LISTEN_BACKLOG,
    MAX_CONNECTIONS,
    MAX_REQUEST_BYTES,
    MAX_REQUEST_DEPTH,
    PING,
    PORT_FILE_NAME,
    AlreadyRunningError,
    ControlError,
    NoAnswer,
    check_socket_path,
    encode,
    ensure_private_folder,
    error,
    exchange,
    one_line,
)
from posture.untrusted import UntrustedJSONError, load_json

__all__ = ["Handler", "Listener"]

log = logging.getLogger(__name__)

Handler = Callable[[Any], Mapping[str, Any]]  # a decoded message -> the reply, "ok" included


class _Client:
    """One connection: what it sent so far, what is left to send back, and its deadline."""

    __slots__ = ("conn", "deadline", "inbox", "last_s", "outbox")

    def __init__(self, conn: socket.socket, now: float) -> None:
        self.conn = conn
        self.inbox = bytearray()  # the request so far
        self.outbox: bytes | None = None  # the reply still to send; None while reading
        self.deadline = now + channel.IDLE_TIMEOUT_S  # for the whole request, then for the reply
        self.last_s = now  # when it last sent something: the one idle longest goes first


# -- the listening end ---------------------------------------------------------------------------------


class Listener:
    """Serves the channel at ``path`` in one daemon thread, passing each message to ``handler``.

    ``handler`` gets the decoded JSON value (the TCP token already checked and removed) and returns
    the reply, ``{"ok": ...}`` included; it is called from the serving thread, one message at a
    time, and should answer at once and not raise. A context manager: entering starts it, leaving
    closes it.
    """

    def __init__(self, path: Path, handler: Handler, *, own_default: bool, force_tcp: bool = False) -> None:
        self.path = path
        self.port_file = path.with_name(PORT_FILE_NAME)
        self.transport = "tcp" if force_tcp or not channel.HAS_AF_UNIX else "unix"
        self.address: str | tuple[str, int] | None = None  # set by start()
        self._handler = handler
        self._own_default = own_default
        self._token = secrets.token_hex(32)  # the TCP fallback's shared secret
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._wake: tuple[socket.socket, socket.socket] | None = None  # close() wakes the selector
        self._clients: dict[socket.socket, _Client] = {}  # the serving thread's alone
        self._inode: int | None = None  # the socket file we bound, so close() never removes another's

    def start(self) -> None:
        """Bind, listen and start serving. Raises :class:`AlreadyRunningError` when another
        monitor answers at the same place and :class:`ControlError` when the folder or socket
        cannot be set up; a stale socket or port file left by a crash is replaced."""
        if self._sock is not None:
            raise RuntimeError("the control server has already started")
        ensure_private_folder(self.path.parent, own_default=self._own_default)
        self._sock = self._bind_unix() if self.transport == "unix" else self._bind_tcp()
        self._sock.setblocking(False)
        self._wake = socket.socketpair()
        self._thread = threading.Thread(target=self._serve_loop, name="posture-control", daemon=True)
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
            sock.listen(LISTEN_BACKLOG)
        except OSError as exc:
            sock.close()
            if self._inode is not None:  # bound, then chmod or listen failed
                self.path.unlink(missing_ok=True)
            if exc.errno == errno.EADDRINUSE:  # another monitor won the race since the stale check
                raise AlreadyRunningError from None
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
                if exc.errno in (errno.EAGAIN, errno.ETIMEDOUT) or isinstance(exc, TimeoutError):
                    # A backlog full of clients: someone is listening there, so a monitor runs.
                    raise AlreadyRunningError from None
                raise ControlError(
                    f"cannot use the control socket {self.path}: {exc.strerror or exc}"
                ) from None
        raise AlreadyRunningError

    def _bind_tcp(self) -> socket.socket:
        if self.port_file.exists():
            # A monitor too busy to answer counts as live; a refused connection, a wrong token
            # (another program got the port) or an unreadable file make the port file stale.
            try:
                exchange(PING, self.path, channel.PING_TIMEOUT_S, tcp=True)
            except NoAnswer:
                raise AlreadyRunningError from None
            except ControlError:
                log.info("replacing the stale control file %s left by a monitor that stopped", self.port_file)
            else:
                raise AlreadyRunningError
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", 0))
            sock.listen(LISTEN_BACKLOG)
            self.address = sock.getsockname()[:2]
            with atomic_write(self.port_file, mode=0o600) as f:
                json.dump({"port": self.address[1], "token": self._token, "pid": os.getpid()}, f)
        except OSError as exc:
            sock.close()
            raise ControlError(f"cannot open the control port: {exc.strerror or exc}") from None
        return sock

    def close(self) -> None:
        """Stop serving, drop every connection and remove the socket or port file; idempotent."""
        sock, self._sock = self._sock, None
        if sock is None:
            return
        self._stopping.set()
        if self._wake is not None:
            with contextlib.suppress(OSError):
                self._wake[1].send(b"x")
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            if self._thread.is_alive():  # a handler that does not return: leave the daemon thread
                log.warning("the control server did not stop within 2 s")
        sock.close()
        if self._wake is not None and not (self._thread is not None and self._thread.is_alive()):
            for end in self._wake:
                end.close()
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

    # -- the serving thread --

    def _serve_loop(self) -> None:
        sock, wake = self._sock, self._wake
        assert sock is not None and wake is not None
        with selectors.DefaultSelector() as selector:
            selector.register(sock, selectors.EVENT_READ, None)
            selector.register(wake[0], selectors.EVENT_READ, None)
            try:
                while not self._stopping.is_set():
                    self._serve_once(selector, sock, wake[0])
            except Exception:  # a bug here must not end the channel silently
                log.warning("the control server stopped on an error", exc_info=True)
            finally:
                for client in list(self._clients.values()):
                    self._drop(selector, client)

    def _serve_once(self, selector: selectors.BaseSelector, sock: socket.socket, wake: socket.socket) -> None:
        """One turn: wait for something to do (or the next deadline), do it, expire the late."""
        now = time.monotonic()
        next_deadline = min((c.deadline for c in self._clients.values()), default=now + 1.0)
        for key, events in selector.select(timeout=min(max(next_deadline - now, 0.0), 1.0)):
            if key.fileobj is sock:
                self._accept(selector, sock)
            elif key.fileobj is wake:
                return
            else:
                client = key.data
                if client.conn not in self._clients:  # dropped earlier in this turn
                    continue
                if events & selectors.EVENT_READ:
                    self._receive(selector, client)
                elif events & selectors.EVENT_WRITE:
                    self._send(selector, client)
        now = time.monotonic()
        for client in [c for c in self._clients.values() if c.deadline <= now]:
            if client.outbox is None:  # still no whole request
                self._answer(
                    selector, client, error(f"no complete request within {channel.IDLE_TIMEOUT_S:g} s")
                )
            else:  # the reply could not be delivered in time: a client that does not read
                self._drop(selector, client)

    def _accept(self, selector: selectors.BaseSelector, sock: socket.socket) -> None:
        """Take every waiting connection; past the bound, drop the one idle longest for each."""
        while True:
            try:
                conn, _ = sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. out of file descriptors: free one, try next turn
                log.debug("accept failed: %s", exc)
                if not self._drop_idlest(selector):
                    time.sleep(0.05)  # nothing to free: do not spin
                return
            conn.setblocking(False)
            now = time.monotonic()
            client = _Client(conn, now)
            if len(self._clients) >= MAX_CONNECTIONS:
                self._drop_idlest(selector)
            self._clients[conn] = client
            selector.register(conn, selectors.EVENT_READ, client)
            uid = channel.peer_uid(conn) if self.transport == "unix" else None
            if uid is not None and uid != os.getuid():
                log.warning("refused a control connection from uid %d", uid)
                self._answer(
                    selector, client, error("permission denied: the monitor belongs to another user")
                )

    def _drop_idlest(self, selector: selectors.BaseSelector) -> bool:
        """Close the connection idle longest (telling it why, if that fits at once)."""
        if not self._clients:
            return False
        idlest = min(self._clients.values(), key=lambda c: c.last_s)
        log.info("%d control connections: dropping the one idle longest", len(self._clients))
        if idlest.outbox is None:
            with contextlib.suppress(OSError):
                idlest.conn.send(encode(error("too many connections to the posture monitor; dropped")))
        self._drop(selector, idlest)
        return True

    def _receive(self, selector: selectors.BaseSelector, client: _Client) -> None:
        try:
            chunk = client.conn.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # reset by the peer
            self._drop(selector, client)
            return
        client.last_s = time.monotonic()
        newline = chunk.find(b"\n")
        client.inbox += chunk if newline < 0 else chunk[:newline]
        if len(client.inbox) > MAX_REQUEST_BYTES:
            self._answer(
                selector, client, error(f"request too large (the limit is {MAX_REQUEST_BYTES // 1024} KiB)")
            )
        elif not chunk or newline >= 0:  # the end of the line, or of the stream: one request
            self._answer(selector, client, self._reply(bytes(client.inbox)))

    def _answer(self, selector: selectors.BaseSelector, client: _Client, reply: Mapping[str, Any]) -> None:
        """Send ``reply`` (what fits now, the rest as the client reads) and then close."""
        client.inbox = bytearray()
        client.outbox = encode(reply)
        client.deadline = time.monotonic() + channel.IDLE_TIMEOUT_S
        selector.modify(client.conn, selectors.EVENT_WRITE, client)
        self._send(selector, client)

    def _send(self, selector: selectors.BaseSelector, client: _Client) -> None:
        assert client.outbox is not None
        try:
            sent = client.conn.send(client.outbox)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # the client went away without reading
            self._drop(selector, client)
            return
        client.outbox = client.outbox[sent:]
        if not client.outbox:
            self._drop(selector, client)

    def _drop(self, selector: selectors.BaseSelector, client: _Client) -> None:
        self._clients.pop(client.conn, None)
        with contextlib.suppress(KeyError, ValueError):
            selector.unregister(client.conn)
        client.conn.close()

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
        try:
            reply = self._handler(data)
            encode(reply)
        except (TypeError, ValueError):  # not JSON, or NaN
            log.warning("a control reply is not JSON", exc_info=True)
            return error("the monitor sent a reply that is not JSON")
        except Exception:  # a bug in the handler must not end the channel
            log.warning("the control server failed on a request", exc_info=True)
            return error("the monitor failed on the request")
        return reply
