"""The chain source → pose → metrics → smoothing → detector → sinks, composed in one place.

:class:`Pipeline` is built once from the whole :class:`Config` and hands every stage only its own
section: the pose estimator gets ``analysis``, the metrics ``metrics``, the smoother ``smoothing``,
the detector ``detector``. ``analyze``, ``measure``, ``demo`` and ``batch`` run it over recorded
media (:meth:`Pipeline.analyze_video`, :meth:`Pipeline.measure_images`); ``monitor`` and
``calibrate`` take their stages from it (:meth:`Pipeline.session`, :meth:`Pipeline.open_estimator`)
and differ only in the source (a camera), the sampling policy and the sinks they plug in.

:class:`PostureAnalyzer` turns (time, pose) into a :class:`Reading` (measure, smooth, assess);
:class:`Session` adds the sustained-posture detector. Sinks (timeline, report, video, history,
alerts) consume the typed results of :mod:`posture.results` as plain data, and never this module.
"""

from __future__ import annotations

import dataclasses
import logging
import stat
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from posture import setup_check
from posture.baseline import MAX_PROFILE_BYTES, Baseline, HabitualReference, baseline_from_measurements
from posture.config import Config, MetricsConfig, SmoothingConfig
from posture.detector import Detector, DetectorConfig, Event, settle_alerts
from posture.errors import BaselineError
from posture.landmarks import Pose
from posture.metrics import RawMeasurement, assess, measure, upright_band_contains
from posture.reading import Reading, Verdict, View
from posture.results import AnalysisResult, ImageResult, ProgressFn
from posture.smoothing import MetricSmoother, StickyLabel

if TYPE_CHECKING:
    from posture.pose.estimator import EstimatorFactory, PoseEstimator
    from posture.sources.media import VideoInfo

__all__ = [
    "Pipeline",
    "PostureAnalyzer",
    "Session",
    "VerdictChange",
]

log = logging.getLogger(__name__)


class PostureAnalyzer:
    """Per-frame metrics: measure the pose, smooth the raw values over time, assess them."""

    def __init__(
        self, metrics: MetricsConfig, smoothing: SmoothingConfig, baseline: Baseline | None = None
    ) -> None:
        self.metrics = metrics
        self.baseline = baseline
        s = smoothing
        self._smoother = MetricSmoother(s.min_cutoff_hz, s.beta) if s.enabled else None
        self._view = StickyLabel(s.view_hold_s) if s.enabled else None
        # Without a calibration, the person's own usual upright posture, learnt from the
        # session's clearly upright frames (side view only; a still photo has no session).
        learn = baseline is None and s.enabled and metrics.habit.enabled
        self._habit = HabitualReference(metrics.habit) if learn else None

    def raw(self, pose: Pose | None) -> RawMeasurement:
        return measure(pose, self.metrics)

    def reading(self, t_s: float, raw: RawMeasurement) -> Reading:
        if self._smoother is not None and self._view is not None:
            if raw.person:
                view = View(self._view.update(t_s, raw.view.value))
                raw = dataclasses.replace(raw, view=view, values=self._smoother.update(t_s, raw.values))
            else:
                self._smoother.reset()
                self._view.reset()
        ref = self.baseline.values if self.baseline is not None else None
        habitual = None
        if self._habit is not None and raw.view is View.SIDE and raw.problem is None:
            habitual = self._habit.values
            upright = upright_band_contains(raw.values, self.metrics.habit)
            self._habit.observe(t_s, raw.values, upright)
        elif self._habit is not None:
            self._habit.interrupt()  # nobody, another view or implausible geometry: no upright stretch
        a = assess(raw, self.metrics, ref, habitual=habitual)
        return Reading(
            t_s=t_s,
            person=raw.person,
            view=raw.view,
            metrics=a.metrics,
            findings=a.findings,
            posture=a.posture,
            estimated=a.estimated,
            reasons=a.reasons,
        )


class Session:
    """Readings plus the sustained-posture detector: what every use of the pipeline runs.
    ``step_s``: the sampling's step (how far a gap between readings counts, :func:`posture.detector.counted_s`)."""

    def __init__(self, analyzer: PostureAnalyzer, detector: DetectorConfig, *, step_s: float = 0.0) -> None:
        self.analyzer = analyzer
        self.detector = Detector(detector, step_s=step_s)

    def step(self, t_s: float, raw: RawMeasurement) -> tuple[Reading, list[Event]]:
        reading = self.analyzer.reading(t_s, raw)
        events = self.detector.update(reading)
        return dataclasses.replace(reading, alert=self.detector.alert_active), events

    def finish(self, t_s: float) -> list[Event]:
        return self.detector.finish(t_s)


