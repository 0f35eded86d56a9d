"""The words of ``posture status`` and ``posture pause``: the monitor's status as text, and a pause
duration read from what the user typed."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from posture.durations import clock_time, format_duration
from posture.findings import FINDING_WORDS
from posture.live.control import MAX_PAUSE_S, USER_PAUSE_REASON, Status
from posture.untrusted import printable

__all__ = ["TOMORROW_HOUR", "format_status", "parse_duration"]

TOMORROW_HOUR = 6  # "until-tomorrow" ends at the next 06:00 local time

_UNIT_S = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1.0),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60.0),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600.0),
    **dict.fromkeys(("d", "day", "days"), 86400.0),
}
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)")
_INDEFINITE = ("indefinite", "indefinitely", "forever")
_TOMORROW = ("until-tomorrow", "until tomorrow", "tomorrow")
_EXAMPLES = "e.g. 15m, 1h, 1h30m, 90s, until-tomorrow or indefinite"


def parse_duration(text: str, now: datetime) -> float | None:
    """The unix time at which a pause given as ``text`` ends, or None for ``indefinite``/``forever``.

    Durations are numbers with units, summed: ``15m``, ``1h``, ``90s``, ``1h30m``, ``2h 15m``,
    ``1.5h`` (units s, m, h, d and their long forms), at most 7 days.
    ``until-tomorrow`` ends at the *next* 06:00 local time after ``now``: at 23:30 that is 06:00
    the next morning, at 02:00 it is 06:00 the same morning (someone still up at 2 am means "until
    after I have slept"). A naive ``now`` is local time; an aware one defines the local zone.
    Raises ``ValueError`` with a one-line message for anything else (no unit, an unknown unit,
    zero, negative).
    """
    words = " ".join(text.strip().lower().split())
    if not words:
        raise ValueError(f"no pause duration given: {_EXAMPLES}")
    if words in _INDEFINITE:
        return None
    if words in _TOMORROW:
        end = now.replace(hour=TOMORROW_HOUR, minute=0, second=0, microsecond=0)
        if end <= now:
            end += timedelta(days=1)
        return end.timestamp()
    if words.startswith("-"):
        raise ValueError(f"a pause duration must be positive, not {_short(text, 40)!r}")
    total_s = 0.0
    pos = 0
    while pos < len(words):
        match = _PART.match(words, pos)
        if match is None:
            raise ValueError(f"cannot read the pause duration {_short(text, 40)!r}: {_EXAMPLES}")
        number, unit = match.groups()
        if not unit:
            raise ValueError(
                f"{_short(text, 40)!r} has no unit: write e.g. {number}m for minutes or {number}h for hours"
            )
        if unit not in _UNIT_S:
            raise ValueError(f"unknown unit {unit!r} in {_short(text, 40)!r}: use s, m, h or d")
        total_s += float(number) * _UNIT_S[unit]
        pos = match.end()
        while pos < len(words) and words[pos] in " ,":
            pos += 1
    if total_s <= 0:
        raise ValueError(f"a pause must be longer than zero, not {_short(text, 40)!r}")
    if not total_s <= MAX_PAUSE_S:  # infinite too: a number of 400 digits reads as inf
        raise ValueError(f"{_short(text, 40)!r} is longer than 7 days: pause 'indefinite' and resume instead")
    return now.timestamp() + total_s


def _short(text: str, limit: int) -> str:
    return printable(" ".join(text.split()), limit)


def _state_line(status: Status, now: datetime) -> str:
    state = status.state
    where = f" {printable(status.source)}" if status.source else ""
    if (
        state == "paused"
        and status.reason
        and status.reason != USER_PAUSE_REASON
        and status.paused_until_s is None
    ):
        return f"Paused: {_short(status.reason, 80)} (monitoring resumes by itself)."
    if state == "paused":
        if status.paused_until_s is None:
            return "Paused until you resume (posture resume)."
        left = max(status.paused_until_s - now.timestamp(), 0.0)
        until = clock_time(status.paused_until_s, now)
        return f"Paused until {until} ({format_duration(left, style='words')} from now)."
    if state == "away":
        return f"Monitoring{where}: nobody at the desk."
    if state == "camera-lost":
        return f"Monitoring{where}: the camera stopped delivering frames; waiting for it."
    if state in ("stopped", "stopping"):
        return "The monitor is stopping."
    if state == "calibrating":
        return f"Calibrating{where}: {_short(status.calibration or 'sit well and hold still', 100)}."
    if state == "starting":
        return "The monitor is starting."
    if state == "running":
        rate = f" (analysing {status.sample_fps:.1f} frames/s)" if status.sample_fps is not None else ""
        return f"Monitoring{where}{rate}."
    return f"State: {_short(state, 40)}."


def format_status(status: Status, now: datetime | None = None) -> str:
    """A few lines for ``posture status``. ``now`` (default: the local time) sets the day and zone
    in which a pause's end is shown."""
    now = now or datetime.now()
    lines = [_state_line(status, now)]
    paused = status.state == "paused"
    if status.verdict and not paused:
        active = sorted(((c, s) for c, s in status.findings.items() if s > 0), key=lambda cs: -cs[1])
        parts = [
            f"{FINDING_WORDS.get(code, code.replace('_', ' '))} ({sev:.2f}{', past the limit' if sev >= 1.0 else ''})"
            for code, sev in active
        ]
        lines.append(
            f"Posture now: {printable(status.verdict)}" + (f": {', '.join(parts)}." if parts else ".")
        )
    if status.alert and not paused:
        lines.append("An alert is active.")
    if status.calibration and status.state != "calibrating":
        lines.append(f"Last calibration asked for: {_short(status.calibration, 120)}.")
    if status.session_s is not None:
        session = format_duration(status.session_s, style="words")
        if status.present_s > 0:
            poor = format_duration(status.poor_s, style="words")
            present = format_duration(status.present_s, style="words")
            share = status.poor_s / status.present_s
            lines.append(
                f"This session: {session}; poor posture {poor} ({share:.0%} of {present} at the desk)."
            )
        else:
            lines.append(f"This session: {session}; nobody at the desk yet.")
    return "\n".join(lines) + "\n"
