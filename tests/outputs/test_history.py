"""The session history: recording, listing, daily trend, live sessions that survive kill -9,
a corrupt database, the folder's permissions and the JSON shape."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from posture.outputs import history
from posture.outputs.history import (
    DayTrend,
    HistoryError,
    HistoryStore,
    LiveSession,
    SessionStatus,
    SessionTotals,
    daily_trend,
    list_sessions,
)
from posture.paths import history_db_path
from tests.builders import clip_result, record_session

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 3, 10, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "posture-data"
    monkeypatch.setenv("POSTURE_DATA_DIR", str(folder))
    return folder


class FakeClock:
    def __init__(self, t: datetime = T0) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return self.t

    def advance(self, **kw: float) -> None:
        self.t += timedelta(**kw)


def test_db_path_follows_the_environment(data_dir: Path) -> None:
    assert history_db_path() == data_dir / "history.sqlite3"
    with HistoryStore(create=False) as store:
        assert store.path == data_dir / "history.sqlite3"


def test_record_analysis_stores_the_aggregates(data_dir: Path) -> None:
    sid = record_session(clip_result(alerts=2))
    [s] = list_sessions()
    assert s.id == sid
    assert s.kind == "analyze"
    assert s.source == "/videos/desk/clip.mp4"
    assert s.duration_s == 100.0
    assert s.poor_share == pytest.approx(30 / 90, abs=1e-4)
    assert (s.episodes, s.alerts, s.top_finding, s.status) == (2, 2, "forward_head", SessionStatus.DONE)
    started, ended = s.started, s.ended
    assert ended - started == timedelta(seconds=4.0)
    assert started.utcoffset() == timedelta(0)
    with sqlite3.connect(data_dir / "history.sqlite3") as conn:
        row = conn.execute("SELECT present_s, poor_s, away_s, finding_poor_s, live FROM sessions").fetchone()
    assert row[:3] == (90.0, 30.0, 10.0)
    assert json.loads(row[3]) == {"forward_head": 25.0, "hunched_back": 5.0}
    assert row[4] == 0


def test_schema_is_versioned_and_in_wal_mode(data_dir: Path) -> None:
    record_session()
    with sqlite3.connect(data_dir / "history.sqlite3") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == history.SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_newer_schema_is_refused(data_dir: Path) -> None:
    record_session()
    with sqlite3.connect(data_dir / "history.sqlite3") as conn:
        conn.execute(f"PRAGMA user_version = {history.SCHEMA_VERSION + 1}")
    with pytest.raises(HistoryError, match="newer posture"):
        list_sessions()


def test_list_is_newest_first_and_limited(data_dir: Path) -> None:
    clock = FakeClock()
    with HistoryStore(clock=clock) as store:
        for i in range(5):
            store.insert(
                "analyze",
                f"clip{i}.mp4",
                SessionTotals(duration_s=10.0 * (i + 1)),
                started=clock(),
                ended=clock(),
                live=False,
            )
            clock.advance(minutes=5)
        sessions = store.list_sessions(limit=3)
    assert [s.source for s in sessions] == ["clip4.mp4", "clip3.mp4", "clip2.mp4"]
    assert len(list_sessions(limit=20)) == 5


def test_reading_a_missing_history_creates_nothing(data_dir: Path) -> None:
    assert list_sessions() == []
    assert daily_trend() == []
    assert not data_dir.exists()


def test_daily_trend_weights_by_present_time(data_dir: Path) -> None:
    clock = FakeClock(datetime(2025, 3, 10, 12, 0, tzinfo=timezone.utc))
    utc = timezone.utc
    with HistoryStore(clock=clock) as store:

        def add(started: datetime, present: float, poor: float, episodes: int) -> None:
            totals = SessionTotals(duration_s=present, present_s=present, poor_s=poor, episodes=episodes)
            store.insert("analyze", "x.mp4", totals, started=started, ended=started, live=False)

        add(datetime(2025, 3, 10, 8, 0, tzinfo=utc), present=100.0, poor=50.0, episodes=1)  # 50 %
        add(datetime(2025, 3, 10, 10, 0, tzinfo=utc), present=300.0, poor=30.0, episodes=2)  # 10 %
        add(datetime(2025, 3, 8, 10, 0, tzinfo=utc), present=200.0, poor=0.0, episodes=0)
        add(datetime(2025, 3, 8, 11, 0, tzinfo=utc), present=0.0, poor=0.0, episodes=0)  # nobody there
        add(datetime(2025, 2, 1, 10, 0, tzinfo=utc), present=100.0, poor=100.0, episodes=9)  # too old
        trend = store.daily_trend(days=14, tz=utc)
        assert [d.day for d in store.daily_trend(days=1, tz=utc)] == [date(2025, 3, 10)]
    assert trend == [
        DayTrend(date(2025, 3, 8), sessions=2, present_s=200.0, poor_share=0.0, episodes=0),
        # (50 + 30) / (100 + 300), not the mean of 50 % and 10 %
        DayTrend(date(2025, 3, 10), sessions=2, present_s=400.0, poor_share=0.2, episodes=3),
    ]


def test_daily_trend_uses_the_local_calendar_day(data_dir: Path) -> None:
    clock = FakeClock(datetime(2025, 3, 10, 12, 0, tzinfo=timezone.utc))
    tokyo = timezone(timedelta(hours=9))
    with HistoryStore(clock=clock) as store:
        started = datetime(2025, 3, 9, 20, 0, tzinfo=timezone.utc)  # 05:00 on the 10th in UTC+9
        store.insert(
            "analyze", "x.mp4", SessionTotals(present_s=10.0), started=started, ended=None, live=False
        )
        assert [d.day for d in store.daily_trend(tz=timezone.utc)] == [date(2025, 3, 9)]
        assert [d.day for d in store.daily_trend(tz=tokyo)] == [date(2025, 3, 10)]


def test_live_session_status_and_finish(data_dir: Path) -> None:
    clock = FakeClock()
    with LiveSession(clock=clock) as live:
        sid = live.start("camera 0")
        live.update(SessionTotals(duration_s=5.0, present_s=5.0, poor_s=1.0, good_s=4.0))
        clock.advance(seconds=30)
        with HistoryStore(clock=clock) as store:
            [s] = store.list_sessions()
            assert (s.id, s.status, s.ended, s.duration_s) == (sid, SessionStatus.LIVE, None, 5.0)
            clock.advance(seconds=61)
            [s] = store.list_sessions()
            assert s.status is SessionStatus.INTERRUPTED
            assert s.ended == T0  # its last update
        live.finish(SessionTotals(duration_s=95.0, present_s=95.0, poor_s=19.0, alerts=1))
        with pytest.raises(RuntimeError):
            live.update(SessionTotals())
    [s] = list_sessions()
    assert (s.status, s.duration_s, s.poor_share, s.alerts) == (SessionStatus.DONE, 95.0, 0.2, 1)
    assert s.ended is not None


_LIVE_CHILD = textwrap.dedent(
    """
    import sys, time
    from posture.outputs.history import LiveSession, SessionTotals

    live = LiveSession()
    sid = live.start("camera 0")
    for i in range(1, 4):
        live.update(SessionTotals(duration_s=5.0 * i, present_s=5.0 * i, poor_s=1.0 * i,
                                  good_s=4.0 * i, episodes=i, alerts=i - 1, top_finding="forward_head",
                                  finding_poor_s={"forward_head": 1.0 * i}))
    print(sid, flush=True)
    time.sleep(600)
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_live_session_survives_kill_9(data_dir: Path) -> None:
    env = {**os.environ, "POSTURE_DATA_DIR": str(data_dir)}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    child = subprocess.Popen(
        [sys.executable, "-c", _LIVE_CHILD],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = child.stdout.readline()
        assert line.strip(), child.stderr.read()
        sid = int(line)
        [running] = list_sessions()
        assert (running.id, running.status) == (sid, SessionStatus.LIVE)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=10)
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    [s] = list_sessions(stale_after_s=0.0)
    assert s.id == sid
    assert s.status is SessionStatus.INTERRUPTED
    assert s.ended is not None
    assert (s.duration_s, s.poor_share, s.episodes, s.alerts) == (15.0, 0.2, 3, 2)
    assert s.top_finding == "forward_head"
    # with the default threshold it is still within its last minute
    assert list_sessions()[0].status is SessionStatus.LIVE
    # and the database is still writable
    record_session()
    assert len(list_sessions()) == 2


