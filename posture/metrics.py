"""From a pose to a reading: view-aware metrics, baseline deviations, findings and a verdict.

Pure numpy. Side view gives real sagittal degrees; front view gives lateral degrees plus
indicators relative to the user's baseline (estimates). Every metric is gated on the visibility of
the landmarks it uses. Two steps, so the pipeline can smooth in between:
``measure(pose)`` → raw values, ``assess(raw)`` → public metrics, findings and verdict.

Each finding's rule lives here: a function of the frame's :class:`Scene` that offers the
finding's conditions (each a :class:`~posture.reading.Reason`: a metric against one of the
finding's bands) and says whether the finding could be judged at all. ``@rule(code)`` makes a
function the rule of the finding ``code`` of :mod:`posture.findings`; :func:`assess` runs the rule
of every finding in the registry's order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from posture import geometry as geo
from posture.config import Band, FindingRules, HabitConfig, MetricsConfig
from posture.findings import FINDINGS, Finding, PoorSide
from posture.findings import band as band_of
from posture.landmarks import Pose
from posture.metric_registry import METRIC_NAMES, METRICS
from posture.reading import Reason, Reference, Verdict, View

__all__ = [
    "REFERENCE_KEYS",
    "Assessment",
    "Judgement",
    "RawMeasurement",
    "Rule",
    "Scene",
    "assess",
    "implausible_reason",
    "measure",
    "rule",
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


# How much the face's downward pitch adds to the neck's lean in ``head_forward_deg``: looking
# down at a laptop or phone flexes the neck even when the ears stay over the shoulders.
HEAD_PITCH_WEIGHT = 0.5


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
    for m in METRICS.values():  # a metric with a rule of its own, in the views that show it
        if m.measure is not None and view in m.views:
            values[m.name] = m.measure(pose, vis)
    values = {k: (x if x is None or math.isfinite(x) else None) for k, x in values.items()}
    problem = None if view is View.UNKNOWN else geo.upper_body_problem(pose, view, vis)
    if problem is None:
        problem = implausible_reason(values)
    return RawMeasurement(True, view, values, problem=problem)


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


class Judgement:
    """The findings of one frame as their rules offer them, each with the reasons behind its severity.

    A finding may be offered several times (an absolute limit, a personal one; a far recline, a
    lesser one with the head forward): it keeps the strongest offer. An offer is one or more
    conditions that must all hold, so its severity is the weakest of theirs; an offer with a
    missing condition (None: the metric was not measured) is no offer.
    """

    def __init__(self) -> None:
        self.severity = dict.fromkeys(FINDINGS, 0.0)
        self._reasons: dict[str, tuple[Reason, ...]] = {}

    def offer(self, *conditions: Reason | None) -> None:
        if not conditions or any(c is None for c in conditions):
            return
        held = tuple(c for c in conditions if c is not None)
        code = held[0].finding
        severity = min(c.severity for c in held)
        if code not in self._reasons or severity > self.severity[code]:
            self.severity[code] = severity
            self._reasons[code] = held

    def reasons(self) -> tuple[Reason, ...]:
        """Every active finding's reasons, the worst finding first."""
        active = sorted((c for c in self._reasons if self.severity[c] > 0), key=lambda c: -self.severity[c])
        return tuple(r for code in active for r in self._reasons[code])


