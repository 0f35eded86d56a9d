"""The batch's memory: one SQLite file in the results folder that says, for every recording, what
it was (content hash), how it was to be analysed (the options' hash), and how far it got.

SQLite in WAL mode with full sync, written only by the driver, one short transaction per change:
``kill -9`` at any moment leaves either the state before a change or the state after it. A result
folder is published (renamed into place) *before* its recording is marked done, so a kill in
between leaves a recording marked running whose complete result already exists; the next run
finds the result's stamp (``batch.json``), sees that it matches, and marks it done without
analysing it again.

Everything read back is untrusted (the file may have been edited, or damaged): each row is checked
field by field, and a row that does not hold what posture writes is reported (a warning naming
the recording) and treated as absent, never acted on. The manifest never says where a result
folder is: the driver derives it from the recording and only accepts a stored name it would
have chosen itself.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sqlite3
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from posture.errors import InputError
from posture.untrusted import printable

__all__ = ["MANIFEST_NAME", "Attempt", "Manifest", "RecordState", "Status"]

log = logging.getLogger(__name__)

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
    status TEXT NOT NULL,         -- pending, running, done, failed, interrupted
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
    outcome TEXT,                 -- done, failed, interrupted (a signal), lost (killed)
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
    INTERRUPTED = "interrupted"  # the batch was stopped (Ctrl-C, SIGTERM, SIGHUP) while it ran


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


def _is_int(value: object) -> bool:
    return type(value) is int


def _text(value: object) -> bool:
    return isinstance(value, str) and "\x00" not in value


def _state(row: sqlite3.Row) -> RecordState | str:
    """The row as a :class:`RecordState`, or why it is not one (a row written by posture always is)."""
    checks = (
        ("path", _text(row["path"]) and os.path.isabs(row["path"])),
        ("rel", _text(row["rel"]) and row["rel"] != ""),
        ("person", _text(row["person"])),
        ("folder", _text(row["folder"])),
        ("size", _is_int(row["size"])),
        ("mtime_ns", _is_int(row["mtime_ns"])),
        ("sha256", _text(row["sha256"])),
        ("options_hash", _text(row["options_hash"])),
        ("status", row["status"] in {s.value for s in Status}),
        ("failures", _is_int(row["failures"]) and 0 <= row["failures"] < 2**31),
        ("retryable", row["retryable"] in (0, 1) and _is_int(row["retryable"])),
        ("error", row["error"] is None or _text(row["error"])),
        ("note", row["note"] is None or _text(row["note"])),
        (
            "duration_s",
            row["duration_s"] is None
            or (
                type(row["duration_s"]) in (int, float)
                and math.isfinite(row["duration_s"])
                and row["duration_s"] >= 0
            ),
        ),
    )
    bad = [name for name, ok in checks if not ok]
    if bad:
        return f"its {', '.join(bad)} {'is' if len(bad) == 1 else 'are'} not what posture writes"
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
        duration_s=None if row["duration_s"] is None else float(row["duration_s"]),
    )


class Manifest:
    """The manifest of one results folder; a context manager that closes the database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._reported: set[str] = set()  # bad rows already reported, by their key
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            st = None
        if st is not None and not stat.S_ISREG(st.st_mode):  # a link, a FIFO: never opened
            raise InputError(f"{path} is not a posture batch manifest (not a regular file)")
        try:
            self._db = sqlite3.connect(path, timeout=30.0, isolation_level=None)
        except sqlite3.Error as exc:
            raise InputError(f"cannot open {path}: {exc}") from None
        try:
            self._db.row_factory = sqlite3.Row
            tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if tables and "meta" not in tables:  # someone else's database: add nothing to it
                raise InputError(f"{path} is not a posture batch manifest (a database of something else)")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            self._check_tables()
            row = self._db.execute("SELECT value FROM meta WHERE key='version'").fetchone()
            if row is None:
                self._db.execute("INSERT INTO meta VALUES ('version', ?)", (str(SCHEMA_VERSION),))
            elif str(row["value"]) != str(SCHEMA_VERSION):
                version = printable(row["value"], 40)
                raise InputError(f"{path} was written by another version of posture (manifest {version})")
        except sqlite3.OperationalError as exc:  # a full or read-only folder, a locked file
            self._db.close()
            raise InputError(f"cannot use {path}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise InputError(f"{path} is not a posture batch manifest: {exc}") from None
        except BaseException:
            self._db.close()
            raise

    def _check_tables(self) -> None:
        """The tables have the columns posture made (a changed schema is someone else's file)."""
        expected = sqlite3.connect(":memory:")
        try:
            expected.executescript(_SCHEMA)
            for (table,) in expected.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            ):
                want = [r[1] for r in expected.execute(f"PRAGMA table_info({table})")]
                have = [r[1] for r in self._db.execute(f"PRAGMA table_info({table})")]
                if have != want:
                    raise InputError(
                        f"{self.path} is not a posture batch manifest (its {table} table was changed)"
                    )
        finally:
            expected.close()

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    # --- reading ---

    def get(self, path: Path | str) -> RecordState | None:
        """The recording's state, or None when there is none or its row is not posture's (reported)."""
        row = self._db.execute("SELECT * FROM recordings WHERE path=?", (str(path),)).fetchone()
        return None if row is None else self._checked(row)

    def records(self) -> Iterator[RecordState]:
        """Every recording whose row is sound (the others are reported and left out)."""
        for row in self._db.execute("SELECT * FROM recordings ORDER BY rel"):
            state = self._checked(row)
            if state is not None:
                yield state

    def _checked(self, row: sqlite3.Row) -> RecordState | None:
        state = _state(row)
        if isinstance(state, RecordState):
            return state
        key = printable(row["path"], 300)
        if key not in self._reported:
            self._reported.add(key)
            log.warning("%s: ignoring the row of %s: %s", self.path.name, key, state)
        return None

    def report_bad(self, path: str, why: str) -> None:
        """Reports (once) a row the driver found unusable, e.g. a result folder it would not choose."""
        key = printable(path, 300)
        if key not in self._reported:
            self._reported.add(key)
            log.warning("%s: ignoring the row of %s: %s", self.path.name, key, why)

    def attempts(self, path: Path | str | None = None) -> list[Attempt]:
        sql = "SELECT path, run_id, started, finished, outcome, error, pid FROM attempts"
        rows = (
            self._db.execute(sql + " WHERE path=? ORDER BY id", (str(path),))
            if path is not None
            else self._db.execute(sql + " ORDER BY id")
        )
        return [Attempt(*row) for row in rows]

    def options(self, options_hash: str) -> dict[str, Any] | None:
        """The options saved under that hash, or None (also when the stored text is not JSON)."""
        from posture.untrusted import UntrustedJSONError, load_json

        row = self._db.execute("SELECT json FROM options WHERE hash=?", (options_hash,)).fetchone()
        if row is None or not isinstance(row[0], str):
            return None
        try:
            doc = load_json(row[0])
        except UntrustedJSONError:
            return None
        return doc if isinstance(doc, dict) else None

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

    def mark_interrupted(self, path: str, attempt: int | None, wall_s: float) -> None:
        """The batch was stopped while this recording was analysed: analysed again next time."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                "UPDATE recordings SET status='interrupted', updated=? WHERE path=? AND status='running'",
                (time.time(), path),
            )
            self._close_attempt(attempt, "interrupted", None, wall_s, None)

    def _close_attempt(
        self, attempt: int | None, outcome: str, error: str | None, wall_s: float, pid: int | None
    ) -> None:
        """Inside the caller's transaction: the attempt (if one was recorded) ended with ``outcome``."""
        if attempt is not None:
            self._db.execute(
                "UPDATE attempts SET finished=?, outcome=?, error=?, wall_s=?, pid=? WHERE id=?",
                (time.time(), outcome, error, wall_s, pid, attempt),
            )