class Pipeline:
    """source → pose → metrics → smoothing → detector → sinks, composed from one :class:`Config`.

    The only object that sees the whole configuration: each stage it builds gets its own section.
    """

    def __init__(self, config: Config, *, estimators: EstimatorFactory | None = None) -> None:
        if estimators is None:
            from posture.pose.estimator import open_estimator as estimators
        self.config = config
        self.estimators: EstimatorFactory = estimators

    # -- the stages ------------------------------------------------------------------------------

    def open_estimator(self, *, video: bool, sampled: bool = False) -> PoseEstimator:
        """The pose stage, a context manager (the model is released when it ends)."""
        a = self.config.analysis
        return self.estimators(a.model, video=video, model_complexity=a.model_complexity, sampled=sampled)

    def measure(self, pose: Pose | None) -> RawMeasurement:
        """The metrics stage's raw values of one pose (before smoothing and judgement)."""
        return measure(pose, self.config.metrics)

    def analyzer(self, baseline: Baseline | None = None, *, smoothing: bool = True) -> PostureAnalyzer:
        """Metrics and smoothing; ``smoothing=False`` for still photos, each judged on its own."""
        s = self.config.smoothing if smoothing else dataclasses.replace(self.config.smoothing, enabled=False)
        return PostureAnalyzer(self.config.metrics, s, baseline)

    def session(self, baseline: Baseline | None = None, *, step_s: float = 0.0) -> Session:
        """Metrics, smoothing and the sustained-posture detector: what every use over time runs.
        ``step_s`` is the sampling's step while someone is there (a recording's sample step)."""
        return Session(self.analyzer(baseline), self.config.detector, step_s=step_s)

    # -- recorded media --------------------------------------------------------------------------

    def analyze_video(
        self,
        path: Path,
        *,
        baseline: Baseline | None = None,
        calibrate_first_s: float | None = None,
        progress: ProgressFn | None = None,
        workers: int = 1,
        info: VideoInfo | None = None,
    ) -> AnalysisResult:
        """Run the whole pipeline over a recorded video as fast as the machine allows.

        ``calibrate_first_s`` takes the baseline from the clip's first seconds (the readings of
        those frames are then assessed against it too). ``workers`` > 1 splits the video into that
        many time chunks estimated in parallel processes; the sequential stages then run over the
        merged poses, so the result means the same as a single pass.
        """
        from posture.pose.parallel import estimate_video
        from posture.sources.media import VideoFileSource

        started = time.monotonic()
        cfg = self.config.analysis
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
        run = estimate_video(
            path,
            cfg,
            info,
            workers=workers,
            progress=progress,
            estimators=self.estimators,
            changed=VerdictChange(self.config.metrics, self.config.detector.release_severity)
            if cfg.refine
            else None,
        )
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
        self.judge(result, run.times, run.poses, baseline=baseline, calibrate_first_s=calibrate_first_s)
        result.wall_s = time.monotonic() - started
        log.info(
            "metrics and detector: %d readings, %d episode(s) with an alert in %.2f s",
            len(result.readings),
            len(result.episodes),
            result.wall_s - estimated_s,
        )
        return result

    def judge(
        self,
        result: AnalysisResult,
        times: Sequence[float],
        poses: Sequence[Pose | None],
        *,
        baseline: Baseline | None = None,
        calibrate_first_s: float | None = None,
    ) -> AnalysisResult:
        """Everything after the pose model, over a video's poses in time order: the set-up
        checks and calibration, then metrics, smoothing and the detector, into ``result``.
        (``bench/`` replays cached poses through this to judge clips without the model.)"""
        raws = [self.measure(pose) for pose in poses]
        baseline = self._calibration(result, raws, times, baseline, calibrate_first_s)
        session = self.session(baseline, step_s=result.info.sample_step_s(result.sample_fps))
        for t_s, pose, raw in zip(times, poses, raws, strict=False):
            reading, events = session.step(t_s, raw)
            result.readings.append(reading)
            result.poses.append(pose)
            result.events.extend(events)
        end_t = result.readings[-1].t_s if result.readings else 0.0
        result.events.extend(session.finish(end_t))
        result.episodes = list(session.detector.episodes)
        result.readings = settle_alerts(result.readings, result.episodes)  # no alert outside an episode
        return result

    def _calibration(
        self,
        result: AnalysisResult,
        raws: Sequence[RawMeasurement],
        times: Sequence[float],
        baseline: Baseline | None,
        calibrate_first_s: float | None,
    ) -> Baseline | None:
        """The baseline the session will use, with the set-up warnings in ``result.warnings``."""
        metrics = self.config.metrics
        result.warnings = _setup_warnings(raws, times, result.info, metrics, baseline, calibrate_first_s)
        if calibrate_first_s is not None:
            first = [r for t, r in zip(times, raws, strict=False) if t < calibrate_first_s]
            source = f"{result.source.name}, first {calibrate_first_s:g} s"
            baseline = baseline_from_measurements(first, source=source)
            result.calibrated_from = f"first {calibrate_first_s:g} s"
            log.info(
                "baseline from the first %g s: %s view, %d frames",
                calibrate_first_s,
                baseline.view,
                baseline.frames,
            )
            result.warnings += setup_check.baseline_warnings(baseline, metrics)
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
        return baseline

    def measure_images(
        self, paths: Sequence[Path], baseline: Baseline | None = None
    ) -> Iterator[ImageResult]:
        """One reading per still image, each detected afresh (no tracking, no smoothing)."""
        from posture.pose.estimator import estimate_still
        from posture.sources.media import ImageSource

        analyzer = self.analyzer(baseline, smoothing=False)
        with self.open_estimator(video=False) as est:
            for path in paths:
                with ImageSource(path) as src:
                    frame = next(iter(src))
                pose = estimate_still(est, frame)
                yield ImageResult(path, analyzer.reading(0.0, analyzer.raw(pose)), pose)

    def baseline_from_image(self, path: Path) -> Baseline:
        """A baseline from one photo of the user's good posture."""
        from posture.pose.estimator import estimate_still
        from posture.sources.media import ImageSource

        with ImageSource(path) as src, self.open_estimator(video=False) as est:
            pose = estimate_still(est, next(iter(src)))
        return baseline_from_measurements([self.measure(pose)], source=str(path))

    def load_baseline(self, spec: Path) -> Baseline:
        """``--baseline``: a saved JSON profile, or an image of good posture."""
        from posture.sources.media import check_media_path, is_image_file

        check_media_path(spec)
        if spec.suffix.lower() != ".json" and is_image_file(spec):
            return self.baseline_from_image(spec)
        neither = BaselineError(f"{spec} is neither an image nor a baseline profile (.json)")
        try:
            st = spec.stat()
            if stat.S_ISREG(st.st_mode):  # anything else: Baseline.load says what it is
                if st.st_size > MAX_PROFILE_BYTES:  # a video, say: never read into memory
                    raise neither
                spec.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise neither from None
        except OSError:
            pass  # Baseline.load names what is wrong
        return Baseline.load(spec)


