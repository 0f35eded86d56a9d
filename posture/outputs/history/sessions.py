"""Recording sessions and reading them back, one short-lived connection per call.

:func:`record_analysis` stores a finished ``analyze``; :class:`LiveSession` records a monitor
session as it runs; :func:`read_history` (what ``posture history`` shows), :func:`list_sessions`,
:func:`daily_trend` and :func:`count_sessions` read the history without ever creating it (an older
version's database is brought up to this schema first; see :class:`HistoryStore`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from posture.outputs.history.store import (
    KINDS,
    STALE_AFTER_S,
    Clock,
    DaySummary,
    DayTrend,
    HistoryStore,
    SessionRow,
    SessionTotals,
)

if TYPE_CHECKING:
    from posture.results import AnalysisResult
    from posture.summary import SessionSummary

__all__ = [
    "HistoryListing",
    "LiveSession",
    "count_sessions",
    "daily_trend",
    "day_summaries",
    "list_sessions",
    "read_history",
    "record_analysis",
]


def record_analysis(
    result: AnalysisResult,
    summary: SessionSummary,
    *,
    source: str,
    kind: str = "analyze",
    db_path: Path | None = None,
) -> int:
    """Record a finished ``analyze`` run from its summary; returns the session id.

    ``source`` is what the history shows: the video file's name, not where it lives.

    The session's times are those of the analysis (a recorded video has no trustworthy date).
    """
    from posture.detector import ALERT

    alerts = sum(1 for e in getattr(result, "events", ()) if e.kind == ALERT)
    totals = SessionTotals.from_summary(summary, alerts=alerts)
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
) -> list[SessionRow]:
    """The newest sessions of the given ``kinds`` (default: every kind) first: id, started, ended,
    kind, source, duration_s, poor_share, episodes, alerts, top_finding and status (``done``,
    ``live`` or ``interrupted``)."""
    with HistoryStore(db_path, create=False) as store:
        return store.list_sessions(limit, stale_after_s=stale_after_s, kinds=kinds)


def daily_trend(
    days: int = 14, db_path: Path | None = None, *, kinds: Sequence[str] | None = None
) -> list[DayTrend]:
    """Per local calendar day with sessions of the given ``kinds`` (default: every kind), oldest
    first: day, sessions, present_s, poor_share (weighted by present time), episodes."""
    with HistoryStore(db_path, create=False) as store:
        return store.daily_trend(days, kinds=kinds)


def day_summaries(
    days: int = 7, db_path: Path | None = None, *, kinds: Sequence[str] | None = None
) -> list[DaySummary]:
    """Per local calendar day with sessions of the given ``kinds`` (default: every kind), oldest
    first: time watched, poor time per finding, alerts, breaks (see :class:`DaySummary`)."""
    with HistoryStore(db_path, create=False) as store:
        return store.day_summaries(days, kinds=kinds)


def count_sessions(db_path: Path | None = None) -> dict[str, int]:
    """How many sessions of each kind the history holds (empty when there is no history)."""
    with HistoryStore(db_path, create=False) as store:
        return store.count_sessions()


@dataclass(frozen=True)
class HistoryListing:
    """What ``posture history`` shows, read in one go: the newest sessions, the daily trend, how
    many sessions of each kind there are, and the ids of rows that could not be read (changed on
    disk) and are left out of the rest."""

    sessions: tuple[SessionRow, ...]
    trend: tuple[DayTrend, ...]
    counts: Mapping[str, int]  # sessions per kind, all of them
    unreadable: tuple[int, ...]


def read_history(
    limit: int = 20, db_path: Path | None = None, *, kinds: Sequence[str] | None = None, days: int = 14
) -> HistoryListing:
    """The newest ``limit`` sessions and the last ``days`` days of the given ``kinds`` (None: every
    kind), read from a database opened read-only (an empty listing when there is none)."""
    with HistoryStore(db_path, create=False) as store:
        sessions = store.list_sessions(limit, kinds=kinds)
        trend = store.daily_trend(days, kinds=kinds)
        counts = store.count_sessions()
        return HistoryListing(tuple(sessions), tuple(trend), counts, tuple(sorted(store.unreadable)))
