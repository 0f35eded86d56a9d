"""Calibration: a guided capture of the user's good posture, with live checks of the set-up.

``run_calibration`` reads a few seconds of frames, measures each sampled one and feeds a
:class:`CalibrationCheck`: is somebody there, are the shoulders and ears in the picture, is the
person holding still, is the lighting usable, and what the camera's view can measure. The baseline
is made only when every check passes. What is done with a baseline afterwards (the check right
after calibration, and whether a saved profile still fits a later session) is in
:mod:`posture.profile`.

The checks are pure (numpy only); the estimator is whatever the caller opened.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from posture.baseline import Baseline, baseline_from_measurements
from posture.config import CalibrationConfig, MetricsConfig
from posture.landmarks import Landmark as L
from posture.landmarks import Pose
from posture.metrics import RawMeasurement, measure
from posture.reading import View
from posture.sources.media import Frame

if TYPE_CHECKING:
    from posture.pose.estimator import PoseEstimator

__all__ = [
    "CHECK_NAMES",
    "CalibrationCheck",
    "CalibrationReport",
    "Check",
    "brightness",
    "run_calibration",
]

log = logging.getLogger(__name__)

CHECK_NAMES = ("person", "shoulders_and_ears", "steady", "lighting", "view")

# --- calibration checks ---------------------------------------------------------------------------
# Fewest frames the steadiness is judged on: one second at the default 5 fps. Before that the
# spread of a handful of samples means little.
MIN_STEADY_SAMPLES = 5
# Steadiness of the front view's scale-free quantities (face width, head height), as the
# interquartile range over the median: 5 % is where the leaning-in and head-drop bands start, so
# a calibration that wobbles more would itself read as a finding.
MAX_SPREAD_PCT = 5.0
# The commonest view must hold on this share of the usable frames: a baseline mixing a turn of
# the body with the calibrated posture would measure neither.
MIN_VIEW_SHARE = 0.8
# Angles whose steadiness matters, per view, with the body part a message names.
_STEADY_ANGLES: dict[View, tuple[tuple[str, str], ...]] = {
    View.SIDE: (("neck_inclination_deg", "your head"), ("trunk_inclination_deg", "your upper body")),
    View.FRONT: (
        ("shoulder_tilt_deg", "your shoulders"),
        ("head_roll_deg", "your head"),
        ("trunk_side_lean_deg", "your upper body"),
    ),
}
_STEADY_ANGLES[View.OBLIQUE] = _STEADY_ANGLES[View.SIDE] + _STEADY_ANGLES[View.FRONT]
_STEADY_RATIOS = (("face_width_frac", "your head"), ("head_height_ratio", "your head"))


@dataclass(frozen=True)
class Check:
    """One calibration check: its name (see ``CHECK_NAMES``), whether it passed, and what to do."""

    name: str
    ok: bool
    message: str


@dataclass(frozen=True)
class CalibrationReport:
    ok: bool
    checks: tuple[Check, ...]
    frames: int = 0  # sampled frames judged

    def check(self, name: str) -> Check:
        """The check called ``name``."""
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.ok)


def brightness(image: np.ndarray) -> float:
    """Mean grey level (0-255) of a BGR or grey image, read from a subsampled copy (~160 px wide)."""
    if image.size == 0:
        return 0.0
    h, w = image.shape[:2]
    step = max(1, max(h, w) // 160)
    small = np.asarray(image[::step, ::step], dtype=np.float32)
    if small.ndim == 3 and small.shape[2] >= 3:
        # ITU-R BT.601 luma, as OpenCV's BGR2GRAY computes it.
        grey = 0.114 * small[..., 0] + 0.587 * small[..., 1] + 0.299 * small[..., 2]
    else:
        grey = small.reshape(small.shape[0], small.shape[1], -1)[..., 0]
    return float(grey.mean())


def _iqr(xs: Sequence[float]) -> float:
    q1, q3 = np.percentile(np.asarray(xs, dtype=np.float64), [25.0, 75.0])
    return float(q3 - q1)


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


class CalibrationCheck:
    """Running quality checks over a calibration capture; ``add`` one sampled frame at a time."""

    def __init__(self, cal: CalibrationConfig | None = None) -> None:
        self.cal = cal or CalibrationConfig()
        self._brightness: list[float] = []  # mean grey level of each sampled frame
        self._with_person = 0  # sampled frames with a person found, sitting
        self._standing = 0  # sampled frames with a person standing up
        self._no_shoulders = 0  # person frames whose shoulders are unseen
        self._no_ears = 0  # person frames whose ears are unseen (shoulders seen)
        self._no_head = 0  # of those, frames where the nose is unseen too: the head is out of the picture
        self._usable: list[RawMeasurement] = []  # person frames with shoulders and ears in view

    @property
    def frames(self) -> int:
        return len(self._brightness)

    @property
    def usable(self) -> list[RawMeasurement]:
        """The measurements of the frames that passed the visibility check (for the baseline)."""
        return list(self._usable)

    def add(self, frame_brightness: float, raw: RawMeasurement, pose: Pose | None) -> None:
        """One sampled frame: its brightness, its measurement and the pose it came from."""
        self._brightness.append(float(frame_brightness))
        if pose is None or not raw.person:
            return
        # measure() marks a person who stands (rather than sits at the desk) where it can tell.
        if getattr(raw, "standing", False):
            self._standing += 1
            return
        self._with_person += 1
        v = self.cal.min_visibility
        shoulders = pose.visibility[[L.LEFT_SHOULDER, L.RIGHT_SHOULDER]]
        ears = pose.visibility[[L.LEFT_EAR, L.RIGHT_EAR]]
        # A front view measures across both sides; in profile the far side may hide behind the near.
        both = raw.view is View.FRONT
        if (shoulders.min() if both else shoulders.max()) < v:
            self._no_shoulders += 1
        elif (ears.min() if both else ears.max()) < v:
            self._no_ears += 1
            if pose.visibility[L.NOSE] < v:
                self._no_head += 1
        else:
            self._usable.append(raw)

    def report(self) -> CalibrationReport:
        """The checks as they stand now."""
        checks = (
            self._person(),
            self._shoulders_and_ears(),
            self._steady(),
            self._lighting(),
            self._view(),
        )
        return CalibrationReport(all(c.ok for c in checks), checks, self.frames)

    def _person(self) -> Check:
        if self.frames == 0:
            return Check("person", False, "No picture yet: waiting for the camera")
        if _share(self._with_person, self.frames) >= self.cal.min_frames_with_person:
            return Check("person", True, "You are in the picture")
        missing = self.frames - self._with_person  # frames without a seated person
        if self._standing * 2 > missing:
            return Check("person", False, "You are standing: sit as you do at your desk")
        if self._with_person == 0:
            return Check("person", False, "Nobody in the picture: sit in front of the camera")
        return Check(
            "person",
            False,
            "You were out of the picture for part of the capture: stay in front of the camera",
        )

    def _shoulders_and_ears(self) -> Check:
        name = "shoulders_and_ears"
        if self._with_person == 0:
            return Check(name, False, "Sit in front of the camera so your shoulders and ears can be seen")
        if _share(len(self._usable), self._with_person) >= self.cal.min_frames_with_person:
            return Check(name, True, "Your shoulders and ears are in the picture")
        if self._no_shoulders >= self._no_ears:
            return Check(
                name, False, "Your shoulders are out of the picture: move the camera back or lower it"
            )
        if self._no_head * 2 >= self._no_ears:
            return Check(name, False, "Your head is out of the picture: raise the camera or tilt it up")
        return Check(name, False, "Your ears are hidden: keep hair, a hood or large headphones off them")

    def _main_view(self) -> tuple[View | None, float]:
        """The commonest view among the usable frames and its share of them."""
        if not self._usable:
            return None, 0.0
        counts = Counter(r.view for r in self._usable)
        view, n = counts.most_common(1)[0]
        return view, n / len(self._usable)

    def _steady(self) -> Check:
        hold = "Hold still for a few seconds"
        view, _ = self._main_view()
        chosen = [r for r in self._usable if r.view is view]
        if view is None or view is View.UNKNOWN or len(chosen) < MIN_STEADY_SAMPLES:
            return Check("steady", False, hold)
        worst: tuple[float, str, str] | None = None  # (excess over its limit, part, what moved)
        for key, part in _STEADY_ANGLES[view]:
            xs = [x for r in chosen if (x := r.values.get(key)) is not None and math.isfinite(x)]
            if len(xs) < MIN_STEADY_SAMPLES:
                continue
            spread = _iqr(xs)
            if spread >= self.cal.max_spread_deg:
                excess = spread / self.cal.max_spread_deg
                if worst is None or excess > worst[0]:
                    worst = (excess, part, f"by {spread:.0f}°")
        if view in (View.FRONT, View.OBLIQUE):
            for key, part in _STEADY_RATIOS:
                xs = [x for r in chosen if (x := r.values.get(key)) is not None and math.isfinite(x)]
                if len(xs) < MIN_STEADY_SAMPLES or abs(float(np.median(xs))) < 1e-9:
                    continue
                spread_pct = 100.0 * _iqr(xs) / abs(float(np.median(xs)))
                if spread_pct >= MAX_SPREAD_PCT:
                    excess = spread_pct / MAX_SPREAD_PCT
                    if worst is None or excess > worst[0]:
                        worst = (excess, part, "toward or away from the camera")
        if worst is not None:
            return Check("steady", False, f"{hold}: {worst[1]} moved {worst[2]}")
        return Check("steady", True, "You held still")

    def _lighting(self) -> Check:
        if not self._brightness:
            return Check("lighting", False, "No picture yet: waiting for the camera")
        level = float(np.median(self._brightness))
        if level < self.cal.min_brightness:
            return Check("lighting", False, "Too dark: turn on a light in front of you")
        if level > self.cal.max_brightness:
            return Check(
                "lighting",
                False,
                "Too bright: close the blind or move the lamp that shines into the camera",
            )
        return Check("lighting", True, "The lighting is fine")

    def _view(self) -> Check:
        view, share = self._main_view()
        if view is None:
            return Check("view", False, "Waiting to see which way the camera sees you")
        if share < MIN_VIEW_SHARE:
            return Check("view", False, "You turned during the capture: keep facing the same way")
        if view is View.SIDE:
            message = "The camera sees you from the side: neck and upper-back angles are measured in degrees"
            chosen = [r for r in self._usable if r.view is View.SIDE]
            trunk = sum(r.values.get("trunk_inclination_deg") is not None for r in chosen)
            if trunk * 2 < len(chosen):
                message += (
                    "; your hips are out of the picture, so the upper-back angle is not measured: "
                    "move the camera back to include them"
                )
            return Check("view", True, message)
        if view is View.FRONT:
            return Check(
                "view",
                True,
                "The camera sees you from the front: leaning in, head drop and sideways lean are "
                "measured relative to this calibration; for neck and upper-back angles in degrees, "
                "put the camera to your side",
            )
        if view is View.OBLIQUE:
            # Usable (an oblique view is judged against its own baseline), so the check passes,
            # but the angles are foreshortened: say how to do better.
            return Check(
                "view",
                True,
                "The camera sees you at an angle: angles are foreshortened and judged only against "
                "this calibration; turn the camera to a true side view for angles in degrees, "
                "or face it squarely",
            )
        return Check(
            "view",
            False,
            "The camera cannot tell which way you face: face it squarely or put it to your side",
        )


def run_calibration(
    frames: Iterable[Frame],
    estimator: PoseEstimator,
    cal: CalibrationConfig,
    metrics: MetricsConfig,
    *,
    on_check: Callable[[CalibrationReport], None] | None = None,
) -> tuple[Baseline | None, CalibrationReport]:
    """Capture ``cal.seconds`` of source time, checking it live; the baseline if every check passes.

    ``cal`` is the calibration section, ``metrics`` the section the frames are measured with.
    Frames are sampled at ``cal.sample_fps`` from their own timestamps; ``estimator`` is an opened
    pose estimator (``estimate(frame) -> Pose | None``). ``on_check`` receives the running report
    about once a second. The iterator is not closed, so the caller may go on reading it (for
    :func:`posture.profile.validate`).
    """
    check = CalibrationCheck(cal)
    step = 1.0 / cal.sample_fps
    t0: float | None = None
    next_t = 0.0  # source time of the next sample, relative to t0
    next_report_t = 1.0  # relative source time of the next running report
    for frame in frames:
        if t0 is None:
            t0 = frame.t_s
        t = frame.t_s - t0
        if t >= cal.seconds:
            break
        if t + 1e-3 < next_t:
            continue
        next_t = next_t + step if t < next_t + step else t + step
        pose = estimator.estimate(frame)
        check.add(brightness(frame.image), measure(pose, metrics), pose)
        if on_check is not None and t >= next_report_t:
            on_check(check.report())
            next_report_t = math.floor(t) + 1.0
    report = check.report()
    if not report.ok:
        log.info("calibration failed: %s", "; ".join(c.message for c in report.failed))
        return None, report
    baseline = baseline_from_measurements(check.usable, source=f"calibration, {cal.seconds:g} s")
    log.info("calibrated: %s view from %d frames", baseline.view, baseline.frames)
    return baseline, report
