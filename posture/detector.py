"""The sustained-poor-posture detector: per-frame readings in, episodes, alerts and breaks out.

Pure state, no clock: :meth:`Detector.update` is called with every reading (away and uncertain
ones too) and every duration is measured in seconds of the readings' own ``t_s``.

How a frame counts. ``away`` frames pause every clock. ``uncertain`` frames are ignored by the
posture clocks (time passes, nothing is credited) but count as presence for the sitting bout. For
the other frames the findings decide: *poor* when some finding's severity is at least 1.0,
*clearly better* when every severity is below ``release_severity``, and in between neither.

A poor stretch starts at its first poor frame. Each interval between two readings, as far as
:func:`counted_s` lets it count, is credited to the state of the reading that opened it. While a
finding is poor its angle-×-time *dose* grows by ``dt / holding_time(severity)``; it pauses
(neither grows nor resets) through short good moments. The stretch becomes an *episode* once its
poor time reaches the onset delay (a glance at the keyboard stays below it), and the episode
*alerts* when any finding's dose reaches 1. The stretch ends after ``release_s`` of uninterrupted
clearly-better posture (uncertain frames pause that clock too); an episode's ``end_s`` is when that
better stretch began. A break (away for ``break_s``) also ends it, at the moment the person left. A
change of problem ends it too: when the poor findings take the body another way than the episode's
own did (hunched over the desk, then slid down and reclined: forward, then backward) and stay poor
that way for ``change_s`` without the old way coming back, the episode ends where the new problem began and
a new one starts there, with its own dose and alert. Findings that take turns the same way (the
head forward, then the back as well) stay one episode.

Live, an alert stays active through the clearly-better time that ends its episode: the detector
cannot know yet that the better posture will last. A recording can: :func:`settle_alerts` gives
its readings the alert the whole recording tells, active from ``alert_s`` to the episode's
``end_s`` and nowhere else, so the timeline, the events, the summary and the report agree.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from posture.errors import ConfigError
from posture.findings import FINDING_CODES, BodyPart, Direction, info
from posture.reading import Reading, Verdict

__all__ = [
    "ALERT",
    "BREAK_DUE",
    "BREAK_TAKEN",
    "EPISODE_END",
    "EPISODE_START",
    "EVENT_KINDS",
    "Detector",
    "DetectorConfig",
    "DetectorState",
    "Episode",
    "Event",
    "FindingStats",
    "alert_spans",
    "counted_s",
    "gap_limit_s",
    "settle_alerts",
]

EPISODE_START = "episode_start"
ALERT = "alert"
EPISODE_END = "episode_end"
BREAK_DUE = "break_due"
BREAK_TAKEN = "break_taken"
EVENT_KINDS: tuple[str, ...] = (EPISODE_START, ALERT, EPISODE_END, BREAK_DUE, BREAK_TAKEN)

_EPS = 1e-9  # slack for sums of float timestamps (10 × 0.1 is not exactly 1.0)


# -- how long a gap between two readings counts ------------------------------------------------------
# The one rule for the detector's clocks, the live monitor's running totals and a recording's
# summary (summary.json, the report, the history). A reading stands for the time until the next one
# while that is no longer than the sampling plans (twice its step, so a late frame still counts
# whole) or GAP_FLOOR_S, whichever is longer. A longer gap (a pause, a camera lost and found, a cut
# in the video, a computer asleep) counts only that far: nobody watched the rest of it.

GAP_FLOOR_S = 2.0


def gap_limit_s(step_s: float) -> float:
    """The most a gap between two readings counts for, when the sampling's step is ``step_s``
    (the sample step of a recording; live, the step the monitor planned)."""
    return max(GAP_FLOOR_S, 2.0 * step_s)


def counted_s(gap_s: float, step_s: float) -> float:
    """How much of the gap between two readings counts (see :func:`gap_limit_s`)."""
    return min(max(gap_s, 0.0), gap_limit_s(step_s))


def _check(ok: bool, message: str) -> None:
    """A value check of the detector's section: ``message`` names the key (``detector.key``)."""
    if not ok:
        raise ConfigError(message)


