"""The words the report and the cohort page use for findings, metrics and shares.

A finding's title and meaning come from the finding registry (:mod:`posture.findings`); only the
metrics' chart labels live here, since only the pages draw metrics.
"""

from __future__ import annotations

from posture.findings import info

__all__ = ["METRIC_TEXT", "finding_meaning", "finding_title", "metric_label", "pct"]

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