def _setup_warnings(
    raws: Sequence[RawMeasurement],
    times: Sequence[float],
    info: VideoInfo,
    metrics: MetricsConfig,
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
            out += setup_check.baseline_warnings(baseline, metrics)
    face = setup_check.only_face_warning(raws)
    if face:
        out.append(face)
    return out


@dataclass(frozen=True)
class VerdictChange:
    """Whether the posture clearly changed between two consecutive samples of a video, judged on
    their raw measurements (without a baseline): someone came or went, the view changed, or the
    worst finding went from clearly better (below the detector's ``release_severity``) to poor
    (1.0 or more) or back. Flicker around a threshold is not worth a closer look: the detector's
    hysteresis ignores it anyway. The parallel runner calls it to decide which frames between
    two samples to estimate too (:func:`posture.pose.parallel.estimate_video`)."""

    metrics: MetricsConfig
    release_severity: float  # DetectorConfig.release_severity: below it posture is clearly better

    def __call__(self, previous: Pose | None, current: Pose | None) -> bool:
        a, b = measure(previous, self.metrics), measure(current, self.metrics)
        if a.person != b.person or a.view != b.view:
            return True
        sa, sb = assess(a, self.metrics), assess(b, self.metrics)
        if (sa.posture is Verdict.UNCERTAIN) != (sb.posture is Verdict.UNCERTAIN):
            return True
        worst_a, worst_b = max(sa.findings.values()), max(sb.findings.values())
        return min(worst_a, worst_b) < self.release_severity and max(worst_a, worst_b) >= 1.0
