"""How often the live monitor looks: an adaptive sample rate (pure; no clock, no camera).

Posture changes over seconds, so while it is steady one analysed frame a second is plenty; while a
finding is near its threshold or an episode is building toward an alert the monitor looks more
often, so the alert comes on time; while nobody is there it looks rarely. Every analysed frame
costs about 23 ms of CPU here, so the rate is the CPU budget.
"""

from __future__ import annotations

import numpy as np

from posture.config import GateConfig, SamplingConfig
from posture.detector import DetectorState
from posture.reading import Reading, Verdict

__all__ = ["AdaptiveSampler", "ChangeGate"]


class AdaptiveSampler:
    """``interval_s(reading, state)``: seconds until the next analysed frame."""

    def __init__(self, config: SamplingConfig | None = None) -> None:
        self.config = config or SamplingConfig()
        self._away_since_s: float | None = None  # when the current absence began

    def interval_s(self, reading: Reading, state: DetectorState) -> float:
        c = self.config
        if reading.posture is Verdict.AWAY:
            if self._away_since_s is None:
                self._away_since_s = reading.t_s
            long_away = reading.t_s - self._away_since_s >= c.away_after_s
            return 1.0 / (c.away_fps if long_away else c.steady_fps)
        self._away_since_s = None
        worst = max(reading.findings.values(), default=0.0)
        if worst >= c.near_severity and not state.alert_active:
            return 1.0 / c.watch_fps
        return 1.0 / c.steady_fps


class ChangeGate:
    """Whether the picture changed since the last analysed frame, judged on tiny greyscale
    thumbnails (about 64 px wide; area-averaging removes sensor noise).

    Someone working at a desk sits still most of the time; when nothing in the picture moved, the
    last measurement still holds and the pose model (about 23 ms) need not run. A posture change
    moves the head by many pixels and so many thumbnail pixels by far more than ``pixel_change``.
    Compared against the last *analysed* thumbnail, a slow drift adds up until it counts.
    """

    def __init__(self, config: GateConfig | None = None) -> None:
        self.config = config or GateConfig()
        self._thumb: np.ndarray | None = None  # the last analysed frame's thumbnail
        self._t_s: float | None = None  # when it was analysed

    def unchanged(self, thumb: np.ndarray, t_s: float) -> bool:
        c = self.config
        if not c.enabled or self._thumb is None or self._t_s is None or thumb.shape != self._thumb.shape:
            return False
        if t_s - self._t_s >= c.max_reuse_s:
            return False
        moved = np.abs(thumb.astype(np.int16) - self._thumb.astype(np.int16)) > c.pixel_change
        return float(moved.mean()) < c.changed_share

    def analysed(self, thumb: np.ndarray, t_s: float) -> None:
        self._thumb, self._t_s = thumb, t_s