@dataclass(frozen=True)
class Scene:
    """What one frame gives the finding rules.

    ``metrics``: the frame's public metrics; ``baseline``: the calibration's raw values (empty
    without one); ``personal``: what a side view's changes are measured from, of kind ``kind``
    (the calibration, else the session's habit, empty while none applies). ``side``: the side
    view's judgements apply (a profile; an oblique view near one, or against its own
    calibration); ``absolute``: everyone's limits apply to them too, after undoing the oblique
    view's foreshortening ``scale``. ``front``: the front view's judgements apply (a front view
    with the body turned as at calibration, or an oblique view against its own calibration).
    """

    metrics: Mapping[str, float | None]
    rules: FindingRules
    baseline: Mapping[str, float | None]
    personal: Mapping[str, float | None]
    kind: Reference
    side: bool
    absolute: bool
    front: bool
    scale: float = 1.0

    @property
    def calibrated(self) -> bool:
        return self.kind is Reference.CALIBRATION

    def own(self, metric: str) -> float | None:
        """The person's own value of ``metric``, when this frame measured it too."""
        value, origin = self.metrics.get(metric), self.personal.get(metric)
        return None if value is None or origin is None else origin

    def condition(
        self, metric: str, band: str, reference: Reference, *, origin: float = 0.0, scale: float = 1.0
    ) -> Reason | None:
        """``metric`` against the band ``band``, applied from ``origin`` on the side of it the
        band calls poor (either side: the side the value lies on); None when not measured."""
        value = self.metrics.get(metric)
        if value is None:
            return None
        owner = band_of(band)
        if owner is None:
            raise KeyError(f"no finding has a band {band!r}")
        finding, info = owner
        above = value >= origin if info.poor is PoorSide.EITHER else info.poor is PoorSide.ABOVE
        return _condition(
            finding.code, metric, value, self.rules[band], band, reference, origin, above, scale
        )

    def everyone(self, metric: str, band: str) -> Reason | None:
        """A side view's ``metric`` against everyone's limit: unless the view is too far round
        (not ``absolute``) or a calibration has the metric (its changes replace the limit)."""
        if not self.absolute or (self.calibrated and self.own(metric) is not None):
            return None
        return self.condition(metric, band, Reference.EVERYONE, scale=self.scale)

    def change(self, metric: str, band: str) -> Reason | None:
        """``metric``'s change from the person's own value (``personal``), when there is one."""
        origin = self.own(metric)
        return None if origin is None else self.condition(metric, band, self.kind, origin=origin)


# A finding's rule: offers its conditions to the judgement; returns whether the finding could be
# judged on this frame (what a ``required`` finding must be for the frame to be good).
Rule = Callable[[Scene, Judgement], bool]
_RULES: dict[str, Rule] = {}


def rule(code: str) -> Callable[[Rule], Rule]:
    """Make the decorated function the rule of finding ``code`` (its entry is in
    :mod:`posture.findings`); a later rule for the same code replaces it."""

    def register(fn: Rule) -> Rule:
        _RULES[code] = fn
        return fn

    return register


def _condition(
    code: str,
    metric: str,
    value: float,
    band: Band,
    name: str,
    reference: Reference,
    origin: float,
    above: bool,
    scale: float,
) -> Reason:
    """``value`` of ``metric`` against ``band`` (named ``name``), applied from ``origin`` (a
    personal reference or 0), in the direction ``above``. ``scale`` maps the metric into the
    band's units (a foreshortened angle is judged as the angle it stands for); the limit is given
    back in the metric's own units."""
    dev = (value - origin) if above else (origin - value)
    severity = band.severity(_unscaled(dev, scale))
    limit_dev = _scaled(band.limit, scale)
    limit = origin + limit_dev if above else origin - limit_dev
    return Reason(code, metric, value, limit, above, reference, severity, name)


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


