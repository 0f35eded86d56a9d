"""Calibration: a guided capture of the user's good posture, with live checks of the set-up.

``run_calibration`` reads a few seconds of frames, measures each sampled one and feeds a
:class:`CalibrationCheck`: is somebody there, are the shoulders and ears in the picture, is the
person holding still, is the lighting usable, and what the camera's view can measure. The baseline
is made only when every check passes. ``validate`` is a short pass right after calibration that
the fresh baseline reads the same posture as good; ``profile_fit`` tells, at the start of a later
session, whether a saved profile still fits the camera set-up before the user is blamed for a
camera that moved.

The checks are pure (numpy only); the estimator is whatever the caller opened.
"""

from __future__ import annotations

import logging
import math
import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from posture.baseline import Baseline, baseline_from_measurements
from posture.config import Config
from posture.errors import ConfigError
from posture.findings import FINDING_CODES, FINDING_WORDS
from posture.geometry import View
from posture.landmarks import Landmark as L
from posture.landmarks import Pose
from posture.metrics import RawMeasurement, assess, measure
from posture.reading import Verdict
from posture.sources.media import Frame

if TYPE_CHECKING:
    from posture.pose.estimator import PoseEstimator

__all__ = [
    "CHECK_NAMES",
    "CONFIG_DIR_ENV",
    "CalibrationCheck",
    "CalibrationConfig",
    "CalibrationReport",
    "Check",
    "Fit",
    "Validation",
    "brightness",
    "default_profile_path",
    "profile_fit",
    "run_calibration",
    "validate",
]

log = logging.getLogger(__name__)

CONFIG_DIR_ENV = "POSTURE_CONFIG_DIR"  # a folder that replaces the platform's user config folder
PROFILE_NAME = "profile.json"
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

# --- validation right after calibration -----------------------------------------------------------
VALIDATION_MIN_GOOD_SHARE = 0.8  # the posture must read good on this share of the frames
VALIDATION_MAX_MEDIAN_SEVERITY = 0.5  # and no finding's median may reach half its threshold

# --- profile fit at the start of a later session --------------------------------------------------
# The caller passes the session's first PROFILE_CHECK_S seconds. A mismatch must hold on nearly
# every frame of them (PROFILE_STEADY_SHARE): a glance, a stretch or leaning in for a moment at
# the start of a session must never be taken for a moved camera, and a user who sits down badly
# is blamed as usual once the posture changes within those seconds.
PROFILE_CHECK_S = 10.0
PROFILE_MIN_FRAMES = 10  # fewer frames with a person than this: too little to tell, assume it fits
PROFILE_STEADY_SHARE = 0.9
PROFILE_VIEW_SHARE = 0.5  # the view differs from the profile's on most frames
# Face width (a proxy for the distance to the camera) relative to the profile. Leaning in, the
# former synthetic front-view demo clip's face grew 40 %; 60 % bigger or 40 % smaller held from
# the first second is a seat or camera at another distance, not a posture.
FACE_WIDTH_RATIO_RANGE = (0.6, 1.6)
# Head height over shoulder width relative to the profile. A full slump alone takes it to about
# half (the former synthetic demo clip: -48 %), so the lower end is generous: a slump must stay
# the user's fault.
# Moving the camera up or down changes it less than a slump does, so only a gross change counts.
HEAD_HEIGHT_RATIO_RANGE = (0.4, 1.6)
# Side view: the trunk's inclination relative to the profile. A hunch reaches the finding's
# threshold at 15° over the baseline; 25° held from the first second, never moving back, is
# likelier a tilted or re-placed camera (a rolled camera turns every angle by the same amount).
SIDE_TRUNK_OFF_DEG = 25.0
# Without visible hips the neck angle stands in, with more room: a forward head alone moves it by
# 20° and more.
SIDE_NECK_OFF_DEG = 35.0
MOVED_ADVICE = "the camera or your seat seems to have moved since calibration: run posture calibrate again"


