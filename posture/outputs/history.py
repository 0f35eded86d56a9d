"""Past sessions in a small SQLite database under the user's data folder, for ``posture history``.

Only aggregates are kept (durations, shares, counts, the top finding): never frames or landmarks.
The folder is created readable by the user alone. A live monitor session is inserted when it starts
and its running totals are rewritten every few seconds, each time in its own committed transaction,
so a crash or ``kill -9`` loses at most the seconds since the last update; such a session stays
``live`` in the table and is reported as ``interrupted`` once its last update is older than a minute.

Every session carries its kind (:data:`KINDS`). The history is the user's own: ``posture history``
and its trend show ``live`` sessions (the monitor watching the user's camera) unless asked for
all; ``analyze`` of a recorded video and ``replay`` (the monitor playing a file as a stand-in for a
camera) are kept apart, and the demo is never recorded.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from posture.errors import PostureError
from posture.untrusted import printable

if TYPE_CHECKING:
    from posture.pipeline import AnalysisResult

__all__ = [
    "DATA_DIR_ENV",
    "KINDS",
    "OWN_KINDS",
    "SCHEMA_VERSION",
    "STALE_AFTER_S",
    "HistoryError",
    "HistoryStore",
    "LiveSession",
    "SessionTotals",
    "count_sessions",
    "daily_trend",
    "default_db_path",
    "history_json",
    "list_sessions",
    "record_analysis",
    "render_history",
]

log = logging.getLogger(__name__)

DATA_DIR_ENV = "POSTURE_DATA_DIR"  # a folder that replaces the platform's user data folder
DB_NAME = "history.sqlite3"
SCHEMA_VERSION = 2
# What a session was: "live" the monitor on a camera (the user's own sitting), "replay" the monitor
# playing a video file at real speed, "analyze" a recorded video. Older databases may also hold
# "demo" sessions (the demo is no longer recorded); they are listed with --all.
KINDS = ("live", "replay", "analyze")
OWN_KINDS = ("live",)  # what `posture history` and its trend show by default
STALE_AFTER_S = 60.0  # a live session not updated for this long was interrupted (crash, kill -9)

Clock = Callable[[], datetime]


class HistoryError(PostureError):
    """The history database cannot be opened, read or written (not SQLite, corrupt, no permission)."""


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(t: datetime) -> str:
    """ISO 8601 in UTC with a fixed width, so stored times sort as text."""
    return t.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


def default_db_path() -> Path:
    """``$POSTURE_DATA_DIR/history.sqlite3``, else the platform's user data folder for posture."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser() / DB_NAME
    import platformdirs

    return platformdirs.user_data_path("posture", appauthor=False) / DB_NAME


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

    def __post_init__(self) -> None:
        for name in ("duration_s", "present_s", "poor_s", "good_s", "away_s", "uncertain_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"SessionTotals.{name} must not be negative")
        if self.episodes < 0 or self.alerts < 0:
            raise ValueError("SessionTotals counts must not be negative")

    @property
    def poor_share(self) -> float:
        """Share of the present time spent in poor posture (0 when nobody was there)."""
        return self.poor_s / self.present_s if self.present_s > 0 else 0.0

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any], *, alerts: int = 0) -> SessionTotals:
        """Totals from a session summary dict (``summary.session_summary``/``outputs.analysis_summary``)."""
        duration = float(summary.get("duration_s", 0.0))
        time_s = summary.get("time_s")
        if not time_s:  # an older or hand-made summary: only the shares
            time_s = {k: float(v) * duration for k, v in summary.get("share", {}).items()}
        away = float(time_s.get("away", 0.0))
        return cls(
            duration_s=duration,
            present_s=max(duration - away, 0.0),
            poor_s=float(time_s.get("poor", 0.0)),
            good_s=float(time_s.get("good", 0.0)),
            away_s=away,
            uncertain_s=float(time_s.get("uncertain", 0.0)),
            episodes=int(summary.get("episodes", 0)),
            alerts=alerts,
            top_finding=summary.get("top_finding"),
            finding_poor_s={k: float(v) for k, v in (summary.get("finding_poor_s") or {}).items()},
        )


# -- schema ------------------------------------------------------------------------------------------

