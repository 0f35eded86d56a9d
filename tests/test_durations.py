from __future__ import annotations

import math

import pytest

from posture.durations import clock, format_duration, time_of_day


@pytest.mark.parametrize(
    ("seconds", "short", "words"),
    [
        (0, "0 s", "0 seconds"),
        (1, "1.0 s", "1 second"),
        (4.44, "4.4 s", "4 seconds"),
        (42, "42 s", "42 seconds"),
        (180, "3 min", "3 minutes"),
        (200, "3 min 20 s", "3 minutes"),
        (3900, "1 h 05 min", "1 hour 5 minutes"),
        (7200, "2 h 00 min", "2 hours"),
        (-5, "0 s", "0 seconds"),
        (math.nan, "0 s", "0 seconds"),
    ],
)
def test_both_styles(seconds: float, short: str, words: str) -> None:
    assert format_duration(seconds) == short
    assert format_duration(seconds, "words") == words


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (1.0, "1 second"),
        (40.2, "40 seconds"),
        (60.0, "1 minute"),
        (245.0, "4 minutes"),
        (3600.0, "1 hour"),
        (3900.0, "1 hour 5 minutes"),
        (7260.0, "2 hours 1 minute"),
        (math.inf, "0 seconds"),
    ],
)
def test_words_as_notifications_say_them(seconds: float, text: str) -> None:
    """The cases the alert policy's own formatter was tested with before it moved here."""
    assert format_duration(seconds, style="words") == text


def test_clock() -> None:
    assert clock(65.25) == "1:05.2"
    assert clock(65.25, decimals=False) == "1:05"
    assert clock(3725) == "1:02:05"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("17:30", (17, 30)), ("7:30", (7, 30)), (" 07:05 ", (7, 5)), ("0:00", (0, 0)), ("23:59", (23, 59))],
)
def test_time_of_day(text: str, expected: tuple[int, int]) -> None:
    assert time_of_day(text) == expected


@pytest.mark.parametrize("text", ["24:00", "7:60", "7", "7:5", "１7:30", "１:30", "17:30:00", "", None, 1730])
def test_time_of_day_refuses_what_is_not_one(text: object) -> None:
    assert time_of_day(text) is None
