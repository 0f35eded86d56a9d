"""The public record of one analysed frame (see docs: "The reading").

Its field names are a public contract: the timeline CSV columns and the JSON keys use them. A
reading's ``metrics`` are keyed by the metric registry's names (:mod:`posture.metric_registry`),
its ``findings`` by the finding registry's codes (:mod:`posture.findings`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

__all__ = [
    "Reading",
    "Reason",
    "Reference",
    "Verdict",
    "View",
]


class View(str, Enum):
    """Which way the camera sees the person (:func:`posture.geometry.classify_view`). The values
    are public (JSON, ``timeline.csv``)."""

    SIDE = "side"
    FRONT = "front"
    OBLIQUE = "oblique"
    UNKNOWN = "unknown"

    def __str__(self) -> str:  # "a side view", never "a View.SIDE view", in every message
        return self.value


class Verdict(str, Enum):
    GOOD = "good"
    POOR = "poor"
    AWAY = "away"  # nobody there
    UNCERTAIN = "uncertain"  # somebody there, but the landmarks are too poor to judge


class Reference(str, Enum):
    """What a limit was measured against. The values are public (JSON, ``timeline.csv``)."""

    EVERYONE = "everyone"  # the limits fitted on many people, no personal reference
    CALIBRATION = "calibration"  # the user's own calibrated good posture
    HABIT = "habit"  # the person's usual upright posture, learnt in this session


_REFERENCE_WORDS = {
    Reference.EVERYONE: "everyone's limit",
    Reference.CALIBRATION: "your calibration",
    Reference.HABIT: "this session's habit",
}


@dataclass(frozen=True)
class Reason:
    """One condition behind a finding's severity: a metric's value against a limit.

    ``limit`` is in the metric's own units, already offset by the personal reference where there
    is one (a habit of 8° plus an allowed change of 12° is a limit of 20°), so it can be drawn on
    the metric's own chart. ``above``: the condition holds from the limit upwards (else
    downwards, as for a reclined trunk). A finding with two reasons needs both (a recline *and*
    the head forward); its severity is the smaller of theirs.
    """

    finding: str
    metric: str
    value: float
    limit: float
    above: bool
    reference: Reference
    severity: float
    rule: str = ""  # the FindingRules band that set the limit (e.g. "slumped_pulled_recline_deg")

    @property
    def reached(self) -> bool:
        return self.severity >= 1.0

    def describe(self) -> str:
        """``neck_inclination_deg 33.2 >= 31.0 (everyone's limit)``: for terminals and the CSV."""
        sign = ">=" if self.above else "<="
        if not self.reached:
            sign = "<" if self.above else ">"
        return f"{self.metric} {self.value:.1f} {sign} {self.limit:.1f} ({_REFERENCE_WORDS[self.reference]})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "finding": self.finding,
            "metric": self.metric,
            "value": round(self.value, 2),
            "limit": round(self.limit, 2),
            "above": self.above,
            "reference": self.reference.value,
            "severity": round(self.severity, 3),
            "rule": self.rule,
        }


@dataclass(frozen=True)
class Reading:
    """What the pipeline knows about one analysed frame."""

    t_s: float
    person: bool
    view: View
    metrics: dict[str, float | None]
    findings: dict[str, float]
    posture: Verdict
    alert: bool = False
    estimated: frozenset[str] = field(default_factory=frozenset)
    # Why each active finding has its severity, worst finding first (see :class:`Reason`).
    reasons: tuple[Reason, ...] = ()

    def worst_finding(self) -> tuple[str, float] | None:
        """The finding with the highest severity, or None when every finding is neutral."""
        active = [(code, sev) for code, sev in self.findings.items() if sev > 0]
        return max(active, key=lambda item: item[1]) if active else None

    def reasons_for(self, code: str) -> tuple[Reason, ...]:
        return tuple(r for r in self.reasons if r.finding == code)

    def explain(self) -> str:
        """The worst finding and its reasons in one line ("" when no finding is active)."""
        worst = self.worst_finding()
        if worst is None:
            return ""
        parts = " & ".join(r.describe() for r in self.reasons_for(worst[0]))
        return f"{worst[0]}: {parts}" if parts else worst[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "t_s": round(self.t_s, 3),
            "person": self.person,
            "view": self.view.value,
            "metrics": {k: (None if v is None else round(v, 2)) for k, v in self.metrics.items()},
            "estimated": sorted(self.estimated),
            "findings": {k: round(v, 3) for k, v in self.findings.items()},
            "posture": self.posture.value,
            "alert": self.alert,
            "reasons": [r.to_dict() for r in self.reasons],
        }
