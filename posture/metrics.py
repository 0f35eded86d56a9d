"""From a pose to a reading: view-aware metrics, baseline deviations, findings and a verdict.

Pure numpy. Side view gives real sagittal degrees; front view gives lateral degrees plus
indicators relative to the user's baseline (estimates). Every metric is gated on the visibility of
the landmarks it uses. Two steps, so the pipeline can smooth in between:
``measure(pose)`` → raw values, ``assess(raw)`` → public metrics, findings and verdict.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from posture import geometry as geo
from posture.config import Band, FindingRules, MetricsConfig
from posture.findings import FINDING_CODES, Finding
from posture.geometry import View
from posture.landmarks import Pose
from posture.reading import ESTIMATE_METRICS, FRONT_METRICS, METRIC_NAMES, SIDE_METRICS, Verdict

__all__ = [
    "REFERENCE_KEYS",
    "SIDE_METRICS",
    "Assessment",
    "RawMeasurement",
    "assess",
    "implausible_reason",
    "measure",
]

# Raw quantities kept for baselines but not published as metrics (their units are not degrees).
REFERENCE_KEYS = ("face_width_frac", "head_height_ratio", "neck_sagittal_3d_deg", "shoulder_yaw_deg")

# An oblique view this close to a profile still shows the sagittal angles, foreshortened by the
# sine of the turn (at most 1/sin 45° = 1.41): corrected, they are judged as a side view's.
OBLIQUE_JUDGE_MIN_YAW_DEG = 45.0
# Beyond this change of the shoulders' turn from the baseline's, its front ratios do not apply.
MAX_TURN_FROM_BASELINE_DEG = 30.0


@dataclass(frozen=True)
class RawMeasurement:
    """What one pose shows before any baseline: the view and the raw values it allows."""

    person: bool
    view: View
    values: dict[str, float | None]
    standing: bool = False  # somebody is there but standing, not at the desk
    problem: str | None = None  # why the pose cannot be judged (then the verdict is uncertain)

    @classmethod
    def nobody(cls) -> RawMeasurement:
        return cls(False, View.UNKNOWN, {})


@dataclass(frozen=True)
class Assessment:
    metrics: dict[str, float | None]
    findings: dict[str, float]
    posture: Verdict
    estimated: frozenset[str]


def measure(pose: Pose | None, config: MetricsConfig) -> RawMeasurement:
    """The view and the raw side/front values of one pose (None: nobody in the frame).

    A pose that cannot be judged (head or shoulders unseen or out of the picture, angles no
    seated body makes) keeps its values for display but carries the reason in ``problem``, and
    is assessed as uncertain: implausible geometry never votes.
    """
    if pose is None:
        return RawMeasurement.nobody()
    vis = config.min_visibility
    view = geo.classify_view(pose, vis)
    if config.standing_is_away and geo.is_standing(pose, vis):
        return RawMeasurement(True, view, {}, standing=True)
    values: dict[str, float | None] = {}
    if view in (View.SIDE, View.OBLIQUE):
        values.update(geo.side_angles(pose, vis))
        neck, pitch = values.get("neck_inclination_deg"), values.get("head_pitch_deg")
        if neck is not None and pitch is not None:
            values["head_forward_deg"] = neck + HEAD_PITCH_WEIGHT * pitch
    if view in (View.FRONT, View.OBLIQUE):
        values.update(geo.front_angles(pose, vis))
        width = geo.face_width_px(pose, vis)
        values["face_width_frac"] = None if width is None else width / max(pose.image_size[0], 1)
        values["head_height_ratio"] = geo.head_height_ratio(pose, vis)
        values["neck_sagittal_3d_deg"] = geo.neck_sagittal_3d_deg(pose, vis)
    yaw = geo.shoulder_yaw_deg(pose)
    values["shoulder_yaw_deg"] = yaw
    values = {k: (x if x is None or math.isfinite(x) else None) for k, x in values.items()}
    problem = None if view is View.UNKNOWN else geo.upper_body_problem(pose, view, vis)
    if problem is None:
        problem = implausible_reason(values)
    return RawMeasurement(True, view, values, problem=problem)


# How much the face's downward pitch adds to the neck's lean in ``head_forward_deg``: looking
# down at a laptop or phone flexes the neck even when the ears stay over the shoulders.
HEAD_PITCH_WEIGHT = 0.5


def implausible_reason(v: Mapping[str, float | None]) -> str | None:
    """Why these values are no seated body's, or None when they could be."""

    def outside(name: str, lo: float, hi: float) -> bool:
        x = v.get(name)
        return x is not None and not lo <= x <= hi

    if outside("neck_inclination_deg", *geo.PLAUSIBLE_NECK_DEG):
        return "neck angle no seated person makes"
    if outside("trunk_inclination_deg", *geo.PLAUSIBLE_TRUNK_DEG):
        return "trunk angle of someone lying or upside down"
    tilt = geo.PLAUSIBLE_TILT_DEG
    if outside("shoulder_tilt_deg", -tilt, tilt) or outside("head_roll_deg", -2 * tilt, 2 * tilt):
        return "shoulders or head tilted beyond what sitting allows"
    lean = geo.PLAUSIBLE_SIDE_LEAN_DEG
    if outside("trunk_side_lean_deg", -lean, lean):
        return "trunk leaning sideways beyond what sitting allows"
    return None


