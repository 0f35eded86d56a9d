"""A calibrated profile in use: checked right after calibration, and against later sessions.

``validate`` is a short pass right after calibration that the fresh baseline reads the same
posture as good (only a profile that passes is saved); ``profile_fit`` tells, at the start of a
later session, whether a saved profile still fits the camera set-up before the user is blamed for
a camera that moved. The profile file itself is :class:`posture.baseline.Baseline`, saved at
:func:`posture.paths.profile_path`. Pure: numpy only.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from posture.baseline import Baseline
from posture.config import MetricsConfig
from posture.findings import FINDING_CODES, FINDING_WORDS
from posture.metrics import RawMeasurement, assess
from posture.reading import Verdict, View

__all__ = ["PROFILE_CHECK_S", "Fit", "Validation", "profile_fit", "validate"]

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
class Validation:
    """Whether the posture held during calibration reads good against the new baseline."""

    ok: bool
    message: str
    good_share: float = 0.0  # share of the frames whose verdict is good
    severities: dict[str, float] = field(default_factory=dict)  # median severity per finding
    frames: int = 0


def validate(baseline: Baseline, raws: Sequence[RawMeasurement], metrics: MetricsConfig) -> Validation:
    """A short pass right after calibration: does the same good posture read good against it?

    Ok when at least 80 % of the frames read good and no finding's median severity (over the frames
    with a person) exceeds 0.5.
    """
    if not raws:
        return Validation(False, "No frames to check the calibration with: calibrate again")
    assessments = [assess(r, metrics, baseline.values) for r in raws]
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
    others = Counter(r.view for r in seen if r.view is not baseline.view)
    if others and sum(others.values()) > PROFILE_VIEW_SHARE * len(seen):
        now = others.most_common(1)[0][0]
        detail = f"The camera sees you {_view_words(now)} now, {_view_words(baseline.view)} at calibration"
        return Fit(False, _moved(detail), "view", len(seen))
    same = [r for r in seen if r.view is baseline.view]
    ref = baseline.values
    if baseline.view in (View.FRONT, View.OBLIQUE):
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
    if baseline.view in (View.SIDE, View.OBLIQUE):
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


def _view_words(view: View) -> str:
    return {View.OBLIQUE: "at an angle", View.SIDE: "from the side", View.FRONT: "from the front"}.get(
        view, view.value
    )