# The problem geometry.upper_body_problem reports for a head below the shoulders, and how far past
# the hunched-back limit the trunk must lean for that to read as slumped onto the desk.
HEAD_BELOW_SHOULDERS = "head not above the shoulders"
HEAD_DOWN_MARGIN_DEG = 10.0


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
    never makes poor a posture inside the band of clearly upright sitting. The verdict is poor
    when a finding reaches its threshold, good when none does and every ``required`` finding
    could be judged (a front view without a baseline sees no forward head), else uncertain.
    """
    ref = baseline or {}
    metrics: dict[str, float | None] = dict.fromkeys(METRIC_NAMES)
    if not raw.person or raw.standing:  # nobody at the desk: gone, or standing up
        return Assessment(metrics, dict.fromkeys(FINDINGS, 0.0), Verdict.AWAY, frozenset())
    v = raw.values
    for m in METRICS.values():
        metrics[m.name] = m.value(v, ref)
    estimated = frozenset(
        name for name, x in metrics.items() if x is not None and METRICS[name].estimate_reason(raw.view)
    )
    judgement = Judgement()
    if raw.problem is not None:
        # Implausible geometry never votes, with one exception: a trunk bent far forward with
        # the head down below the shoulders (slumped onto the desk) is a real posture, and the
        # trunk alone shows it.
        trunk = metrics["trunk_inclination_deg"]
        far_forward = config.rules.hunched_back_deg.limit + HEAD_DOWN_MARGIN_DEG
        onto_desk = raw.problem == HEAD_BELOW_SHOULDERS and raw.view is View.SIDE and trunk is not None
        if onto_desk and far_forward <= trunk <= geo.PLAUSIBLE_TRUNK_DEG[1]:
            scene = _scene(raw, config, {}, None, metrics)
            judgement.offer(scene.condition("trunk_inclination_deg", "hunched_back_deg", Reference.EVERYONE))
            return _verdict(metrics, judgement, True, estimated)
        return _verdict(metrics, judgement, False, estimated)
    scene = _scene(raw, config, ref, habitual, metrics)
    judged = {code: _rule_of(code)(scene, judgement) for code in FINDINGS}
    required = all(judged[code] for code, finding in FINDINGS.items() if finding.required)
    return _verdict(metrics, judgement, required, estimated)


def _rule_of(code: str) -> Rule:
    try:
        return _RULES[code]
    except KeyError:
        raise LookupError(f"the finding {code} has no rule (see posture.metrics.rule)") from None


def _scene(
    raw: RawMeasurement,
    config: MetricsConfig,
    ref: Mapping[str, float | None],
    habitual: Mapping[str, float | None] | None,
    metrics: Mapping[str, float | None],
) -> Scene:
    """Which of the view's judgements apply to this frame, and against what."""
    v = raw.values
    # An oblique view foreshortens the sagittal angles by about the sine of the shoulders' turn:
    # near a profile that is corrected and judged; further round, only against a baseline.
    yaw = v.get("shoulder_yaw_deg") or 0.0
    ref_yaw = ref.get("shoulder_yaw_deg")
    # A baseline fits only a body turned about as it was at calibration: a turn changes the
    # shoulder width every front ratio is measured against.
    turned = ref_yaw is not None and abs(yaw - ref_yaw) > MAX_TURN_FROM_BASELINE_DEG
    oblique = raw.view is View.OBLIQUE
    against_own = oblique and bool(ref) and not turned
    absolute = raw.view is View.SIDE or (oblique and yaw >= OBLIQUE_JUDGE_MIN_YAW_DEG)
    if ref:
        personal, kind = ref, Reference.CALIBRATION
    elif habitual and not upright_band_contains(v, config.habit):
        personal, kind = habitual, Reference.HABIT
    else:
        personal, kind = {}, Reference.HABIT
    return Scene(
        metrics,
        config.rules,
        ref,
        personal,
        kind,
        side=absolute or against_own,
        absolute=absolute,
        front=(raw.view is View.FRONT and not turned) or against_own,
        scale=math.sin(math.radians(yaw)) if oblique and absolute else 1.0,
    )


def _verdict(
    metrics: dict[str, float | None], judgement: Judgement, required: bool, estimated: frozenset[str]
) -> Assessment:
    """Poor when a finding reached its threshold, else good when the ``required`` findings could
    be judged, else uncertain."""
    findings = judgement.severity
    if any(sev >= 1.0 for sev in findings.values()):
        posture = Verdict.POOR
    elif required:
        posture = Verdict.GOOD
    else:
        # Nothing over a threshold, but the view could not show everything that matters (a front
        # view without a baseline sees no forward head): not "good", uncertain.
        posture = Verdict.UNCERTAIN
    return Assessment(metrics, findings, posture, estimated, judgement.reasons())


