"""Writing files so that a crash, a full disk or Ctrl-C never leaves half of one behind.

A regular file (or none yet) is written under a temporary name beside it and renamed over it once
complete. Only a regular file is ever replaced that way: a symbolic link is followed (the file it
points to is written, atomically when that is a regular file; the link stays a link), a character
device or a FIFO (``/dev/null``, ``/dev/stdout``, a named pipe) is written through, a process's
open file reached through ``/proc`` (``/dev/stdout`` redirected to a file) is appended to, and
anything else (a folder, a block device, a socket, a symbolic-link loop) is refused with an
``OSError``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_path", "atomic_write", "same_file"]


def _umask() -> int:
    """The process's umask, read without changing it where the system allows (Linux): setting it
    to read it back would, for that moment, let another thread create files anyone can write."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o077)  # elsewhere: set and restore, with a private mask in between
    os.umask(mask)
    return mask


@dataclass(frozen=True)
class _Destination:
    """Where a write to a path lands."""

    path: Path  # the file to replace (links resolved), or the device or FIFO to write through
    through: bool  # a character device, a FIFO or a process's open file: written in place
    mode: int | None  # the permission bits of the regular file being replaced


def _destination(path: Path) -> _Destination:
    try:
        st = os.stat(path)  # follows symbolic links (ELOOP for a loop)
    except FileNotFoundError:
        st = None
    if st is None or stat.S_ISREG(st.st_mode):
        mode = None if st is None else stat.S_IMODE(st.st_mode)
        if not path.is_symlink():
            return _Destination(path, False, mode)
        # A link (even a dangling one) is followed: its target is written, the link stays.
        real = Path(os.path.realpath(path))
        if st is None or (same_file(real, path) and not _through_proc(path)):
            return _Destination(real, False, mode)
        # An open file of a process (/dev/stdout, /proc/self/fd/1 onto `>> log.txt`): appended
        # to, as a shell would, never replaced or truncated.
        return _Destination(path, True, None)
    if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
        return _Destination(path, True, None)
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "it is a folder", str(path))
    raise OSError(errno.EINVAL, "not a regular file, a character device or a FIFO", str(path))


def _proc_link(path: Path, hops: int = 40) -> str | None:
    """Where ``path``'s chain of links enters ``/proc`` (a process's open file), or None."""
    current = os.path.abspath(path)
    for _ in range(hops):
        current = os.path.join(os.path.realpath(os.path.dirname(current)), os.path.basename(current))
        if current.startswith("/proc/"):
            return current
        if not os.path.islink(current):
            return None
        current = os.path.join(os.path.dirname(current), os.readlink(current))
    return None


def _through_proc(path: Path) -> bool:
    return _proc_link(path) is not None


def _own_fd(path: Path) -> int | None:
    """The descriptor number when ``path`` is one of this process's own open files
    (``/dev/stdout``, ``/dev/fd/2``, ``/proc/self/fd/1``)."""
    link = _proc_link(path)
    if link is None:
        return None
    match = re.fullmatch(rf"/proc/{os.getpid()}/(?:task/\d+/)?fd/(\d+)", link)
    return int(match.group(1)) if match else None


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name the same file (False when either is missing or unreadable)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _open_through(path: Path) -> int:
    """A descriptor open for writing on a character device, a FIFO (or a process's open file,
    appended to). A FIFO that nobody reads is an error at once (ENXIO), not a wait for a reader
    that may never come. This process's own open file (``/dev/stdout``) is written through a
    duplicate of its descriptor, sharing its offset, as a shell does."""
    own = _own_fd(path)
    if own is not None:
        return os.dup(own)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no FIFOs to wait on
        fcntl = None
    nonblock = getattr(os, "O_NONBLOCK", 0) if fcntl is not None else 0
    flags = os.O_WRONLY | nonblock | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise OSError(errno.ENXIO, "nothing is reading from this FIFO", str(path)) from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISREG(mode):
            flags |= os.O_APPEND
        elif not (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):  # swapped since it was looked at
            raise OSError(errno.EINVAL, "not a character device or a FIFO any more", str(path))
        if fcntl is not None:  # writes wait for a FIFO's reader, as a shell's would
            wanted = (fcntl.fcntl(fd, fcntl.F_GETFL) & ~nonblock) | (flags & os.O_APPEND)
            fcntl.fcntl(fd, fcntl.F_SETFL, wanted)
        elif flags & os.O_APPEND:  # pragma: no cover - Windows
            os.lseek(fd, 0, os.SEEK_END)
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextmanager
def _replaced(dest: _Destination, suffix: str, mode: int | None) -> Iterator[Path]:
    """A temporary file beside ``dest.path``, renamed over it when the block ends."""
    fd, name = tempfile.mkstemp(dir=dest.path.parent, prefix=f".{dest.path.name}.part-", suffix=suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if mode is None:
            mode = dest.mode if dest.mode is not None else 0o666 & ~_umask()
        os.chmod(tmp, mode)  # mkstemp made it private
        with contextlib.suppress(FileNotFoundError):
            if not stat.S_ISREG(os.lstat(dest.path).st_mode):  # became a link, a device...
                raise OSError(errno.EEXIST, "it was replaced by something other than a file", str(dest.path))
        os.replace(tmp, dest.path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_path(path: Path, *, suffix: str = "", mode: int | None = None) -> Iterator[Path]:
    """A temporary path to write to; its content ends up in ``path`` when the block ends.

    For writers that want a file name rather than a file object (an encoder, SQLite, OpenCV).
    An exception removes the temporary file and leaves ``path`` as it was. ``suffix`` keeps the
    extension a writer may need to choose its format; ``mode`` defaults to the replaced file's
    permissions, or the usual umask for a new file. For a device or a FIFO the temporary file is
    in the system's temporary folder and is copied through when complete.
    """
    dest = _destination(Path(path))
    if not dest.through:
        with _replaced(dest, suffix, mode) as tmp:
            yield tmp
        return
    fd, name = tempfile.mkstemp(prefix="posture-", suffix=suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with tmp.open("rb") as src, os.fdopen(_open_through(dest.path), "wb") as dst:
            shutil.copyfileobj(src, dst)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_write(path: Path, *, binary: bool = False, mode: int | None = None) -> Iterator[IO[Any]]:
    """An open file (text in UTF-8, or bytes) whose content replaces ``path`` only once complete
    (written straight through to a character device or a FIFO)."""
    dest = _destination(Path(path))
    if dest.through:
        fd = _open_through(dest.path)
        with os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            yield fh
        return
    with _replaced(dest, "", mode) as tmp:
        if binary:
            with tmp.open("wb") as fh:
                yield fh
        else:
            with tmp.open("w", encoding="utf-8", newline="") as fh:
                yield fh
