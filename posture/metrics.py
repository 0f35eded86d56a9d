"""From a pose to a reading: view-aware metrics, baseline deviations, findings and a verdict.

Pure numpy. Side view gives real sagittal degrees; front view gives lateral degrees plus
indicators relative to the user's baseline (estimates). Every metric is gated on the visibility of
the landmarks it uses. Two steps, so the pipeline can smooth in between:
``measure(pose)`` → raw values, ``assess(raw)`` → public metrics, findings and verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from posture import geometry as geo
from posture.config import Band, FindingRules, MetricsConfig
from posture.geometry import View
from posture.landmarks import Pose
from posture.reading import (
    ESTIMATE_METRICS,
    FINDING_CODES,
    FRONT_METRICS,
    METRIC_NAMES,
    SIDE_METRICS,
    Verdict,
)

__all__ = ["REFERENCE_KEYS", "SIDE_METRICS", "Assessment", "RawMeasurement", "assess", "measure"]

# Raw quantities kept for baselines but not published as metrics (their units are not degrees).
REFERENCE_KEYS = ("face_width_frac", "head_height_ratio", "neck_sagittal_3d_deg")


@dataclass(frozen=True)
class RawMeasurement:
    """What one pose shows before any baseline: the view and the raw values it allows."""

    person: bool
    view: View
    values: dict[str, float | None]
    standing: bool = False  # somebody is there but standing, not at the desk

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
    """The view and the raw side/front values of one pose (None: nobody in the frame)."""
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
            # How far the head is carried forward and tipped down: the neck's lean plus the face's
            # pitch beyond that of an upright head.
            values["head_forward_deg"] = neck + pitch - config.head_pitch_neutral_deg
    if view in (View.FRONT, View.OBLIQUE):
        values.update(geo.front_angles(pose, vis))
        width = geo.face_width_px(pose, vis)
        values["face_width_frac"] = None if width is None else width / max(pose.image_size[0], 1)
        values["head_height_ratio"] = geo.head_height_ratio(pose, vis)
        values["neck_sagittal_3d_deg"] = geo.neck_sagittal_3d_deg(pose, vis)
    return RawMeasurement(True, view, values)


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
) -> Assessment:
    """Public metrics, findings (severity per code) and the frame's verdict.

    With a baseline (reference values of a good posture from the same camera) the findings come
    from deviations, which absorb camera tilt and model bias; without one, side-view absolutes
    drive them, and an oblique or front view can judge only what needs no reference.
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
    estimated: set[str] = set()
    if raw.view is View.OBLIQUE:
        estimated.update(n for n in SIDE_METRICS + FRONT_METRICS if metrics[n] is not None)
    metrics["face_scale_pct"] = _pct_change(v.get("face_width_frac"), ref.get("face_width_frac"))
    drop = _pct_change(v.get("head_height_ratio"), ref.get("head_height_ratio"))
    metrics["head_drop_pct"] = None if drop is None else -drop
    metrics["neck_forward_3d_delta_deg"] = _delta(
        v.get("neck_sagittal_3d_deg"), ref.get("neck_sagittal_3d_deg")
    )
    estimated.update(n for n in ESTIMATE_METRICS if metrics[n] is not None)

    rules = config.rules
    judged = False
    # An oblique view foreshortens every angle: judge it only against the user's own baseline.
    oblique_ok = raw.view is View.OBLIQUE and bool(baseline)
    if raw.view is View.SIDE or oblique_ok:
        judged |= _side_findings(metrics, ref, rules, findings, absolute=raw.view is View.SIDE)
    if raw.view is View.FRONT or oblique_ok:
        judged |= _front_findings(metrics, ref, rules, findings)
    if not judged:
        return Assessment(metrics, findings, Verdict.UNCERTAIN, frozenset(estimated))
    poor = any(sev >= 1.0 for sev in findings.values())
    return Assessment(metrics, findings, Verdict.POOR if poor else Verdict.GOOD, frozenset(estimated))


def _rule(
    value: float | None, ref: float | None, absolute: Band | None, relative: Band, sign: float = 1.0
) -> float | None:
    """Severity from the deviation when a reference exists, else from the absolute value."""
    if value is None:
        return None
    if ref is not None:
        return relative.severity(sign * (value - ref))
    if absolute is None:
        return None
    return absolute.severity(sign * value)


def _side_findings(
    m: Mapping[str, float | None],
    ref: Mapping[str, float | None],
    r: FindingRules,
    out: dict[str, float],
    *,
    absolute: bool = True,
) -> bool:
    """Side-view findings. ``absolute=False`` (an oblique view) counts only deviations from the
    baseline, never the absolute bands, which foreshortened angles would fool."""

    def band(b: Band) -> Band | None:
        return b if absolute else None

    head = _rule(
        m["head_forward_deg"], ref.get("head_forward_deg"), band(r.forward_head_deg), r.forward_head_delta_deg
    )
    trunk = m["trunk_inclination_deg"]
    trunk_ref = ref.get("trunk_inclination_deg")
    hunched = _rule(trunk, trunk_ref, band(r.hunched_back_deg), r.hunched_back_delta_deg)
    flex = m["neck_flexion_deg"]
    flex_ref = ref.get("neck_flexion_deg")
    flexion = _rule(flex, flex_ref, band(r.neck_flexion_deg), r.neck_flexion_delta_deg)
    recline = _rule(trunk, trunk_ref, band(r.slumped_recline_deg), r.slumped_recline_delta_deg, sign=-1.0)
    pulled = _rule(flex, flex_ref, band(r.slumped_flexion_deg), r.slumped_flexion_delta_deg)
    for code, sev in (("forward_head", head), ("hunched_back", hunched), ("neck_flexion", flexion)):
        if sev is not None:
            out[code] = sev
    if recline is not None and pulled is not None:
        # Slumped needs both: the trunk reclined and the head pulled forward relative to it.
        out["slumped"] = min(recline, pulled)
    return head is not None or hunched is not None


def _front_findings(
    m: Mapping[str, float | None], ref: Mapping[str, float | None], r: FindingRules, out: dict[str, float]
) -> bool:
    judged = False
    tilt = m["shoulder_tilt_deg"]
    lean = m["trunk_side_lean_deg"]
    if tilt is not None or lean is not None:
        if ref.get("shoulder_tilt_deg") is not None:
            dev = _max_abs(
                _delta(tilt, ref.get("shoulder_tilt_deg")),
                _delta(lean, ref.get("trunk_side_lean_deg")),
            )
            out["side_lean"] = r.side_lean_delta_deg.severity(dev)
        else:
            out["side_lean"] = r.side_lean_deg.severity(_max_abs(tilt, lean))
        judged = True
    if m["face_scale_pct"] is not None:
        out["leaning_in"] = r.leaning_in_pct.severity(m["face_scale_pct"])
        judged = True
    if m["head_drop_pct"] is not None:
        out["forward_head"] = max(out["forward_head"], r.head_drop_pct.severity(m["head_drop_pct"]))
        judged = True
    return judged
