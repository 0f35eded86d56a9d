"""The alert policy: when the user is actually notified, and with what words.

Separate from the detector, which says *that* posture has been poor for too long; the policy says
whether to interrupt the user now. It re-notifies while the same episode goes on, each time waiting
longer and raising the level (alerts that repeat, without spam), keeps a cooldown between any two
notifications and a cap per hour, and honours snooze, pause and quiet hours. Something held back
(a first alert inside the cooldown, a break reminder during a snooze) is delivered by a later
:meth:`AlertPolicy.tick` if it still applies.

Pure: ``now_s`` (seconds, e.g. ``time.monotonic()`` or source time) and ``wall`` (local time, for
quiet hours) are passed in; nothing here reads a clock.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from posture.detector import ALERT, BREAK_DUE, BREAK_TAKEN, EPISODE_END, DetectorState, Event
from posture.durations import format_duration, time_of_day
from posture.errors import ConfigError
from posture.findings import FINDINGS, info
from posture.untrusted import printable

__all__ = [
    "DEFAULT_ADVICE_LINKS",
    "MAX_LEVEL",
    "AlertPolicy",
    "Notification",
    "PolicyConfig",
    "describe",
]

MAX_LEVEL = 3
_HOUR_S = 3600.0

_SITTING_BOUT = "sitting_bout"  # the event kind break reminders link advice from (advice.EVENT_KINDS)


class _AdviceLinks(Mapping[str, tuple[str, ...]]):
    """Finding code (and the sitting bout) → advice topic ids, as the finding registry is now;
    the advice module owns the topics."""

    def _table(self) -> dict[str, tuple[str, ...]]:
        return {**{code: (f.advice_topic,) for code, f in FINDINGS.items()}, _SITTING_BOUT: ("breaks",)}

    def __getitem__(self, code: str) -> tuple[str, ...]:
        return self._table()[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


DEFAULT_ADVICE_LINKS: Mapping[str, tuple[str, ...]] = _AdviceLinks()


_TITLES = {1: "Check your posture", 2: "Still the same posture", 3: "Time to change position"}


def _words(seconds: float) -> str:
    return format_duration(seconds, style="words")


def _finding_words(code: str) -> str:
    finding = info(code)
    return code.replace("_", " ") if finding is None else finding.words


def describe(finding_code: str, duration_s: float) -> str:
    """One plain sentence naming the problem and how long it has lasted."""
    finding = info(finding_code)
    phrase = finding.notice if finding else f"Your posture has shown {finding_code.replace('_', ' ')}"
    return f"{phrase} for {_words(duration_s)}."


def _minutes_of_day(text: str) -> int:
    found = time_of_day(text)
    if found is None:
        shown = printable(repr(text[:50] if isinstance(text, str) else text), 40)
        raise ConfigError(f"policy.quiet_hours: expected a time like '22:00', got {shown}")
    return found[0] * 60 + found[1]


@dataclass(frozen=True)
class PolicyConfig:
    """How often the user may be interrupted."""

    cooldown_s: float = 180.0  # at least this long between two notifications
    realert_s: float = 300.0  # first re-notification while the same episode goes on
    escalation: float = 1.5  # each further re-notification waits this many times longer
    max_per_hour: int = 6  # at most this many notifications in any 60 minutes
    quiet_hours: tuple[str, str] | None = None  # ("22:00", "07:00"): silent; may cross midnight
    break_reminders: bool = True  # notify when a sitting bout is long enough for a break

    def __post_init__(self) -> None:
        for name in ("cooldown_s", "realert_s", "escalation"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value)):
                raise ConfigError(f"policy.{name} must be a number, got {value!r}")
        if self.cooldown_s < 0:
            raise ConfigError("policy.cooldown_s must be >= 0")
        if self.realert_s <= 0:
            raise ConfigError("policy.realert_s must be positive")
        if self.escalation < 1.0:
            raise ConfigError("policy.escalation must be >= 1 (re-alerts never come faster)")
        if not isinstance(self.max_per_hour, int) or self.max_per_hour < 1:
            raise ConfigError("policy.max_per_hour must be a whole number >= 1")
        if self.quiet_hours is not None:
            if len(self.quiet_hours) != 2:
                raise ConfigError("policy.quiet_hours must be a pair of times, e.g. ['22:00', '07:00']")
            start, end = (_minutes_of_day(t) for t in self.quiet_hours)
            if start == end:
                raise ConfigError("policy.quiet_hours: start and end must differ")

    def is_quiet(self, wall: datetime) -> bool:
        """Whether local time ``wall`` falls within the quiet hours (start included, end not)."""
        if self.quiet_hours is None:
            return False
        start, end = (_minutes_of_day(t) for t in self.quiet_hours)
        now = wall.hour * 60 + wall.minute
        if start < end:
            return start <= now < end
        return now >= start or now < end


@dataclass(frozen=True)
class Notification:
    """What the user is told. ``advice`` holds advice topic ids for the findings."""

    t_s: float
    kind: str  # "posture" or "break"
    title: str
    message: str
    level: int  # 1 first notice, up to MAX_LEVEL for repeated notices of the same episode
    findings: tuple[str, ...] = ()
    advice: tuple[str, ...] = ()


class AlertPolicy:
    """Decides, from detector events and state, when to notify; see the module docstring."""

    def __init__(
        self,
        config: PolicyConfig | None = None,
        advice_links: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.config = config if config is not None else PolicyConfig()
        links = DEFAULT_ADVICE_LINKS if advice_links is None else advice_links
        self._advice = {key: tuple(topics) for key, topics in links.items()}
        self._sent_s: deque[float] = deque()  # times of the notifications of the last hour
        self._last_sent_s: float | None = None  # time of the latest notification
        self._snooze_until_s: float | None = None  # set by snooze()
        self._pause_until_s: float | None = None  # set by pause(); math.inf until resume()
        self._alerting = False  # an episode has alerted and not ended
        self._findings: tuple[str, ...] = ()  # that episode's findings, most exposed first
        self._episode_sent = 0  # notifications sent for that episode
        self._episode_last_s: float | None = None  # when the latest of them was sent
        self._break_pending = False  # a break reminder is due but not delivered yet

    # --- user controls ------------------------------------------------------------------------

    def snooze(self, until_s: float) -> None:
        """Hold notifications back until ``until_s``; what still applies then is delivered."""
        self._snooze_until_s = until_s

    def pause(self, until_s: float | None = None) -> None:
        """Stop notifying until ``until_s``, or until :meth:`resume` when None."""
        self._pause_until_s = math.inf if until_s is None else until_s

    def resume(self) -> None:
        """End a pause or a snooze now."""
        self._snooze_until_s = None
        self._pause_until_s = None

    @property
    def snoozed_until(self) -> float | None:
        """Until when notifications are held back (``math.inf``: paused with no end), or None."""
        times = [t for t in (self._snooze_until_s, self._pause_until_s) if t is not None]
        return max(times) if times else None

    # --- input --------------------------------------------------------------------------------

    def on_event(self, event: Event, now_s: float, wall: datetime) -> list[Notification]:
        """React to one detector event; returns the notifications to send now."""
        if event.kind == ALERT:
            self._alerting = True
            self._findings = event.findings
            self._episode_sent, self._episode_last_s = 0, None
            return self._posture(now_s, wall, event.duration_s)
        if event.kind == EPISODE_END:
            self._alerting = False
            self._findings = ()
            return []
        if event.kind == BREAK_DUE and self.config.break_reminders:
            self._break_pending = True
            return self._break(now_s, wall, event.duration_s)
        if event.kind == BREAK_TAKEN:
            self._break_pending = False
        return []

    def tick(self, now_s: float, wall: datetime, detector_state: DetectorState) -> list[Notification]:
        """Re-notify a continuing episode, or deliver what was held back, when it is time."""
        state = detector_state
        if state.alert_active:
            if not self._alerting:  # an alert the policy did not see begin
                self._alerting, self._episode_sent, self._episode_last_s = True, 0, None
            if state.findings:
                self._findings = tuple(state.findings)
            if self._posture_due(now_s):
                sent = self._posture(now_s, wall, state.duration_s)
                if sent:
                    return sent
        if self._break_pending:
            return self._break(now_s, wall, state.bout_s)
        return []

    # --- internals ----------------------------------------------------------------------------

    def _posture_due(self, now_s: float) -> bool:
        if self._episode_sent == 0 or self._episode_last_s is None:
            return True
        wait_s = self.config.realert_s * self.config.escalation ** (self._episode_sent - 1)
        return now_s >= self._episode_last_s + wait_s

    def _allowed(self, now_s: float, wall: datetime) -> bool:
        for until_s in (self._snooze_until_s, self._pause_until_s):
            if until_s is not None and now_s < until_s:
                return False
        if self.config.is_quiet(wall):
            return False
        if self._last_sent_s is not None and now_s - self._last_sent_s < self.config.cooldown_s:
            return False
        while self._sent_s and now_s - self._sent_s[0] >= _HOUR_S:
            self._sent_s.popleft()
        return len(self._sent_s) < self.config.max_per_hour

    def _record(self, now_s: float) -> None:
        self._last_sent_s = now_s
        self._sent_s.append(now_s)

    def _advice_for(self, keys: Sequence[str]) -> tuple[str, ...]:
        topics: list[str] = []
        for key in keys:
            topics.extend(t for t in self._advice.get(key, ()) if t not in topics)
        return tuple(topics)

    def _posture(self, now_s: float, wall: datetime, duration_s: float) -> list[Notification]:
        if not self._allowed(now_s, wall):
            return []
        level = min(self._episode_sent + 1, MAX_LEVEL)
        findings = self._findings
        if findings:
            message = describe(findings[0], duration_s)
            others = [_finding_words(c) for c in findings[1:]]
            if others:
                message += f" Also: {', '.join(others)}."
        else:
            message = f"Your posture has been poor for {_words(duration_s)}."
        self._record(now_s)
        self._episode_sent += 1
        self._episode_last_s = now_s
        return [
            Notification(
                t_s=now_s,
                kind="posture",
                title=_TITLES[level],
                message=message,
                level=level,
                findings=findings,
                advice=self._advice_for(findings),
            )
        ]

    def _break(self, now_s: float, wall: datetime, bout_s: float) -> list[Notification]:
        if not self._allowed(now_s, wall):
            return []
        self._record(now_s)
        self._break_pending = False
        message = f"You have been sitting for {_words(bout_s)}. Stand up and move for a few minutes."
        return [
            Notification(
                t_s=now_s,
                kind="break",
                title="Time for a break",
                message=message,
                level=1,
                advice=self._advice_for((_SITTING_BOUT,)),
            )
        ]
