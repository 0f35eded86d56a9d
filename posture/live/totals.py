"""What a live session adds up to as it runs: time per verdict, episodes and alerts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from posture.findings import FINDING_CODES
from posture.reading import Reading, Verdict

if TYPE_CHECKING:
    from posture.outputs.history import SessionTotals

__all__ = ["Totals"]


@dataclass
class Totals:
    """Running time per verdict (seconds), episodes, alerts and breaks of a live session."""

    started_s: float = 0.0
    good_s: float = 0.0
    poor_s: float = 0.0
    uncertain_s: float = 0.0
    away_s: float = 0.0
    paused_s: float = 0.0
    episodes: int = 0
    alerts: int = 0
    breaks: int = 0  # movement breaks taken (away long enough after sitting)
    finding_poor_s: dict[str, float] = field(default_factory=lambda: dict.fromkeys(FINDING_CODES, 0.0))

    @property
    def present_s(self) -> float:
        return self.good_s + self.poor_s + self.uncertain_s

    def credit(self, reading: Reading, dt_s: float) -> None:
        """Count ``dt_s`` seconds (until the next reading) under ``reading``'s verdict and findings."""
        if reading.posture is Verdict.GOOD:
            self.good_s += dt_s
        elif reading.posture is Verdict.POOR:
            self.poor_s += dt_s
        elif reading.posture is Verdict.UNCERTAIN:
            self.uncertain_s += dt_s
        else:
            self.away_s += dt_s
        for code, sev in reading.findings.items():
            if sev >= 1.0:
                self.finding_poor_s[code] = self.finding_poor_s.get(code, 0.0) + dt_s

    def for_history(self, duration_s: float) -> SessionTotals:
        """The totals as the session history stores them (and the closing summary reports them)."""
        from posture.outputs.history import SessionTotals

        top = max(self.finding_poor_s.items(), key=lambda kv: kv[1], default=("", 0.0))
        return SessionTotals(
            duration_s=duration_s,
            present_s=self.present_s,
            poor_s=self.poor_s,
            good_s=self.good_s,
            away_s=self.away_s,
            uncertain_s=self.uncertain_s,
            episodes=self.episodes,
            alerts=self.alerts,
            breaks=self.breaks,
            top_finding=top[0] if top[1] > 0 else None,
            finding_poor_s={k: round(v, 2) for k, v in self.finding_poor_s.items() if v > 0},
        )