@pytest.mark.parametrize(
    "content", [b"this is not a database\n" * 200, b"SQLite format 3\x00" + b"\xff" * 4000]
)
def test_a_corrupt_database_is_a_history_error(data_dir: Path, content: bytes) -> None:
    data_dir.mkdir()
    db = data_dir / "history.sqlite3"
    db.write_bytes(content)
    for call in (list_sessions, daily_trend, record_session):
        with pytest.raises(HistoryError) as info:
            call()
        message = str(info.value)
        assert "\n" not in message
        assert str(db) in message
    assert db.read_bytes() == content  # never overwritten


def test_a_folder_in_the_way_is_a_history_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("POSTURE_DATA_DIR", str(blocker / "sub"))
    with pytest.raises(HistoryError, match="cannot create the history folder"):
        record_session()


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_the_folder_is_private(data_dir: Path) -> None:
    old = os.umask(0o022)
    try:
        record_session()
    finally:
        os.umask(old)
    assert data_dir.stat().st_mode & 0o777 == 0o700
    assert (data_dir / "history.sqlite3").stat().st_mode & 0o777 == 0o600


# -- the history belongs to the user: kinds, the default view, the migration ----------------------------


def _store_sessions(clock: FakeClock) -> None:
    with HistoryStore(clock=clock) as store:
        for kind, source, poor in (
            ("live", "camera 0", 10.0),
            ("analyze", "someone_else.mp4", 90.0),
            ("replay", "clip.mp4", 50.0),
            ("live", "camera 1", 30.0),
        ):
            store.insert(
                kind,
                source,
                SessionTotals(duration_s=100.0, present_s=100.0, poor_s=poor, good_s=100.0 - poor),
                started=clock(),
                ended=clock(),
                live=False,
            )
            clock.advance(minutes=5)


