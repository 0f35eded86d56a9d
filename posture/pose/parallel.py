"""Pose estimation over a recorded video, on one core or split into time chunks across several.

The estimator is the only expensive stage (about 23 ms a frame here), so it is the one spread
over processes: each worker opens the video at its chunk's start, tracks the person through its
chunk, and sends back poses. The sequential stages (smoothing, findings, detector) then run over
the merged list in order, so a split run means the same as a single pass; only the first frame of
each chunk is detected afresh instead of tracked.
"""

from __future__ import annotations

import logging
import math
import multiprocessing as mp
import os
import queue as queue_mod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posture.config import AnalysisConfig
from posture.landmarks import Pose
from posture.sources.media import Frame, VideoFileSource, VideoInfo

if TYPE_CHECKING:
    from posture.pose.estimator import EstimatorFactory
    from posture.results import ProgressFn

__all__ = ["Changed", "EstimationRun", "auto_workers", "available_cores", "estimate_video"]

# Whether the posture clearly changed between two consecutive samples (their poses), so the frames
# between them are worth estimating too; given by the Pipeline, which knows how posture is judged.
# Must pickle, like the estimator factory: each worker process gets it.
Changed = Callable[[Pose | None, Pose | None], bool]

log = logging.getLogger(__name__)

MIN_CHUNK_S = 10.0  # shorter chunks would spend more on process start-up than they save


