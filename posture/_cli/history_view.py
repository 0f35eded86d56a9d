"""What ``posture history`` prints: the sessions as a table, a bar per day, or the same as JSON.

The library returns typed rows (:class:`~posture.outputs.history.SessionRow`,
:class:`~posture.outputs.history.DayTrend`); all the wording, widths and bar characters are here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import PurePath
from typing import Any

from posture.outputs.history import DayTrend, SessionRow
from posture.untrusted import printable

__all__ = ["history_json", "render_history"]

_BAR_WIDTH = 20  # characters for 100 % poor
_EIGHTHS = " ▏▎▍▌▋▊▉"


def _duration(seconds: float) -> str:
    """The table's compact duration: ``42s``, ``1m 40s``, ``1h 06m``."""
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {s % 3600 // 60:02d}m"


def _when(t: datetime) -> str:
    """A session's start in the local time zone, to the minute."""
    return t.astimezone().strftime("%Y-%m-%d %H:%M")


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
    sessions: Sequence[SessionRow],
    trend: Sequence[DayTrend],
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
            _when(s.started),
            s.kind,
            _short(_source_name(s.source), 32),
            _duration(s.duration_s),
            f"{s.poor_share:.0%}",
            str(s.episodes),
            s.top_finding or "-",
            s.status.value,
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
            share = f"{d.poor_share:4.0%}" if d.present_s > 0 else "   -"
            n = d.sessions
            lines.append(
                f"{d.day.isoformat()}  {_bar(d.poor_share)} {share}  "
                f"{n} session{'s' if n != 1 else ''}, {_duration(d.present_s)} present, "
                f"{d.episodes} episode{'s' if d.episodes != 1 else ''}"
            )
    if note:
        lines += ["", *note]
    return "\n".join(lines) + "\n"


def history_json(
    sessions: Sequence[SessionRow],
    trend: Sequence[DayTrend],
    hidden: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """``{"sessions": [...], "trend": [...], "hidden": {kind: count}}`` for ``posture history --json``."""
    return {
        "sessions": [s.to_json() for s in sessions],
        "trend": [d.to_json() for d in trend],
        "hidden": {k: n for k, n in (hidden or {}).items() if n},
    }
