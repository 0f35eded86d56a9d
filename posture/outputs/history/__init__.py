"""Past sessions in a small SQLite database under the user's data folder, for ``posture history``.

The store lives here (``schema``: the versioned schema and its migrations; ``store``: the
connection, its writes and typed queries; ``sessions``: recording and reading sessions); the
tables and bars ``posture history`` prints are the CLI's (``posture._cli.history_view``).

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

from posture.outputs.history.schema import SCHEMA_VERSION, HistoryError
from posture.outputs.history.sessions import (
    HistoryListing,
    LiveSession,
    count_sessions,
    daily_trend,
    day_summaries,
    list_sessions,
    read_history,
    record_analysis,
)
from posture.outputs.history.store import (
    KINDS,
    OWN_KINDS,
    STALE_AFTER_S,
    DaySummary,
    DayTrend,
    HistoryStore,
    SessionRow,
    SessionStatus,
    SessionTotals,
)

__all__ = [
    "KINDS",
    "OWN_KINDS",
    "SCHEMA_VERSION",
    "STALE_AFTER_S",
    "DaySummary",
    "DayTrend",
    "HistoryError",
    "HistoryListing",
    "HistoryStore",
    "LiveSession",
    "SessionRow",
    "SessionStatus",
    "SessionTotals",
    "count_sessions",
    "daily_trend",
    "day_summaries",
    "list_sessions",
    "read_history",
    "record_analysis",
]
