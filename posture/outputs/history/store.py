"""The history store: one connection to the SQLite database, its writes and its typed queries.

Only aggregates are kept (durations, shares, counts, the top finding): never frames or landmarks.
A write is one committed transaction; a read never creates the database.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from enum import Enum
from pathlib import Path
from typing import Any

from posture.outputs.history.schema import (
    SCHEMA_VERSION,
    HistoryError,
    ensure_folder,
    iso,
    kind_filter,
    migrate,
    parse_time,
    retry_when_locked,
    transaction,
    utc_now,
)
from posture.paths import DATA_DIR_ENV, history_db_path
from posture.summary import SessionSummary
from posture.untrusted import as_text

__all__ = [
    "KINDS",
    "OWN_KINDS",
    "STALE_AFTER_S",
    "Clock",
    "DaySummary",
    "DayTrend",
    "HistoryStore",
    "SessionRow",
    "SessionStatus",
    "SessionTotals",
]

# What a session was: "live" the monitor on a camera (the user's own sitting), "replay" the monitor
# playing a video file at real speed, "analyze" a recorded video. Older databases may also hold
# "demo" sessions (the demo is no longer recorded); they are listed with --all.
KINDS = ("live", "replay", "analyze")
OWN_KINDS = ("live",)  # what `posture history` and its trend show by default
STALE_AFTER_S = 60.0  # a live session not updated for this long was interrupted (crash, kill -9)
MAX_LIMIT = 2**62  # more rows than any history holds, within SQLite's 64-bit integers

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class SessionTotals:
    """A session's running or final aggregates (seconds of source time, counts)."""

    duration_s: float = 0.0
    present_s: float = 0.0  # duration minus time away
    poor_s: float = 0.0
    good_s: float = 0.0
    away_s: float = 0.0
    uncertain_s: float = 0.0
    episodes: int = 0  # sustained-poor-posture episodes
    alerts: int = 0
    top_finding: str | None = None
    finding_poor_s: Mapping[str, float] = field(default_factory=dict)  # seconds poor per finding code
    breaks: int = 0  # movement breaks taken (away long enough after sitting)

    def __post_init__(self) -> None:
        for name in ("duration_s", "present_s", "poor_s", "good_s", "away_s", "uncertain_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"SessionTotals.{name} must not be negative")
        if self.episodes < 0 or self.alerts < 0 or self.breaks < 0:
            raise ValueError("SessionTotals counts must not be negative")

    @property
    def poor_share(self) -> float:
        """Share of the present time spent in poor posture (0 when nobody was there)."""
        return self.poor_s / self.present_s if self.present_s > 0 else 0.0

    @classmethod
    def from_summary(cls, summary: SessionSummary, *, alerts: int = 0) -> SessionTotals:
        """Totals from a session's summary (:func:`posture.summary.session_summary`)."""
        duration = summary.duration_s
        time_s = summary.time_s
        away = float(time_s.get("away", 0.0))
        return cls(
            duration_s=duration,
            present_s=max(duration - away, 0.0),
            poor_s=float(time_s.get("poor", 0.0)),
            good_s=float(time_s.get("good", 0.0)),
            away_s=away,
            uncertain_s=float(time_s.get("uncertain", 0.0)),
            episodes=summary.episodes,
            alerts=alerts,
            top_finding=summary.top_finding,
            finding_poor_s={k: float(v) for k, v in summary.finding_poor_s.items()},
        )


class SessionStatus(str, Enum):
    DONE = "done"  # finished (every analyze; a monitor that stopped normally)
    LIVE = "live"  # a monitor still running: updated within the last STALE_AFTER_S
    INTERRUPTED = "interrupted"  # a monitor that stopped updating without finishing (crash, kill -9)


@dataclass(frozen=True)
class SessionRow:
    """One session as listed: its times, kind, source and main figures."""

    id: int
    started: datetime
    ended: datetime | None  # for an interrupted session: its last update
    kind: str  # one of KINDS (older databases may hold "demo")
    source: str  # a file's name or a camera's label, as stored (may hold any character)
    duration_s: float
    poor_share: float  # of the present time
    episodes: int
    alerts: int
    top_finding: str | None
    status: SessionStatus

    def to_json(self) -> dict[str, Any]:
        """The session as ``posture history --json`` prints it (times as stored: ISO 8601)."""
        return {
            "id": self.id,
            "started": _stored(self.started),
            "ended": None if self.ended is None else _stored(self.ended),
            "kind": self.kind,
            "source": self.source,
            "duration_s": self.duration_s,
            "poor_share": self.poor_share,
            "episodes": self.episodes,
            "alerts": self.alerts,
            "top_finding": self.top_finding,
            "status": self.status.value,
        }


@dataclass(frozen=True)
class DayTrend:
    """One local calendar day's sessions, added up."""

    day: date
    sessions: int
    present_s: float
    poor_share: float  # weighted by present time: poor seconds over present seconds
    episodes: int

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "sessions": self.sessions,
            "present_s": self.present_s,
            "poor_share": self.poor_share,
            "episodes": self.episodes,
        }


