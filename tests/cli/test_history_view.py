"""What ``posture history`` prints: the table, the daily bars and the JSON, from typed rows."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from posture._cli.history_view import history_json, render_history
from posture.outputs.history import (
    DayTrend,
    SessionRow,
    SessionStatus,
    daily_trend,
    list_sessions,
)
from tests.builders import record_session


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "posture-data"
    monkeypatch.setenv("POSTURE_DATA_DIR", str(folder))
    return folder


def _row(share: float = 0.1, **fields) -> SessionRow:
    values = {
        "id": 1,
        "started": datetime(2025, 3, 10, 9, 0, tzinfo=timezone.utc),
        "ended": None,
        "kind": "analyze",
        "source": "a.mp4",
        "duration_s": 10.0,
        "poor_share": share,
        "episodes": 0,
        "alerts": 0,
        "top_finding": None,
        "status": SessionStatus.DONE,
        **fields,
    }
    return SessionRow(**values)


def test_json_shape(data_dir: Path) -> None:
    record_session()
    doc = history_json(list_sessions(), daily_trend())
    json.dumps(doc)  # serialisable as is
    assert set(doc) == {"sessions", "trend", "hidden"}
    [s] = doc["sessions"]
    assert list(s) == [
        "id",
        "started",
        "ended",
        "kind",
        "source",
        "duration_s",
        "poor_share",
        "episodes",
        "alerts",
        "top_finding",
        "status",
    ]
    assert (s["source"], s["duration_s"], s["status"]) == ("/videos/desk/clip.mp4", 100.0, "done")
    [d] = doc["trend"]
    assert list(d) == ["day", "sessions", "present_s", "poor_share", "episodes"]
    assert isinstance(d["day"], str) and date.fromisoformat(d["day"])


def test_json_times_are_the_stored_text(data_dir: Path) -> None:
    """The typed rows hold datetimes; the JSON gives back exactly what the database holds."""
    record_session()
    with sqlite3.connect(data_dir / "history.sqlite3") as conn:
        started, ended = conn.execute("SELECT started, ended FROM sessions").fetchone()
    [s] = history_json(list_sessions(), [])["sessions"]
    assert (s["started"], s["ended"]) == (started, ended)
    assert started.endswith("+00:00") and len(started.split("T")[1]) == len("09:00:00.000+00:00")


def test_render_history(data_dir: Path) -> None:
    record_session()
    record_session(duration=4000.0, poor=0.0, away=0.0, source="/a/long.mp4")
    text = render_history(list_sessions(), daily_trend())
    lines = text.splitlines()
    assert lines[0].split() == [
        "when",
        "kind",
        "source",
        "duration",
        "poor",
        "episodes",
        "top",
        "finding",
        "status",
    ]
    assert "clip.mp4" in text and "/videos/desk" not in text
    assert "1m 40s" in text and "1h 06m" in text and "33%" in text
    trend_line = lines[-1]  # (30 s poor of 4090 s present)
    assert trend_line.endswith("1%  2 sessions, 1h 08m present, 4 episodes")
    assert "No sessions" in render_history([], [])


def test_trend_bar_is_proportional() -> None:
    def bar_len(share: float) -> int:
        text = render_history(
            [_row(share)],
            [DayTrend(date(2025, 3, 10), sessions=1, present_s=10.0, poor_share=share, episodes=0)],
        )
        return text.splitlines()[-1].count("█")

    assert bar_len(0.0) == 0
    assert bar_len(0.5) == 10
    assert bar_len(1.0) == 20


def test_a_day_with_nobody_present_shows_no_share() -> None:
    text = render_history(
        [_row()], [DayTrend(date(2025, 3, 10), sessions=2, present_s=0.0, poor_share=0.0, episodes=1)]
    )
    assert text.splitlines()[-1] == "2025-03-10" + " " * 23 + "   -  2 sessions, 0s present, 1 episode"


def test_the_table_shows_the_local_start_and_every_column() -> None:
    started = datetime(2025, 3, 10, 9, 0, tzinfo=timezone.utc)
    row = _row(0.25, started=started, source="/very/long/folder/" + "x" * 40 + ".mp4", episodes=3)
    row_line = render_history([row], []).splitlines()[2]
    assert row_line.startswith(started.astimezone().strftime("%Y-%m-%d %H:%M") + "  analyze  ")
    assert "x" * 31 + "…" in row_line and "/very" not in row_line  # the name only, cut to 32
    assert row_line.split()[-5:] == ["10s", "25%", "3", "-", "done"]


def test_render_says_what_is_not_shown() -> None:
    text = render_history([], [], {"analyze": 3, "replay": 0}, own_only=True)
    assert "No live sessions recorded yet" in text
    assert "3 analyze" in text and "replay" not in text and "--all" in text
    assert "No sessions recorded yet" in render_history([], [])
