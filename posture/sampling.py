"""How often the live monitor looks: an adaptive sample rate (pure; no clock, no camera).

Posture changes over seconds, so while it is steady one analysed frame a second is plenty; while a
finding is near its threshold or an episode is building toward an alert the monitor looks more
often, so the alert comes on time; while nobody is there it looks rarely. Every analysed frame
costs about 23 ms of CPU here, so the rate is the CPU budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from posture.detector import DetectorState
from posture.errors import ConfigError
from posture.reading import Reading, Verdict

__all__ = ["SamplingConfig", "AdaptiveSampler", "GateConfig", "ChangeGate"]


@dataclass(frozen=True)
class SamplingConfig:
    steady_fps: float = 1.0  # posture steady, or an alert already raised
    watch_fps: float = 2.0  # a finding near its threshold, or poor and building toward an alert
    away_fps: float = 0.25  # nobody there for a while
    near_severity: float = 0.7  # from here a finding counts as near its threshold
    away_after_s: float = 10.0  # away this long before slowing down (people come back quickly)

    def __post_init__(self) -> None:
        if not 0 < self.away_fps <= self.steady_fps <= self.watch_fps < math.inf:
            raise ConfigError(
                "sampling.away_fps, steady_fps and watch_fps must satisfy 0 < away_fps <= steady_fps <= watch_fps"
            )
        if not 0 < self.near_severity <= 1.0:
            raise ConfigError("sampling.near_severity must be in (0, 1]")
        if not 0 <= self.away_after_s < math.inf:
            raise ConfigError("sampling.away_after_s must be >= 0")


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


@dataclass(frozen=True)
class GateConfig:
    """The change gate (``[change_gate]`` in the config file): skip the pose model while nothing moves."""

    enabled: bool = True
    pixel_change: float = 10.0  # grey levels (0-255) a thumbnail pixel must move to count as changed
    changed_share: float = 0.01  # share of changed thumbnail pixels that counts as a change in the picture
    max_reuse_s: float = 5.0  # look properly at least this often, even in a still picture

    def __post_init__(self) -> None:
        if not 0 <= self.pixel_change < 255:
            raise ConfigError("change_gate.pixel_change must be a grey level in [0, 255)")
        if not 0 < self.changed_share <= 1.0:
            raise ConfigError("change_gate.changed_share must be a share in (0, 1]")
        if not 0 < self.max_reuse_s < math.inf:
            raise ConfigError("change_gate.max_reuse_s must be positive")


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