@dataclass(frozen=True)
class DetectorConfig:
    """When poor posture counts as sustained, and when a sitting bout calls for a break.

    Holding times are ISO 11226's maximum acceptable holding times, linearised in the standard's
    angle bands: head inclination 25°→85° allows 8 min → 1 min, trunk inclination 20°→60° allows
    4 min → 1 min. A finding's severity is linear in its angle with 1.0 at the threshold (the
    start of the standard's limited-holding band), so the holding time falls linearly from
    ``*_hold_s`` at severity 1.0 to ``*_min_hold_s`` at ``min_hold_severity`` (3.0 stands for the
    band's far end) and stays there beyond. ``hold_s`` replaces all of this with one fixed time.
    """

    hold_s: float | None = None  # fixed holding time for every finding; None = ISO 11226 by severity
    grace_s: float = 5.0  # a poor stretch shorter than this never starts an episode (a glance)
    release_severity: float = 0.8  # clearly better only below this severity (hysteresis)
    release_s: float = 5.0  # an episode ends after this long clearly better
    head_hold_s: float = 480.0  # head/neck findings at severity 1.0 (ISO 11226: 8 min at 25°)
    head_min_hold_s: float = 60.0  # head/neck findings at min_hold_severity (1 min at 85°)
    trunk_hold_s: float = 240.0  # trunk findings at severity 1.0 (ISO 11226: 4 min at 20°)
    trunk_min_hold_s: float = 60.0  # trunk findings at min_hold_severity (1 min at 60°)
    min_hold_severity: float = 3.0  # severity from which the shortest holding time applies
    # A new problem (poor findings that take the body another way than the episode's) that holds
    # this long without the old way coming back ends the episode and starts one of its own.
    change_s: float = 2.0
    sitting_bout_s: float = 1800.0  # break due after this much sitting (McLean 2001, Buckley 2015)
    break_s: float = 180.0  # this long away counts as a break and resets the sitting bout

    def __post_init__(self) -> None:
        for name in (
            "grace_s",
            "release_severity",
            "release_s",
            "head_hold_s",
            "head_min_hold_s",
            "trunk_hold_s",
            "trunk_min_hold_s",
            "min_hold_severity",
            "change_s",
            "sitting_bout_s",
            "break_s",
        ):
            value = getattr(self, name)
            _check(
                isinstance(value, (int, float)) and math.isfinite(value),
                f"detector.{name} must be a number, got {value!r}",
            )
        _check(
            self.hold_s is None or (math.isfinite(self.hold_s) and self.hold_s > 0),
            f"detector.hold_s must be positive (or unset), got {self.hold_s!r}",
        )
        _check(self.grace_s >= 0, "detector.grace_s must be >= 0")
        _check(
            0 < self.release_severity <= 1.0,
            "detector.release_severity must be in (0, 1]: posture is poor from severity 1.0",
        )
        _check(self.release_s >= 0, "detector.release_s must be >= 0")
        _check(
            self.head_hold_s >= self.head_min_hold_s > 0,
            "detector.head_hold_s must be >= detector.head_min_hold_s > 0",
        )
        _check(
            self.trunk_hold_s >= self.trunk_min_hold_s > 0,
            "detector.trunk_hold_s must be >= detector.trunk_min_hold_s > 0",
        )
        _check(self.min_hold_severity > 1.0, "detector.min_hold_severity must exceed 1.0")
        _check(self.change_s >= 0, "detector.change_s must be >= 0")
        _check(self.sitting_bout_s > 0, "detector.sitting_bout_s must be positive")
        _check(self.break_s > 0, "detector.break_s must be positive")

    def hold_time_s(self, code: str, severity: float) -> float:
        """How long ``code`` may be held at ``severity`` (>= 1) before it calls for an alert."""
        if self.hold_s is not None:
            return self.hold_s
        # A finding's body part (posture.findings) picks the ISO 11226 curve; a code this version
        # does not know gets the trunk's (shorter, so more cautious) holding times.
        finding = info(code)
        if finding is not None and finding.body_part is BodyPart.HEAD_NECK:
            longest, shortest = self.head_hold_s, self.head_min_hold_s
        else:
            longest, shortest = self.trunk_hold_s, self.trunk_min_hold_s
        frac = (severity - 1.0) / (self.min_hold_severity - 1.0)
        frac = min(max(frac, 0.0), 1.0)
        return longest - (longest - shortest) * frac

    @property
    def release_time_s(self) -> float:
        """Clearly-better time that ends an episode: ``release_s``, but with a fixed hold shorter
        than that (short demo clips) no longer than the hold itself, and at least one second."""
        if self.hold_s is not None:
            return min(self.release_s, max(self.hold_s, 1.0))
        return self.release_s

    @property
    def onset_s(self) -> float:
        """Poor time before a stretch becomes an episode: the grace, or less if a hold is shorter."""
        if self.hold_s is not None:
            return min(self.grace_s, self.hold_s)
        return min(self.grace_s, self.head_hold_s, self.trunk_hold_s)


