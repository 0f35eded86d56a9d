"""The monitor ``posture tray`` starts and owns: ``posture monitor`` as its child process.

The tray talks to it over the control channel like any client; this is only its life cycle:
started with the tray's arguments, its output kept in a log file (whose last line says why it
ended), stopped with the tray however the tray ends.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from posture.lifecycle import parent_death_preexec

__all__ = ["MonitorProcess"]

log = logging.getLogger(__name__)


class MonitorProcess:
    """``posture monitor`` started by the tray as its child, its output in ``log_path``.

    On Linux it gets SIGTERM when the tray dies however it dies (``PR_SET_PDEATHSIG``), so a
    crashed or killed tray never leaves its monitor behind; the monitor saves its session on it.
    """

    def __init__(self, args: Sequence[str], log_path: Path, *, camera: int | None = None) -> None:
        self.args = list(args)  # the monitor's own arguments, without --camera
        self.log_path = log_path
        self.camera = camera
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_start = 0  # where this run's output begins in the log (earlier runs' stay above)

    def command(self, camera: int | None) -> list[str]:
        cam = ["--camera", str(camera)] if camera is not None else []
        return [sys.executable, "-m", "posture", "monitor", *self.args, *cam]

    def start(self, camera: int | None = None) -> None:
        if self._proc is not None and self._proc.poll() is None:
            raise RuntimeError("the tray's monitor is already running")
        if camera is not None:
            self.camera = camera
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as out:
            self._log_start = os.fstat(out.fileno()).st_size
            self._proc = subprocess.Popen(
                self.command(self.camera),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                # SIGTERM when the tray's thread that starts it dies (the monitor saves its session).
                preexec_fn=parent_death_preexec(signal.SIGTERM),
            )
        log.info("started the monitor (pid %d), its output in %s", self._proc.pid, self.log_path)

    def started(self) -> bool:
        return self._proc is not None

    def exit_code(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def last_words(self) -> str | None:
        """The last line the monitor wrote in this run (its one-line error when it failed)."""
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(fh.tell() - 4096, self._log_start))
                lines = [ln.strip() for ln in fh.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        except OSError:
            return None
        if not lines:
            return None
        from posture.untrusted import printable

        text = printable(lines[-1]).removeprefix("posture: ").removeprefix("error: ")
        return text if len(text) <= 160 else text[:159] + "…"

    def wait(self, timeout_s: float) -> int | None:
        if self._proc is None:
            return None
        try:
            return self._proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def terminate(self) -> None:
        """Ask it to end with SIGTERM: it saves its session (or, still starting, ends before it
        records anything), as on Ctrl-C. Windows has no SIGTERM: there this ends it at once."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()

    def kill(self) -> None:
        """End it at once (SIGKILL): its session is not saved."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
