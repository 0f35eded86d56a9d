"""An output folder written all at once: a run's files appear together or not at all, and
never in place of a file that is not the run's to replace.

``posture analyze`` writes into a hidden staging folder inside ``--out``; only when every file is
complete does it remove the previous run's files and move the new ones in. A failure, Ctrl-C or
SIGTERM removes the staging folder, so no half-written file is ever left and a folder never mixes
two runs. A staging folder left by a process killed with ``kill -9`` is removed by the next run
into the same folder.

Which files are posture's to replace: those an earlier run listed in the folder's marker,
``.posture-outputs.json`` (each file's size and SHA-256), and only while they are unchanged. A file
of the same name that the user put there, or changed since, is never replaced or removed: the run
stops first with :class:`OutputFolderError` naming it; so does a run that would replace or remove
its own input. The marker is rewritten before and after the files move, so that ``kill -9`` at any
moment leaves a marker that still vouches for whatever is there.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from posture.atomic import same_file
from posture.errors import InputError

__all__ = [
    "FULL_OR_READ_ONLY",
    "MARKER_NAME",
    "OUTPUT_NAMES",
    "STAGING_PREFIX",
    "Fingerprint",
    "OutputFolderError",
    "check_marker",
    "claim",
    "claimed",
    "fingerprint",
    "folder_error_words",
    "foreign_entries",
    "not_ours_message",
    "read_claims",
    "staged_output",
]

log = logging.getLogger(__name__)

STAGING_PREFIX = ".posture-partial-"
MARKER_NAME = ".posture-outputs.json"  # the files posture wrote into this folder
MAX_MARKER_BYTES = 1 << 20
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


# A folder that fills up or is read-only: writes into it fail with these (analyze's and batch's).
FULL_OR_READ_ONLY = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS)


def folder_error_words(exc: OSError) -> str:
    """What went wrong with an output folder, in words (not only "File exists")."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return "the disk is full (or a file size limit was reached)"
    if exc.errno == errno.EEXIST:  # mkdir(exist_ok=True) refuses only what is not a folder
        return "a file of that name is already there: give the name of a folder (a new one is made)"
    if exc.errno == errno.ENOTDIR:
        return "part of that path is a file, not a folder"
    return exc.strerror or str(exc)


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


@dataclass(frozen=True)
class Fingerprint:
    """What a file posture wrote was: its size and content hash."""

    size: int
    sha256: str


def fingerprint(path: Path) -> Fingerprint | None:
    """The fingerprint of a regular file (not followed through a link), or None for anything else."""
    try:
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode):
            return None
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
    except OSError:
        return None
    return Fingerprint(st.st_size, digest.hexdigest())


Claims = Mapping[str, frozenset[Fingerprint]]


class _ForeignMarker(Exception):
    """The marker's name is taken by something posture did not write."""


def _load_claims(folder: Path) -> dict[str, frozenset[Fingerprint]]:
    """The marker's claims; raises :class:`_ForeignMarker` when the name holds something else."""
    from posture.untrusted import UntrustedJSONError, load_json

    marker = folder / MARKER_NAME
    try:
        st = os.lstat(marker)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise _ForeignMarker(exc.strerror or str(exc)) from None
    if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_MARKER_BYTES:
        raise _ForeignMarker("not a posture marker file")
    try:
        doc = load_json(marker.read_bytes())
    except (OSError, UntrustedJSONError) as exc:
        raise _ForeignMarker(str(exc)) from None
    if (
        not isinstance(doc, dict)
        or doc.get("written_by") != "posture"
        or not isinstance(doc.get("files"), dict)
    ):
        raise _ForeignMarker("not a posture marker file")
    claims: dict[str, frozenset[Fingerprint]] = {}
    for name, entries in doc["files"].items():
        if not isinstance(entries, list):
            continue
        claims[name] = frozenset(
            Fingerprint(e["size"], e["sha256"])
            for e in entries
            if isinstance(e, dict)
            and type(e.get("size")) is int
            and isinstance(e.get("sha256"), str)
            and len(e["sha256"]) == 64
        )
    return claims


def read_claims(folder: Path) -> dict[str, frozenset[Fingerprint]]:
    """What the folder's marker says posture wrote there (untrusted: anything odd counts as nothing)."""
    try:
        return _load_claims(folder)
    except _ForeignMarker:
        return {}


def _write_claims(folder: Path, claims: Claims) -> None:
    import json

    from posture.atomic import atomic_write

    doc = {
        "written_by": "posture",
        "files": {
            name: [{"size": f.size, "sha256": f.sha256} for f in sorted(fps, key=lambda f: f.sha256)]
            for name, fps in sorted(claims.items())
            if fps
        },
    }
    with atomic_write(folder / MARKER_NAME) as fh:
        fh.write(json.dumps(doc, indent=1) + "\n")


def check_marker(folder: Path) -> None:
    """Raises :class:`OutputFolderError` when the marker's name in ``folder`` holds something
    posture did not write (it is then never overwritten)."""
    try:
        _load_claims(folder)
    except _ForeignMarker:
        raise OutputFolderError(not_ours_message(folder / MARKER_NAME)) from None