@dataclass(frozen=True)
class FindingStats:
    """One finding over an episode: severity peak and time-weighted mean while poor, and poor time."""

    peak: float
    mean: float
    poor_s: float

    def to_dict(self) -> dict[str, float]:
        return {"peak": round(self.peak, 3), "mean": round(self.mean, 3), "poor_s": round(self.poor_s, 3)}


@dataclass(frozen=True)
class Episode:
    """A sustained-poor-posture episode. For an open one, ``end_s`` is the latest reading's time.

    ``findings`` lists the findings that were poor during it, the most exposed (largest dose) first.
    """

    start_s: float
    end_s: float
    alert_s: float | None
    findings: dict[str, FindingStats]

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "duration_s": round(self.duration_s, 3),
            "alert_s": None if self.alert_s is None else round(self.alert_s, 3),
            "findings": {code: stats.to_dict() for code, stats in self.findings.items()},
        }


@dataclass(frozen=True)
class Event:
    """Something the detector noticed, at the time of the reading that revealed it.

    ``duration_s`` says how long: the episode so far (``episode_start``, ``alert``,
    ``episode_end``), the sitting bout (``break_due``) or the absence (``break_taken``).
    """

    kind: str
    t_s: float
    findings: tuple[str, ...] = ()
    episode: Episode | None = None
    duration_s: float = 0.0


@dataclass(frozen=True)
class DetectorState:
    """The detector's ongoing state, as the alert policy needs it between events."""

    alert_active: bool = False
    findings: tuple[str, ...] = ()  # the open episode's findings, most exposed first
    duration_s: float = 0.0  # how long the open episode has lasted
    bout_s: float = 0.0  # the current sitting bout


@dataclass
class _Accumulator:
    peak: float = 0.0  # highest severity seen while poor
    severity_s: float = 0.0  # sum of severity × dt while poor
    poor_s: float = 0.0  # time poor

    def stats(self) -> FindingStats:
        mean = self.severity_s / self.poor_s if self.poor_s > 0 else self.peak
        return FindingStats(peak=self.peak, mean=mean, poor_s=self.poor_s)


_AWAY, _UNCERTAIN, _POOR, _BETTER, _BETWEEN = "away", "uncertain", "poor", "better", "between"