@dataclass(frozen=True)
class DaySummary:
    """One local calendar day's sessions added up, as the week page and the tray show them."""

    day: date
    sessions: int
    present_s: float  # at the desk (time watched, away excluded)
    poor_s: float
    episodes: int
    alerts: int
    breaks: int
    finding_poor_s: Mapping[str, float]  # seconds over threshold per finding code

    @property
    def poor_share(self) -> float:
        """Poor seconds over present seconds (0 on a day with nobody at the desk)."""
        return self.poor_s / self.present_s if self.present_s > 0 else 0.0

    def finding_share(self, code: str) -> float:
        """The share of the present time a finding was over its threshold."""
        return float(self.finding_poor_s.get(code, 0.0)) / self.present_s if self.present_s > 0 else 0.0

    @property
    def top_finding(self) -> str | None:
        """The finding over its threshold longest that day, if any."""
        code, seconds = max(self.finding_poor_s.items(), key=lambda kv: kv[1], default=("", 0.0))
        return code if seconds > 0 else None

    def trend(self) -> DayTrend:
        return DayTrend(
            day=self.day,
            sessions=self.sessions,
            present_s=round(self.present_s, 2),
            poor_share=round(self.poor_share, 4),
            episodes=self.episodes,
        )


def _stored(t: datetime) -> str:
    """A time as the database holds it (UTC, milliseconds): the round trip gives the same text."""
    return t.isoformat(timespec="milliseconds")


# -- the store -----------------------------------------------------------------------------------------

_LIST_COLUMNS = (
    "id, started, ended, kind, source, duration_s, poor_share, episodes, alerts, top_finding, live, updated"
)


