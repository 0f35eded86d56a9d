"""An output folder written all at once: a run's files appear together or not at all.

``posture analyze`` writes into a hidden staging folder inside ``--out``; only when every file is
complete does it remove the previous run's files (the names it owns, nothing else) and move the
new ones in. A failure, Ctrl-C or SIGTERM removes the staging folder, so no half-written file is
ever left and a folder never mixes two runs. A staging folder left by a process killed with
``kill -9`` is removed by the next run into the same folder.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from posture.errors import InputError

__all__ = ["OUTPUT_NAMES", "STAGING_PREFIX", "OutputFolderError", "folder_error_words", "staged_output"]

log = logging.getLogger(__name__)

STAGING_PREFIX = ".posture-partial-"
# Every file name an analysis may write; a new run removes the previous run's ones it does not write.
OUTPUT_NAMES = (
    "timeline.csv",
    "summary.json",
    "events.json",
    "report.html",
    "annotated.mp4",
    "annotated.webm",
)


class OutputFolderError(InputError):
    """The output folder cannot be created or written (read-only, full, not a folder)."""


_FULL_OR_READ_ONLY = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS)


def folder_error_words(exc: OSError) -> str:
    """What went wrong with an output folder, in words (not only "File exists")."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return "the disk is full (or a file size limit was reached)"
    if exc.errno == errno.EEXIST:  # mkdir(exist_ok=True) refuses only what is not a folder
        return "a file of that name is already there: give the name of a folder (a new one is made)"
    if exc.errno == errno.ENOTDIR:
        return "part of that path is a file, not a folder"
    return exc.strerror or str(exc)


_why = folder_error_words


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but is another user's (EPERM)
        return True
    return True


def _remove_stale_staging(folder: Path) -> None:
    """Staging folders of runs that were killed (their process is gone)."""
    with contextlib.suppress(OSError):
        for entry in folder.iterdir():
            if not entry.name.startswith(STAGING_PREFIX) or not entry.is_dir() or entry.is_symlink():
                continue
            pid_text = entry.name[len(STAGING_PREFIX) :].split("-", 1)[0]
            if pid_text.isdigit() and not _pid_alive(int(pid_text)):
                log.info("removing %s, left by an analysis that was killed", entry)
                shutil.rmtree(entry, ignore_errors=True)


@contextlib.contextmanager
def staged_output(folder: Path) -> Iterator[Path]:
    """Yield a staging folder inside ``folder``; on a normal exit publish its files into ``folder``.

    Raises :class:`OutputFolderError` (exit 2, one line) when ``folder`` cannot be made or written,
    including a full disk; on any exception the staging folder and everything in it are removed.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputFolderError(f"cannot use {folder} as the output folder: {_why(exc)}") from None
    if not folder.is_dir():
        raise OutputFolderError(f"{folder} is not a folder")
    _remove_stale_staging(folder)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=folder))
    except OSError as exc:
        raise OutputFolderError(f"cannot write into the output folder {folder}: {_why(exc)}") from None
    try:
        try:
            yield staging
        except OSError as exc:
            ours = exc.filename is not None and _inside(Path(exc.filename), staging)
            if not ours and exc.errno not in _FULL_OR_READ_ONLY:
                raise
            raise OutputFolderError(f"cannot write the results into {folder}: {_why(exc)}") from None
        _publish(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except (ValueError, OSError):
        return False
    return True


def _publish(staging: Path, folder: Path) -> None:
    """Replace the previous run's files with the staged ones (only names in OUTPUT_NAMES)."""
    new = {p.name for p in staging.iterdir()}
    try:
        for name in OUTPUT_NAMES:
            old = folder / name
            if name not in new and (old.is_file() or old.is_symlink()):
                old.unlink()
        for name in sorted(new):
            os.replace(staging / name, folder / name)
    except OSError as exc:
        raise OutputFolderError(f"cannot write the results into {folder}: {_why(exc)}") from None
