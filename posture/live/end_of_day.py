"""The day in one line: the tray's "today" menu line, and the opt-in end-of-day notification.

Pure: the figures come in as a :class:`~posture.outputs.history.DaySummary` (the history's sessions
of the day, the running one included with its last update) and the words go out as strings or a
:class:`~posture.policy.Notification` for the monitor's alert sinks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from posture.config import EndOfDayConfig
from posture.durations import format_duration
from posture.findings import FINDING_WORDS
from posture.policy import Notification

if TYPE_CHECKING:
    from posture.advice import Catalogue
    from posture.outputs.history import DaySummary, SessionTotals

__all__ = ["EndOfDay", "Tomorrow", "day_line", "day_from_totals", "tomorrow"]

# A day with at least this much sitting per break taken is told to take more breaks.
_SITTING_PER_BREAK_S = 3600.0


def day_line(day: DaySummary | None) -> str:
    """``Today: 3 h 10 min watched, 18 % poor, 2 alerts`` (the tray's first menu line)."""
    if day is None or day.present_s <= 0:
        return "Today: nothing watched yet"
    alerts = f"{day.alerts} alert{'s' if day.alerts != 1 else ''}"
    return (
        f"Today: {format_duration(day.present_s, style='words')} watched, {day.poor_share:.0%} poor, {alerts}"
    )


@dataclass(frozen=True)
class Tomorrow:
    """The one thing to work on tomorrow: an advice topic and its one-sentence summary."""

    topic: str
    text: str


def tomorrow(day: DaySummary, catalogue: Catalogue) -> Tomorrow:
    """The day's top finding's advice; else, after long sitting with few breaks, the breaks advice;
    else a word to keep it up."""
    code = day.top_finding
    if code is not None:
        topics = catalogue.topics_for(code)
        if topics:
            return Tomorrow(topics[0], catalogue.topic(topics[0]).summary)
    if day.present_s >= _SITTING_PER_BREAK_S * (day.breaks + 1):
        return Tomorrow("breaks", catalogue.topic("breaks").summary)
    return Tomorrow("movement", "Keep it up: the same set-up and breaks tomorrow.")


def day_from_totals(day: date, totals: SessionTotals) -> DaySummary:
    """A day made of one session's totals (a monitor that keeps no history)."""
    from posture.outputs.history import DaySummary

    return DaySummary(
        day=day,
        sessions=1,
        present_s=totals.present_s,
        poor_s=totals.poor_s,
        episodes=totals.episodes,
        alerts=totals.alerts,
        breaks=totals.breaks,
        finding_poor_s=dict(totals.finding_poor_s),
    )


def end_of_day_message(day: DaySummary, catalogue: Catalogue) -> tuple[str, str, str]:
    """(title, message, advice topic) of the end-of-day notification."""
    top = day.top_finding
    mostly = f" (mostly {FINDING_WORDS.get(top, top.replace('_', ' '))})" if top and day.poor_s > 0 else ""
    breaks = f"{day.breaks} break{'s' if day.breaks != 1 else ''}"
    alerts = f"{day.alerts} alert{'s' if day.alerts != 1 else ''}"
    watched = format_duration(day.present_s, style="words")
    work_on = tomorrow(day, catalogue)
    message = (
        f"{watched} at the desk, poor posture {day.poor_share:.0%}{mostly}, {alerts}, {breaks}. "
        f"Tomorrow: {work_on.text}"
    )
    return "Your day at the desk", message, work_on.topic


class EndOfDay:
    """Sends the day's summary once, when the local time passes ``config.at`` while the monitor runs.

    ``today`` returns the history's summary of the day so far (None: no history, then the running
    session's totals stand for the day). :meth:`due` is called on every turn of the monitor's loop
    and returns the notification at the one turn that crosses the set time.
    """

    def __init__(
        self,
        config: EndOfDayConfig,
        today: Callable[[], DaySummary | None],
        catalogue: Catalogue | None = None,
    ) -> None:
        self.config = config
        self._today = today
        self._catalogue = catalogue
        self._last: datetime | None = None  # the wall time of the previous call

    def due(
        self,
        wall: datetime,
        running: Callable[[], SessionTotals],
        quiet: Callable[[datetime], bool] = lambda _wall: False,
    ) -> Notification | None:
        """The notification if the set time passed since the last call, else None. ``running`` gives
        the session's totals so far; during ``quiet`` hours it is held (same day) until they end."""
        last = self._last
        if last is None or not self.config.enabled:
            self._last = wall
            return None
        hour, minute = self.config.hour_minute
        at = wall.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if not last < at <= wall:
            self._last = wall
            return None
        if quiet(wall):
            return None  # still due once the quiet hours end, the same day
        self._last = wall
        if self._catalogue is None:
            from posture.advice import load_catalogue

            self._catalogue = load_catalogue()
        totals = running()
        day = self._today() or day_from_totals(wall.date(), totals)
        if day.present_s <= 0:
            return None  # nobody sat here today: nothing to sum up
        title, message, topic = end_of_day_message(day, self._catalogue)
        return Notification(totals.duration_s, "end_of_day", title, message, 1, advice=(topic,))
