"""The words the report and the cohort page use for findings, metrics and shares.

A finding's title and meaning come from the finding registry (:mod:`posture.findings`); only the
metrics' chart labels live here, since only the pages draw metrics.
"""

from __future__ import annotations

from collections.abc import Iterable

from posture.findings import info
from posture.reading import ESTIMATE_METRICS

__all__ = [
    "METRIC_TEXT",
    "estimate_reason",
    "estimate_reasons",
    "finding_meaning",
    "finding_title",
    "metric_label",
    "pct",
]

# Metric labels for charts and tables: (short label, unit, what it is).
METRIC_TEXT: dict[str, tuple[str, str, str]] = {
    "neck_inclination_deg": ("Neck inclination", "°", "shoulders→ears against the vertical, + forward"),
    "trunk_inclination_deg": ("Trunk inclination", "°", "hips→shoulders against the vertical, + forward"),
    "head_forward_deg": ("Head forward", "°", "neck lean plus half the face's downward pitch (estimate)"),
    "neck_flexion_deg": ("Neck flexion", "°", "neck inclination minus trunk inclination"),
    "cva_deg": ("Craniovertebral angle", "°", "90° minus the neck inclination"),
    "head_pitch_deg": (
        "Head pitch",
        "°",
        "nose below the ears against the face's height, + looking down (estimate)",
    ),
    "shoulder_tilt_deg": ("Shoulder tilt", "°", "shoulder line against the horizontal"),
    "head_roll_deg": ("Head roll", "°", "ear line against the horizontal"),
    "trunk_side_lean_deg": ("Trunk side lean", "°", "hips→shoulders sideways against the vertical"),
    "face_scale_pct": ("Face size vs baseline", "%", "face width change from your calibrated posture"),
    "head_drop_pct": ("Head drop vs baseline", "%", "fall of the nose towards the shoulder line"),
    "neck_forward_3d_delta_deg": ("Neck forward (3-D)", "°", "change from the baseline, from 3-D landmarks"),
}

UNKNOWN_MEANING = "A posture finding reported by the analysis."

# The side-view metrics that mix in the face's pitch (the nose's drop below the ears), which
# posture.metrics.assess marks as estimates in every view.
FACE_PITCH_METRICS = frozenset({"head_pitch_deg", "head_forward_deg"})
_FACE_PITCH = (
    "mixes in the face's pitch (the nose's drop below the ears), which the pose model only estimates"
)
_OBLIQUE = "foreshortened: the camera saw you at an angle (oblique view), corrected by the shoulders' turn"
_FRONT = "a change from your baseline, from the face and shoulders seen from the front"


def estimate_reason(metric: str, view: str) -> str:
    """Why ``metric`` is an estimate in a reading of ``view`` (``side``, ``front``, ``oblique``)."""
    if metric in ESTIMATE_METRICS:
        return _FRONT
    if view == "oblique":
        return _OBLIQUE + ("; it also " + _FACE_PITCH if metric in FACE_PITCH_METRICS else "")
    if metric in FACE_PITCH_METRICS:
        return _FACE_PITCH
    return "an estimate"


def estimate_reasons(estimated: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Each estimated metric (of ``(metric, view)`` pairs) with the reasons of the views it was
    estimated in, in metric order: what the report's and ``posture measure``'s notes say."""
    by_metric: dict[str, list[str]] = {}
    for metric, view in estimated:
        reasons = by_metric.setdefault(metric, [])
        reason = estimate_reason(metric, view)
        if reason not in reasons:
            reasons.append(reason)
    order = list(METRIC_TEXT)
    ranked = sorted(by_metric, key=lambda m: (order.index(m) if m in order else len(order), m))
    return {m: "; or ".join(by_metric[m]) for m in ranked}


def finding_title(code: str) -> str:
    """The registry's title (``Head carried forward``); a code this version does not know (from a
    newer posture's files) is shown as its words, capitalised."""
    found = info(code)
    return found.title if found is not None else code.replace("_", " ").capitalize()


def finding_meaning(code: str) -> str:
    """What the finding means, in the report's words."""
    found = info(code)
    return found.meaning if found is not None else UNKNOWN_MEANING


def metric_label(name: str) -> str:
    """``Neck inclination (°)``: a metric's label with its unit."""
    label, unit, _ = METRIC_TEXT.get(name, (name, "", ""))
    return f"{label} ({unit})" if unit else label


def pct(part: float, whole: float) -> str:
    """``33 %`` of ``whole``, or ``–`` when there is no whole."""
    return f"{100.0 * part / whole:.0f} %" if whole > 0 else "–"
