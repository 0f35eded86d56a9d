"""What a session's set-up allows, said once and plainly: no silent mismatch.

Pure: raw measurements and a baseline in, one-line warnings out. ``analyze`` writes them into
summary.json and prints them; ``monitor`` logs them as they become true. Each names the problem
and what to do about it:

- a calibration window longer than the clip (the baseline then holds poor frames too);
- a baseline from another view than the video shows (its references cannot apply);
- a baseline that itself looks poor, or that no seated body could give;
- a camera that sees only the face (no shoulders: nothing to judge);
- a front view without a baseline (a forward head cannot be seen from the front on its own).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from posture.baseline import Baseline
from posture.config import MetricsConfig
from posture.findings import FINDING_WORDS
from posture.metrics import RawMeasurement, assess, implausible_reason
from posture.reading import Verdict, View

__all__ = [
    "NO_BODY_PROBLEMS",
    "baseline_warnings",
    "calibration_window_warning",
    "front_without_baseline_warning",
    "only_face_warning",
    "view_mismatch_warning",
]

# Problems that mean the camera does not show the upper body.
NO_BODY_PROBLEMS = frozenset(
    {"only the face in the picture", "shoulders not seen", "shoulders out of the picture"}
)
# Share of the frames with a person above which a condition counts as the session's.
MOST = 0.5


def _views(raws: Sequence[RawMeasurement]) -> Counter[View]:
    return Counter(r.view for r in raws if r.person and r.view is not View.UNKNOWN)


def calibration_window_warning(calibrate_first_s: float, clip_s: float) -> str | None:
    if calibrate_first_s <= clip_s:
        return None
    return (
        f"calibrating on the first {calibrate_first_s:g} s, longer than the clip ({clip_s:.1f} s): the "
        "baseline comes from the whole clip, poor posture included; use a few seconds of good posture"
    )


def view_mismatch_warning(baseline: Baseline, raws: Sequence[RawMeasurement]) -> str | None:
    """The baseline's view against the view most of the frames show."""
    views = _views(raws)
    if not views or baseline.view not in (View.SIDE, View.FRONT):
        return None
    view, n = views.most_common(1)[0]
    if view == baseline.view or n <= MOST * sum(views.values()):
        return None
    article = "an" if view is View.OBLIQUE else "a"
    return (
        f"the baseline was taken from a {baseline.view} view but the video shows {article} {view} view: "
        "it cannot apply, so posture is judged without it; calibrate from this camera"
    )


def baseline_warnings(baseline: Baseline, config: MetricsConfig) -> list[str]:
    """A baseline that no seated body could give, or that already shows poor posture."""
    view = baseline.view
    raw = RawMeasurement(True, view, dict(baseline.values))
    problem = implausible_reason(baseline.values)
    if problem is not None:
        return [f"the baseline is implausible ({problem}): calibrate again, sitting well in view"]
    if view is not View.SIDE:
        return []  # a front baseline is the reference itself: nothing absolute to judge it by
    a = assess(raw, config)
    if a.posture is Verdict.POOR:
        worst = max(a.findings, key=lambda k: a.findings[k])
        return [
            f"the baseline itself looks poor ({FINDING_WORDS[worst]}): findings measured against it "
            "will miss that; calibrate again sitting well"
        ]
    return []


def only_face_warning(raws: Sequence[RawMeasurement]) -> str | None:
    present = [r for r in raws if r.person and not r.standing]
    if not present:
        return None
    faces = sum(1 for r in present if r.problem in NO_BODY_PROBLEMS)
    if faces <= MOST * len(present):
        return None
    return (
        "the camera sees only your face on most frames: posture needs your shoulders in the picture "
        "(move the camera back or lower it)"
    )


def front_without_baseline_warning(raws: Sequence[RawMeasurement]) -> str | None:
    views = _views(raws)
    if not views:
        return None
    view, n = views.most_common(1)[0]
    if view is not View.FRONT or n <= MOST * sum(views.values()):
        return None
    return (
        "the camera sees you from the front: without a baseline only a sideways lean is judged "
        "(everything else is uncertain); calibrate with posture calibrate, --baseline or --calibrate-first"
    )