class HistoryStore:
    """A connection to the history database; use as a context manager.

    ``create=False`` opens an existing database for reading only (``connection`` is then ``None``
    when there is none yet): reading the history never creates a file and works in a folder the
    user cannot write to; the one change a read may make is to bring a database of an older
    version of posture up to this schema (the migration is one transaction), so that it reads. ``clock`` returns the current UTC time. Rows changed on disk
    so that they no longer make sense (a start time ``yesterday``, a duration in words, infinite
    numbers) are left out of what the queries return; their ids collect in :attr:`unreadable`.
    """

    def __init__(
        self, db_path: Path | None = None, *, create: bool = True, clock: Clock | None = None
    ) -> None:
        own_default = db_path is None and not os.environ.get(DATA_DIR_ENV)
        self.path = Path(db_path) if db_path is not None else history_db_path()
        self.clock: Clock = clock or utc_now
        self.connection: sqlite3.Connection | None = None
        self.unreadable: set[int] = set()  # ids of the rows the queries had to leave out
        with self._errors("open"):
            if not create:
                if self.path.exists():
                    self.connection = self._open_for_reading()
                return
            try:
                ensure_folder(self.path.parent, tighten_existing=own_default)
            except OSError as exc:
                raise HistoryError(
                    f"cannot create the history folder {self.path.parent}: {exc.strerror or exc}"
                ) from None
            self.connection = self._open_for_writing()

    def _open_for_writing(self) -> sqlite3.Connection:
        new = not self.path.exists()
        conn = sqlite3.connect(str(self.path), timeout=10.0, isolation_level=None)
        try:
            if new and os.name == "posix":
                self.path.chmod(0o600)  # SQLite gives its -wal and -shm files the same mode
            retry_when_locked(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())
            conn.execute("PRAGMA synchronous = FULL")  # a committed update survives a power cut too
            retry_when_locked(lambda: migrate(conn, self.path))
        except BaseException:
            conn.close()
            raise
        return conn

    def _open_for_reading(self) -> sqlite3.Connection:
        """Read-only; in a folder where SQLite cannot make the WAL index (``-shm``) either, as an
        immutable file (what a monitor killed mid-write left in ``-wal`` is then not seen). A
        database of an older schema is upgraded first, which needs a writable one."""
        uri = self.path.absolute().as_uri()
        conn: sqlite3.Connection | None = None
        for mode in ("mode=ro", "immutable=1"):
            conn = sqlite3.connect(f"{uri}?{mode}", uri=True, timeout=10.0, isolation_level=None)
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                break
            except sqlite3.OperationalError as exc:
                conn.close()
                if mode == "immutable=1" or ("unable to open" not in str(exc) and "readonly" not in str(exc)):
                    raise
                log.info("reading %s as an immutable file: %s", self.path, exc)
        assert conn is not None
        if version == SCHEMA_VERSION:
            return conn
        conn.close()
        return self._open_for_writing()  # migrates, or says the schema is newer

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Turn SQLite's errors into a one-line HistoryError naming the file (never touching it)."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            hint = (
                "; move it aside to start a new history"
                if "not a database" in str(exc) or "malformed" in str(exc)
                else ""
            )
            raise HistoryError(f"cannot {doing} the history database {self.path}: {exc}{hint}") from None
        except sqlite3.Error as exc:
            raise HistoryError(f"cannot {doing} the history database {self.path}: {exc}") from None
        except OSError as exc:
            raise HistoryError(
                f"cannot {doing} the history database {self.path}: {exc.strerror or exc}"
            ) from None

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _conn(self) -> sqlite3.Connection:
        if self.connection is None:
            raise RuntimeError("the history store is closed")
        return self.connection

    # -- writes --

    def insert(
        self,
        kind: str,
        source: str,
        totals: SessionTotals,
        *,
        started: datetime,
        ended: datetime | None,
        live: bool,
    ) -> int:
        """One new session row, committed; returns its id."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        with self._errors("write"), transaction(self._conn()):
            cur = self._conn().execute(
                "INSERT INTO sessions (started, ended, kind, source, duration_s, present_s, poor_s, good_s,"
                " away_s, uncertain_s, poor_share, episodes, alerts, top_finding, finding_poor_s, breaks,"
                " live, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    iso(started),
                    None if ended is None else iso(ended),
                    kind,
                    as_text(source),  # SQLite refuses a name that is not UTF-8 (lone surrogates)
                    *self._values(totals),
                    int(live),
                    iso(self.clock()),
                ),
            )
            return int(cur.lastrowid)

    def update(self, session_id: int, totals: SessionTotals, *, finished: bool = False) -> None:
        """Rewrite a session's totals in one committed transaction; ``finished`` ends it."""
        now = iso(self.clock())
        with self._errors("write"), transaction(self._conn()):
            cur = self._conn().execute(
                "UPDATE sessions SET duration_s = ?, present_s = ?, poor_s = ?, good_s = ?, away_s = ?,"
                " uncertain_s = ?, poor_share = ?, episodes = ?, alerts = ?, top_finding = ?,"
                " finding_poor_s = ?, breaks = ?, updated = ?, live = ?, ended = ? WHERE id = ?",
                (*self._values(totals), now, 0 if finished else 1, now if finished else None, session_id),
            )
            if cur.rowcount != 1:
                raise HistoryError(f"session {session_id} is not in the history")

    @staticmethod
    def _values(t: SessionTotals) -> tuple[Any, ...]:
        return (
            t.duration_s,
            t.present_s,
            t.poor_s,
            t.good_s,
            t.away_s,
            t.uncertain_s,
            t.poor_share,
            t.episodes,
            t.alerts,
            t.top_finding,
            json.dumps(dict(t.finding_poor_s), sort_keys=True),
            t.breaks,
        )

    # -- reads --

    def list_sessions(
        self,
        limit: int = 20,
        *,
        stale_after_s: float = STALE_AFTER_S,
        kinds: Sequence[str] | None = None,
    ) -> list[SessionRow]:
        """The newest ``limit`` sessions of the given ``kinds`` (None: every kind), newest first,
        each with its status."""
        if self.connection is None:
            return []
        now = self.clock()
        where, params = kind_filter(kinds)
        with self._errors("read"):
            rows = self.connection.execute(
                f"SELECT {_LIST_COLUMNS} FROM sessions{where} ORDER BY started DESC, id DESC LIMIT ?",
                (*params, min(max(int(limit), 0), MAX_LIMIT)),
            ).fetchall()
        out = []
        for row in rows:
            try:
                out.append(_session_row(row, now, stale_after_s))
            except (TypeError, ValueError, OverflowError):
                self._unreadable(row[0])
        return out

    def _unreadable(self, session_id: object) -> None:
        if isinstance(session_id, int) and session_id not in self.unreadable:
            log.debug("history row %d cannot be read: left out", session_id)
            self.unreadable.add(session_id)

    def count_sessions(self) -> dict[str, int]:
        """How many sessions of each kind the history holds."""
        if self.connection is None:
            return {}
        with self._errors("read"):
            rows = self.connection.execute("SELECT kind, COUNT(*) FROM sessions GROUP BY kind").fetchall()
        return {str(kind): int(n) for kind, n in rows}

    def daily_trend(
        self, days: int = 14, *, tz: tzinfo | None = None, kinds: Sequence[str] | None = None
    ) -> list[DayTrend]:
        """Per local calendar day with sessions of the given ``kinds`` (None: every kind) in the last
        ``days`` days (today included), oldest first: sessions, present time, time-weighted share of
        poor posture, episodes."""
        return [d.trend() for d in self.day_summaries(days, tz=tz, kinds=kinds)]

    def day_summaries(
        self, days: int = 7, *, tz: tzinfo | None = None, kinds: Sequence[str] | None = None
    ) -> list[DaySummary]:
        """Per local calendar day with sessions of the given ``kinds`` (None: every kind) in the last
        ``days`` days (today included), oldest first, every figure added up over its sessions (a
        session counts on the day it started). A running session counts with its last update."""
        if days < 1:
            raise ValueError("days must be at least 1")
        if self.connection is None:
            return []
        today = self.clock().astimezone(tz).date()
        first = today - timedelta(days=days - 1)
        since = iso(self.clock() - timedelta(days=days + 1))  # generous: a day boundary is local
        where, params = kind_filter(kinds)
        with self._errors("read"):
            rows = self.connection.execute(
                "SELECT id, started, present_s, poor_s, episodes, alerts, breaks, finding_poor_s FROM sessions"
                + (where + " AND" if where else " WHERE")
                + " started >= ?",
                (*params, since),
            ).fetchall()
        by_day: dict[date, dict[str, Any]] = {}
        for id_, started, present, poor, episodes, alerts, breaks, findings in rows:
            try:
                day = _time(started).astimezone(tz).date()
                present, poor, episodes = _seconds(present), _seconds(poor), _count(episodes)
                alerts, breaks = _count(alerts), _count(breaks)
            except (TypeError, ValueError, OverflowError):
                self._unreadable(id_)
                continue
            if not first <= day <= today:
                continue
            acc = by_day.setdefault(
                day,
                {
                    "sessions": 0,
                    "present_s": 0.0,
                    "poor_s": 0.0,
                    "episodes": 0,
                    "alerts": 0,
                    "breaks": 0,
                    "f": {},
                },
            )
            acc["sessions"] += 1
            acc["present_s"] += present
            acc["poor_s"] += poor
            acc["episodes"] += episodes
            acc["alerts"] += alerts
            acc["breaks"] += breaks
            for code, seconds in _finding_seconds(findings).items():
                acc["f"][code] = acc["f"].get(code, 0.0) + seconds
        return [
            DaySummary(
                day=day,
                sessions=int(acc["sessions"]),
                present_s=float(acc["present_s"]),
                poor_s=float(acc["poor_s"]),
                episodes=int(acc["episodes"]),
                alerts=int(acc["alerts"]),
                breaks=int(acc["breaks"]),
                finding_poor_s={k: round(v, 2) for k, v in acc["f"].items()},
            )
            for day, acc in sorted(by_day.items())
        ]