@dataclass
class _Stretch:
    """A poor stretch: a candidate until its poor time reaches the onset delay, then an episode."""

    start_s: float  # first poor reading
    poor_s: float = 0.0  # poor time so far
    dose: dict[str, float] = field(default_factory=dict)  # per finding: sum of dt / holding time
    acc: dict[str, _Accumulator] = field(default_factory=dict)  # per finding: severity statistics
    started: bool = False  # episode_start has been sent
    alert_s: float | None = None  # when the episode alerted
    recovery_start_s: float | None = None  # first reading of the current clearly-better run
    recovery_s: float = 0.0  # clearly-better time in that run
    change_start_s: float | None = None  # first reading of a new problem (another direction)
    change_poor_s: float = 0.0  # poor time of that new problem so far
    change_codes: set[str] = field(default_factory=set)  # the new problem's findings
    ways: set[Direction | None] = field(default_factory=set)  # the directions of its last poor reading

    def ranked(self) -> tuple[str, ...]:
        order = {code: i for i, code in enumerate(FINDING_CODES)}
        return tuple(sorted(self.acc, key=lambda c: (-self.dose.get(c, 0.0), order.get(c, len(order)), c)))

    def episode(self, end_s: float) -> Episode:
        findings = {code: self.acc[code].stats() for code in self.ranked()}
        return Episode(start_s=self.start_s, end_s=end_s, alert_s=self.alert_s, findings=findings)


def _direction(code: str) -> Direction | None:
    finding = info(code)
    return None if finding is None else finding.direction


