"""The week page (``posture history --html FILE [--days N]``, and the tray's "open the week page";
"today's page" is the same page for one day): one self-contained page of the history's days.

Built like the report: plain data first (:func:`build_week_data` from the history's
:class:`~posture.outputs.history.DaySummary` rows), then rendered with the report's machinery
(:func:`posture.outputs.report.page.render` and ``data/week.html.j2``, the report's matplotlib style
and inline SVG). Per day: time watched, the share of it poor per finding, alerts and breaks taken;
over the span: the trend, the top finding with its advice, and streaks of good days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from posture import __version__
from posture.advice import ABOUT_TOPIC, Catalogue, attribution, load_catalogue
from posture.durations import format_duration
from posture.findings import FINDING_CODES
from posture.outputs.history import DaySummary
from posture.outputs.report.charts import COLOURS, Chart, chart_style, svg_element
from posture.outputs.report.page import Target, render, write_page
from posture.outputs.report.sections import AdviceSection, Headline, advice_section, primary_topic
from posture.outputs.report.words import finding_title

__all__ = [
    "GOOD_DAY_MAX_POOR",
    "GOOD_DAY_MIN_S",
    "DayRow",
    "WeekData",
    "build_week_data",
    "render_week",
    "streaks",
    "write_week",
]

GOOD_DAY_MIN_S = 15 * 60.0  # a day counts (good or not) from this much time watched
GOOD_DAY_MAX_POOR = 0.20  # a good day: poor posture under this share of the time watched
_TREND_STEP = 0.03  # a change of the poor share smaller than this is "steady"
# One colour per finding in the per-finding chart (the report's palette first).
_FINDING_COLOURS = ("#e8871e", "#cf222e", "#8250df", "#1f6feb", "#bf8700", "#57606a")


@dataclass(frozen=True)
class DayRow:
    """One calendar day of the page (a day without sessions has zeros)."""

    day: date
    label: str  # "Mon 7"
    watched_s: float
    watched: str
    poor_share: float
    finding_shares: tuple[tuple[str, float], ...]  # (code, share of the time watched) over 0, worst first
    alerts: int
    breaks: int
    sessions: int
    good: bool | None  # None: too little time watched to say


@dataclass(frozen=True)
class WeekData:
    title: str
    kicker: str
    period: str
    days: tuple[DayRow, ...]
    headlines: tuple[Headline, ...]
    trend: str  # the trend in words
    top_finding: str | None  # code
    top_finding_title: str | None
    top_finding_text: str | None  # "over its threshold 12 % of the time watched"
    advice: AdviceSection | None
    current_streak: int
    best_streak: int
    streak_text: str
    charts: tuple[Chart, ...]
    measured_anything: bool
    attribution: str
    disclaimer: str
    version: str
    generated: str
    good_day_rule: str


def _is_good(d: DaySummary | None) -> bool | None:
    if d is None or d.present_s < GOOD_DAY_MIN_S:
        return None
    return d.poor_share < GOOD_DAY_MAX_POOR


def streaks(good: Sequence[bool | None]) -> tuple[int, int]:
    """(current, best) runs of good days, oldest first. A day with too little time watched neither
    breaks nor extends a streak, except today's (the last), which may still come."""
    best = run = 0
    for g in good:
        if g is True:
            run += 1
            best = max(best, run)
        elif g is False:
            run = 0
    return run, best


def _trend_text(rows: Sequence[DayRow]) -> str:
    measured = [r for r in rows if r.watched_s > 0]
    if len(measured) < 2:
        return "Not enough days watched for a trend yet."
    half = len(measured) // 2
    first = sum(r.poor_share * r.watched_s for r in measured[:half]) / sum(
        r.watched_s for r in measured[:half]
    )
    last = sum(r.poor_share * r.watched_s for r in measured[half:]) / sum(
        r.watched_s for r in measured[half:]
    )
    change = last - first
    words = f"from {first:.0%} to {last:.0%} of the time watched (earlier days against later days)"
    if change <= -_TREND_STEP:
        return f"Improving: poor posture fell {words}."
    if change >= _TREND_STEP:
        return f"Getting worse: poor posture rose {words}."
    return f"Steady: poor posture stayed about the same, {words}."


def _day_axis(ax: Any, rows: Sequence[DayRow]) -> None:
    ax.set_xticks(range(len(rows)), [r.label for r in rows])
    ax.set_xlim(-0.6, len(rows) - 0.4)
    ax.grid(axis="y", color="#d0d7de", lw=0.6)
    ax.set_axisbelow(True)


def _figure(width: float, height: float) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots()


