"""The history database's schema and the SQLite plumbing around it.

The schema is versioned with ``PRAGMA user_version``; :data:`_MIGRATIONS` takes a database from
one version to the next, one transaction each, so an old history is upgraded in place when it is
first opened and a newer one is refused. Every write runs in ``BEGIN IMMEDIATE`` … ``COMMIT``
with autocommit connections, and the two steps that can meet another process creating the same
database (switching to WAL, migrating) are retried while SQLite answers "locked".
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from posture.errors import PostureError

__all__ = [
    "SCHEMA_VERSION",
    "HistoryError",
    "ensure_folder",
    "iso",
    "kind_filter",
    "migrate",
    "parse_time",
    "retry_when_locked",
    "transaction",
    "utc_now",
]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3


class HistoryError(PostureError):
    """The history database cannot be opened, read or written (not SQLite, corrupt, no permission)."""


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso(t: datetime) -> str:
    """ISO 8601 in UTC with a fixed width, so stored times sort as text."""
    return t.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


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
    # 3: the movement breaks a live session took (away long enough), for the week page.
    ("ALTER TABLE sessions ADD COLUMN breaks INTEGER NOT NULL DEFAULT 0",),
)
assert len(_MIGRATIONS) == SCHEMA_VERSION


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the schema to SCHEMA_VERSION, one version per transaction."""
    while True:
        with transaction(conn):
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


def retry_when_locked(step: Callable[[], object], patience_s: float = 30.0) -> None:
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
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
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


def ensure_folder(folder: Path, *, tighten_existing: bool) -> None:
    """Create the data folder readable by the user alone. An existing folder is tightened only when
    it is posture's own default one (a folder the user named may hold other things)."""
    created = not folder.exists()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if (created or tighten_existing) and os.name == "posix" and (folder.stat().st_mode & 0o777) != 0o700:
        folder.chmod(0o700)  # mkdir's mode is filtered by the umask


def kind_filter(kinds: Sequence[str] | None) -> tuple[str, tuple[str, ...]]:
    """A ``WHERE kind IN (...)`` clause and its parameters; nothing for None (every kind)."""
    if kinds is None:
        return "", ()
    kinds = tuple(kinds)
    if not kinds:
        raise ValueError("kinds must name at least one kind (or be None for all)")
    return f" WHERE kind IN ({', '.join('?' * len(kinds))})", kinds
