"""Engines run :func:`~posture.batch.task.analyse_recording` over many recordings at once.

``LocalEngine``: a small pool of processes on this machine, one recording each at a time, at most
one per core and as many as the free memory holds (each loads a pose model, about 430 MB).
Workers die with the driver (:func:`posture.lifecycle.die_with_parent`). A worker that dies in the middle of
a recording is reported as that recording's (retryable) failure and replaced.

An engine hands out at most one recording per worker and calls ``on_start`` just before, so the
manifest's "running" means "being analysed now", and yields each outcome as it arrives.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any, Protocol

from posture.batch.task import RecordingTask, TaskOutcome, analyse_recording
from posture.errors import Phrase

__all__ = [
    "WORKER_MEMORY_MB",
    "Engine",
    "LocalEngine",
    "available_memory_mb",
    "local_workers",
    "usable_cores",
]

log = logging.getLogger(__name__)

WORKER_MEMORY_MB = 430  # resident size of a process with the Tasks pose model loaded (posture.lifecycle)

StartFn = Callable[[RecordingTask], None]
TaskFn = Callable[[RecordingTask], TaskOutcome]  # picklable: a module-level function or a partial of one


class Engine(Protocol):
    name: str
    workers: int

    def run(self, tasks: Sequence[RecordingTask], on_start: StartFn) -> Iterator[TaskOutcome]: ...

    def __enter__(self) -> Engine: ...

    def __exit__(self, *exc: object) -> None: ...


def usable_cores() -> int:
    from posture.pose.parallel import available_cores

    return available_cores()


def available_memory_mb() -> float | None:
    """Memory available to new processes (Linux: MemAvailable), or None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (AttributeError, ValueError, OSError):
        return None


def local_workers(requested: int | None, *, cores: int | None = None, memory_mb: float | None = None) -> int:
    """How many worker processes: the request (default: every core), capped by the cores and by
    the memory for one model each. Never fewer than one."""
    cores = cores if cores is not None else usable_cores()
    memory_mb = memory_mb if memory_mb is not None else available_memory_mb()
    n = cores if requested is None else requested
    if n > cores:
        log.warning(
            Phrase("{workers} {asked}: this machine has {cores} core(s); using {cores}", asked=n, cores=cores)
        )
        n = cores
    if memory_mb is not None:
        fit = max(1, int(memory_mb // WORKER_MEMORY_MB))
        if fit < n:
            log.warning(
                "memory for %d worker(s) only (%.0f MB free, about %d MB each); using %d",
                fit,
                memory_mb,
                WORKER_MEMORY_MB,
                fit,
            )
            n = fit
    return max(1, n)


# --- the worker process -------------------------------------------------------------------------


def _worker_main(conn: Connection, fn: TaskFn) -> None:
    from posture.lifecycle import die_with_parent

    die_with_parent()  # and Ctrl-C is the driver's to handle
    from posture.pose.estimator import divert_native_stderr

    divert_native_stderr()
    logging.getLogger("posture").propagate = False  # notes travel in the outcome, not to stderr
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        conn.send(fn(task))


class _Worker:
    def __init__(self, ctx: Any, fn: TaskFn) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=_worker_main, args=(child, fn), name="posture-batch-worker", daemon=True
        )
        self.process.start()
        child.close()
        self.task: RecordingTask | None = None

    def stop(self, *, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        else:
            with contextlib.suppress(OSError):
                self.conn.send(None)
        self.process.join(timeout=5 if not kill else None)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


class LocalEngine:
    """A process pool on this machine; a context manager that stops every worker on exit."""

    name = "local"

    def __init__(self, workers: int, fn: TaskFn = analyse_recording) -> None:
        self.workers = workers
        self._fn = fn
        self._ctx = mp.get_context("spawn")  # no forked copies of the driver's threads and locks
        self._pool: list[_Worker] = []

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(kill=exc[0] is not None)

    def close(self, *, kill: bool = False) -> None:
        for worker in self._pool:
            worker.stop(kill=kill or worker.task is not None)
        self._pool.clear()

    def run(self, tasks: Sequence[RecordingTask], on_start: StartFn) -> Iterator[TaskOutcome]:
        queue = deque(tasks)
        while queue or any(w.task is not None for w in self._pool):
            while queue:
                idle = next((w for w in self._pool if w.task is None), None)
                if idle is None and len(self._pool) < self.workers:
                    idle = _Worker(self._ctx, self._fn)
                    self._pool.append(idle)
                if idle is None:
                    break
                task = queue.popleft()
                on_start(task)
                idle.task = task
                idle.conn.send(task)
            busy = [w for w in self._pool if w.task is not None]
            ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy])
            for worker in busy:
                task = worker.task
                assert task is not None
                if worker.conn in ready or worker.conn.poll():
                    try:
                        outcome = worker.conn.recv()
                    except (EOFError, OSError):
                        outcome = None
                    if outcome is not None:
                        worker.task = None
                        yield outcome
                        continue
                elif worker.process.sentinel not in ready:
                    continue
                # The process ended without an answer: killed (out of memory?) or crashed.
                worker.process.join()
                code = worker.process.exitcode
                worker.conn.close()
                self._pool.remove(worker)
                yield TaskOutcome(
                    task.video,
                    False,
                    task.partial_dir,
                    error=f"the worker process died while analysing it (exit code {code})",
                    retryable=True,
                )