# -- the rules of the built-in findings --------------------------------------------------------------

_NECK, _TRUNK, _HEAD = "neck_inclination_deg", "trunk_inclination_deg", "head_forward_deg"


@rule(Finding.FORWARD_HEAD)
def _forward_head(s: Scene, out: Judgement) -> bool:
    """From the side: the neck's lean against everyone's limit, the head's (neck and pitch)
    change against the person's own. From the front: the head's drop from the calibration, or a
    lesser drop with the neck coming forward in depth. Judged from the side when the neck is
    seen and a limit applies to it, from the front when the head's drop is measured."""
    judged = False
    if s.side:
        out.offer(s.everyone(_NECK, "forward_head_deg"))
        out.offer(s.change(_HEAD, "forward_head_delta_deg"))
        judged = s.metrics[_NECK] is not None and (s.absolute or s.own(_HEAD) is not None)
    if s.front:
        cal = Reference.CALIBRATION
        out.offer(s.condition("head_drop_pct", "head_drop_pct", cal))
        out.offer(
            s.condition("head_drop_pct", "head_drop_moderate_pct", cal),
            s.condition("neck_forward_3d_delta_deg", "neck_forward_3d_delta_deg", cal),
        )
        judged = judged or s.metrics["head_drop_pct"] is not None
    return judged


@rule(Finding.HUNCHED_BACK)
def _hunched_back(s: Scene, out: Judgement) -> bool:
    if not s.side:
        return False
    out.offer(s.everyone(_TRUNK, "hunched_back_deg"))
    out.offer(s.change(_TRUNK, "hunched_back_delta_deg"))
    return s.metrics[_TRUNK] is not None


@rule(Finding.NECK_FLEXION)
def _neck_flexion(s: Scene, out: Judgement) -> bool:
    if not s.side:
        return False
    out.offer(s.change("neck_flexion_deg", "neck_flexion_delta_deg"))
    return s.own("neck_flexion_deg") is not None


@rule(Finding.LEANING_IN)
def _leaning_in(s: Scene, out: Judgement) -> bool:
    """Only from the front, and only against the calibration."""
    if not s.front:
        return False
    out.offer(s.condition("face_scale_pct", "leaning_in_pct", Reference.CALIBRATION))
    return s.metrics["face_scale_pct"] is not None


@rule(Finding.SIDE_LEAN)
def _side_lean(s: Scene, out: Judgement) -> bool:
    """The shoulders' tilt and the trunk's sideways lean, either way: against the calibration
    when it has the shoulders' tilt, else against everyone's limit."""
    if not s.front:
        return False
    calibrated = s.baseline.get("shoulder_tilt_deg") is not None
    for metric in ("shoulder_tilt_deg", "trunk_side_lean_deg"):
        if calibrated:
            out.offer(s.change(metric, "side_lean_delta_deg"))
        else:
            out.offer(s.condition(metric, "side_lean_deg", Reference.EVERYONE))
    return any(s.metrics[m] is not None for m in ("shoulder_tilt_deg", "trunk_side_lean_deg"))


@rule(Finding.SLUMPED)
def _slumped(s: Scene, out: Judgement) -> bool:
    """A far recline whatever the head does; or (without a calibration) a lesser one with the
    head not resting back but forward of upright (the pelvis slid forward and the back rounded
    to keep the eyes on the screen), or thrown back (the neck extended); or a recline past the
    person's own."""
    if not s.side:
        return False
    out.offer(s.everyone(_TRUNK, "slumped_recline_deg"))
    if not s.calibrated:
        reclined = s.everyone(_TRUNK, "slumped_pulled_recline_deg")
        out.offer(reclined, s.everyone(_NECK, "slumped_head_forward_deg"))
        out.offer(reclined, s.everyone(_NECK, "slumped_head_back_deg"))
    out.offer(s.change(_TRUNK, "slumped_recline_delta_deg"))
    return s.metrics[_TRUNK] is not None
