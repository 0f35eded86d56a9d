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
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from posture.config import AnalysisConfig, MetricsConfig
from posture.landmarks import Pose
from posture.metrics import RawMeasurement, assess, measure
from posture.reading import Verdict
from posture.source import Frame, VideoFileSource, VideoInfo

__all__ = ["EstimationRun", "auto_workers", "estimate_video"]

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


def auto_workers(info: VideoInfo) -> int:
    """Two processes on a clip long enough to pay for the second one's start-up, else one."""
    cores = os.cpu_count() or 1
    if cores < 2 or info.duration_s < 2 * MIN_CHUNK_S:
        return 1
    return min(cores, max(1, int(info.duration_s // MIN_CHUNK_S)), 2)


CLEARLY_GOOD = 0.8  # the detector's release severity: below it posture is clearly better


def verdict_changed(a: RawMeasurement, b: RawMeasurement, metrics: MetricsConfig) -> bool:
    """Whether the posture clearly changed between two consecutive samples (judged on the raw
    values, without a baseline): someone came or went, the view changed, or the worst finding
    went from clearly good (under 0.8) to poor (1.0 or more) or back. Flicker around a
    threshold is not worth a closer look; the detector's hysteresis ignores it anyway."""
    if a.person != b.person or a.view != b.view:
        return True
    sa, sb = assess(a, metrics), assess(b, metrics)
    if (sa.posture is Verdict.UNCERTAIN) != (sb.posture is Verdict.UNCERTAIN):
        return True
    worst_a, worst_b = max(sa.findings.values()), max(sb.findings.values())
    return min(worst_a, worst_b) < CLEARLY_GOOD and max(worst_a, worst_b) >= 1.0


def _estimate_chunk(
    path: Path,
    cfg: AnalysisConfig,
    metrics: MetricsConfig,
    start_s: float,
    end_s: float | None,
    progress: Any = None,
) -> EstimationRun:
    """Poses of one time range. Samples at ``cfg.sample_fps``; with ``cfg.refine`` the frames
    between two samples with different verdicts are estimated too, so a change of posture is
    placed to the frame rather than to the sample."""
    from posture.estimator import open_estimator

    run = EstimationRun()
    sampled = cfg.sample_fps is not None
    refine = sampled and cfg.refine
    source = VideoFileSource(path, cfg.sample_fps, start_s=start_s, end_s=end_s, keep_between=refine)
    estimator = open_estimator(cfg.model, video=True, model_complexity=cfg.model_complexity, sampled=sampled)
    with source as src, estimator as est:
        run.model = est.name
        last_report = -math.inf
        between: list[Frame] = []  # frames since the last sample, kept for a closer look
        previous: RawMeasurement | None = None  # the last sample's measurement
        for frame, due in src.with_between():
            if not due:
                between.append(frame)
                continue
            pose = est.estimate(frame)
            if refine:
                raw = measure(pose, metrics)
                if previous is not None and between and verdict_changed(previous, raw, metrics):
                    log.info(
                        "the verdict changed between %.2f s and %.2f s: estimating the %d frames between",
                        between[0].t_s,
                        frame.t_s,
                        len(between),
                    )
                    for f in between:
                        run.add(f, est.estimate(f))
                previous, between = raw, []
            run.add(frame, pose)
            if progress is not None and frame.t_s - last_report >= 0.5:
                progress(frame.t_s)
                last_report = frame.t_s
        run.truncated = src.truncated
        run.frames_decoded = src.frames_read
    return run


_progress_queue: Any = None  # set in each worker process by _init_worker


def _init_worker(q: Any) -> None:
    global _progress_queue
    _progress_queue = q
    # A worker reports through its result and the progress queue; keep MediaPipe's notes to itself.
    from posture.estimator import divert_native_stderr

    divert_native_stderr()


def _worker(args: tuple[Path, AnalysisConfig, MetricsConfig, float, float | None, int]) -> EstimationRun:
    path, cfg, metrics, start_s, end_s, chunk = args

    def report(t_s: float) -> None:
        _progress_queue.put((chunk, t_s - start_s))

    return _estimate_chunk(path, cfg, metrics, start_s, end_s, report)


def estimate_video(
    path: Path,
    cfg: AnalysisConfig,
    metrics: MetricsConfig,
    info: VideoInfo,
    *,
    workers: int = 1,
    progress: Callable[[float], None] | None = None,
) -> EstimationRun:
    """Poses for the sampled frames of a video, in time order. ``progress`` gets seconds done."""
    duration = info.duration_s
    if workers <= 1 or duration <= 0:
        return _estimate_chunk(path, cfg, metrics, 0.0, None, progress)
    step = 1.0 / cfg.sample_fps if cfg.sample_fps else info.frame_step_s
    # Chunk bounds on the sampling grid, so the split keeps exactly the frames one pass would.
    bounds = [round(duration * k / workers / step) * step for k in range(workers)] + [None]
    jobs = [(path, cfg, metrics, bounds[k], bounds[k + 1], k) for k in range(workers)]
    ctx = mp.get_context("spawn")
    progress_q = ctx.Queue()
    done = [0.0] * workers
    with ProcessPoolExecutor(
        workers, mp_context=ctx, initializer=_init_worker, initargs=(progress_q,)
    ) as pool:
        futures = [pool.submit(_worker, job) for job in jobs]
        while not all(f.done() for f in futures):
            try:
                chunk, secs = progress_q.get(timeout=0.2)
            except queue_mod.Empty:
                continue
            done[chunk] = secs
            if progress is not None:
                progress(sum(done))
        parts = [f.result() for f in futures]
    merged = EstimationRun(model=parts[0].model, workers=workers)
    last_t = -math.inf
    for part in parts:
        for t_s, pose in zip(part.times, part.poses):
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
