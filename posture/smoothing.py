"""One Euro filter (Casiez, Roussel & Vogel, CHI 2012) on named metrics, in seconds and hertz.

Low jitter at rest, little lag on fast moves: the cut-off frequency rises with the signal's speed.
Timestamps come from the frames, so the filter behaves the same at any sample rate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["MetricSmoother", "OneEuroFilter"]


def _alpha(cutoff_hz: float, dt_s: float) -> float:
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt_s)


@dataclass
class OneEuroFilter:
    """A single scalar One Euro filter."""

    min_cutoff_hz: float = 1.0
    beta: float = 0.0
    d_cutoff_hz: float = 1.0
    _x: float | None = None  # last filtered value
    _dx: float = 0.0  # last filtered derivative (units per second)
    _t_s: float | None = None  # time of the last sample

    def update(self, t_s: float, x: float) -> float:
        if self._x is None or self._t_s is None or t_s <= self._t_s:
            self._x, self._dx, self._t_s = x, 0.0, t_s
            return x
        dt_s = t_s - self._t_s
        dx = (x - self._x) / dt_s
        self._dx += _alpha(self.d_cutoff_hz, dt_s) * (dx - self._dx)
        cutoff = self.min_cutoff_hz + self.beta * abs(self._dx)
        self._x += _alpha(cutoff, dt_s) * (x - self._x)
        self._t_s = t_s
        return self._x

    def reset(self) -> None:
        self._x, self._dx, self._t_s = None, 0.0, None


class MetricSmoother:
    """One filter per metric name; a metric that goes missing resets its filter.

    A gap longer than ``reset_after_s`` (the person left, the view changed) also restarts the
    filters, so a new stretch does not inherit the old one's state.
    """

    def __init__(self, min_cutoff_hz: float, beta: float, reset_after_s: float = 2.5) -> None:
        self._min_cutoff_hz = min_cutoff_hz
        self._beta = beta
        self._reset_after_s = reset_after_s
        self._filters: dict[str, OneEuroFilter] = {}  # one per metric name
        self._last_t_s: float | None = None  # time of the last frame with metrics

    def update(self, t_s: float, metrics: Mapping[str, float | None]) -> dict[str, float | None]:
        if self._last_t_s is not None and t_s - self._last_t_s > self._reset_after_s:
            self._filters.clear()
        self._last_t_s = t_s
        out: dict[str, float | None] = {}
        for name, value in metrics.items():
            if value is None:
                self._filters.pop(name, None)
                out[name] = None
                continue
            filt = self._filters.get(name)
            if filt is None:
                filt = self._filters[name] = OneEuroFilter(self._min_cutoff_hz, self._beta)
            out[name] = filt.update(t_s, value)
        return out

    def reset(self) -> None:
        self._filters.clear()
        self._last_t_s = None


class StickyLabel:
    """A label (such as the camera's view) that changes only after the new value has held for
    ``hold_s`` seconds of source time, so a frame-to-frame flicker between two readings of an
    ambiguous angle does not flip everything that depends on it."""

    def __init__(self, hold_s: float) -> None:
        self.hold_s = hold_s
        self._value: str | None = None  # the label in force
        self._candidate: str | None = None  # a different label seen lately
        self._since_s = 0.0  # when the candidate was first seen

    def update(self, t_s: float, value: str) -> str:
        if self._value is None or value == self._value:
            self._value, self._candidate = value, None
        elif value != self._candidate:
            self._candidate, self._since_s = value, t_s
        elif t_s - self._since_s >= self.hold_s:
            self._value, self._candidate = value, None
        return self._value

    def reset(self) -> None:
        self._value = self._candidate = None
