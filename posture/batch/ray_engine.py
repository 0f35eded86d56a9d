"""``--engine ray``: the same per-recording task on Ray, on this machine or an existing cluster.

The only module that imports Ray, and only when the engine is built: without the ``ray`` extra
the rest of posture never notices. One task per recording, ``num_cpus`` each, run by a fixed set
of actors, each reserving Ray's ``memory`` for one model (about 430 MB). An actor is one
long-lived worker process that imports MediaPipe and reads the model once, then analyses
recording after recording (each recording still starts the tracker afresh, as ``posture
analyze`` does). An actor that dies is replaced; the recording it had is reported as a retryable
failure, and the driver hands it out again.

Every path in a task is absolute and on the driver's file system: on a cluster, the archive and
the results folder must be on a path that every node mounts at the same place.

A ``--ray-address`` is tried first with a plain TCP connection (a few seconds at most), since
Ray itself would wait minutes for an address where nothing listens. A local instance the batch
starts is watched by :mod:`posture.batch.ray_watchdog`, which stops what is left of it (Ray's
agents outlive a driver killed with ``kill -9``) once the batch is gone.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import socket
import subprocess
import sys
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any

from posture import extra_hint
from posture.batch.engines import WORKER_MEMORY_MB, StartFn, TaskFn, usable_cores
from posture.batch.task import RecordingTask, TaskOutcome, analyse_recording
from posture.errors import InputError, OptionError, Phrase

__all__ = ["EngineUnavailableError", "RayEngine"]

log = logging.getLogger(__name__)

LOCAL_OBJECT_STORE_BYTES = 200 * 2**20  # outcomes are a few hundred bytes; keep /dev/shm free
ACTOR_RESTARTS = 3
CONNECT_TIMEOUT_S = 3.0  # for the first look at a --ray-address


class EngineUnavailableError(OptionError):
    """The chosen engine's optional dependency is not installed."""


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise EngineUnavailableError(
            "the ray engine needs Ray: {hint}; or use {engine} local", hint=extra_hint("ray", "ray")
        ) from None
    return ray


@functools.lru_cache(maxsize=1)
def _actor_class() -> Any:
    ray = _import_ray()

    @ray.remote
    class RecordingWorker:
        """One worker process: the pose model loaded once, then one recording after another."""

        def __init__(self, fn: TaskFn) -> None:
            import logging as _logging

            from posture.pose.estimator import divert_native_stderr, open_estimator

            divert_native_stderr()
            _logging.getLogger("posture").propagate = False  # notes travel in the outcome
            with open_estimator(None, video=True, sampled=True):
                pass  # imports MediaPipe and reads the bundled model once per process
            self._fn = fn

        def analyse(self, task: RecordingTask) -> TaskOutcome:
            return self._fn(task)

        def pid(self) -> int:
            import os

            return os.getpid()

    return RecordingWorker


