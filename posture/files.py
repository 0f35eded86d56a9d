"""Writing files so that a crash, a full disk or Ctrl-C never leaves half of one behind."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_path", "atomic_write"]


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


@contextmanager
def atomic_path(path: Path, *, suffix: str = "", mode: int | None = None) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed onto ``path`` when the block ends.

    For writers that want a file name rather than a file object (an encoder, SQLite, OpenCV).
    An exception removes the temporary file and leaves ``path`` as it was. ``suffix`` keeps the
    extension a writer may need to choose its format; ``mode`` defaults to the usual umask.
    """
    path = Path(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.part-", suffix=suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if mode is None:
            mode = 0o666 & ~_umask()
        os.chmod(tmp, mode)  # mkstemp made it private
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_write(path: Path, *, binary: bool = False, mode: int | None = None) -> Iterator[IO[Any]]:
    """An open file (text in UTF-8, or bytes) whose content replaces ``path`` only once complete."""
    with atomic_path(path, mode=mode) as tmp:
        if binary:
            with tmp.open("wb") as fh:
                yield fh
        else:
            with tmp.open("w", encoding="utf-8", newline="") as fh:
                yield fh
