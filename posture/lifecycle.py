"""Process life cycle: termination signals that unwind like Ctrl-C, and workers that die with their parent.

``posture analyze`` may run estimator processes of about 240 MB each. When the parent goes away
(Ctrl-C, SIGTERM, SIGHUP, or ``kill -9``), they must go too, at once, not after the whole video:

* on Linux the kernel sends them SIGKILL when their parent dies (``PR_SET_PDEATHSIG``);
* everywhere, a watchdog thread waits on the pipe multiprocessing keeps from the parent (its
  sentinel) and ends the worker when it closes, which it does when the parent dies however it dies.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

__all__ = [
    "TERMINATING_SIGNALS",
    "Terminated",
    "die_with_parent",
    "parent_death_preexec",
    "signal_when_parent_dies",
    "signals_raise",
]

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class Terminated(KeyboardInterrupt):
    """A termination signal (SIGTERM, SIGHUP) received: unwinds the stack like Ctrl-C does, so
    every ``finally`` runs (workers stopped, partial files removed). ``exit_code`` is 128 + signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.exit_code = 128 + signum


TERMINATING_SIGNALS: tuple[int, ...] = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def _raise_terminated(signum: int, _frame: Any) -> None:
    raise Terminated(signum)


@contextlib.contextmanager
def signals_raise(signals: tuple[int, ...] = TERMINATING_SIGNALS) -> Iterator[None]:
    """While inside, SIGTERM and SIGHUP raise :class:`Terminated` in the main thread; the previous
    handlers come back on exit. Does nothing outside the main thread (Python allows handlers only
    there)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for sig in signals:
        with contextlib.suppress(OSError, ValueError):
            previous[sig] = signal.signal(sig, _raise_terminated)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _prctl() -> Callable[..., int] | None:
    """The C library's ``prctl`` (Linux only; None where unavailable)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl  # the C library already loaded: no library search
    except (OSError, AttributeError):
        return None


def signal_when_parent_dies(signum: int = signal.SIGKILL) -> bool:
    """Ask the kernel to send this process ``signum`` when the thread that started it dies
    (``PR_SET_PDEATHSIG``, Linux only); False where unavailable."""
    prctl = _prctl()
    return prctl is not None and prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0


def parent_death_preexec(signum: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` for :class:`subprocess.Popen` that has the child sent ``signum`` when the
    thread that starts it dies (``PR_SET_PDEATHSIG``); None where unavailable.

    ``prctl`` is looked up here, in the parent: between fork and exec the child of a process with
    threads may only do what takes no lock another thread could have held at the fork, and
    loading a library (``ctypes.CDLL``) takes the loader's. The child only calls ``prctl``, then
    ends at once if the parent died before that (the signal would never come).
    """
    prctl = _prctl()
    if prctl is None:
        return None
    sig, parent = int(signum), os.getpid()

    def arm() -> None:
        prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return arm


def _watch_parent(parent: Any) -> None:
    """Block until the parent's sentinel pipe closes (it died), then end this process at once."""
    with contextlib.suppress(Exception):
        parent.join()  # waits on the sentinel: EOF when the parent is gone
    os._exit(1)


def die_with_parent(*, pdeathsig: bool = True) -> None:
    """Make this (worker) process end when the process that started it ends, however it ends.

    Call it first thing in a multiprocessing child. Installs ``PR_SET_PDEATHSIG`` where the OS has
    it and, always, a watchdog thread on multiprocessing's pipe from the parent. Ctrl-C reaches
    the whole process group; workers ignore it and let the parent stop them. ``pdeathsig=False``
    leaves the watchdog alone, as on systems without ``PR_SET_PDEATHSIG`` (tests use it).
    """
    import multiprocessing as mp

    with contextlib.suppress(OSError, ValueError):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if pdeathsig:
        signal_when_parent_dies(signal.SIGKILL)
    parent = mp.parent_process()
    if parent is None:
        return
    threading.Thread(target=_watch_parent, args=(parent,), name="posture-parent-watch", daemon=True).start()
    if hasattr(os, "getppid") and os.getppid() != parent.pid:
        os._exit(1)  # the parent died before the guards above were armed
