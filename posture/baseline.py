"""A person's calibrated good posture: reference values, saved as a small versioned JSON profile.

Made from one image, from the first seconds of a clip, or read back from a profile. Findings then
measure deviations from it (EN 1005-4 also expresses angles relative to a rest posture), which
absorbs the camera's height and tilt and the model's bias.
"""

from __future__ import annotations

import json
import math
import stat
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from posture.atomic import atomic_write
from posture.config import HabitConfig
from posture.errors import BaselineError
from posture.metric_registry import METRICS
from posture.metrics import REFERENCE_KEYS, RawMeasurement
from posture.reading import View

__all__ = ["PROFILE_VERSION", "Baseline", "HabitualReference", "baseline_from_measurements", "baseline_keys"]

PROFILE_VERSION = 1
PROFILE_KIND = "posture-baseline"
MAX_PROFILE_BYTES = 1 << 20  # a profile is about 1 KB
MAX_REFERENCE = 1e6  # angles and percentages; anything larger is not a measurement


def baseline_keys() -> tuple[str, ...]:
    """The values a baseline keeps: every raw quantity a deviation can be taken from (each metric
    measured in the picture, not itself a change from a baseline, and the reference quantities)."""
    return (*(m.name for m in METRICS.values() if not m.relative), *REFERENCE_KEYS)


@dataclass(frozen=True)
class Baseline:
    view: View
    values: dict[str, float | None]
    frames: int
    source: str = ""
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": PROFILE_KIND,
            "version": PROFILE_VERSION,
            "created": self.created,
            "source": self.source,
            "view": self.view.value,
            "frames": self.frames,
            "values": {k: (None if v is None else round(v, 4)) for k, v in self.values.items()},
        }

    def save(self, path: Path) -> None:
        """Write the profile atomically (a failure leaves the previous one, and no temporary file)."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(path) as fh:
                fh.write(json.dumps(self.to_dict(), indent=2) + "\n")
        except OSError as exc:
            raise BaselineError(f"cannot save the profile to {path}: {exc.strerror or exc}") from None

    @classmethod
    def load(cls, path: Path) -> Baseline:
        from posture.untrusted import UntrustedJSONError, load_json

        try:
            st = path.stat()
            if not stat.S_ISREG(st.st_mode):  # a FIFO or a device would block or never end
                raise BaselineError(f"{path} is not a regular file, so not a posture baseline profile")
            if st.st_size > MAX_PROFILE_BYTES:
                raise BaselineError(f"{path} is too large to be a posture baseline profile")
            data = load_json(path.read_bytes())
        except FileNotFoundError:
            raise BaselineError(f"baseline profile not found: {path}") from None
        except (OSError, UntrustedJSONError) as exc:
            raise BaselineError(f"cannot read baseline profile {path}: {exc}") from None
        if not isinstance(data, dict) or data.get("kind") != PROFILE_KIND:
            raise BaselineError(f"{path} is not a posture baseline profile")
        if data.get("version") != PROFILE_VERSION:
            raise BaselineError(
                f"{path} is a version {data.get('version')} profile; this posture reads version "
                f"{PROFILE_VERSION}: calibrate again"
            )
        values = data.get("values")
        if not isinstance(values, dict):
            raise BaselineError(f"{path} has no values")
        keys = baseline_keys()
        clean = {k: _reference(v) for k, v in values.items() if k in keys}
        frames = data.get("frames", 0)
        if not isinstance(frames, int) or isinstance(frames, bool) or frames < 0:
            raise BaselineError(f"{path} has a bad 'frames' value: {frames!r}")
        return cls(
            view=_view(data.get("view")),
            values=clean,
            frames=frames,
            source=str(data.get("source", "")),
            created=str(data.get("created", "")),
        )


def _view(value: Any) -> View:
    """A stored view, or unknown when it is none this version knows."""
    return View(value) if value in {v.value for v in View} else View.UNKNOWN


def _reference(value: Any) -> float | None:
    """A stored reference value, or None when it is not a plausible finite number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    # Compared before any conversion: an int of 400 digits has no float (NaN fails the test).
    return float(value) if -MAX_REFERENCE <= value <= MAX_REFERENCE else None


def _median(xs: list[float]) -> float:
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2.0


def baseline_from_measurements(measurements: Iterable[RawMeasurement], source: str = "") -> Baseline:
    """The median of each raw value over the frames that show a person in the commonest view.

    The median resists the odd frame where the model slips; frames of other views are left out
    so a turn of the head during calibration does not mix side and front references.
    """
    seen = [m for m in measurements if m.person and m.view is not View.UNKNOWN]
    if not seen:
        raise BaselineError(f"no person found for the baseline{' in ' + source if source else ''}")
    view = Counter(m.view for m in seen).most_common(1)[0][0]  # a tie: the view seen first
    chosen = [m for m in seen if m.view is view]
    values: dict[str, float | None] = {}
    for key in baseline_keys():
        xs = [m.values[key] for m in chosen if m.values.get(key) is not None]
        xs = [x for x in xs if x is not None and math.isfinite(x)]
        values[key] = _median(xs) if xs else None
    return Baseline(view=view, values=values, frames=len(chosen), source=source)