def _pct_change(value: float | None, ref: float | None) -> float | None:
    if value is None or ref is None or abs(ref) < 1e-9:
        return None
    return 100.0 * (value - ref) / abs(ref)


def _delta(value: float | None, ref: float | None) -> float | None:
    return None if value is None or ref is None else value - ref


def _max_abs(*values: float | None) -> float | None:
    present = [abs(v) for v in values if v is not None]
    return max(present) if present else None


def assess(
    raw: RawMeasurement,
    config: MetricsConfig,
    baseline: Mapping[str, float | None] | None = None,
    *,
    habitual: Mapping[str, float | None] | None = None,
) -> Assessment:
    """Public metrics, findings (severity per code) and the frame's verdict.

    With a ``baseline`` (reference values of the user's good posture, same camera) findings come
    from deviations, which absorb camera tilt, model bias and the person's build. Without one, a
    side view is judged on absolute angles with thresholds fitted leave-one-source-out on many
    people (README, "Accuracy"); ``habitual`` (the person's own usual upright posture, learnt in
    the session: :class:`posture.baseline.HabitualReference`) adds the deviations from it. A
    front view without a baseline can judge only a sideways lean: otherwise it is uncertain.
    """
    metrics: dict[str, float | None] = dict.fromkeys(METRIC_NAMES)
    findings = dict.fromkeys(FINDING_CODES, 0.0)
    if not raw.person or raw.standing:  # nobody at the desk: gone, or standing up
        return Assessment(metrics, findings, Verdict.AWAY, frozenset())
    v = raw.values
    ref = baseline or {}
    for name in SIDE_METRICS + FRONT_METRICS:
        if name in v:
            metrics[name] = v[name]
    estimated: set[str] = {"head_pitch_deg", "head_forward_deg"} & {
        n for n in metrics if metrics[n] is not None
    }
    if raw.view is View.OBLIQUE:
        estimated.update(n for n in SIDE_METRICS + FRONT_METRICS if metrics[n] is not None)
    metrics["face_scale_pct"] = _pct_change(v.get("face_width_frac"), ref.get("face_width_frac"))
    drop = _pct_change(v.get("head_height_ratio"), ref.get("head_height_ratio"))
    metrics["head_drop_pct"] = None if drop is None else -drop
    metrics["neck_forward_3d_delta_deg"] = _delta(
        v.get("neck_sagittal_3d_deg"), ref.get("neck_sagittal_3d_deg")
    )
    estimated.update(n for n in ESTIMATE_METRICS if metrics[n] is not None)
    if raw.problem is not None:
        return Assessment(metrics, findings, Verdict.UNCERTAIN, frozenset(estimated))

    rules = config.rules
    judged = False
    complete = True  # whether every finding the view allows could be judged
    # An oblique view foreshortens the sagittal angles by about the sine of the shoulders' turn:
    # near a profile that is corrected and judged; further round, only against a baseline.
    yaw = v.get("shoulder_yaw_deg") or 0.0
    ref_yaw = ref.get("shoulder_yaw_deg")
    # A baseline fits only a body turned about as it was at calibration: a turn changes the
    # shoulder width every front ratio is measured against.
    turned = ref_yaw is not None and abs(yaw - ref_yaw) > MAX_TURN_FROM_BASELINE_DEG
    oblique_ok = raw.view is View.OBLIQUE and bool(baseline) and not turned
    near_profile = raw.view is View.OBLIQUE and yaw >= OBLIQUE_JUDGE_MIN_YAW_DEG
    if raw.view is View.SIDE or oblique_ok or near_profile:
        rel = ref if baseline else (habitual or {})
        # A calibration replaces the absolute limits where it has a value (its deviations absorb
        # the camera's tilt); the habitual reference only adds to them.
        absolute_ok = raw.view is View.SIDE or near_profile
        scale = math.sin(math.radians(yaw)) if raw.view is View.OBLIQUE and absolute_ok else 1.0
        judged |= _side_findings(
            metrics,
            rel,
            rules,
            findings,
            absolute=absolute_ok,
            calibrated=bool(baseline),
            foreshortening=scale,
        )
    if raw.view is View.FRONT and turned:
        complete = False  # the baseline's ratios no longer apply
    elif raw.view is View.FRONT or oblique_ok:
        front_judged, complete = _front_findings(metrics, ref, rules, findings, calibrated=bool(baseline))
        judged |= front_judged
    poor = any(sev >= 1.0 for sev in findings.values())
    if poor:
        return Assessment(metrics, findings, Verdict.POOR, frozenset(estimated))
    if not judged or not complete:
        # Nothing over a threshold, but the view could not show everything that matters (a front
        # view without a baseline sees no forward head): not "good", uncertain.
        return Assessment(metrics, findings, Verdict.UNCERTAIN, frozenset(estimated))
    return Assessment(metrics, findings, Verdict.GOOD, frozenset(estimated))