def claim(folder: Path, names: Iterable[str]) -> None:
    """Add ``names`` (files posture just wrote into ``folder``) to the folder's marker (raises
    :class:`OutputFolderError` rather than overwrite a marker that is not posture's)."""
    check_marker(folder)
    claims = dict(read_claims(folder))
    for name in names:
        fp = fingerprint(folder / name)
        if fp is not None:
            claims[name] = frozenset({fp})
    _write_claims(folder, claims)


def _ours(path: Path, claims: Claims) -> bool:
    fp = fingerprint(path)
    return fp is not None and fp in claims.get(path.name, frozenset())


def claimed(path: Path) -> bool:
    """Whether the marker of ``path``'s folder vouches for the file there now."""
    return _ours(path, read_claims(path.parent))


def foreign_entries(folder: Path) -> list[Path]:
    """Everything in ``folder`` that its marker does not vouch for (the marker aside): empty for
    a folder that holds only files posture wrote and nobody changed since."""
    claims = read_claims(folder)
    return [
        entry for entry in sorted(folder.iterdir()) if entry.name != MARKER_NAME and not _ours(entry, claims)
    ]


def _exists(path: Path) -> bool:
    return os.path.lexists(path)


def not_ours_message(path: Path) -> str:
    return (
        f"{path} was not written by an earlier posture run (or was changed since), so posture "
        "leaves it alone: move it away or choose another output folder"
    )


def _check(folder: Path, writes: Iterable[str], keep: Iterable[Path], own_folder: bool) -> list[str]:
    """Raises :class:`OutputFolderError` when the run would replace or remove a file that is not
    its to replace, or its own input; returns the previous run's files that it removes."""
    writes = set(writes)
    try:
        claims = {} if own_folder else _load_claims(folder)
    except _ForeignMarker:
        raise OutputFolderError(not_ours_message(folder / MARKER_NAME)) from None
    keep = list(keep)

    def ours(path: Path) -> bool:
        if own_folder:
            with contextlib.suppress(OSError):
                return stat.S_ISREG(os.lstat(path).st_mode)
            return False
        return _ours(path, claims)

    stale = []
    for name in sorted(writes | set(OUTPUT_NAMES)):
        path = folder / name
        if not _exists(path):
            continue
        mine = ours(path)
        if (name in writes or mine) and any(same_file(path, k) for k in keep):
            raise OutputFolderError(f"{path} is the input of this run; choose another output folder")
        if name in writes and not mine:
            raise OutputFolderError(not_ours_message(path))
        if name not in writes and mine:
            stale.append(name)  # the previous run's, not written this time: removed
    return stale


@contextlib.contextmanager
def staged_output(
    folder: Path,
    *,
    writes: Iterable[str] = (),
    keep: Iterable[Path] = (),
    own_folder: bool = False,
) -> Iterator[Path]:
    """Yield a staging folder inside ``folder``; on a normal exit publish its files into ``folder``.

    ``writes``: the names the run expects to write, checked before it starts (and every name is
    checked again when it publishes). ``keep``: files never to replace or remove (the input).
    ``own_folder``: ``folder`` is posture's own (the demo's cache), so any earlier output there
    is replaced, marker or not.

    Raises :class:`OutputFolderError` (exit 2, one line) when ``folder`` cannot be made or written,
    including a full disk, or holds a file of the same name that is not posture's to replace; on
    any exception the staging folder and everything in it are removed.
    """
    keep = tuple(keep)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputFolderError(
            f"cannot use {folder} as the output folder: {folder_error_words(exc)}"
        ) from None
    if not folder.is_dir():
        raise OutputFolderError(f"{folder} is not a folder")
    writes = tuple(writes)
    if writes:
        _check(folder, writes, keep, own_folder)  # before the work, not after it
    _remove_stale_staging(folder)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=folder))
    except OSError as exc:
        raise OutputFolderError(
            f"cannot write into the output folder {folder}: {folder_error_words(exc)}"
        ) from None
    try:
        try:
            yield staging
        except OSError as exc:
            ours = exc.filename is not None and _inside(Path(exc.filename), staging)
            if not ours and exc.errno not in FULL_OR_READ_ONLY:
                raise
            raise OutputFolderError(
                f"cannot write the results into {folder}: {folder_error_words(exc)}"
            ) from None
        _publish(staging, folder, keep, own_folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except (ValueError, OSError):
        return False
    return True


def _publish(staging: Path, folder: Path, keep: tuple[Path, ...], own_folder: bool) -> None:
    """Replace the previous run's files with the staged ones, and say so in the marker."""
    new = {p.name: fingerprint(p) for p in staging.iterdir()}
    stale = _check(folder, new, keep, own_folder)
    before = {} if own_folder else read_claims(folder)
    during = {name: before.get(name, frozenset()) for name in stale}
    for name, fp in new.items():
        during[name] = before.get(name, frozenset()) | ({fp} if fp is not None else set())
    after = {name: frozenset({fp}) for name, fp in new.items() if fp is not None}
    try:
        _write_claims(folder, during)  # vouches for the old and the new file of each name
        for name in stale:
            (folder / name).unlink()
        for name in sorted(new):
            os.replace(staging / name, folder / name)
        _write_claims(folder, after)
    except OSError as exc:
        raise OutputFolderError(
            f"cannot write the results into {folder}: {folder_error_words(exc)}"
        ) from None