def test_sessions_carry_their_kind_and_unknown_kinds_are_refused(data_dir: Path) -> None:
    with HistoryStore() as store, pytest.raises(ValueError, match="kind"):
        store.insert("demo", "x", SessionTotals(), started=T0, ended=T0, live=False)
    with pytest.raises(ValueError, match="kind"):
        LiveSession(kind="monitor")
    with LiveSession() as live:
        assert live.kind == "live"


def test_listing_and_trend_filter_by_kind(data_dir: Path) -> None:
    clock = FakeClock(datetime.now(timezone.utc) - timedelta(hours=1))
    _store_sessions(clock)
    own = list_sessions(kinds=history.OWN_KINDS)
    assert [s.source for s in own] == ["camera 1", "camera 0"]
    assert len(list_sessions()) == 4  # every kind
    [day] = daily_trend(kinds=history.OWN_KINDS)
    assert (day.sessions, day.poor_share) == (2, pytest.approx(0.2))  # 40 s of 200 s
    [day] = daily_trend()
    assert (day.sessions, day.poor_share) == (4, pytest.approx(0.45))
    assert history.count_sessions() == {"live": 2, "analyze": 1, "replay": 1}
    with pytest.raises(ValueError):
        list_sessions(kinds=())


_V1_SCHEMA = """
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    started TEXT NOT NULL,
    ended TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('analyze', 'demo', 'monitor')),
    source TEXT NOT NULL,
    duration_s REAL NOT NULL DEFAULT 0,
    present_s REAL NOT NULL DEFAULT 0,
    poor_s REAL NOT NULL DEFAULT 0,
    good_s REAL NOT NULL DEFAULT 0,
    away_s REAL NOT NULL DEFAULT 0,
    uncertain_s REAL NOT NULL DEFAULT 0,
    poor_share REAL NOT NULL DEFAULT 0,
    episodes INTEGER NOT NULL DEFAULT 0,
    alerts INTEGER NOT NULL DEFAULT 0,
    top_finding TEXT,
    finding_poor_s TEXT NOT NULL DEFAULT '{}',
    live INTEGER NOT NULL DEFAULT 0,
    updated TEXT NOT NULL
);
CREATE INDEX sessions_started ON sessions (started);
PRAGMA user_version = 1;
"""


