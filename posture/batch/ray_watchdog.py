"""Stops what is left of the local Ray instance a batch started, once the batch is gone.

When the driver of a local Ray instance is killed with ``kill -9``, Ray's GCS server, raylet and
workers go with it, but the dashboard and runtime-env agents that the raylet starts do not (Ray
2.x; seen still running minutes later). So ``posture batch --engine ray`` starts this small
process before Ray: it lives in a session of its own (Ctrl-C and a closed terminal do not reach
it), imports nothing heavy, and reads a pipe from the batch. The batch writes the Ray instance's
session folder into it once Ray is up; the end of the pipe (the batch closed it, or died) is the
signal. Then every process that holds a file open in that session folder is ended: SIGTERM, then
SIGKILL for whatever is still there 3 s later.

Linux only (it reads ``/proc``); elsewhere it waits and does nothing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["default_ray_temp_dir", "main", "session_processes", "stop_processes"]

GRACE_S = 3.0


def default_ray_temp_dir() -> Path:
    """Where Ray puts a local instance's session folders by default (as Ray decides it)."""
    if "RAY_TMPDIR" in os.environ:
        return Path(os.environ["RAY_TMPDIR"]) / "ray"
    if sys.platform.startswith("linux") and "TMPDIR" in os.environ:
        return Path(os.environ["TMPDIR"]) / "ray"
    return Path("/tmp") / "ray"


def session_processes(sessions: Sequence[Path], *, spare: Iterable[int] = ()) -> set[int]:
    """The processes holding a file open in one of ``sessions``, other than this one and ``spare``."""
    prefixes = tuple(f"{s}{os.sep}" for s in sessions)
    found: set[int] = set()
    proc = Path("/proc")
    if not prefixes or not proc.is_dir():
        return found
    skip = {os.getpid(), *spare}
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) in skip:
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:  # gone, or another user's
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith(prefixes):
                found.add(int(entry.name))
                break
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def stop_processes(pids: Iterable[int], grace_s: float = GRACE_S) -> None:
    """SIGTERM, then SIGKILL for those still alive after ``grace_s``."""
    pids = set(pids)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while (pids := {p for p in pids if _alive(p)}) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _made_since(folder: Path, t: float) -> bool:
    """Made after ``t`` (an older folder of the same name is another instance's, from a reused pid)."""
    try:
        return folder.is_dir() and folder.stat().st_mtime >= t - 1.0
    except OSError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m posture.batch.ray_watchdog PARENT_PID RAY_TEMP_DIR``, standard input a pipe."""
    args = list(sys.argv[1:] if argv is None else argv)
    parent_pid, ray_temp = int(args[0]), Path(args[1])
    for sig in (signal.SIGINT, signal.SIGHUP):
        with contextlib.suppress(OSError, ValueError):
            signal.signal(sig, signal.SIG_IGN)
    started = time.time()
    session: Path | None = None
    with contextlib.suppress(OSError, ValueError):
        for line in sys.stdin:  # until the batch closes the pipe or dies
            if line.strip():
                session = Path(line.strip())
    if session is not None:
        sessions = [session]
    else:  # killed while Ray was starting: its session folder is named after the batch's pid
        sessions = [s for s in ray_temp.glob(f"session_*_{parent_pid}") if _made_since(s, started)]
    # The batch itself (still alive after a normal end) keeps its own Ray log open: spared.
    stop_processes(session_processes(sessions, spare={parent_pid}))
    return 0


if __name__ == "__main__":  # pragma: no cover - run as its own process
    sys.exit(main())
