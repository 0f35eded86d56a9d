"""The batch's memory: one SQLite file in the results folder that says, for every recording, what
it was (content hash), how it was to be analysed (the options' hash), and how far it got.

SQLite in WAL mode with full sync, written only by the driver, one short transaction per change:
``kill -9`` at any moment leaves either the state before a change or the state after it. A result
folder is published (renamed into place) *before* its recording is marked done, so a kill in
between leaves a recording marked running whose complete result already exists; the next run
finds the result's stamp (``batch.json``), sees that it matches, and marks it done without
analysing it again.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from posture.errors import InputError

__all__ = ["MANIFEST_NAME", "Attempt", "Manifest", "RecordState", "Status"]

MANIFEST_NAME = "manifest.sqlite3"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS options (hash TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS recordings (
    path TEXT PRIMARY KEY,        -- absolute path of the video
    rel TEXT NOT NULL,            -- its name within the archive
    person TEXT NOT NULL,
    folder TEXT NOT NULL,         -- its result folder, relative to the results folder
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL,         -- content hash (recomputed only when size or mtime change)
    options_hash TEXT NOT NULL,   -- -> options.hash
    status TEXT NOT NULL,         -- pending, running, done, failed
    failures INTEGER NOT NULL DEFAULT 0,
    retryable INTEGER NOT NULL DEFAULT 1,  -- 0: bad input, the same bytes will fail the same way
    error TEXT,
    note TEXT,
    duration_s REAL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL,
    run_id TEXT NOT NULL,
    started REAL NOT NULL,
    finished REAL,
    outcome TEXT,                 -- done, failed, lost (the run ended before it did)
    error TEXT,
    wall_s REAL,
    pid INTEGER                   -- the worker process that analysed it
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    started REAL NOT NULL,
    finished REAL,
    engine TEXT NOT NULL,
    workers INTEGER NOT NULL,
    options_hash TEXT NOT NULL
);
"""


class Status(str, Enum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class RecordState:
    path: str
    rel: str
    person: str
    folder: str
    size: int
    mtime_ns: int
    sha256: str
    options_hash: str
    status: Status
    failures: int
    retryable: bool
    error: str | None
    note: str | None
    duration_s: float | None


@dataclass(frozen=True)
class Attempt:
    path: str
    run_id: str
    started: float
    finished: float | None
    outcome: str | None
    error: str | None
    pid: int | None


def _state(row: sqlite3.Row) -> RecordState:
    return RecordState(
        path=row["path"],
        rel=row["rel"],
        person=row["person"],
        folder=row["folder"],
        size=row["size"],
        mtime_ns=row["mtime_ns"],
        sha256=row["sha256"],
        options_hash=row["options_hash"],
        status=Status(row["status"]),
        failures=row["failures"],
        retryable=bool(row["retryable"]),
        error=row["error"],
        note=row["note"],
        duration_s=row["duration_s"],
    )


class Manifest:
    """The manifest of one results folder; a context manager that closes the database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._db = sqlite3.connect(path, timeout=30.0, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT value FROM meta WHERE key='version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{path} is not a posture batch manifest: {exc}") from None
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('version', ?)", (str(SCHEMA_VERSION),))
        elif int(row["value"]) != SCHEMA_VERSION:
            raise InputError(f"{path} was written by another version of posture (manifest {row['value']})")

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    # --- reading ---

    def get(self, path: Path | str) -> RecordState | None:
        row = self._db.execute("SELECT * FROM recordings WHERE path=?", (str(path),)).fetchone()
        return None if row is None else _state(row)

    def records(self) -> Iterator[RecordState]:
        for row in self._db.execute("SELECT * FROM recordings ORDER BY rel"):
            yield _state(row)

    def folders(self) -> set[str]:
        return {row[0] for row in self._db.execute("SELECT folder FROM recordings")}

    def attempts(self, path: Path | str | None = None) -> list[Attempt]:
        sql = "SELECT path, run_id, started, finished, outcome, error, pid FROM attempts"
        rows = (
            self._db.execute(sql + " WHERE path=? ORDER BY id", (str(path),))
            if path is not None
            else self._db.execute(sql + " ORDER BY id")
        )
        return [Attempt(*row) for row in rows]

    def options(self, options_hash: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT json FROM options WHERE hash=?", (options_hash,)).fetchone()
        return None if row is None else json.loads(row[0])

    # --- writing (each a single transaction) ---

    def save_options(self, options_hash: str, options: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO options VALUES (?, ?)", (options_hash, json.dumps(options, sort_keys=True))
        )

    def upsert(self, state: RecordState) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO recordings VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                state.path,
                state.rel,
                state.person,
                state.folder,
                state.size,
                state.mtime_ns,
                state.sha256,
                state.options_hash,
                state.status.value,
                state.failures,
                int(state.retryable),
                state.error,
                state.note,
                state.duration_s,
                time.time(),
            ),
        )

    def start_run(self, run_id: str, engine: str, workers: int, options_hash: str) -> None:
        with self._db:
            self._db.execute("BEGIN")
            # Attempts a killed run left open never finished: say so, once.
            self._db.execute("UPDATE attempts SET outcome='lost' WHERE outcome IS NULL")
            self._db.execute(
                "INSERT INTO runs VALUES (?, ?, NULL, ?, ?, ?)",
                (run_id, time.time(), engine, workers, options_hash),
            )

    def finish_run(self, run_id: str) -> None:
        self._db.execute("UPDATE runs SET finished=? WHERE run_id=?", (time.time(), run_id))

    def mark_running(self, path: str, run_id: str) -> int:
        """Records the start of an analysis; returns the attempt's id."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                "UPDATE recordings SET status='running', updated=? WHERE path=?", (time.time(), path)
            )
            cur = self._db.execute(
                "INSERT INTO attempts (path, run_id, started) VALUES (?, ?, ?)", (path, run_id, time.time())
            )
        return int(cur.lastrowid or 0)

    def mark_done(
        self,
        path: str,
        attempt: int | None,
        duration_s: float | None,
        note: str | None,
        wall_s: float,
        pid: int | None = None,
    ) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                "UPDATE recordings SET status='done', error=NULL, note=?, duration_s=?, updated=? WHERE path=?",
                (note, duration_s, time.time(), path),
            )
            self._close_attempt(attempt, "done", None, wall_s, pid)

    def mark_failed(
        self,
        path: str,
        attempt: int | None,
        error: str,
        retryable: bool,
        wall_s: float,
        pid: int | None = None,
    ) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                "UPDATE recordings SET status='failed', failures=failures+1, retryable=?, error=?, "
                "updated=? WHERE path=?",
                (int(retryable), error, time.time(), path),
            )
            self._close_attempt(attempt, "failed", error, wall_s, pid)

    def _close_attempt(
        self, attempt: int | None, outcome: str, error: str | None, wall_s: float, pid: int | None
    ) -> None:
        """Inside the caller's transaction: the attempt (if one was recorded) ended with ``outcome``."""
        if attempt is not None:
            self._db.execute(
                "UPDATE attempts SET finished=?, outcome=?, error=?, wall_s=?, pid=? WHERE id=?",
                (time.time(), outcome, error, wall_s, pid, attempt),
            )