class Detector:
    """Turns readings into episode, alert and break events; see the module docstring.

    ``step_s`` is the sampling's step while someone is there (the sample step of a recording,
    the live sampler's slowest): how far a gap between two readings counts (:func:`counted_s`).
    """

    def __init__(self, config: DetectorConfig | None = None, *, step_s: float = 0.0) -> None:
        self.config = config if config is not None else DetectorConfig()
        self.step_s = step_s
        self._episodes: list[Episode] = []  # closed episodes that raised an alert
        self._last_t_s: float | None = None  # time of the previous reading
        self._last_kind: str | None = None  # how the previous reading counted (_POOR, _AWAY, ...)
        self._last_poor: dict[str, float] = {}  # the previous reading's poor findings
        self._stretch: _Stretch | None = None  # the current poor stretch, if any
        self._bout_s = 0.0  # presence since the last break
        self._break_due_sent = False  # break_due has fired for this bout
        self._away_since_s: float | None = None  # first reading of the current absence
        self._break_counted = False  # the current absence has already counted as a break

    # --- public state -------------------------------------------------------------------------

    @property
    def alert_active(self) -> bool:
        """An episode has alerted and not ended, and the person is there."""
        s = self._stretch
        return s is not None and s.alert_s is not None and self._last_kind != _AWAY

    @property
    def episode(self) -> Episode | None:
        """The open episode so far, or None (a poor stretch below the onset delay is not one)."""
        s = self._stretch
        if s is None or not s.started:
            return None
        end_s = s.recovery_start_s if s.recovery_start_s is not None else self._last_t_s
        return s.episode(end_s if end_s is not None else s.start_s)

    @property
    def episodes(self) -> list[Episode]:
        """The closed episodes that raised an alert, oldest first."""
        return list(self._episodes)

    @property
    def bout_s(self) -> float:
        """Time present since the last break."""
        return self._bout_s

    @property
    def state(self) -> DetectorState:
        episode = self.episode
        return DetectorState(
            alert_active=self.alert_active,
            findings=tuple(episode.findings) if episode is not None else (),
            duration_s=episode.duration_s if episode is not None else 0.0,
            bout_s=self._bout_s,
        )

    # --- per frame ----------------------------------------------------------------------------

    def update(self, reading: Reading) -> list[Event]:
        """Take one reading (any verdict) and return what it revealed."""
        t_s = float(reading.t_s)
        kind, poor = self._classify(reading)
        events: list[Event] = []
        if self._last_t_s is not None:
            dt = counted_s(t_s - self._last_t_s, self.step_s)
            self._credit(dt)
            self._after_credit(t_s, events)
        self._enter(kind, poor, t_s, events)
        self._last_t_s, self._last_kind, self._last_poor = t_s, kind, poor
        return events

    def finish(self, t_s: float | None = None) -> list[Event]:
        """Close an open episode at the end of a recording (at ``t_s``, default the last reading)."""
        events: list[Event] = []
        s = self._stretch
        if s is None:
            return events
        end_t = t_s if t_s is not None else (self._last_t_s if self._last_t_s is not None else s.start_s)
        end_s = s.recovery_start_s if s.recovery_start_s is not None else max(end_t, s.start_s)
        self._close(end_s, end_t, events)
        return events

    # --- internals ----------------------------------------------------------------------------

    def _classify(self, reading: Reading) -> tuple[str, dict[str, float]]:
        if reading.posture == Verdict.AWAY or not reading.person:
            return _AWAY, {}
        if reading.posture == Verdict.UNCERTAIN:
            return _UNCERTAIN, {}
        severities = {c: float(v) for c, v in reading.findings.items() if not math.isnan(v)}
        poor = {c: v for c, v in severities.items() if v >= 1.0}
        if poor:
            return _POOR, poor
        worst = max(severities.values(), default=0.0)
        # a "poor" verdict never counts as clearly better, even without a finding to dose
        if worst < self.config.release_severity and reading.posture != Verdict.POOR:
            return _BETTER, {}
        return _BETWEEN, {}

    def _credit(self, dt: float) -> None:
        """Credit the interval since the previous reading to that reading's state."""
        kind = self._last_kind
        if kind == _AWAY:
            return
        self._bout_s += dt
        s = self._stretch
        if s is None:
            return
        if kind == _POOR:
            s.poor_s += dt
            if s.change_start_s is not None:
                s.change_poor_s += dt
            for code, severity in self._last_poor.items():
                s.dose[code] = s.dose.get(code, 0.0) + dt / self.config.hold_time_s(code, severity)
                acc = s.acc[code]
                acc.severity_s += severity * dt
                acc.poor_s += dt
        elif kind == _BETTER and s.recovery_start_s is not None:
            s.recovery_s += dt

    def _after_credit(self, t_s: float, events: list[Event]) -> None:
        s = self._stretch
        if s is not None:
            if s.recovery_start_s is not None and s.recovery_s >= self.config.release_time_s - _EPS:
                self._close(s.recovery_start_s, t_s, events)
            else:
                if s.change_start_s is not None and s.change_poor_s >= self.config.change_s - _EPS:
                    s = self._split(t_s, events)
                if not s.started and s.poor_s >= self.config.onset_s - _EPS:
                    self._start(t_s, events)
                # while a new problem is pending, its findings' dose is its own: it alerts (if it
                # lasts) on the new episode, never on the one it is about to end
                due = any(d >= 1.0 - _EPS for c, d in s.dose.items() if c not in s.change_codes)
                if s.alert_s is None and due:
                    if not s.started:
                        self._start(t_s, events)
                    s.alert_s = t_s
                    events.append(Event(ALERT, t_s, s.ranked(), s.episode(t_s), t_s - s.start_s))
        if not self._break_due_sent and self._bout_s >= self.config.sitting_bout_s - _EPS:
            self._break_due_sent = True
            events.append(Event(BREAK_DUE, t_s, duration_s=self._bout_s))

    def _enter(self, kind: str, poor: dict[str, float], t_s: float, events: list[Event]) -> None:
        """Apply the state of the reading just received."""
        if kind == _AWAY:
            if self._away_since_s is None:
                self._away_since_s = t_s
            away_s = t_s - self._away_since_s
            if not self._break_counted and away_s >= self.config.break_s - _EPS:
                self._break_counted = True
                s = self._stretch
                if s is not None:
                    left_s = s.recovery_start_s if s.recovery_start_s is not None else self._away_since_s
                    self._close(left_s, t_s, events)
                if self._bout_s > 0:
                    events.append(Event(BREAK_TAKEN, t_s, duration_s=away_s))
                self._bout_s = 0.0
                self._break_due_sent = False
            return
        self._away_since_s = None
        self._break_counted = False
        s = self._stretch
        if kind == _POOR:
            ways = {_direction(c) for c in poor}
            if s is None or (not s.started and s.ways and not ways & s.ways):
                # A poor stretch too short to be an episode that turns into another problem is
                # dropped: the new problem starts its own stretch (and its own onset delay).
                s = self._stretch = _Stretch(start_s=t_s)
            s.recovery_start_s, s.recovery_s = None, 0.0
            self._watch_change(s, poor, t_s)
            for code, severity in poor.items():
                acc = s.acc.setdefault(code, _Accumulator())
                acc.peak = max(acc.peak, severity)
        elif kind == _BETTER:
            if s is not None and s.recovery_start_s is None:
                s.recovery_start_s, s.recovery_s = t_s, 0.0
        elif kind == _BETWEEN and s is not None:
            s.recovery_start_s, s.recovery_s = None, 0.0

    def _watch_change(self, s: _Stretch, poor: dict[str, float], t_s: float) -> None:
        """Note when an episode's problem gives way to another: poor findings that take the body
        another way (:class:`posture.findings.Direction`) than the episode's last poor reading
        did; forget it when the old way comes back."""
        now = {_direction(c) for c in poor}
        if not s.started or not s.ways:
            s.ways = now
        elif s.change_start_s is None:
            if now & s.ways:
                s.ways = now
            else:
                s.change_start_s, s.change_poor_s, s.change_codes = t_s, 0.0, set(poor)
        elif now & s.ways:
            s.change_start_s, s.change_poor_s, s.change_codes = None, 0.0, set()
            s.ways = now
        else:
            s.change_codes |= set(poor)

    def _split(self, t_s: float, events: list[Event]) -> _Stretch:
        """End the open episode where its new problem began, and carry that problem on as a new
        stretch with what it has accumulated since."""
        old = self._stretch
        assert old is not None and old.change_start_s is not None
        new = _Stretch(start_s=old.change_start_s, poor_s=old.change_poor_s)
        for code in old.change_codes:
            if code in old.acc:
                new.acc[code] = old.acc.pop(code)
            if code in old.dose:
                new.dose[code] = old.dose.pop(code)
        new.ways = {_direction(c) for c in old.change_codes}
        self._close(old.change_start_s, t_s, events)
        self._stretch = new
        return new

    def _start(self, t_s: float, events: list[Event]) -> None:
        s = self._stretch
        assert s is not None
        s.started = True
        events.append(Event(EPISODE_START, t_s, s.ranked(), s.episode(t_s), t_s - s.start_s))

    def _close(self, end_s: float, t_s: float, events: list[Event]) -> None:
        """End the current stretch; report it if it had become an episode."""
        s = self._stretch
        self._stretch = None
        if s is None or not s.started:
            return
        episode = s.episode(end_s)
        if episode.alert_s is not None:
            self._episodes.append(episode)
        events.append(Event(EPISODE_END, t_s, tuple(episode.findings), episode, episode.duration_s))


def alert_spans(episodes: Sequence[Episode]) -> list[tuple[float, float]]:
    """When each episode's alert was active: from ``alert_s`` to ``end_s`` (end excluded), in order."""
    return sorted((e.alert_s, e.end_s) for e in episodes if e.alert_s is not None and e.end_s > e.alert_s)


def settle_alerts(readings: Sequence[Reading], episodes: Sequence[Episode]) -> list[Reading]:
    """The readings of a whole recording with the alert it tells: active exactly inside an
    alert span of ``episodes`` (:func:`alert_spans`) while someone is there.

    The live flag (:attr:`Detector.alert_active`) also covers the clearly-better time after an
    episode's end, until that time confirms the end; here that tail is dropped, so that no
    reading alerts outside an episode.
    """
    spans = alert_spans(episodes)
    out: list[Reading] = []
    k = 0
    for r in readings:
        while k < len(spans) and r.t_s >= spans[k][1] - _EPS:
            k += 1
        inside = k < len(spans) and r.t_s >= spans[k][0] - _EPS
        alert = inside and r.person and r.posture is not Verdict.AWAY
        out.append(r if r.alert == alert else dataclasses.replace(r, alert=alert))
    return out
