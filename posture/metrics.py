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
from posture.config import Band, FindingRules, HabitConfig, MetricsConfig
from posture.findings import FINDING_CODES, Finding
from posture.geometry import View
from posture.landmarks import Pose
from posture.reading import (
    ESTIMATE_METRICS,
    FRONT_METRICS,
    METRIC_NAMES,
    SIDE_METRICS,
    Reason,
    Reference,
    Verdict,
)

__all__ = [
    "REFERENCE_KEYS",
    "SIDE_METRICS",
    "Assessment",
    "RawMeasurement",
    "assess",
    "implausible_reason",
    "measure",
    "upright_band_contains",
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
    reasons: tuple[Reason, ...] = ()  # why each active finding has its severity


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


class _Judgement:
    """The findings of one frame as they are offered, each with the reasons behind its severity.

    A finding may be offered several times (an absolute limit, a personal one; a far recline, a
    lesser one with the head forward): it keeps the strongest offer. An offer is one or more
    conditions that must all hold, so its severity is the weakest of theirs.
    """

    def __init__(self) -> None:
        self.severity = dict.fromkeys(FINDING_CODES, 0.0)
        self._reasons: dict[str, tuple[Reason, ...]] = {}

    def offer(self, *conditions: Reason) -> None:
        if not conditions:
            return
        code = conditions[0].finding
        severity = min(c.severity for c in conditions)
        if code not in self._reasons or severity > self.severity[code]:
            self.severity[code] = severity
            self._reasons[code] = conditions

    def reasons(self) -> tuple[Reason, ...]:
        """Every active finding's reasons, the worst finding first."""
        active = sorted((c for c in self._reasons if self.severity[c] > 0), key=lambda c: -self.severity[c])
        return tuple(r for code in active for r in self._reasons[code])


def _condition(
    finding: Finding,
    metric: str,
    value: float,
    rules: FindingRules,
    rule: str,
    reference: Reference,
    *,
    origin: float = 0.0,
    above: bool = True,
    scale: float = 1.0,
) -> Reason:
    """``value`` of ``metric`` against the band ``rule`` of ``rules``, applied from ``origin`` (a
    personal reference or 0), in the direction ``above``. ``scale`` maps the metric into the
    band's units (a foreshortened angle is judged as the angle it stands for); the limit is given
    back in the metric's own units."""
    band: Band = getattr(rules, rule)
    dev = (value - origin) if above else (origin - value)
    severity = band.severity(_unscaled(dev, scale))
    limit_dev = _scaled(band.limit, scale)
    return Reason(
        finding.value,
        metric,
        value,
        origin + limit_dev if above else origin - limit_dev,
        above,
        reference,
        severity,
        rule,
    )


def _unscaled(dev: float, scale: float) -> float:
    """The angle a foreshortened one (horizontal extent shrunk by ``scale``) stands for."""
    if scale >= 0.999:
        return dev
    return math.degrees(math.atan(math.tan(math.radians(dev)) / max(scale, 0.5)))


def _scaled(angle: float, scale: float) -> float:
    """The inverse of :func:`_unscaled`: how a true angle appears when foreshortened."""
    if scale >= 0.999:
        return angle
    return math.degrees(math.atan(math.tan(math.radians(angle)) * max(scale, 0.5)))


def upright_band_contains(values: Mapping[str, float | None], habit: HabitConfig) -> bool:
    """Whether a side view's values lie in the narrow band of clearly upright sitting for
    everyone (both the neck and the trunk measured and inside it)."""
    neck, trunk = values.get("neck_inclination_deg"), values.get("trunk_inclination_deg")
    if neck is None or trunk is None:
        return False
    lo_n, hi_n = habit.upright_neck_deg
    lo_t, hi_t = habit.upright_trunk_deg
    return lo_n <= neck <= hi_n and lo_t <= trunk <= hi_t


def assess(
    raw: RawMeasurement,
    config: MetricsConfig,
    baseline: Mapping[str, float | None] | None = None,
    *,
    habitual: Mapping[str, float | None] | None = None,
) -> Assessment:
    """Public metrics, findings (severity per code, with their reasons) and the frame's verdict.

    With a ``baseline`` (reference values of the user's good posture, same camera) findings come
    from deviations, which absorb camera tilt, model bias and the person's build. Without one, a
    side view is judged on absolute angles with limits fitted leave-one-person-out on many
    people (README, "Accuracy"); ``habitual`` (the person's own usual upright posture, learnt in
    the session: :class:`posture.baseline.HabitualReference`) adds the deviations from it, but
    never makes poor a posture inside the band of clearly upright sitting. A front view without
    a baseline can judge only a sideways lean: otherwise it is uncertain.
    """
    metrics: dict[str, float | None] = dict.fromkeys(METRIC_NAMES)
    if not raw.person or raw.standing:  # nobody at the desk: gone, or standing up
        return Assessment(metrics, dict.fromkeys(FINDING_CODES, 0.0), Verdict.AWAY, frozenset())
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
    judgement = _Judgement()
    if raw.problem is not None:
        # Implausible geometry never votes, with one exception: a trunk bent far forward with
        # the head down below the shoulders (slumped onto the desk) is a real posture, and the
        # trunk alone shows it.
        if raw.problem == HEAD_BELOW_SHOULDERS and raw.view is View.SIDE:
            trunk = metrics["trunk_inclination_deg"]
            limit = config.rules.hunched_back_deg.limit
            plausible = trunk is not None and trunk <= geo.PLAUSIBLE_TRUNK_DEG[1]
            if plausible and trunk >= limit + HEAD_DOWN_MARGIN_DEG:
                judgement.offer(
                    _condition(
                        Finding.HUNCHED_BACK,
                        "trunk_inclination_deg",
                        trunk,
                        config.rules,
                        "hunched_back_deg",
                        Reference.EVERYONE,
                    )
                )
                return _verdict(metrics, judgement, True, True, estimated)
        return _verdict(metrics, judgement, False, False, estimated)

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
        absolute_ok = raw.view is View.SIDE or near_profile
        scale = math.sin(math.radians(yaw)) if raw.view is View.OBLIQUE and absolute_ok else 1.0
        if baseline:
            personal, kind = ref, Reference.CALIBRATION
        elif habitual and not upright_band_contains(v, config.habit):
            personal, kind = habitual, Reference.HABIT
        else:
            personal, kind = {}, Reference.HABIT
        judged |= _side_findings(
            metrics,
            personal,
            kind,
            rules,
            judgement,
            absolute=absolute_ok,
            foreshortening=scale,
        )
    if raw.view is View.FRONT and turned:
        complete = False  # the baseline's ratios no longer apply
    elif raw.view is View.FRONT or oblique_ok:
        front_judged, complete = _front_findings(metrics, ref, rules, judgement, calibrated=bool(baseline))
        judged |= front_judged
    return _verdict(metrics, judgement, judged, complete, estimated)


# The problem geometry.upper_body_problem reports for a head below the shoulders, and how far past
# the hunched-back limit the trunk must lean for that to read as slumped onto the desk.
HEAD_BELOW_SHOULDERS = "head not above the shoulders"
HEAD_DOWN_MARGIN_DEG = 10.0


def _verdict(
    metrics: dict[str, float | None],
    judgement: _Judgement,
    judged: bool,
    complete: bool,
    estimated: set[str],
) -> Assessment:
    findings = judgement.severity
    if any(sev >= 1.0 for sev in findings.values()):
        posture = Verdict.POOR
    elif not judged or not complete:
        # Nothing over a threshold, but the view could not show everything that matters (a front
        # view without a baseline sees no forward head): not "good", uncertain.
        posture = Verdict.UNCERTAIN
    else:
        posture = Verdict.GOOD
    return Assessment(metrics, findings, posture, frozenset(estimated), judgement.reasons())


def _side_findings(
    m: Mapping[str, float | None],
    personal: Mapping[str, float | None],
    kind: Reference,
    r: FindingRules,
    out: _Judgement,
    *,
    absolute: bool = True,
    foreshortening: float = 1.0,
) -> bool:
    """Side-view findings; whether the head could be judged.

    Everyone's limits apply unless ``absolute=False`` (an oblique view far from a profile) or a
    calibration has a value for the metric (its deviations absorb the camera's tilt, so they
    replace the absolute limit). Where ``personal`` (the calibration, or the session's habit)
    has a value, the deviation from it is judged too, and each finding keeps the larger
    severity. ``foreshortening`` (the sine of the shoulders' turn, 1 in a true profile) undoes an
    oblique view's shrinking of the angles before everyone's limits see them.
    """
    calibrated = kind is Reference.CALIBRATION
    everyone = Reference.EVERYONE
    neck, trunk, head = m["neck_inclination_deg"], m["trunk_inclination_deg"], m["head_forward_deg"]
    scale = foreshortening

    def own(key: str) -> float | None:
        value, origin = m.get(key), personal.get(key)
        return None if value is None or origin is None else origin

    def absolute_applies(key: str) -> bool:
        return absolute and m.get(key) is not None and not (calibrated and own(key) is not None)

    # Head carried forward: the neck's lean against everyone's limit, the head's (neck and
    # pitch) change against the person's own.
    if absolute_applies("neck_inclination_deg") and neck is not None:
        out.offer(
            _condition(
                Finding.FORWARD_HEAD,
                "neck_inclination_deg",
                neck,
                r,
                "forward_head_deg",
                everyone,
                scale=scale,
            )
        )
    if head is not None and (origin := own("head_forward_deg")) is not None:
        out.offer(
            _condition(
                Finding.FORWARD_HEAD,
                "head_forward_deg",
                head,
                r,
                "forward_head_delta_deg",
                kind,
                origin=origin,
            )
        )
    if trunk is not None:
        if absolute_applies("trunk_inclination_deg"):
            out.offer(
                _condition(
                    Finding.HUNCHED_BACK,
                    "trunk_inclination_deg",
                    trunk,
                    r,
                    "hunched_back_deg",
                    everyone,
                    scale=scale,
                )
            )
            # Slumped: a far recline whatever the head does, or a lesser one with the head not
            # resting back but forward of upright (the pelvis slid forward and the back rounded
            # to keep the eyes on the screen), or thrown back (the neck extended).
            out.offer(
                _condition(
                    Finding.SLUMPED,
                    "trunk_inclination_deg",
                    trunk,
                    r,
                    "slumped_recline_deg",
                    everyone,
                    above=False,
                    scale=scale,
                )
            )
            if neck is not None and not calibrated:
                reclined = _condition(
                    Finding.SLUMPED,
                    "trunk_inclination_deg",
                    trunk,
                    r,
                    "slumped_pulled_recline_deg",
                    everyone,
                    above=False,
                    scale=scale,
                )
                for rule, ahead in (("slumped_head_forward_deg", True), ("slumped_head_back_deg", False)):
                    head_cond = _condition(
                        Finding.SLUMPED,
                        "neck_inclination_deg",
                        neck,
                        r,
                        rule,
                        everyone,
                        above=ahead,
                        scale=scale,
                    )
                    out.offer(reclined, head_cond)
        if (origin := own("trunk_inclination_deg")) is not None:
            out.offer(
                _condition(
                    Finding.HUNCHED_BACK,
                    "trunk_inclination_deg",
                    trunk,
                    r,
                    "hunched_back_delta_deg",
                    kind,
                    origin=origin,
                )
            )
            out.offer(
                _condition(
                    Finding.SLUMPED,
                    "trunk_inclination_deg",
                    trunk,
                    r,
                    "slumped_recline_delta_deg",
                    kind,
                    origin=origin,
                    above=False,
                )
            )
    flex = m["neck_flexion_deg"]
    if flex is not None and (origin := own("neck_flexion_deg")) is not None:
        out.offer(
            _condition(
                Finding.NECK_FLEXION,
                "neck_flexion_deg",
                flex,
                r,
                "neck_flexion_delta_deg",
                kind,
                origin=origin,
            )
        )
    return neck is not None and (absolute or own("head_forward_deg") is not None)


def _front_findings(
    m: Mapping[str, float | None],
    ref: Mapping[str, float | None],
    r: FindingRules,
    out: _Judgement,
    *,
    calibrated: bool,
) -> tuple[bool, bool]:
    """Front-view findings: (whether anything was judged, whether everything was).

    Forward head, slumping and leaning in show from the front only as changes from the user's
    baseline; a sideways lean is judged on its own."""
    judged = False
    tilt = m["shoulder_tilt_deg"]
    lean = m["trunk_side_lean_deg"]
    if tilt is not None or lean is not None:
        base_tilt = ref.get("shoulder_tilt_deg")
        if base_tilt is not None:
            d_tilt = _delta(tilt, base_tilt)
            d_lean = _delta(lean, ref.get("trunk_side_lean_deg"))
            for metric, value, dev, origin in (
                ("shoulder_tilt_deg", tilt, d_tilt, base_tilt),
                ("trunk_side_lean_deg", lean, d_lean, ref.get("trunk_side_lean_deg")),
            ):
                if value is not None and dev is not None and origin is not None:
                    out.offer(
                        _lateral(metric, value, origin, r, "side_lean_delta_deg", Reference.CALIBRATION)
                    )
        else:
            for metric, value in (("shoulder_tilt_deg", tilt), ("trunk_side_lean_deg", lean)):
                if value is not None:
                    out.offer(_lateral(metric, value, 0.0, r, "side_lean_deg", Reference.EVERYONE))
        judged = True
    if m["face_scale_pct"] is not None:
        out.offer(
            _condition(
                Finding.LEANING_IN,
                "face_scale_pct",
                m["face_scale_pct"],
                r,
                "leaning_in_pct",
                Reference.CALIBRATION,
            )
        )
        judged = True
    drop = m["head_drop_pct"]
    forward = drop is not None
    if drop is not None:
        cal = Reference.CALIBRATION
        out.offer(_condition(Finding.FORWARD_HEAD, "head_drop_pct", drop, r, "head_drop_pct", cal))
        depth = m["neck_forward_3d_delta_deg"]
        if depth is not None:  # a lesser drop with the neck coming forward toward the camera
            out.offer(
                _condition(Finding.FORWARD_HEAD, "head_drop_pct", drop, r, "head_drop_moderate_pct", cal),
                _condition(
                    Finding.FORWARD_HEAD,
                    "neck_forward_3d_delta_deg",
                    depth,
                    r,
                    "neck_forward_3d_delta_deg",
                    cal,
                ),
            )
        judged = True
    return judged, calibrated and forward


def _lateral(
    metric: str, value: float, origin: float, rules: FindingRules, rule: str, reference: Reference
) -> Reason:
    """A sideways tilt either way from ``origin``: the limit on the side the value lies."""
    above = value >= origin
    return _condition(Finding.SIDE_LEAN, metric, value, rules, rule, reference, origin=origin, above=above)
