"""The report's charts: matplotlib figures turned into inline ``<svg>`` elements.

A small public API that the cohort page (``posture.batch.cohort``) uses as well: :data:`COLOURS`,
:class:`Chart`, :func:`chart_style` (the shared matplotlib style) and :func:`svg_element` (a figure
as an element to put in a page), plus the two charts the report draws, :func:`timeline_chart` and
:func:`bar_charts`. matplotlib is imported only when a chart is drawn.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from posture.config import FindingRules
from posture.durations import format_duration
from posture.findings import FINDING_CODES, FINDING_WORDS, PoorSide, band, bands_on
from posture.metric_registry import METRIC_NAMES, metric
from posture.outputs.report.words import finding_title, pct
from posture.reading import Reading, Reason, Reference, Verdict
from posture.summary import whole_percentages

__all__ = [
    "COLOURS",
    "MAX_CHART_POINTS",
    "STYLE",
    "Chart",
    "LimitLine",
    "Panel",
    "bar_charts",
    "chart_style",
    "decimate",
    "fixed_limits",
    "runs",
    "shaded_spans",
    "svg_element",
    "time_axis",
    "timeline_chart",
    "timeline_panels",
]

MAX_CHART_POINTS = 2000  # per plotted series; longer sessions are decimated (min/max per bin)
_MAX_SPANS = 300  # shaded stretches per chart; closer ones are merged beyond this

# Colours shared by the charts and the pages' CSS.
COLOURS = {
    "good": "#1a7f37",
    "poor": "#e8871e",
    "alert": "#cf222e",
    "away": "#8c959f",
    "uncertain": "#8250df",
    "line": "#1f6feb",  # kept distinct from the page's link colour (the browser test finds the chart by it)
    "threshold": "#cf222e",
    "baseline": "#57606a",
}

# The matplotlib style of every chart posture draws (text stays text in the SVG).
STYLE: Mapping[str, Any] = {
    # Labels are plain text: a name such as "$\foo$" is shown as written, never parsed as TeX.
    "text.usetex": False,
    "text.parse_math": False,
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "legend.fontsize": 8.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#8c959f",
    "axes.labelcolor": "#1f2328",
    "text.color": "#1f2328",
    "xtick.color": "#57606a",
    "ytick.color": "#57606a",
    "figure.dpi": 72,
}


@dataclass(frozen=True)
class Chart:
    title: str
    description: str  # a text alternative for screen readers
    svg: str  # inline <svg> element


@contextlib.contextmanager
def chart_style() -> Iterator[None]:
    """Draw inside this block to get the pages' chart style."""
    import matplotlib

    with matplotlib.rc_context(dict(STYLE)):
        yield