# _MIGRATIONS[n] takes the database from user_version n to n + 1.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """
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
        )
        """,
        "CREATE INDEX sessions_started ON sessions (started)",
    ),
    # 2: the kind is checked in Python (so that new kinds need no table rebuild), a live session
    # on a camera is "live" and one on a file "replay" (the monitor labels a camera "camera N").
    # SQLite cannot drop a CHECK constraint: the table is copied, every row and id kept.
    (
        """
        CREATE TABLE sessions_new (
            id INTEGER PRIMARY KEY,
            started TEXT NOT NULL,
            ended TEXT,
            kind TEXT NOT NULL DEFAULT 'analyze',
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
        )
        """,
        """
        INSERT INTO sessions_new
        SELECT id, started, ended,
               CASE WHEN kind = 'monitor' AND source GLOB 'camera [0-9]*' THEN 'live'
                    WHEN kind = 'monitor' THEN 'replay'
                    ELSE kind END,
               source, duration_s, present_s, poor_s, good_s, away_s, uncertain_s, poor_share,
               episodes, alerts, top_finding, finding_poor_s, live, updated
        FROM sessions
        """,
        "DROP TABLE sessions",
        "ALTER TABLE sessions_new RENAME TO sessions",
        "CREATE INDEX sessions_started ON sessions (started)",
        "CREATE INDEX sessions_kind ON sessions (kind, started)",
    ),
)
assert len(_MIGRATIONS) == SCHEMA_VERSION


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the schema to SCHEMA_VERSION, one version per transaction."""
    while True:
        with _transaction(conn):
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise HistoryError(
                    f"the history database {path} was written by a newer posture (schema {version}, this one knows {SCHEMA_VERSION})"
                )
            if version == SCHEMA_VERSION:
                return
            for statement in _MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            log.info("history database migrated to schema %d", version + 1)


def _retry_when_locked(step: Callable[[], object], patience_s: float = 30.0) -> None:
    """Run ``step``, again while SQLite says the database is locked, for up to ``patience_s``.

    Switching a new database to WAL, or the first migration, can meet another process doing the
    same at that very moment; SQLite then answers "locked" at once, without waiting on its busy
    timeout. Two monitors (or a monitor and an analyze) starting together must both get in.
    """
    deadline = time.monotonic() + patience_s
    delay = 0.02
    while True:
        try:
            step()
            return
        except sqlite3.OperationalError as exc:
            if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() >= deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE … COMMIT (ROLLBACK on error): the connection runs in autocommit mode."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                log.debug("rollback failed", exc_info=True)
        raise
    conn.execute("COMMIT")


def _ensure_folder(folder: Path, *, tighten_existing: bool) -> None:
    """Create the data folder readable by the user alone. An existing folder is tightened only when
    it is posture's own default one (a folder the user named may hold other things)."""
    created = not folder.exists()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if (created or tighten_existing) and os.name == "posix" and (folder.stat().st_mode & 0o777) != 0o700:
        folder.chmod(0o700)  # mkdir's mode is filtered by the umask


def _kind_filter(kinds: Sequence[str] | None) -> tuple[str, tuple[str, ...]]:
    """A ``WHERE kind IN (...)`` clause and its parameters; nothing for None (every kind)."""
    if kinds is None:
        return "", ()
    kinds = tuple(kinds)
    if not kinds:
        raise ValueError("kinds must name at least one kind (or be None for all)")
    return f" WHERE kind IN ({', '.join('?' * len(kinds))})", kinds


# -- the store -----------------------------------------------------------------------------------------

_LIST_COLUMNS = (
    "id, started, ended, kind, source, duration_s, poor_share, episodes, alerts, top_finding, live, updated"
)


