"""How a length of time (or the time a pause ends) is written, everywhere posture writes one."""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Literal

__all__ = ["clock", "clock_time", "format_duration", "time_of_day"]

Style = Literal["words", "short"]


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


def format_duration(seconds: float, style: Style = "short") -> str:
    """A duration for people.

    ``short`` (tables, overlays, reports): ``0 s``, ``4.4 s``, ``42 s``, ``3 min``, ``3 min 20 s``, ``1 h 05 min``.
    ``words`` (notifications and messages): ``40 seconds``, ``4 minutes``, ``1 hour 5 minutes``,
    rounded down past a minute.
    """
    seconds = max(0.0, float(seconds)) if math.isfinite(seconds) else 0.0
    if style == "words":
        total = round(seconds)
        if total < 60:
            return _plural(total, "second")
        minutes = total // 60
        if minutes < 60:
            return _plural(minutes, "minute")
        hours, minutes = divmod(minutes, 60)
        return _plural(hours, "hour") + (f" {_plural(minutes, 'minute')}" if minutes else "")
    if seconds < 0.05:
        return "0 s"
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    if seconds < 3600:
        m, s = divmod(round(seconds), 60)
        return f"{m} min {s:02d} s" if s else f"{m} min"
    h, rest = divmod(round(seconds), 3600)
    return f"{h} h {rest // 60:02d} min"


def clock(t_s: float, *, decimals: bool = True) -> str:
    """A position in a recording: ``m:ss.s`` (or ``m:ss``, ``h:mm:ss``)."""
    t_s = max(0.0, float(t_s)) if math.isfinite(t_s) else 0.0
    if t_s >= 3600:
        h, rest = divmod(round(t_s), 3600)
        m, s = divmod(rest, 60)
        return f"{h}:{m:02d}:{s:02d}"
    if decimals and t_s < 600:
        m, s = divmod(round(t_s, 1), 60)
        return f"{int(m)}:{s:04.1f}"
    m, s = divmod(round(t_s), 60)
    return f"{m}:{s:02d}"


_TIME_OF_DAY = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)", re.ASCII)


def time_of_day(text: object) -> tuple[int, int] | None:
    """``"17:30"`` or ``"7:30"`` as (hour, minute) of a 24-hour day; None for anything else."""
    match = _TIME_OF_DAY.fullmatch(text.strip()) if isinstance(text, str) else None
    return None if match is None else (int(match.group(1)), int(match.group(2)))


def clock_time(t_s: float, now: datetime) -> str:
    """A unix time as ``14:30`` today, ``tomorrow 06:00``, or ``Mon 3 Mar 06:00`` further away,
    in ``now``'s zone; ``unix time 1e+20`` past what a date can hold (it never raises)."""
    try:
        end = datetime.fromtimestamp(t_s, tz=now.tzinfo)
    except (OverflowError, OSError, ValueError):  # years past 9999, or before what the OS can show
        return f"unix time {t_s:g}"
    days = (end.date() - now.date()).days
    hhmm = end.strftime("%H:%M")
    if days == 0:
        return hhmm
    if days == 1:
        return f"tomorrow {hhmm}"
    return f"{end.strftime('%a')} {end.day} {end.strftime('%b')} {hhmm}"