# -- reading rows that may have been changed on disk -----------------------------------------------------

MAX_STORED_S = 366 * 24 * 3600.0  # no session lasts a year: a longer one was changed on disk


def _session_row(row: Sequence[Any], now: datetime, stale_after_s: float) -> SessionRow:
    """A listed row, every value checked (``TypeError``/``ValueError`` for one that makes no sense)."""
    id_, started, ended, kind, source, duration, poor_share, episodes, alerts, top, live, updated = row
    status = SessionStatus.DONE
    if live:
        age_s = (now - _time(updated)).total_seconds()
        status = SessionStatus.INTERRUPTED if age_s > stale_after_s else SessionStatus.LIVE
        if status is SessionStatus.INTERRUPTED:
            ended = updated  # the last sign of life is the best end we know
    share = _number(poor_share)
    if not 0.0 <= share <= 1.0:
        raise ValueError("a share outside 0-1")
    return SessionRow(
        id=int(id_),
        started=_time(started),
        ended=None if ended is None else _time(ended),
        kind=_text(kind),
        source=_text(source),
        duration_s=round(_seconds(duration), 2),
        poor_share=round(share, 4),
        episodes=_count(episodes),
        alerts=_count(alerts),
        top_finding=None if top is None else _text(top),
        status=status,
    )


def _time(value: object) -> datetime:
    """A stored ISO 8601 time, in UTC when it names no zone."""
    if not isinstance(value, str):
        raise TypeError("a time must be text")
    t = parse_time(value)
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("not a number")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


def _seconds(value: object) -> float:
    seconds = _number(value)
    if not 0.0 <= seconds <= MAX_STORED_S:
        raise ValueError("a duration out of range")
    return seconds


def _count(value: object) -> int:
    number = _number(value)
    if number < 0 or number != int(number) or number > 1e9:
        raise ValueError("not a count")
    return int(number)


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("not text")
    return value


def _finding_seconds(text: object) -> dict[str, float]:
    """A stored ``finding_poor_s`` (JSON text) as code -> seconds; anything malformed counts as none."""
    try:
        data = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        str(k): float(v)
        for k, v in data.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and 0 <= v < 1e9
    }
