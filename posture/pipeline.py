"""The chain source → estimator → metrics → detector, shared by ``measure``, ``analyze`` and ``monitor``.

``PostureAnalyzer`` turns (time, pose) into a :class:`Reading` (measure, smooth, assess);
``Session`` adds the sustained-posture detector; ``analyze_video`` and ``measure_images`` drive
them over recorded media. Sinks (timeline, report, video) consume the result as plain data.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from posture import setup_check
from posture.baseline import Baseline, HabitualReference, baseline_from_measurements
from posture.config import Config
from posture.detector import Detector, Episode, Event
from posture.errors import BaselineError
from posture.geometry import View
from posture.landmarks import Pose
from posture.metrics import RawMeasurement, assess, measure
from posture.reading import Reading, Verdict
from posture.smoothing import MetricSmoother, StickyLabel
from posture.sources.media import ImageSource, VideoFileSource, VideoInfo

__all__ = [
    "AnalysisResult",
    "ImageResult",
    "PostureAnalyzer",
    "Session",
    "analyze_video",
    "measure_images",
]

log = logging.getLogger(__name__)


class PostureAnalyzer:
    """Per-frame metrics: measure the pose, smooth the raw values over time, assess them."""

    def __init__(self, config: Config, baseline: Baseline | None = None) -> None:
        self.config = config
        self.baseline = baseline
        s = config.smoothing
        self._smoother = MetricSmoother(s.min_cutoff_hz, s.beta) if s.enabled else None
        self._view = StickyLabel(s.view_hold_s) if s.enabled else None
        # Without a calibration, the person's own usual upright posture, learnt from the
        # session's frames (side view only; a still photo has no session and keeps none).
        self._habit = HabitualReference() if baseline is None and s.enabled else None

    def raw(self, pose: Pose | None) -> RawMeasurement:
        return measure(pose, self.config.metrics)

    def reading(self, t_s: float, raw: RawMeasurement) -> Reading:
        if self._smoother is not None and self._view is not None:
            if raw.person:
                view = View(self._view.update(t_s, raw.view.value))
                raw = dataclasses.replace(raw, view=view, values=self._smoother.update(t_s, raw.values))
            else:
                self._smoother.reset()
                self._view.reset()
        ref = self.baseline.values if self.baseline is not None else None
        a = assess(raw, self.config.metrics, ref)
        if self._habit is not None and raw.view is View.SIDE and a.posture is not Verdict.UNCERTAIN:
            habitual = self._habit.values
            if habitual is not None:
                a = assess(raw, self.config.metrics, None, habitual=habitual)
            # Only what is good by both rules teaches it: a slouch it already flags never does.
            if a.posture is Verdict.GOOD:
                self._habit.add(t_s, raw.values)
        return Reading(
            t_s=t_s,
            person=raw.person,
            view=raw.view.value,
            metrics=a.metrics,
            findings=a.findings,
            posture=a.posture,
            estimated=a.estimated,
        )


class Session:
    """Readings plus the sustained-posture detector: what every use of the pipeline runs."""

    def __init__(self, config: Config, baseline: Baseline | None = None) -> None:
        self.analyzer = PostureAnalyzer(config, baseline)
        self.detector = Detector(config.detector)

    def step(self, t_s: float, raw: RawMeasurement) -> tuple[Reading, list[Event]]:
        reading = self.analyzer.reading(t_s, raw)
        events = self.detector.update(reading)
        return dataclasses.replace(reading, alert=self.detector.alert_active), events

    def finish(self, t_s: float) -> list[Event]:
        return self.detector.finish(t_s)


@dataclass
class AnalysisResult:
    """Everything ``analyze`` learned about one video, as plain data for the writers."""

    source: Path
    info: VideoInfo
    model: str
    sample_fps: float | None
    readings: list[Reading] = field(default_factory=list)
    poses: list[Pose | None] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    episodes: list[Episode] = field(default_factory=list)
    baseline: Baseline | None = None
    calibrated_from: str | None = None  # "profile", "image", "first N s" or None
    truncated: bool = False
    frames_decoded: int = 0
    wall_s: float = 0.0
    workers: int = 1
    warnings: list[str] = field(default_factory=list)  # what the set-up did not allow, one line each

    @property
    def step_s(self) -> float:
        """How long each analysed frame stands for (the last one included)."""
        return self.info.sample_step_s(self.sample_fps)

    @property
    def duration_s(self) -> float:
        if not self.readings:
            return 0.0
        return self.readings[-1].t_s - self.readings[0].t_s + self.step_s


ProgressFn = Callable[[float], None]  # called with the source time reached


def analyze_video(
    path: Path,
    config: Config,
    *,
    baseline: Baseline | None = None,
    calibrate_first_s: float | None = None,
    progress: ProgressFn | None = None,
    workers: int = 1,
    info: VideoInfo | None = None,
) -> AnalysisResult:
    """Run the whole pipeline over a recorded video as fast as the machine allows.

    ``calibrate_first_s`` takes the baseline from the clip's first seconds (the readings of those
    frames are then assessed against it too). ``workers`` > 1 splits the video into that many time
    chunks estimated in parallel processes; the sequential stages then run over the merged poses,
    so the result means the same as a single pass.
    """
    from posture.pose.parallel import estimate_video

    started = time.monotonic()
    cfg = config.analysis
    if info is None:  # the caller may have read the header already
        with VideoFileSource(path, cfg.sample_fps) as probe:
            info = probe.info
    log.info(
        "analysing %s: %dx%d, %.3g fps, %.1f s; sampling %s; %d worker(s)",
        path.name,
        info.width,
        info.height,
        info.fps,
        info.duration_s,
        "every frame"
        if cfg.sample_fps is None
        else f"{cfg.sample_fps:g} frames per second of video"
        + (", every frame around a change of verdict" if cfg.refine else ""),
        workers,
    )
    run = estimate_video(path, cfg, config.metrics, info, workers=workers, progress=progress)
    estimated_s = time.monotonic() - started
    log.info(
        "pose model %s: %d frames estimated of %d decoded in %.1f s (%.0f ms a frame)",
        run.model,
        len(run.poses),
        run.frames_decoded,
        estimated_s,
        1000.0 * estimated_s / max(len(run.poses), 1),
    )
    result = AnalysisResult(
        source=path,
        info=info,
        model=run.model,
        sample_fps=cfg.sample_fps,
        truncated=run.truncated,
        frames_decoded=run.frames_decoded,
        workers=run.workers,
    )
    raws = [measure(pose, config.metrics) for pose in run.poses]
    result.warnings = _setup_warnings(raws, run.times, info, config, baseline, calibrate_first_s)
    if calibrate_first_s is not None:
        first = [r for t, r in zip(run.times, raws, strict=False) if t < calibrate_first_s]
        baseline = baseline_from_measurements(first, source=f"{path.name}, first {calibrate_first_s:g} s")
        result.calibrated_from = f"first {calibrate_first_s:g} s"
        log.info(
            "baseline from the first %g s: %s view, %d frames",
            calibrate_first_s,
            baseline.view,
            baseline.frames,
        )
        result.warnings += setup_check.baseline_warnings(baseline, config.metrics)
    elif baseline is not None:
        result.calibrated_from = baseline.source or "profile"
        if setup_check.view_mismatch_warning(baseline, raws) is not None:
            baseline = None  # its references cannot apply to this view (the warning says so)
            result.calibrated_from = None
    if baseline is None and calibrate_first_s is None:
        front = setup_check.front_without_baseline_warning(raws)
        if front is not None:
            result.warnings.append(front)
    for line in result.warnings:
        log.warning("%s", line)
    result.baseline = baseline
    session = Session(config, baseline)
    for t_s, pose, raw in zip(run.times, run.poses, raws, strict=False):
        reading, events = session.step(t_s, raw)
        result.readings.append(reading)
        result.poses.append(pose)
        result.events.extend(events)
    end_t = result.readings[-1].t_s if result.readings else 0.0
    result.events.extend(session.finish(end_t))
    result.episodes = list(session.detector.episodes)
    result.wall_s = time.monotonic() - started
    log.info(
        "metrics and detector: %d readings, %d episode(s) with an alert in %.2f s",
        len(result.readings),
        len(result.episodes),
        result.wall_s - estimated_s,
    )
    return result


def _setup_warnings(
    raws: Sequence[RawMeasurement],
    times: Sequence[float],
    info: VideoInfo,
    config: Config,
    baseline: Baseline | None,
    calibrate_first_s: float | None,
) -> list[str]:
    """What this video and this calibration do not allow, before anything is judged."""
    out: list[str] = []
    if calibrate_first_s is not None:
        clip_s = max(info.duration_s, times[-1] if times else 0.0)
        line = setup_check.calibration_window_warning(calibrate_first_s, clip_s)
        if line:
            out.append(line)
    elif baseline is not None:
        line = setup_check.view_mismatch_warning(baseline, raws)
        if line:
            out.append(line)
        else:
            out += setup_check.baseline_warnings(baseline, config.metrics)
    face = setup_check.only_face_warning(raws)
    if face:
        out.append(face)
    return out


@dataclass(frozen=True)
class ImageResult:
    source: Path
    reading: Reading
    pose: Pose | None


def measure_images(
    paths: Sequence[Path], config: Config, baseline: Baseline | None = None
) -> Iterator[ImageResult]:
    """One reading per still image, each detected afresh (no tracking, no smoothing)."""
    from posture.pose.estimator import estimate_still, open_estimator

    cfg = dataclasses.replace(config, smoothing=dataclasses.replace(config.smoothing, enabled=False))
    analyzer = PostureAnalyzer(cfg, baseline)
    with open_estimator(
        config.analysis.model, video=False, model_complexity=config.analysis.model_complexity
    ) as est:
        for path in paths:
            with ImageSource(path) as src:
                frame = next(iter(src))
            pose = estimate_still(est, frame)
            yield ImageResult(path, analyzer.reading(0.0, analyzer.raw(pose)), pose)


def baseline_from_image(path: Path, config: Config) -> Baseline:
    """A baseline from one photo of the user's good posture."""
    from posture.pose.estimator import estimate_still, open_estimator

    with (
        ImageSource(path) as src,
        open_estimator(
            config.analysis.model, video=False, model_complexity=config.analysis.model_complexity
        ) as est,
    ):
        pose = estimate_still(est, next(iter(src)))
    return baseline_from_measurements([measure(pose, config.metrics)], source=str(path))


def load_baseline(spec: Path, config: Config) -> Baseline:
    """``--baseline``: a saved JSON profile, or an image of good posture."""
    from posture.sources.media import check_media_path, is_image_file

    check_media_path(spec)
    if spec.suffix.lower() != ".json" and is_image_file(spec):
        return baseline_from_image(spec, config)
    try:
        spec.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BaselineError(f"{spec} is neither an image nor a baseline profile (.json)") from None
    return Baseline.load(spec)