# The side-view values a habitual reference keeps.
HABIT_KEYS = ("neck_inclination_deg", "trunk_inclination_deg", "neck_flexion_deg", "head_forward_deg")
# A learnt reference is replaced by a clear upright stretch that differs from it by more than this
# in some value: the minimal detectable change of such angles (science.md), so noise never does.
HABIT_RESET_CHANGE_DEG = 5.0


class HabitualReference:
    """The person's own usual upright posture, learnt as an uncalibrated session goes.

    It lets a session notice a slouch that is clear for this person but below the limits set for
    everyone (a small person, a high camera), and it must never learn a slouch: a session that
    starts slumped would otherwise take the slump for "upright" and blame real upright sitting
    for the rest of the session. So it is built to be only ever more sensitive to deviations from
    good posture (``HabitConfig``):

    - it learns only from frames inside the narrow band of clearly upright sitting for everyone
      (:func:`posture.metrics.upright_band_contains`), never from a frame merely "not poor";
    - it says nothing until ``min_frames`` such frames over ``min_span_s`` seconds were seen;
    - ``assess`` never calls poor, against it, a posture inside that band;
    - a clear upright stretch of ``reset_s`` seconds whose median differs from the reference by
      more than the minimal detectable change (the chair or camera moved) replaces it.

    The reference is the median of each value over the learnt frames of the last ``window_s``.
    """

    def __init__(self, config: HabitConfig) -> None:
        self.config = config
        self._frames: deque[tuple[float, dict[str, float]]] = deque()  # (t_s, values) learnt
        self._run: deque[tuple[float, dict[str, float]]] = deque()  # the upright stretch's last reset_s
        self._run_start_s: float | None = None  # when the current upright stretch began
        self._values: dict[str, float | None] | None = None  # the reference, until _frames changes
        self._stale = True

    def observe(self, t_s: float, values: Mapping[str, float | None], upright: bool) -> None:
        """One side-view frame; ``upright``: inside the band of clearly upright sitting."""
        if not upright:
            self.interrupt()
            return
        kept = {k: float(values[k]) for k in HABIT_KEYS if values.get(k) is not None}  # type: ignore[arg-type]
        if not kept:
            return
        if self._run_start_s is None:
            self._run_start_s = t_s
        self._run.append((t_s, kept))
        while self._run[0][0] < t_s - self.config.reset_s:  # a stretch of hours keeps its last reset_s
            self._run.popleft()
        self._learn(t_s, kept)
        self._maybe_reset(t_s)

    def _learn(self, t_s: float, kept: dict[str, float]) -> None:
        self._frames.append((t_s, kept))
        while self._frames and self._frames[0][0] < t_s - self.config.window_s:
            self._frames.popleft()
        self._stale = True

    def interrupt(self) -> None:
        """The upright stretch is broken (not upright, nobody there, another view, implausible
        geometry): what comes next starts a new one. What was learnt stays."""
        self._run.clear()
        self._run_start_s = None

    def _maybe_reset(self, t_s: float) -> None:
        cfg = self.config
        if self._run_start_s is None or t_s - self._run_start_s < cfg.reset_s:
            return
        learnt = self.values
        if learnt is None:
            return
        run = _medians(self._run, cfg.min_frames)
        if any(
            run.get(k) is not None
            and learnt.get(k) is not None
            and abs(run[k] - learnt[k]) > HABIT_RESET_CHANGE_DEG  # type: ignore[operator]
            for k in HABIT_KEYS
        ):
            self._frames = deque(self._run)
            self._stale = True

    @property
    def values(self) -> dict[str, float | None] | None:
        """The reference, or None while too little has been seen."""
        if self._stale:
            self._values, self._stale = self._reference(), False
        return self._values

    def _reference(self) -> dict[str, float | None] | None:
        cfg = self.config
        if len(self._frames) < cfg.min_frames:
            return None
        if self._frames[-1][0] - self._frames[0][0] < cfg.min_span_s:
            return None
        return _medians(self._frames, cfg.min_frames)


def _medians(frames: Iterable[tuple[float, dict[str, float]]], min_frames: int) -> dict[str, float | None]:
    frames = list(frames)
    out: dict[str, float | None] = {}
    for key in HABIT_KEYS:
        xs = [v[key] for _, v in frames if key in v]
        out[key] = _median(xs) if len(xs) >= min_frames else None
    return out
