"""The public record of one analysed frame (see docs: "The reading").

Its field names are a public contract: the timeline CSV columns and the JSON keys use them. The
finding codes a reading's ``findings`` are keyed by are :class:`posture.findings.Finding`'s values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

__all__ = [
    "ESTIMATE_METRICS",
    "METRIC_NAMES",
    "SIDE_METRICS",
    "FRONT_METRICS",
    "Reading",
    "Verdict",
]


class Verdict(str, Enum):
    GOOD = "good"
    POOR = "poor"
    AWAY = "away"  # nobody there
    UNCERTAIN = "uncertain"  # somebody there, but the landmarks are too poor to judge


# Every metric a reading can carry, with its unit in the suffix. None where the view or the
# landmarks' visibility does not allow it.
# side view, absolute (degrees against the image vertical/horizontal)
SIDE_METRICS: tuple[str, ...] = (
    "neck_inclination_deg",
    "trunk_inclination_deg",
    "neck_flexion_deg",
    "cva_deg",
    "head_pitch_deg",
    "head_forward_deg",
)
# front view, absolute
FRONT_METRICS: tuple[str, ...] = ("shoulder_tilt_deg", "head_roll_deg", "trunk_side_lean_deg")
# front view, relative to the baseline (estimates)
RELATIVE_METRICS: tuple[str, ...] = ("face_scale_pct", "head_drop_pct", "neck_forward_3d_delta_deg")
METRIC_NAMES: tuple[str, ...] = SIDE_METRICS + FRONT_METRICS + RELATIVE_METRICS

# Metrics that are estimates rather than measurements in the image plane. Side-view angles are
# also listed in a reading's ``estimated`` when the view is only oblique.
ESTIMATE_METRICS: frozenset[str] = frozenset({"face_scale_pct", "head_drop_pct", "neck_forward_3d_delta_deg"})


@dataclass(frozen=True)
class Reading:
    """What the pipeline knows about one analysed frame."""

    t_s: float
    person: bool
    view: str
    metrics: dict[str, float | None]
    findings: dict[str, float]
    posture: Verdict
    alert: bool = False
    estimated: frozenset[str] = field(default_factory=frozenset)

    def worst_finding(self) -> tuple[str, float] | None:
        """The finding with the highest severity, or None when every finding is neutral."""
        active = [(code, sev) for code, sev in self.findings.items() if sev > 0]
        return max(active, key=lambda item: item[1]) if active else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "t_s": round(self.t_s, 3),
            "person": self.person,
            "view": self.view,
            "metrics": {k: (None if v is None else round(v, 2)) for k, v in self.metrics.items()},
            "estimated": sorted(self.estimated),
            "findings": {k: round(v, 3) for k, v in self.findings.items()},
            "posture": self.posture.value,
            "alert": self.alert,
        }
