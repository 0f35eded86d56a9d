"""The words of ``posture status`` and ``posture pause``: pause durations as people type them,
and the monitor's status as text."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from posture._cli.live_text import format_status, parse_duration
from posture.live.control import Status

# -- durations -----------------------------------------------------------------------------------------

NOW = datetime(2025, 3, 10, 14, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("15m", 900),
        ("1h", 3600),
        ("90s", 90),
        ("1h30m", 5400),
        ("2h 15m", 8100),
        (" 1H 30 min ", 5400),
        ("1.5h", 5400),
        ("45 minutes", 2700),
        ("1d", 86400),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text, NOW) == NOW.timestamp() + seconds


def test_parse_duration_with_a_naive_local_now() -> None:
    now = datetime(2025, 3, 10, 14, 0)
    assert parse_duration("15m", now) == now.timestamp() + 900


@pytest.mark.parametrize("text", ["indefinite", "forever", "Forever "])
def test_parse_duration_indefinite(text: str) -> None:
    assert parse_duration(text, NOW) is None


@pytest.mark.parametrize(
    ("now", "end"),
    [
        # the rule: the next 06:00 local time after now
        (datetime(2025, 3, 10, 23, 30), datetime(2025, 3, 11, 6, 0)),  # late evening: next morning
        (datetime(2025, 3, 11, 2, 0), datetime(2025, 3, 11, 6, 0)),  # after midnight: this morning
        (datetime(2025, 3, 10, 6, 0), datetime(2025, 3, 11, 6, 0)),  # 06:00 itself: a day later
        (datetime(2025, 3, 10, 14, 0), datetime(2025, 3, 11, 6, 0)),
    ],
)
@pytest.mark.parametrize("tz", [timezone.utc, None])
def test_parse_duration_until_tomorrow(now: datetime, end: datetime, tz: timezone | None) -> None:
    now, end = now.replace(tzinfo=tz), end.replace(tzinfo=tz)
    assert parse_duration("until-tomorrow", now) == end.timestamp()
    assert parse_duration("tomorrow", now) == end.timestamp()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no pause duration"),
        ("   ", "no pause duration"),
        ("15", "has no unit"),
        ("1h30", "has no unit"),
        ("-15m", "must be positive"),
        ("0m", "longer than zero"),
        ("0h 0s", "longer than zero"),
        ("15x", "unknown unit 'x'"),
        ("2 weeks", "unknown unit 'weeks'"),
        ("soon", "cannot read the pause duration"),
        ("1h-30m", "cannot read the pause duration"),
        ("8d", "longer than 7 days"),
        ("9" * 400 + "h", "longer than 7 days"),  # a number of 400 digits reads as infinite
    ],
)
def test_parse_duration_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(text, NOW)


# -- the status text -----------------------------------------------------------------------------------


def status_text(fields: dict[str, Any], now: datetime) -> str:
    """What ``posture status`` prints for a reply with these fields."""
    return format_status(Status.from_json(fields), now)


def test_format_status_running_with_findings_and_totals() -> None:
    text = status_text(
        {
            "state": "running",
            "paused_until_s": None,
            "verdict": "poor",
            "findings": {"forward_head": 1.3, "leaning_in": 0.4, "side_lean": 0.0},
            "alert": True,
            "session_s": 3900,
            "poor_s": 750,
            "present_s": 3750,
            "source": "camera 0",
            "sample_fps": 4,
        },
        NOW,
    )
    assert text == (
        "Monitoring camera 0 (analysing 4.0 frames/s).\n"
        "Posture now: poor: head forward (1.30, past the limit), leaning in (0.40).\n"
        "An alert is active.\n"
        "This session: 1 hour 5 minutes; poor posture 12 minutes (20% of 1 hour 2 minutes at the desk).\n"
    )


def test_format_status_paused() -> None:
    until = datetime(2025, 3, 10, 14, 30, tzinfo=timezone.utc).timestamp()
    text = status_text({"state": "paused", "paused_until_s": until, "verdict": "good", "session_s": 60}, NOW)
    assert text.splitlines() == [
        "Paused until 14:30 (30 minutes from now).",
        "This session: 1 minute; nobody at the desk yet.",
    ]
    tomorrow = datetime(2025, 3, 11, 6, 0, tzinfo=timezone.utc).timestamp()
    assert status_text({"state": "paused", "paused_until_s": tomorrow}, NOW).startswith(
        "Paused until tomorrow 06:00 (16 hours from now)."
    )
    later = datetime(2025, 3, 14, 6, 0, tzinfo=timezone.utc).timestamp()
    assert "Paused until Fri 14 Mar 06:00" in status_text({"state": "paused", "paused_until_s": later}, NOW)
    assert status_text({"state": "paused", "paused_until_s": None}, NOW) == (
        "Paused until you resume (posture resume).\n"
    )
    by_you = {"state": "paused", "reason": "paused by you", "paused_until_s": None}
    assert status_text(by_you, NOW) == "Paused until you resume (posture resume).\n"
    locked = {"state": "paused", "reason": "screen locked", "paused_until_s": None, "verdict": "good"}
    assert status_text(locked, NOW) == "Paused: screen locked (monitoring resumes by itself).\n"


def test_format_status_away_camera_lost_and_sparse() -> None:
    assert status_text({"state": "away", "verdict": "away", "source": "camera 0"}, NOW) == (
        "Monitoring camera 0: nobody at the desk.\nPosture now: away.\n"
    )
    assert status_text({"state": "camera-lost"}, NOW).startswith(
        "Monitoring: the camera stopped delivering frames"
    )
    assert status_text({}, NOW) == "Monitoring.\n"
    assert status_text({"state": "stopped"}, NOW) == "The monitor is stopping.\n"
    assert status_text({"state": "recalibrating", "findings": None, "verdict": "uncertain"}, NOW) == (
        "State: recalibrating.\nPosture now: uncertain.\n"
    )
    assert status_text({"state": "calibrating", "calibration": "hold still for 8 s"}, NOW) == (
        "Calibrating: hold still for 8 s.\n"
    )
    assert status_text({"state": "running", "calibration": "saved: 95% of the frames read good"}, NOW) == (
        "Monitoring.\nLast calibration asked for: saved: 95% of the frames read good.\n"
    )