def _watched_chart(rows: Sequence[DayRow]) -> Chart:
    hours = max((r.watched_s for r in rows), default=0.0) >= 2 * 3600
    div, unit = (3600.0, "hours") if hours else (60.0, "minutes")
    with chart_style():
        fig, ax = _figure(9.5, 2.8)
        x = range(len(rows))
        poor = [r.watched_s * r.poor_share / div for r in rows]
        rest = [r.watched_s * (1 - r.poor_share) / div for r in rows]
        ax.bar(x, rest, color=COLOURS["good"], width=0.62, label="not poor")
        ax.bar(x, poor, bottom=rest, color=COLOURS["poor"], width=0.62, label="poor posture")
        ax.set_ylabel(f"time watched ({unit})")
        ax.set_ylim(0, max(max(r.watched_s for r in rows) / div, 1e-6) * 1.3)  # room for the legend
        _day_axis(ax, rows)
        ax.legend(loc="upper left", frameon=False, ncol=2)
        fig.suptitle("Time watched per day", x=0.02, ha="left", fontweight="bold", fontsize=10)
        svg = svg_element(fig, "week-watched")
    return Chart(
        "Time watched per day",
        "Bar chart of the time watched each day, the poor part on top: "
        + ", ".join(f"{r.label}: {r.watched}, {r.poor_share:.0%} poor" for r in rows),
        svg,
    )


def _findings_chart(rows: Sequence[DayRow], codes: Sequence[str]) -> Chart:
    with chart_style():
        fig, ax = _figure(9.5, 2.8)
        x = list(range(len(rows)))
        total = [100 * r.poor_share if r.watched_s > 0 else float("nan") for r in rows]
        ax.plot(x, total, color="#1f2328", lw=1.6, marker="o", ms=4, label="poor posture (any)", zorder=3)
        for i, code in enumerate(codes):
            ys = [
                100 * dict(r.finding_shares).get(code, 0.0) if r.watched_s > 0 else float("nan") for r in rows
            ]
            colour = _FINDING_COLOURS[i % len(_FINDING_COLOURS)]
            ax.plot(x, ys, color=colour, lw=1.2, marker="s", ms=3, ls="--", label=finding_title(code))
        ax.set_ylabel("% of the time watched")
        top = max((100 * r.poor_share for r in rows if r.watched_s > 0), default=1.0)
        ax.set_ylim(0, max(top, 1.0) * 1.45)  # room for the legend
        _day_axis(ax, rows)
        ax.legend(loc="upper left", frameon=False, ncol=min(len(codes) + 1, 3))
        fig.suptitle("Share of the time poor, per finding", x=0.02, ha="left", fontweight="bold", fontsize=10)
        svg = svg_element(fig, "week-findings")
    return Chart(
        "Share of the time poor, per finding",
        "Line chart of the share of the time watched in poor posture each day, overall and per finding "
        "over its threshold.",
        svg,
    )


def _alerts_chart(rows: Sequence[DayRow]) -> Chart:
    with chart_style():
        fig, ax = _figure(9.5, 2.4)
        x = range(len(rows))
        ax.bar(
            [i - 0.17 for i in x],
            [r.alerts for r in rows],
            width=0.34,
            color=COLOURS["alert"],
            label="alerts",
        )
        ax.bar(
            [i + 0.17 for i in x],
            [r.breaks for r in rows],
            width=0.34,
            color=COLOURS["good"],
            label="breaks taken",
        )
        ax.set_ylabel("count")
        ax.set_ylim(0, max(max(max(r.alerts, r.breaks) for r in rows), 1) * 1.35)
        ax.yaxis.get_major_locator().set_params(integer=True)
        _day_axis(ax, rows)
        ax.legend(loc="upper left", frameon=False, ncol=2)
        fig.suptitle("Alerts and breaks per day", x=0.02, ha="left", fontweight="bold", fontsize=10)
        svg = svg_element(fig, "week-alerts")
    return Chart(
        "Alerts and breaks per day",
        "Bar chart of the sustained-posture alerts and the movement breaks taken each day: "
        + ", ".join(f"{r.label}: {r.alerts} alerts, {r.breaks} breaks" for r in rows),
        svg,
    )


def _period(first: date, last: date) -> str:
    if first == last:
        return f"{first:%A} {first.day} {first:%B %Y}"
    if first.year == last.year and first.month == last.month:
        return f"{first.day}–{last.day} {last:%B %Y}"
    return f"{first.day} {first:%b} – {last.day} {last:%b %Y}"