class HistoryStore:
    """A connection to the history database; use as a context manager.

    ``create=False`` opens an existing database only (``connection`` is then ``None`` when there is
    none yet), so reading the history never creates files. ``clock`` returns the current UTC time.
    """

    def __init__(
        self, db_path: Path | None = None, *, create: bool = True, clock: Clock | None = None
    ) -> None:
        own_default = db_path is None and not os.environ.get(DATA_DIR_ENV)
        self.path = Path(db_path) if db_path is not None else default_db_path()
        self.clock: Clock = clock or _utc_now
        self.connection: sqlite3.Connection | None = None
        with self._errors("open"):
            if not create and not self.path.exists():
                return
            try:
                _ensure_folder(self.path.parent, tighten_existing=own_default)
            except OSError as exc:
                raise HistoryError(
                    f"cannot create the history folder {self.path.parent}: {exc.strerror or exc}"
                ) from None
            new = not self.path.exists()
            conn = sqlite3.connect(str(self.path), timeout=10.0, isolation_level=None)
            try:
                if new and os.name == "posix":
                    self.path.chmod(0o600)  # SQLite gives its -wal and -shm files the same mode
                _retry_when_locked(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())
                conn.execute("PRAGMA synchronous = FULL")  # a committed update survives a power cut too
                _retry_when_locked(lambda: _migrate(conn, self.path))
            except BaseException:
                conn.close()
                raise
            self.connection = conn

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
        with self._errors("write"), _transaction(self._conn()):
            cur = self._conn().execute(
                "INSERT INTO sessions (started, ended, kind, source, duration_s, present_s, poor_s, good_s,"
                " away_s, uncertain_s, poor_share, episodes, alerts, top_finding, finding_poor_s, live, updated)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    _iso(started),
                    None if ended is None else _iso(ended),
                    kind,
                    source,
                    *self._values(totals),
                    int(live),
                    _iso(self.clock()),
                ),
            )
            return int(cur.lastrowid)

    def update(self, session_id: int, totals: SessionTotals, *, finished: bool = False) -> None:
        """Rewrite a session's totals in one committed transaction; ``finished`` ends it."""
        now = _iso(self.clock())
        with self._errors("write"), _transaction(self._conn()):
            cur = self._conn().execute(
                "UPDATE sessions SET duration_s = ?, present_s = ?, poor_s = ?, good_s = ?, away_s = ?,"
                " uncertain_s = ?, poor_share = ?, episodes = ?, alerts = ?, top_finding = ?,"
                " finding_poor_s = ?, updated = ?, live = ?, ended = ? WHERE id = ?",
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
        )

    # -- reads --

    def list_sessions(
        self,
        limit: int = 20,
        *,
        stale_after_s: float = STALE_AFTER_S,
        kinds: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """The newest ``limit`` sessions of the given ``kinds`` (None: every kind), newest first,
        each with its status."""
        if self.connection is None:
            return []
        now = self.clock()
        where, params = _kind_filter(kinds)
        with self._errors("read"):
            rows = self.connection.execute(
                f"SELECT {_LIST_COLUMNS} FROM sessions{where} ORDER BY started DESC, id DESC LIMIT ?",
                (*params, max(int(limit), 0)),
            ).fetchall()
        out = []
        for (
            id_,
            started,
            ended,
            kind,
            source,
            duration,
            poor_share,
            episodes,
            alerts,
            top,
            live,
            updated,
        ) in rows:
            status = "done"
            if live:
                age_s = (now - _parse(updated)).total_seconds()
                status = "interrupted" if age_s > stale_after_s else "live"
                if status == "interrupted":
                    ended = updated  # the last sign of life is the best end we know
            out.append(
                {
                    "id": id_,
                    "started": started,
                    "ended": ended,
                    "kind": kind,
                    "source": source,
                    "duration_s": round(duration, 2),
                    "poor_share": round(poor_share, 4),
                    "episodes": episodes,
                    "alerts": alerts,
                    "top_finding": top,
                    "status": status,
                }
            )
        return out

    def count_sessions(self) -> dict[str, int]:
        """How many sessions of each kind the history holds."""
        if self.connection is None:
            return {}
        with self._errors("read"):
            rows = self.connection.execute("SELECT kind, COUNT(*) FROM sessions GROUP BY kind").fetchall()
        return {kind: int(n) for kind, n in rows}

    def daily_trend(
        self, days: int = 14, *, tz: tzinfo | None = None, kinds: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """Per local calendar day with sessions of the given ``kinds`` (None: every kind) in the last
        ``days`` days (today included), oldest first: sessions, present time, time-weighted share of
        poor posture, episodes."""
        if days < 1:
            raise ValueError("days must be at least 1")
        if self.connection is None:
            return []
        today = self.clock().astimezone(tz).date()
        first = today - timedelta(days=days - 1)
        since = _iso(self.clock() - timedelta(days=days + 1))  # generous: a day boundary is local
        where, params = _kind_filter(kinds)
        with self._errors("read"):
            rows = self.connection.execute(
                "SELECT started, present_s, poor_s, episodes FROM sessions"
                + (where + " AND" if where else " WHERE")
                + " started >= ?",
                (*params, since),
            ).fetchall()
        by_day: dict[date, dict[str, float]] = {}
        for started, present, poor, episodes in rows:
            day = _parse(started).astimezone(tz).date()
            if not first <= day <= today:
                continue
            acc = by_day.setdefault(day, {"sessions": 0, "present_s": 0.0, "poor_s": 0.0, "episodes": 0})
            acc["sessions"] += 1
            acc["present_s"] += present
            acc["poor_s"] += poor
            acc["episodes"] += episodes
        return [
            {
                "day": day.isoformat(),
                "sessions": int(acc["sessions"]),
                "present_s": round(acc["present_s"], 2),
                "poor_share": round(acc["poor_s"] / acc["present_s"], 4) if acc["present_s"] > 0 else 0.0,
                "episodes": int(acc["episodes"]),
            }
            for day, acc in sorted(by_day.items())
        ]


# -- the public functions ------------------------------------------------------------------------------


def record_analysis(
    result: AnalysisResult, summary: Mapping[str, Any], *, kind: str = "analyze", db_path: Path | None = None
) -> int:
    """Record a finished ``analyze`` run from its summary dict; returns the session id.

    The session's times are those of the analysis (a recorded video has no trustworthy date).
    """
    from posture.detector import ALERT

    alerts = sum(1 for e in getattr(result, "events", ()) if e.kind == ALERT)
    totals = SessionTotals.from_summary(summary, alerts=alerts)
    source = str(summary.get("source") or result.source)
    with HistoryStore(db_path) as store:
        ended = store.clock()
        started = ended - timedelta(seconds=max(float(getattr(result, "wall_s", 0.0) or 0.0), 0.0))
        return store.insert(kind, source, totals, started=started, ended=ended, live=False)


class LiveSession:
    """A monitor session recorded as it runs: ``start``, ``update`` every few seconds, ``finish``.

    Each call commits, so after a crash the history keeps the last update's totals. Use as a context
    manager (it closes the connection) and call ``finish`` in a ``finally``; a session never finished
    is listed as interrupted.
    """

    def __init__(
        self, db_path: Path | None = None, *, kind: str = "live", clock: Clock | None = None
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        self.kind = kind
        self._store = HistoryStore(db_path, clock=clock)
        self.session_id: int | None = None  # set by start()
        self.finished = False

    def start(self, source: str) -> int:
        """Insert the running session (zero totals); returns its id."""
        if self.session_id is not None:
            raise RuntimeError("this live session has already started")
        now = self._store.clock()
        self.session_id = self._store.insert(
            self.kind, source, SessionTotals(), started=now, ended=None, live=True
        )
        return self.session_id

    def update(self, totals: SessionTotals) -> None:
        """Store the running totals (one committed transaction)."""
        self._store.update(self._running(), totals)

    def finish(self, totals: SessionTotals) -> None:
        """Store the final totals and mark the session ended."""
        self._store.update(self._running(), totals, finished=True)
        self.finished = True

    def _running(self) -> int:
        if self.session_id is None:
            raise RuntimeError("call start() first")
        if self.finished:
            raise RuntimeError("this live session has finished")
        return self.session_id

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> LiveSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def list_sessions(
    limit: int = 20,
    db_path: Path | None = None,
    *,
    stale_after_s: float = STALE_AFTER_S,
    kinds: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """The newest sessions of the given ``kinds`` (default: every kind) first: id, started, ended,
    kind, source, duration_s, poor_share, episodes, alerts, top_finding and status (``done``,
    ``live`` or ``interrupted``)."""
    with HistoryStore(db_path, create=False) as store:
        return store.list_sessions(limit, stale_after_s=stale_after_s, kinds=kinds)


def daily_trend(
    days: int = 14, db_path: Path | None = None, *, kinds: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Per local calendar day with sessions of the given ``kinds`` (default: every kind), oldest
    first: day, sessions, present_s, poor_share (weighted by present time), episodes."""
    with HistoryStore(db_path, create=False) as store:
        return store.daily_trend(days, kinds=kinds)


def count_sessions(db_path: Path | None = None) -> dict[str, int]:
    """How many sessions of each kind the history holds (empty when there is no history)."""
    with HistoryStore(db_path, create=False) as store:
        return store.count_sessions()


# -- rendering -----------------------------------------------------------------------------------------

_BAR_WIDTH = 20  # characters for 100 % poor
_EIGHTHS = " ▏▎▍▌▋▊▉"


def _duration(seconds: float) -> str:
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {s % 3600 // 60:02d}m"


def _when(iso: str) -> str:
    return _parse(iso).astimezone().strftime("%Y-%m-%d %H:%M")


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _source_name(source: str) -> str:
    """A file's name without its folders; a camera's label as it is."""
    name = PurePath(source).name
    return name or source


def _bar(share: float) -> str:
    eighths = round(max(0.0, min(share, 1.0)) * _BAR_WIDTH * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (_EIGHTHS[part] if part else "")).ljust(_BAR_WIDTH)


def _hidden_note(hidden: Mapping[str, int]) -> str:
    counts = ", ".join(f"{n} {kind}" for kind, n in sorted(hidden.items()) if n)
    return f"Not shown: {counts} (not your own live sessions); `posture history --all` lists them."


def render_history(
    sessions: Sequence[Mapping[str, Any]],
    trend: Sequence[Mapping[str, Any]],
    hidden: Mapping[str, int] | None = None,
    *,
    own_only: bool = False,
) -> str:
    """A table of sessions and a one-line-per-day trend of the share of poor posture. ``own_only``:
    the sessions are the user's own live ones; ``hidden`` counts, per kind, the sessions left out
    (a line says so and how to see them)."""
    hidden = {k: n for k, n in (hidden or {}).items() if n}
    note = [_hidden_note(hidden)] if hidden else []
    if not sessions:
        empty = (
            "No live sessions recorded yet: run `posture monitor`."
            if own_only
            else "No sessions recorded yet: run `posture monitor` or `posture analyze`."
        )
        return "\n".join([empty, *note]) + "\n"
    header = ("when", "kind", "source", "duration", "poor", "episodes", "top finding", "status")
    rows = [
        (
            _when(s["started"]),
            s["kind"],
            _short(_source_name(s["source"]), 32),
            _duration(s["duration_s"]),
            f"{s['poor_share']:.0%}",
            str(s["episodes"]),
            s["top_finding"] or "-",
            s["status"],
        )
        for s in sessions
    ]
    rows = [tuple(printable(c) for c in r) for r in rows]  # stored names may hold escape sequences
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    right = {3, 4, 5}  # numbers align right

    def line(cells: Sequence[str]) -> str:
        parts = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=False))
        ]
        return "  ".join(parts).rstrip()

    lines = [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]
    if trend:
        lines += ["", "Daily share of present time in poor posture:"]
        for d in trend:
            share = f"{d['poor_share']:4.0%}" if d["present_s"] > 0 else "   -"
            n = d["sessions"]
            lines.append(
                f"{d['day']}  {_bar(d['poor_share'])} {share}  "
                f"{n} session{'s' if n != 1 else ''}, {_duration(d['present_s'])} present, "
                f"{d['episodes']} episode{'s' if d['episodes'] != 1 else ''}"
            )
    if note:
        lines += ["", *note]
    return "\n".join(lines) + "\n"


def history_json(
    sessions: Sequence[Mapping[str, Any]],
    trend: Sequence[Mapping[str, Any]],
    hidden: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """``{"sessions": [...], "trend": [...], "hidden": {kind: count}}`` for ``posture history --json``."""
    return {
        "sessions": [dict(s) for s in sessions],
        "trend": [dict(d) for d in trend],
        "hidden": {k: n for k, n in (hidden or {}).items() if n},
    }