def _side_findings(
    m: Mapping[str, float | None],
    ref: Mapping[str, float | None],
    r: FindingRules,
    out: dict[str, float],
    *,
    absolute: bool = True,
    calibrated: bool = False,
    foreshortening: float = 1.0,
) -> bool:
    """Side-view findings: the absolute bands (unless ``absolute=False``: an oblique view far
    from a profile; with ``calibrated``, only for the angles the baseline has no value for) and,
    where ``ref`` has a value, the deviation bands. Each finding takes the larger of the two
    severities. ``foreshortening`` (the sine of the
    shoulders' turn, 1 in a true profile) undoes an oblique view's shrinking of the angles
    before the absolute bands see them."""
    neck = _unforeshortened(m["neck_inclination_deg"], foreshortening)
    trunk = _unforeshortened(m["trunk_inclination_deg"], foreshortening)
    flex = m["neck_flexion_deg"]
    if neck is not None and trunk is not None:
        flex = neck - trunk

    def both(
        value: float | None, absolute_band: Band, key: str, delta_band: Band, sign: float = 1.0
    ) -> float | None:
        sevs = []
        rel = m.get(key)
        has_ref = rel is not None and ref.get(key) is not None
        # A calibration with a value for this key replaces the absolute band; one without it
        # (taken from another view, or with the hips hidden) leaves the absolute band in force.
        if absolute and value is not None and not (calibrated and has_ref):
            sevs.append(absolute_band.severity(sign * value))
        if has_ref:
            sevs.append(delta_band.severity(sign * (rel - ref[key])))  # type: ignore[operator]
        return max(sevs) if sevs else None

    head = both(neck, r.forward_head_deg, "head_forward_deg", r.forward_head_delta_deg)
    hunched = both(trunk, r.hunched_back_deg, "trunk_inclination_deg", r.hunched_back_delta_deg)
    slumped = both(trunk, r.slumped_recline_deg, "trunk_inclination_deg", r.slumped_recline_delta_deg, -1.0)
    if absolute and not calibrated and trunk is not None and flex is not None:
        # The classic slump: reclined less far, but with the head pulled forward of the trunk
        # to keep looking at the screen.
        pulled = min(
            r.slumped_pulled_recline_deg.severity(-trunk), r.slumped_pulled_flexion_deg.severity(flex)
        )
        slumped = max(slumped or 0.0, pulled)
    flexion = None
    flex_ref = ref.get("neck_flexion_deg")
    if m["neck_flexion_deg"] is not None and flex_ref is not None:
        flexion = r.neck_flexion_delta_deg.severity(m["neck_flexion_deg"] - flex_ref)
    for code, sev in (
        (Finding.FORWARD_HEAD, head),
        (Finding.HUNCHED_BACK, hunched),
        (Finding.NECK_FLEXION, flexion),
        (Finding.SLUMPED, slumped),
    ):
        if sev is not None:
            out[code.value] = sev
    return head is not None


def _unforeshortened(angle_deg: float | None, scale: float) -> float | None:
    """The angle a foreshortened one (horizontal extent shrunk by ``scale``) stands for."""
    if angle_deg is None or scale >= 0.999:
        return angle_deg
    return math.degrees(math.atan(math.tan(math.radians(angle_deg)) / max(scale, 0.5)))


def _front_findings(
    m: Mapping[str, float | None],
    ref: Mapping[str, float | None],
    r: FindingRules,
    out: dict[str, float],
    *,
    calibrated: bool,
) -> tuple[bool, bool]:
    """Front-view findings: (whether anything was judged, whether everything was).

    Forward head, slumping and leaning in show from the front only as changes from the user's
    baseline; a sideways lean is judged on its own."""
    judged = False
    side_lean = Finding.SIDE_LEAN.value
    tilt = m["shoulder_tilt_deg"]
    lean = m["trunk_side_lean_deg"]
    if tilt is not None or lean is not None:
        if ref.get("shoulder_tilt_deg") is not None:
            dev = _max_abs(
                _delta(tilt, ref.get("shoulder_tilt_deg")),
                _delta(lean, ref.get("trunk_side_lean_deg")),
            )
            out[side_lean] = r.side_lean_delta_deg.severity(dev)
        else:
            out[side_lean] = r.side_lean_deg.severity(_max_abs(tilt, lean))
        judged = True
    if m["face_scale_pct"] is not None:
        out[Finding.LEANING_IN.value] = r.leaning_in_pct.severity(m["face_scale_pct"])
        judged = True
    forward = m["head_drop_pct"] is not None
    if forward:
        head = Finding.FORWARD_HEAD.value
        out[head] = max(out[head], r.head_drop_pct.severity(m["head_drop_pct"]))
        judged = True
    return judged, calibrated and forward