def check_reachable(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Raises :class:`InputError` at once when nothing answers at ``address`` (``HOST:PORT`` or
    ``ray://HOST:PORT``; ``auto`` and ``local`` are Ray's own to find)."""
    if address in ("auto", "local"):
        return
    target = address.split("://", 1)[1] if "://" in address else address
    host, sep, port = target.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        raise OptionError(
            "{ray_address} must be HOST:PORT (or ray://HOST:PORT, or auto), not {value!r}", value=address
        )
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        why = "no answer" if isinstance(exc, socket.timeout) else (exc.strerror or str(exc))
        raise InputError(f"cannot reach Ray at {address}: {why}") from None


class _Watchdog:
    """:mod:`posture.batch.ray_watchdog` as a process of its own, fed through a pipe."""

    def __init__(self) -> None:
        from posture.batch.ray_watchdog import default_ray_temp_dir

        self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "posture.batch.ray_watchdog",
                str(os.getpid()),
                str(default_ray_temp_dir()),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C and a closed terminal are the batch's, not the watchdog's
            close_fds=True,
        )

    def watch(self, session_dir: str) -> None:
        """Watch this Ray session, when it is the one this process started (Ray names the
        session folder after the pid that starts it; an instance found running is not ours)."""
        if not session_dir.rstrip("/").endswith(f"_{os.getpid()}"):
            return
        if self._proc is not None and self._proc.stdin is not None:
            try:
                self._proc.stdin.write(session_dir.encode() + b"\n")
                self._proc.stdin.flush()
            except OSError:
                log.debug("the Ray watchdog is gone", exc_info=True)

    def close(self) -> None:
        """Ends the watch: the watchdog stops what is left (nothing, after ray.shutdown) and exits."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class RayEngine:
    """A context manager: connects to (or starts) Ray on entry, shuts down what it started on exit."""

    name = "ray"

    def __init__(
        self,
        workers: int | None,
        *,
        address: str | None = None,
        cpus_per_task: float = 1.0,
        fn: TaskFn = analyse_recording,
    ) -> None:
        self._ray = _import_ray()
        if address:
            check_reachable(address)  # at once, before the archive is even looked at
        self._fn = fn
        self._requested = workers
        self._address = address
        self.cpus_per_task = cpus_per_task
        self.workers = 0
        self._started_ray = False
        self._watchdog: _Watchdog | None = None
        self._actors: list[Any] = []

    def __enter__(self) -> RayEngine:
        ray = self._ray
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "logging_level": logging.ERROR,  # Ray's start-up notes are not the user's business
            }
            if self._address:
                kwargs["address"] = self._address
            else:
                kwargs.update(num_cpus=usable_cores(), object_store_memory=LOCAL_OBJECT_STORE_BYTES)
                self._watchdog = _Watchdog()  # before Ray starts: a kill -9 at any moment is covered
            try:
                context = ray.init(**kwargs)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                self._close_watchdog()
                where = self._address or "this machine"
                raise InputError(f"cannot start or reach Ray on {where}: {exc}") from None
            except BaseException:
                self._close_watchdog()
                raise
            self._started_ray = True
            if self._watchdog is not None:
                session = (getattr(context, "address_info", None) or {}).get("session_dir")
                if session:
                    self._watchdog.watch(str(session))
        cpus = float(ray.cluster_resources().get("CPU", 0.0))
        fit = max(1, math.floor(cpus / self.cpus_per_task)) if cpus >= self.cpus_per_task else 0
        if fit == 0:
            self.close()
            raise OptionError(
                "the Ray cluster has {cpus:g} CPU(s), fewer than {cpus_per_task} {asked:g}",
                cpus=cpus,
                asked=self.cpus_per_task,
            )
        self.workers = fit if self._requested is None else min(self._requested, fit)
        if self._requested is not None and self._requested > fit:
            log.warning(
                Phrase(
                    "{workers} {asked}: the Ray cluster fits {fit} task(s) at once; using {fit}",
                    asked=self._requested,
                    fit=fit,
                )
            )
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for actor in self._actors:
            try:
                self._ray.kill(actor)
            except Exception:  # an actor that is already gone
                log.debug("could not kill a Ray actor", exc_info=True)
        self._actors.clear()
        try:
            if self._started_ray:
                self._ray.shutdown()
                self._started_ray = False
        finally:
            self._close_watchdog()

    def _close_watchdog(self) -> None:
        if self._watchdog is not None:
            self._watchdog.close()
            self._watchdog = None

    def _new_actor(self) -> Any:
        actor = (
            _actor_class()
            .options(
                num_cpus=self.cpus_per_task,
                memory=WORKER_MEMORY_MB * 2**20,  # Ray places a worker only where its model fits
                max_restarts=ACTOR_RESTARTS,
                max_task_retries=0,
            )
            .remote(self._fn)
        )
        self._actors.append(actor)
        return actor

    def run(self, tasks: Sequence[RecordingTask], on_start: StartFn) -> Iterator[TaskOutcome]:
        ray = self._ray
        from ray.exceptions import RayActorError, RayError

        queue = deque(tasks)
        idle = list(self._actors)
        running: dict[Any, tuple[RecordingTask, Any]] = {}  # object ref -> (task, actor)
        while queue or running:
            while queue and (idle or len(self._actors) < self.workers):
                actor = idle.pop() if idle else self._new_actor()
                task = queue.popleft()
                on_start(task)
                running[actor.analyse.remote(task)] = (task, actor)
            ready, _ = ray.wait(list(running), num_returns=1)
            for ref in ready:
                task, actor = running.pop(ref)
                try:
                    outcome = ray.get(ref)
                except RayActorError as exc:
                    outcome = _lost(task, f"the Ray worker died while analysing it ({type(exc).__name__})")
                    self._retire(actor)  # a fresh actor takes its place when needed
                except RayError as exc:
                    outcome = _lost(task, f"Ray could not run it: {type(exc).__name__}: {exc}".split("\n")[0])
                    idle.append(actor)
                else:
                    idle.append(actor)
                yield outcome

    def _retire(self, actor: Any) -> None:
        self._actors.remove(actor)
        try:
            self._ray.kill(actor)
        except Exception:  # already gone
            log.debug("could not kill a Ray actor", exc_info=True)


def _lost(task: RecordingTask, error: str) -> TaskOutcome:
    return TaskOutcome(task.video, False, task.partial_dir, error=error, retryable=True)