def svg_element(fig: Any, salt: str) -> str:
    """A figure as an inline ``<svg>`` element: no XML prolog, no DOCTYPE, no metadata, and ids
    salted per chart (``salt``) so that several charts can share one page."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": salt}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, facecolor="white")
    text = buf.getvalue()
    start = text.find("<svg")
    text = text[start:] if start >= 0 else text
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    # Let CSS size it (the viewBox keeps the aspect ratio); keep the intrinsic size as a maximum.
    m = re.match(r'<svg([^>]*?)\swidth="([\d.]+)pt"\s+height="([\d.]+)pt"', text)
    if m:
        w_px = float(m.group(2)) * 4 / 3
        text = f'<svg{m.group(1)} class="chart" role="img" style="max-width:{w_px:.0f}px"' + text[m.end() :]
    return text.strip()


def time_axis(total_s: float) -> tuple[float, str]:
    """Divisor and axis label for a time axis ``total_s`` long."""
    if total_s >= 3 * 3600:
        return 3600.0, "time since start (h)"
    if total_s >= 180:
        return 60.0, "time since start (min)"
    return 1.0, "time since start (s)"


def _ref(baseline: Mapping[str, float | None] | None, key: str) -> float | None:
    return None if baseline is None else baseline.get(key)


def decimate(
    t: np.ndarray, v: np.ndarray, max_points: int = MAX_CHART_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_points`` points that keep every bin's minimum and maximum (peaks survive).

    NaN marks gaps (no value); a bin with no value keeps one NaN so the line still breaks there.
    """
    n = len(t)
    if n <= max_points:
        return t, v
    bins = max(1, max_points // 2)
    keep_t: list[float] = []
    keep_v: list[float] = []
    for idx in np.array_split(np.arange(n), bins):
        chunk = v[idx]
        ok = ~np.isnan(chunk)
        if not ok.any():
            keep_t.append(float(t[idx[len(idx) // 2]]))
            keep_v.append(math.nan)
            continue
        lo = int(np.nanargmin(chunk))
        hi = int(np.nanargmax(chunk))
        for j in sorted({lo, hi}):
            keep_t.append(float(t[idx[j]]))
            keep_v.append(float(chunk[j]))
    return np.array(keep_t), np.array(keep_v)


def runs(mask: Sequence[bool], t: np.ndarray, dur: np.ndarray, total_s: float) -> list[tuple[float, float]]:
    """Time spans where ``mask`` holds, merged when closer than a small share of the session so
    that a long session never draws more than a few hundred shapes."""
    spans: list[tuple[float, float]] = []
    start: int | None = None
    m = [*mask, False]
    for i, on in enumerate(m):
        if on and start is None:
            start = i
        elif not on and start is not None:
            spans.append((float(t[start]), float(t[i - 1] + dur[i - 1])))
            start = None
    gap = total_s / 1000.0
    while True:
        merged: list[tuple[float, float]] = []
        for a, b in spans:
            if merged and a - merged[-1][1] <= gap:
                merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
            else:
                merged.append((a, b))
        if len(merged) <= _MAX_SPANS or gap <= 0:
            return merged
        spans, gap = merged, gap * 2


def shaded_spans(readings: Sequence[Reading], dur: np.ndarray) -> dict[str, list[tuple[float, float]]]:
    """The stretches every panel of the timeline chart shades, in seconds from the first reading:
    ``away`` and ``alert``. An alert band is one colour from the alert to its episode's end; each
    panel shades its own poor stretches (its metric beyond its limit) only outside it, so the
    uncertain frames of a slouch held under an alert do not cut the band into stripes."""
    if not readings:
        return {"away": [], "alert": []}
    t = np.array([r.t_s for r in readings], dtype=float)
    t0 = float(t[0])
    total = float(t[-1] + dur[-1] - t0)
    masks = {
        "away": [r.posture is Verdict.AWAY for r in readings],
        "alert": [r.alert for r in readings],
    }
    return {name: runs(mask, t - t0, dur, total) for name, mask in masks.items()}


# How each reference's limits are drawn: colour, dash pattern, the words of the legend.
_LIMIT_STYLE: Mapping[Reference, tuple[str, Any, str]] = {
    Reference.EVERYONE: (COLOURS["threshold"], (0, (5, 3)), "everyone's limit"),
    Reference.CALIBRATION: (COLOURS["baseline"], (0, (5, 3)), "limit from your calibration"),
    Reference.HABIT: (COLOURS["uncertain"], (0, (2, 2)), "limit from this session's habit"),
}


@dataclass(frozen=True)
class LimitLine:
    """One limit drawn on a panel: of one finding, against one reference, in one direction; its
    value over time (NaN where it did not apply), from the readings' reasons or the rules."""

    finding: str
    rule: str  # the FindingRules band (a finding may have several: a far recline, a lesser one)
    reference: Reference
    above: bool  # poor from the limit upwards (else downwards)
    limits: np.ndarray  # per reading
    fixed: bool  # holds all session long (else drawn only where it flagged a frame)

    @property
    def label(self) -> str:
        """The finding's words, and the band's when it flags only with another (a lesser recline)."""
        words = FINDING_WORDS.get(self.finding, self.finding)
        found = band(self.rule)
        return f"{words} ({found[1].words})" if found is not None and not found[1].alone else words


@dataclass(frozen=True)
class Panel:
    """One metric's panel of the timeline chart: its values, the limits drawn on it, and the
    readings shaded poor on it (those flagged poor by a reason about this very metric)."""

    metric: str
    values: np.ndarray  # per reading, NaN where not measured
    limits: tuple[LimitLine, ...]
    poor: np.ndarray  # per reading: poor, and by a reason about this metric

    def beyond(self, i: int) -> bool:
        """Whether reading ``i``'s value lies beyond (or on) one of this panel's limits."""
        v = self.values[i]
        for line in self.limits:
            lim = line.limits[i]
            if np.isnan(v) or np.isnan(lim):
                continue
            if (v >= lim - 1e-6) if line.above else (v <= lim + 1e-6):
                return True
        return False


def timeline_panels(
    readings: Sequence[Reading],
    metrics: Sequence[str],
    rules: FindingRules,
    baseline: Mapping[str, float | None] | None,
) -> list[Panel]:
    """What the timeline chart draws, as plain data (tests read it).

    A panel for each of ``metrics`` that was measured, and for every other metric a poor
    verdict was reached on (a neck flexion against the habit, the neck's depth from the front).
    Each panel carries the fixed limits of its metric (everyone's, or the calibration's) and,
    from the readings' reasons, every limit that actually flagged a frame, where it did: a
    session's habit moves as it learns. A reading is shaded poor on a panel only when a reason
    about that panel's metric reached its limit, so each shaded stretch lies beyond a limit drawn
    on its own panel.
    """
    n = len(readings)
    reached: dict[str, list[tuple[int, Reason]]] = {}
    for i, r in enumerate(readings):
        if r.posture is not Verdict.POOR:
            continue
        for reason in r.reasons:
            if r.findings.get(reason.finding, 0.0) >= 1.0:
                reached.setdefault(reason.metric, []).append((i, reason))
    order = [*metrics, *(m for m in METRIC_NAMES if m in reached and m not in metrics)]
    panels = []
    for name in order:
        values = np.array(
            [np.nan if r.metrics.get(name) is None else r.metrics[name] for r in readings], float
        )
        if not np.isfinite(values).any():
            continue
        # One line per rule (a finding's far recline and its lesser one with the head forward
        # are two), reference and direction; the fixed ones are drawn all along, the others
        # where they flagged a frame (a habit's limit moves as it learns).
        lines: dict[tuple[str, str, Reference, bool], np.ndarray] = {}
        fixed: set[tuple[str, str, Reference, bool]] = set()
        for y, finding, rule, reference, above in fixed_limits(name, rules, baseline):
            lines[(finding, rule, reference, above)] = np.full(n, y)
            fixed.add((finding, rule, reference, above))
        poor = np.zeros(n, bool)
        for i, reason in reached.get(name, []):
            key = (reason.finding, reason.rule, reason.reference, reason.above)
            line = lines.setdefault(key, np.full(n, np.nan))
            line[i] = reason.limit
            poor[i] = True
        limits = tuple(
            LimitLine(f, rule, ref, above, lim, (f, rule, ref, above) in fixed)
            for (f, rule, ref, above), lim in lines.items()
        )
        panels.append(Panel(name, values, limits, poor))
    return panels


def fixed_limits(
    metric_name: str, rules: FindingRules, baseline: Mapping[str, float | None] | None
) -> list[tuple[float, str, str, Reference, bool]]:
    """The limits of a metric that hold all session long: (value, finding, band, reference,
    above), from each band of the finding registry that judges the metric on its own. Everyone's
    limit where the calibration has no value for the metric; the calibration's band around its
    value where it has one (around 0 for a metric that is itself a change from the calibration)."""
    info = metric(metric_name)
    relative = info is not None and info.relative
    ref = _ref(baseline, metric_name)
    out: list[tuple[float, str, str, Reference, bool]] = []
    for finding, b in bands_on(metric_name):
        if not b.alone:
            continue  # drawn where it flagged a frame, with the band it needs
        if b.personal:
            origin = 0.0 if relative and baseline else ref
            reference = Reference.CALIBRATION
        else:
            origin = 0.0 if ref is None else None
            reference = Reference.EVERYONE
        if origin is None:
            continue
        limit = rules[b.name].limit
        sides = (True, False) if b.poor is PoorSide.EITHER else (b.poor is PoorSide.ABOVE,)
        out += [
            (origin + limit if up else origin - limit, finding.code, b.name, reference, up) for up in sides
        ]
    return out


def timeline_chart(
    readings: Sequence[Reading],
    dur: np.ndarray,
    metrics: Sequence[str],
    rules: FindingRules,
    baseline: Mapping[str, float | None] | None,
) -> Chart | None:
    """The chosen metrics over time (one panel each) with the limits that judged them and the
    verdicts shaded: poor on the panel of the metric that flagged it, alerts and absences on all."""
    panels = timeline_panels(readings, metrics, rules, baseline)
    if not panels:
        return None

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    t = np.array([r.t_s for r in readings], dtype=float)
    t0 = float(t[0])
    total = float(t[-1] + dur[-1] - t0)
    div, xlabel = time_axis(total)
    spans = shaded_spans(readings, dur)
    shared = [("away", COLOURS["away"], 0.28), ("alert", COLOURS["alert"], 0.30)]
    alerting = np.array([r.alert for r in readings])
    used: set[Reference] = set()
    with chart_style():
        fig = Figure(figsize=(9.5, 1.1 + 1.6 * len(panels)), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
        for ax, panel in zip(axes, panels, strict=True):
            for shade, colour, alpha in shared:
                for a, b in spans[shade]:
                    ax.axvspan(a / div, b / div, color=colour, alpha=alpha, lw=0, zorder=0)
            for a, b in runs(panel.poor & ~alerting, t - t0, dur, total):
                ax.axvspan(a / div, b / div, color=COLOURS["poor"], alpha=0.22, lw=0, zorder=0)
            tt, vv = decimate(t - t0, panel.values)
            ax.plot(tt / div, vv, color=COLOURS["line"], lw=1.4, zorder=3)
            info = metric(panel.metric)
            ref = _ref(baseline, panel.metric)
            if info is not None and info.relative and baseline is not None:
                ref = 0.0  # already a change from the baseline
            if ref is not None:
                ax.axhline(ref, color=COLOURS["baseline"], lw=1.0, ls=":", zorder=2)
            label, unit = (info.label, info.unit) if info is not None else (panel.metric, "")
            lows, highs = [np.nanmin(panel.values)], [np.nanmax(panel.values)]
            for line in panel.limits:
                colour, dash, _ = _LIMIT_STYLE[line.reference]
                used.add(line.reference)
                lt, lv = decimate(t - t0, line.limits)
                ax.step(lt / div, lv, where="post", color=colour, lw=1.0, ls=dash, zorder=2)
                # A fixed limit is labelled at the right edge; one drawn only where it flagged, at
                # the start of its first stretch.
                at = len(t) - 1 if line.fixed else int(np.flatnonzero(np.isfinite(line.limits))[0])
                y = float(line.limits[at])
                ax.annotate(
                    f"{line.label} {y:.0f}{unit}",
                    xy=(1.0 if line.fixed else (t[at] - t0) / max(total, 1e-6), y),
                    xycoords=("axes fraction", "data"),
                    xytext=(-2 if line.fixed else 2, 2 if line.above else -2),
                    textcoords="offset points",
                    ha="right" if line.fixed else "left",
                    va="bottom" if line.above else "top",
                    fontsize=7.5,
                    color=colour,
                )
                lows.append(float(np.nanmin(line.limits)))
                highs.append(float(np.nanmax(line.limits)))
            lo, hi = min(lows), max(highs)
            pad = max(2.0, 0.12 * (hi - lo))
            ax.set_ylim(lo - pad, hi + pad)
            ax.set_ylabel("change (%)" if unit == "%" else f"angle ({unit})")
            ax.set_title(label, loc="left", fontsize=9.5, fontweight="bold", pad=3)
            ax.grid(axis="y", color="#d0d7de", lw=0.6)
            ax.set_xlim(0, max(total, 1e-6) / div)
        axes[-1].set_xlabel(xlabel)
        handles = [Line2D([], [], color=COLOURS["line"], lw=1.4, label="measured")]
        for reference in Reference:
            if reference in used:
                colour, dash, words = _LIMIT_STYLE[reference]
                handles.append(Line2D([], [], color=colour, lw=1.0, ls=dash, label=f"{words} (poor beyond)"))
        if baseline is not None:
            handles.append(Line2D([], [], color=COLOURS["baseline"], lw=1.0, ls=":", label="your baseline"))
        if any(p.poor.any() for p in panels):
            handles.append(
                Patch(color=COLOURS["poor"], alpha=0.32, lw=0, label="poor posture, by this measure")
            )
        for shade, colour, alpha in shared:
            if spans[shade]:
                text = {"away": "away", "alert": "alert (sustained)"}[shade]
                handles.append(Patch(color=colour, alpha=alpha + 0.1, lw=0, label=text))
        fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 4), frameon=False)
        fig.suptitle("Neck and upper back over time", fontweight="bold", fontsize=11)
        svg = svg_element(fig, "timeline")
    names = ", ".join((info.label if (info := metric(p.metric)) else p.metric).lower() for p in panels)
    return Chart(
        "Neck and upper back over time",
        f"Line charts of {names} over the session, each with the limits it was judged against "
        "(everyone's, your calibration's or this session's habit); each poor stretch is shaded on "
        "the chart of the measure that flagged it, alerts and absences on all.",
        svg,
    )


def _bar_chart(
    title: str,
    labels: Sequence[str],
    seconds: Sequence[float],
    colours: Sequence[str],
    total: float,
    salt: str,
    shares: Sequence[int] | None = None,
) -> str:
    """Horizontal bars of ``seconds``, each labelled with its time and its share of ``total``
    (``shares``, in whole per cent, when the caller has them: a partition that must add up)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    div, xlabel = time_axis(max(seconds) if seconds else 0.0)
    xlabel = xlabel.replace("time since start", "time")
    with chart_style():
        fig = Figure(figsize=(4.6, 0.9 + 0.36 * len(labels)), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        y = np.arange(len(labels))
        vals = np.array(seconds, dtype=float) / div
        ax.barh(y, vals, color=colours, height=0.62)
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        right = max(float(vals.max()) if len(vals) else 0.0, 1.0 / div)
        ax.set_xlim(0, right * 1.35)
        for yi, (v, s) in enumerate(zip(vals, seconds, strict=False)):
            share = f"{shares[yi]} %" if shares is not None else pct(s, total)
            text = format_duration(s) + (f" ({share})" if total > 0 and s > 0 else "")
            ax.text(v + right * 0.02, yi, text, va="center", fontsize=8, color="#1f2328")
        ax.set_xlabel(xlabel)
        fig.suptitle(title, x=0.02, ha="left", fontweight="bold", fontsize=10)
        ax.grid(axis="x", color="#d0d7de", lw=0.6)
        ax.set_axisbelow(True)
        ax.tick_params(axis="y", length=0)
        return svg_element(fig, salt)


def bar_charts(time_s: Mapping[str, float], poor_s: Mapping[str, float], total: float) -> tuple[Chart, ...]:
    """Time per verdict and time over threshold per finding (seconds), of a session ``total`` s long."""
    if total <= 0:
        return ()
    order = ("good", "poor", "uncertain", "away")
    verdict = Chart(
        "Time per verdict",
        "Bar chart of the time spent in good posture, poor posture, uncertain and away. "
        + ", ".join(f"{v}: {format_duration(float(time_s.get(v, 0.0)))}" for v in order),
        _bar_chart(
            "Time per verdict (% of the session)",
            [v.capitalize() for v in order],
            [float(time_s.get(v, 0.0)) for v in order],
            [COLOURS[v] for v in order],
            total,
            "verdicts",
            shares=list(whole_percentages({v: float(time_s.get(v, 0.0)) for v in order}).values()),
        ),
    )
    present = total - float(time_s.get("away", 0.0))
    codes = [c for c in FINDING_CODES if c in poor_s]
    if not any(float(poor_s[c]) > 0 for c in codes):
        return (verdict,)  # nothing over threshold: the page says so in words
    findings = Chart(
        "Time over threshold per finding",
        "Bar chart of the time each posture finding was at or over its threshold. "
        + ", ".join(f"{finding_title(c)}: {format_duration(float(poor_s[c]))}" for c in codes),
        _bar_chart(
            "Time over threshold (% of time present)",
            [finding_title(c) for c in codes],
            [float(poor_s[c]) for c in codes],
            [COLOURS["poor"] if poor_s[c] > 0 else COLOURS["away"] for c in codes],
            present,
            "findings",
        ),
    )
    return verdict, findings