def test_a_schema_1_database_is_migrated_without_losing_a_row(data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    db = data_dir / "history.sqlite3"
    rows = [
        (7, "2025-03-01T09:00:00.000+00:00", "analyze", "clip.mp4", 0),
        (8, "2025-03-02T09:00:00.000+00:00", "demo", "demo_desk.mp4", 0),
        (9, "2025-03-03T09:00:00.000+00:00", "monitor", "camera 0", 0),
        (12, "2025-03-04T09:00:00.000+00:00", "monitor", "chair_good_bad.mp4", 0),
        (13, "2025-03-05T09:00:00.000+00:00", "monitor", "camera 2", 1),
    ]
    conn = sqlite3.connect(db)
    conn.executescript(_V1_SCHEMA)
    for id_, started, kind, source, live in rows:
        conn.execute(
            "INSERT INTO sessions (id, started, ended, kind, source, duration_s, present_s, poor_s,"
            " episodes, alerts, top_finding, finding_poor_s, live, updated)"
            " VALUES (?, ?, ?, ?, ?, 60, 50, 20, 1, 2, 'forward_head', '{\"forward_head\": 20.0}', ?, ?)",
            (id_, started, None if live else started, kind, source, live, started),
        )
    conn.commit()
    conn.close()

    sessions = list_sessions()  # opening it migrates
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == history.SCHEMA_VERSION == 3
        stored = conn.execute(
            "SELECT id, kind, source, duration_s, present_s, poor_s, episodes, alerts, top_finding,"
            " finding_poor_s, live FROM sessions ORDER BY id"
        ).fetchall()
    assert [(r[0], r[1], r[2]) for r in stored] == [
        (7, "analyze", "clip.mp4"),
        (8, "demo", "demo_desk.mp4"),
        (9, "live", "camera 0"),
        (12, "replay", "chair_good_bad.mp4"),
        (13, "live", "camera 2"),
    ]
    assert all(r[3:10] == (60.0, 50.0, 20.0, 1, 2, "forward_head", '{"forward_head": 20.0}') for r in stored)
    assert [r[10] for r in stored] == [0, 0, 0, 0, 1]
    with sqlite3.connect(db) as conn:  # schema 3: breaks, none in the old rows
        assert conn.execute("SELECT breaks FROM sessions").fetchall() == [(0,)] * 5
    assert len(sessions) == 5
    assert [s.source for s in list_sessions(kinds=history.OWN_KINDS)] == ["camera 2", "camera 0"]
    # and it takes new sessions, with new ids
    with HistoryStore() as store:
        new = store.insert("live", "camera 0", SessionTotals(), started=T0, ended=T0, live=False)
    assert new == 14


# -- the lock retry on its own ---------------------------------------------------------------------------


def test_retry_when_locked_waits_out_a_lock_and_nothing_else() -> None:
    from posture.outputs.history.schema import retry_when_locked

    calls = []

    def locked_twice() -> None:
        calls.append(1)
        if len(calls) <= 2:
            raise sqlite3.OperationalError("database is locked")

    retry_when_locked(locked_twice)
    assert len(calls) == 3

    def broken() -> None:
        calls.append(2)
        raise sqlite3.OperationalError("no such table: sessions")

    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        retry_when_locked(broken)
    assert calls.count(2) == 1  # not retried

    def always_busy() -> None:
        raise sqlite3.OperationalError("database is busy")

    with pytest.raises(sqlite3.OperationalError, match="busy"):
        retry_when_locked(always_busy, patience_s=0.05)  # gives up after its patience