def build_week_data(
    summaries: Sequence[DaySummary],
    *,
    days: int = 7,
    today: date | None = None,
    catalogue: Catalogue | None = None,
    generated: datetime | None = None,
) -> WeekData:
    """The page's data for the ``days`` days up to ``today`` (local), from the history's day rows."""
    if days < 1:
        raise ValueError("days must be at least 1")
    catalogue = catalogue or load_catalogue()
    generated = generated or datetime.now().astimezone()
    today = today or generated.date()
    by_day = {s.day: s for s in summaries}
    span = [today - timedelta(days=days - 1 - i) for i in range(days)]
    rows = []
    for d in span:
        s = by_day.get(d)
        shares = (
            tuple(
                sorted(
                    ((c, s.finding_share(c)) for c in FINDING_CODES if s.finding_share(c) > 0),
                    key=lambda cs: -cs[1],
                )
            )
            if s is not None
            else ()
        )
        watched = s.present_s if s is not None else 0.0
        rows.append(
            DayRow(
                day=d,
                label=f"{d:%a} {d.day}",
                watched_s=watched,
                watched=format_duration(watched) if watched > 0 else "–",
                poor_share=s.poor_share if s is not None else 0.0,
                finding_shares=shares,
                alerts=s.alerts if s is not None else 0,
                breaks=s.breaks if s is not None else 0,
                sessions=s.sessions if s is not None else 0,
                good=_is_good(s),
            )
        )
    inside = [by_day[d] for d in span if d in by_day]
    watched_s = sum(s.present_s for s in inside)
    poor_s = sum(s.poor_s for s in inside)
    finding_s: dict[str, float] = {}
    for s in inside:
        for code, sec in s.finding_poor_s.items():
            finding_s[code] = finding_s.get(code, 0.0) + sec
    top, top_s = max(finding_s.items(), key=lambda kv: kv[1], default=(None, 0.0))
    top = top if top_s > 0 else None
    current, best = streaks([r.good for r in rows])
    good_days = sum(1 for r in rows if r.good)
    alerts = sum(r.alerts for r in rows)
    breaks = sum(r.breaks for r in rows)
    poor_share = poor_s / watched_s if watched_s > 0 else 0.0
    one_day = days == 1
    headlines = (
        Headline(
            "Time watched",
            format_duration(watched_s) if watched_s else "–",
            f"over {days} day{'s' if days != 1 else ''}",
        ),
        Headline(
            "Poor posture",
            f"{poor_share:.0%}" if watched_s else "–",
            "of the time watched",
            "good" if watched_s and poor_share < GOOD_DAY_MAX_POOR else ("poor" if watched_s else "neutral"),
        ),
        Headline("Alerts", str(alerts), "sustained poor posture", "poor" if alerts else "good"),
        Headline(
            "Breaks taken", str(breaks), "away long enough after sitting", "good" if breaks else "neutral"
        ),
        Headline(
            "Good days",
            f"{good_days} of {days}",
            f"streak {current} now, best {best}",
            "good" if good_days else "neutral",
        ),
    )
    codes = sorted(finding_s, key=lambda c: -finding_s[c])
    codes = [c for c in codes if finding_s[c] > 0][:4]
    charts = (
        (_watched_chart(rows), _findings_chart(rows, codes), _alerts_chart(rows)) if watched_s > 0 else ()
    )
    streak_text = (
        f"{current} good day{'s' if current != 1 else ''} in a row"
        + (f" (best in this span: {best})" if best > current else "")
        + "."
        if best
        else "No good day in this span yet."
    )
    return WeekData(
        title="Your day at the desk" if one_day else f"Your {days} days at the desk",
        kicker="posture · today" if one_day else "posture · week" if days == 7 else f"posture · {days} days",
        period=_period(span[0], span[-1]),
        days=tuple(rows),
        headlines=headlines,
        trend=_trend_text(rows),
        top_finding=top,
        top_finding_title=finding_title(top) if top else None,
        top_finding_text=(
            f"over its threshold {format_duration(top_s)}, {top_s / watched_s:.0%} of the time watched"
            if top and watched_s
            else None
        ),
        advice=advice_section(catalogue, primary_topic(catalogue, top)) if top else None,
        current_streak=current,
        best_streak=best,
        streak_text=streak_text,
        charts=charts,
        measured_anything=watched_s > 0,
        attribution=attribution(catalogue),
        disclaimer=catalogue.topic(ABOUT_TOPIC).summary,
        version=__version__,
        generated=generated.strftime("%Y-%m-%d %H:%M"),
        good_day_rule=(
            f"A good day: at least {format_duration(GOOD_DAY_MIN_S)} watched and poor posture under "
            f"{GOOD_DAY_MAX_POOR:.0%} of it; a day with less time watched neither breaks nor extends a streak."
        ),
    )


def render_week(data: WeekData) -> str:
    return render("week.html.j2", data, label=finding_title)


def write_week(data: WeekData, target: Target) -> Path | None:
    """Write the page to a path (atomically) or an open text file."""
    return write_page(render_week(data), target)