@dataclass
class EstimationRun:
    model: str = ""
    times: list[float] = field(default_factory=list)
    poses: list[Pose | None] = field(default_factory=list)
    truncated: bool = False
    frames_decoded: int = 0
    workers: int = 1

    def add(self, frame: Frame, pose: Pose | None) -> None:
        self.times.append(frame.t_s)
        self.poses.append(pose)


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS tells), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def auto_workers(info: VideoInfo) -> int:
    """Two processes on a clip long enough to pay for the second one's start-up, else one."""
    cores = available_cores()
    if cores < 2 or info.duration_s < 2 * MIN_CHUNK_S:
        return 1
    return min(cores, max(1, int(info.duration_s // MIN_CHUNK_S)), 2)


def _estimate_chunk(
    path: Path,
    cfg: AnalysisConfig,
    start_s: float,
    end_s: float | None,
    estimators: EstimatorFactory,
    changed: Changed | None,
    progress: Any = None,
) -> EstimationRun:
    """Poses of one time range. Samples at ``cfg.sample_fps``; given ``changed``, the frames
    between two samples where it says the posture changed are estimated too, so a change of
    posture is placed to the frame rather than to the sample."""
    run = EstimationRun()
    sampled = cfg.sample_fps is not None
    refine = sampled and changed is not None
    source = VideoFileSource(path, cfg.sample_fps, start_s=start_s, end_s=end_s, keep_between=refine)
    estimator = estimators(cfg.model, video=True, model_complexity=cfg.model_complexity, sampled=sampled)
    with source as src, estimator as est:
        run.model = est.name
        last_report = -math.inf
        between: list[Frame] = []  # frames since the last sample, kept for a closer look
        previous: list[Pose | None] = []  # the last sample's pose, once there is one
        for frame, due in src.with_between():
            if not due:
                between.append(frame)
                continue
            pose = est.estimate(frame)
            if changed is not None and refine:
                if previous and between and changed(previous[0], pose):
                    log.info(
                        "the verdict changed between %.2f s and %.2f s: estimating the %d frames between",
                        between[0].t_s,
                        frame.t_s,
                        len(between),
                    )
                    for f in between:
                        run.add(f, est.estimate(f))
                previous, between = [pose], []
            run.add(frame, pose)
            if progress is not None and frame.t_s - last_report >= 0.5:
                progress(frame.t_s)
                last_report = frame.t_s
        run.truncated = src.truncated
        run.frames_decoded = src.frames_read
    return run


Job = tuple[Path, AnalysisConfig, float, "float | None", int, "EstimatorFactory", "Changed | None"]


def _worker_main(job: Job, progress_q: Any, result_q: Any) -> None:
    """A worker process: dies with its parent, estimates its chunk, sends back the run or the error."""
    from posture.lifecycle import die_with_parent

    die_with_parent()
    # A worker reports through its queues; keep MediaPipe's notes to itself.
    from posture.pose.estimator import divert_native_stderr

    divert_native_stderr()
    path, cfg, start_s, end_s, chunk, estimators, changed = job

    def report(t_s: float) -> None:
        progress_q.put((chunk, t_s - start_s))

    try:
        result: Any = _estimate_chunk(path, cfg, start_s, end_s, estimators, changed, report)
    except BaseException as exc:  # sent to the parent, which raises it
        result = exc if _picklable(exc) else RuntimeError(f"{type(exc).__name__}: {exc}")
    result_q.put((chunk, result))


def _picklable(obj: Any) -> bool:
    import pickle

    try:
        pickle.dumps(obj)
    except Exception:
        return False
    return True


STOP_GRACE_S = 1.0  # how long a worker asked to stop (SIGTERM) gets before SIGKILL


def _stop_workers(procs: list[Any]) -> None:
    """Terminate the workers still running, then kill those that do not go within the grace time."""
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(STOP_GRACE_S)
        if p.is_alive():
            p.kill()
            p.join(STOP_GRACE_S)


def estimate_video(
    path: Path,
    cfg: AnalysisConfig,
    info: VideoInfo,
    *,
    workers: int = 1,
    progress: ProgressFn | None = None,
    estimators: EstimatorFactory | None = None,
    changed: Changed | None = None,
) -> EstimationRun:
    """Poses for the sampled frames of a video, in time order. ``progress`` gets seconds done.

    ``estimators`` opens the pose estimator (MediaPipe's by default); each worker opens its own.
    ``changed(previous, current)`` tells, for the poses of two consecutive samples, whether the
    frames between them are estimated too (None: only the samples).

    With several workers, each is a process that dies with this one (:mod:`posture.lifecycle`);
    whatever ends this function early (an error, Ctrl-C, SIGTERM) stops them before it returns.
    """
    if estimators is None:
        from posture.pose.estimator import open_estimator as estimators
    duration = info.duration_s
    if workers <= 1 or duration <= 0:
        return _estimate_chunk(path, cfg, 0.0, None, estimators, changed, progress)
    step = 1.0 / cfg.sample_fps if cfg.sample_fps else info.frame_step_s
    # Chunk bounds on the sampling grid, so the split keeps exactly the frames one pass would.
    bounds = [round(duration * k / workers / step) * step for k in range(workers)] + [None]
    jobs: list[Job] = [(path, cfg, bounds[k], bounds[k + 1], k, estimators, changed) for k in range(workers)]
    ctx = mp.get_context("spawn")
    progress_q, result_q = ctx.Queue(), ctx.Queue()
    done = [0.0] * workers
    results: dict[int, Any] = {}
    procs = [
        ctx.Process(target=_worker_main, args=(job, progress_q, result_q), name=f"posture-worker-{job[4]}")
        for job in jobs
    ]
    try:
        for p in procs:
            p.start()
        while len(results) < workers:
            try:
                chunk, result = result_q.get(timeout=0.2)
            except queue_mod.Empty:
                if any(not p.is_alive() and p.exitcode not in (0, None) for p in procs):
                    _drain(result_q, results)
                    if len(results) < workers:
                        raise RuntimeError("an estimator worker process died") from None
            else:
                results[chunk] = result
            _drain_progress(progress_q, done, progress)
        for p in procs:
            p.join(STOP_GRACE_S)
    finally:
        _stop_workers(procs)
        for q in (progress_q, result_q):
            q.close()
            q.cancel_join_thread()
    for result in results.values():
        if isinstance(result, BaseException):
            raise result
    parts = [results[k] for k in range(workers)]
    merged = EstimationRun(model=parts[0].model, workers=workers)
    last_t = -math.inf
    for part in parts:
        for t_s, pose in zip(part.times, part.poses, strict=False):
            if t_s <= last_t:  # a seek may land a frame early; keep time strictly increasing
                continue
            merged.times.append(t_s)
            merged.poses.append(pose)
            last_t = t_s
        merged.frames_decoded += part.frames_decoded
    merged.truncated = any(part.truncated for part in parts)
    if progress is not None:
        progress(duration)
    return merged


def _drain(q: Any, results: dict[int, Any]) -> None:
    while True:
        try:
            chunk, result = q.get(timeout=0.5)
        except queue_mod.Empty:
            return
        results[chunk] = result


def _drain_progress(q: Any, done: list[float], progress: ProgressFn | None) -> None:
    while True:
        try:
            chunk, secs = q.get_nowait()
        except queue_mod.Empty:
            break
        done[chunk] = secs
    if progress is not None:
        progress(sum(done))