@dataclass(frozen=True)
class CalibrationConfig:
    """How a calibration capture is taken and what it must satisfy."""

    seconds: float = 8.0  # length of the capture, in seconds of source time
    sample_fps: float = 5.0  # frames analysed per second
    min_visibility: float = 0.6  # shoulders and ears must be seen at least this well
    max_spread_deg: float = 3.0  # steadiness: interquartile range of each key angle
    min_brightness: float = 45.0  # mean grey level, 0-255
    max_brightness: float = 215.0
    # Share of the sampled frames that must show the person, and of those, the share that must
    # show the shoulders and ears.
    min_frames_with_person: float = 0.8

    def __post_init__(self) -> None:
        if self.seconds <= 0 or self.sample_fps <= 0:
            raise ConfigError("calibration seconds and sample_fps must be positive")
        if not 0.0 < self.min_visibility < 1.0:
            raise ConfigError("calibration min_visibility must be between 0 and 1")
        if self.max_spread_deg <= 0:
            raise ConfigError("calibration max_spread_deg must be positive")
        if not 0.0 <= self.min_brightness < self.max_brightness <= 255.0:
            raise ConfigError("calibration brightness limits must satisfy 0 <= min < max <= 255")
        if not 0.0 < self.min_frames_with_person <= 1.0:
            raise ConfigError("calibration min_frames_with_person must be a share in (0, 1]")


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
    config: Config,
    cal: CalibrationConfig,
    *,
    on_check: Callable[[CalibrationReport], None] | None = None,
) -> tuple[Baseline | None, CalibrationReport]:
    """Capture ``cal.seconds`` of source time, checking it live; the baseline if every check passes.

    Frames are sampled at ``cal.sample_fps`` from their own timestamps; ``estimator`` is an opened
    pose estimator (``estimate(frame) -> Pose | None``). ``on_check`` receives the running report
    about once a second. The iterator is not closed, so the caller may go on reading it (for
    :func:`validate`).
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
        check.add(brightness(frame.image), measure(pose, config.metrics), pose)
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


@dataclass(frozen=True)
class Validation:
    """Whether the posture held during calibration reads good against the new baseline."""

    ok: bool
    message: str
    good_share: float = 0.0  # share of the frames whose verdict is good
    severities: dict[str, float] = field(default_factory=dict)  # median severity per finding
    frames: int = 0


def validate(baseline: Baseline, raws: Sequence[RawMeasurement], config: Config) -> Validation:
    """A short pass right after calibration: does the same good posture read good against it?

    Ok when at least 80 % of the frames read good and no finding's median severity (over the frames
    with a person) exceeds 0.5.
    """
    if not raws:
        return Validation(False, "No frames to check the calibration with: calibrate again")
    assessments = [assess(r, config.metrics, baseline.values) for r in raws]
    good = sum(a.posture is Verdict.GOOD for a in assessments)
    good_share = good / len(raws)
    present = [a for a in assessments if a.posture is not Verdict.AWAY]
    severities = {
        code: float(np.median([a.findings[code] for a in present])) if present else 0.0
        for code in FINDING_CODES
    }
    high = [c for c in FINDING_CODES if severities[c] > VALIDATION_MAX_MEDIAN_SEVERITY]
    ok = good_share >= VALIDATION_MIN_GOOD_SHARE and not high
    pct = f"{100.0 * good_share:.0f} %"
    if ok:
        message = f"Your posture reads good against the new calibration on {pct} of the frames"
    elif len(present) < VALIDATION_MIN_GOOD_SHARE * len(raws):
        message = "You were out of the picture during the check: sit as you did during calibration"
    elif high:
        words = ", ".join(FINDING_WORDS.get(c, c) for c in high)
        message = f"Your posture reads {words}: sit as you did during calibration, or calibrate again"
    elif sum(a.posture is Verdict.UNCERTAIN for a in present) * 2 >= len(present):
        message = "Your posture could not be judged on most frames: calibrate again"
    else:
        message = (
            f"Your posture read good on only {pct} of the frames: sit as you did during calibration, "
            "or calibrate again"
        )
    return Validation(ok, message, good_share, severities, len(raws))


@dataclass(frozen=True)
class Fit:
    """Whether a saved profile still fits the camera set-up; ``reason`` names what does not."""

    fits: bool
    message: str
    reason: str = ""  # "", "view", "face_width", "head_height", "trunk" or "neck"
    frames: int = 0  # frames with a person that were compared


def _steady_ratio(values: list[float], lo: float, hi: float) -> float | None:
    """The median ratio when nearly every ratio lies outside [lo, hi] on the same side, else None."""
    if len(values) < PROFILE_MIN_FRAMES:
        return None
    median = float(np.median(values))
    if lo <= median <= hi:
        return None
    off = sum((x < lo) if median < lo else (x > hi) for x in values)
    return median if off >= PROFILE_STEADY_SHARE * len(values) else None


def _steady_offset(values: list[float], limit: float) -> float | None:
    """The median difference when nearly every difference exceeds ``limit`` in the same direction."""
    if len(values) < PROFILE_MIN_FRAMES:
        return None
    median = float(np.median(values))
    if abs(median) <= limit:
        return None
    off = sum(abs(x) > limit and (x > 0) == (median > 0) for x in values)
    return median if off >= PROFILE_STEADY_SHARE * len(values) else None


def _values(raws: Sequence[RawMeasurement], key: str) -> list[float]:
    return [x for r in raws if (x := r.values.get(key)) is not None and math.isfinite(x)]


def profile_fit(baseline: Baseline, raws: Sequence[RawMeasurement]) -> Fit:
    """Whether a saved profile still fits, judged on a session's first frames (about 10 s).

    It does not fit when most frames show another view than the profile's, or when a scale-free
    reference (front: face width, head height; side: trunk, else neck inclination) is off by a
    large amount on nearly every frame from the start: that is a moved camera or seat, not a
    posture, and the user should recalibrate rather than be told off.
    """
    seen = [r for r in raws if r.person and r.view is not View.UNKNOWN]
    if len(seen) < PROFILE_MIN_FRAMES:
        return Fit(True, "Too few frames with you in them to tell whether the profile fits", "", len(seen))
    others = Counter(r.view.value for r in seen if r.view.value != baseline.view)
    if others and sum(others.values()) > PROFILE_VIEW_SHARE * len(seen):
        now = others.most_common(1)[0][0]
        detail = f"The camera sees you {_view_words(now)} now, {_view_words(baseline.view)} at calibration"
        return Fit(False, _moved(detail), "view", len(seen))
    same = [r for r in seen if r.view.value == baseline.view]
    ref = baseline.values
    if baseline.view in ("front", "oblique"):
        for key, (lo, hi), what in (
            ("face_width_frac", FACE_WIDTH_RATIO_RANGE, "Your face looks {:.1f} times its calibrated size"),
            (
                "head_height_ratio",
                HEAD_HEIGHT_RATIO_RANGE,
                "Your head sits {:.1f} times as high as calibrated",
            ),
        ):
            r0 = ref.get(key)
            if r0 is None or abs(r0) < 1e-9:
                continue
            ratio = _steady_ratio([x / r0 for x in _values(same, key)], lo, hi)
            if ratio is not None:
                reason = key.removesuffix("_frac").removesuffix("_ratio")
                return Fit(False, _moved(what.format(ratio)), reason, len(seen))
    if baseline.view in ("side", "oblique"):
        for key, limit, part in (
            ("trunk_inclination_deg", SIDE_TRUNK_OFF_DEG, "upper body"),
            ("neck_inclination_deg", SIDE_NECK_OFF_DEG, "neck"),
        ):
            r0 = ref.get(key)
            xs = _values(same, key)
            if r0 is None or len(xs) < PROFILE_MIN_FRAMES:
                continue  # the neck stands in only when the trunk cannot be compared
            offset = _steady_offset([x - r0 for x in xs], limit)
            if offset is not None:
                way = "forward" if offset > 0 else "back"
                detail = f"Your {part} reads {abs(offset):.0f}° {way} of its calibrated angle"
                return Fit(False, _moved(detail), key.split("_")[0], len(seen))
            break
    return Fit(True, "The saved profile fits the camera set-up", "", len(seen))


def _moved(detail: str) -> str:
    return f"{detail}; {MOVED_ADVICE}"


def _view_words(view: str) -> str:
    return {"oblique": "at an angle", "side": "from the side", "front": "from the front"}.get(view, view)


def default_profile_path() -> Path:
    """``$POSTURE_CONFIG_DIR/profile.json``, else ``profile.json`` in the platform's user config folder."""
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override).expanduser() / PROFILE_NAME
    import platformdirs

    return platformdirs.user_config_path("posture") / PROFILE_NAME
