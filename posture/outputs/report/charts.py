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
from posture.findings import FINDING_CODES
from posture.outputs.report.words import METRIC_TEXT, finding_title, pct
from posture.reading import Reading, Verdict
from posture.summary import whole_percentages

__all__ = [
    "COLOURS",
    "MAX_CHART_POINTS",
    "STYLE",
    "Chart",
    "bar_charts",
    "chart_style",
    "decimate",
    "runs",
    "shaded_spans",
    "svg_element",
    "threshold_lines",
    "time_axis",
    "timeline_chart",
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


def threshold_lines(
    metric: str, rules: FindingRules, baseline: Mapping[str, float | None] | None
) -> list[tuple[float, str]]:
    """The threshold values to draw on a metric's chart, with a short label each.

    With a baseline value for the metric the delta rules apply, so the line sits at the baseline
    value plus the delta threshold; otherwise at the absolute threshold.
    """
    ref = _ref(baseline, metric)
    if metric == "head_forward_deg":
        if ref is not None:
            return [(ref + rules.forward_head_delta_deg.limit, "head forward")]
        return []  # judged against your own posture only
    if metric == "neck_inclination_deg":
        if baseline:
            return []
        return [(rules.forward_head_deg.limit, "head forward")]
    if metric == "trunk_inclination_deg":
        if ref is not None:
            return [
                (ref + rules.hunched_back_delta_deg.limit, "hunched"),
                (ref - rules.slumped_recline_delta_deg.limit, "slumped"),
            ]
        return [
            (rules.hunched_back_deg.limit, "hunched"),
            (-rules.slumped_recline_deg.limit, "slumped"),
        ]
    if metric == "neck_flexion_deg":
        if ref is not None:
            return [(ref + rules.neck_flexion_delta_deg.limit, "neck flexion")]
        return []
    if metric == "face_scale_pct":
        return [(rules.leaning_in_pct.limit, "leaning in")]
    if metric == "head_drop_pct":
        return [(rules.head_drop_pct.limit, "head drop")]
    if metric in ("shoulder_tilt_deg", "trunk_side_lean_deg"):
        if ref is not None:
            lim = rules.side_lean_delta_deg.limit
            return [(ref + lim, "side lean"), (ref - lim, "side lean")]
        lim = rules.side_lean_deg.limit
        return [(lim, "side lean"), (-lim, "side lean")]
    return []


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
    """The stretches the timeline chart shades, in seconds from the first reading: ``away``,
    ``poor`` and ``alert``. An alert band is one colour from the alert to its episode's end:
    poor is shaded only outside it, so the uncertain frames of a slouch held under an alert do
    not cut the band into stripes."""
    if not readings:
        return {"away": [], "poor": [], "alert": []}
    t = np.array([r.t_s for r in readings], dtype=float)
    t0 = float(t[0])
    total = float(t[-1] + dur[-1] - t0)
    masks = {
        "away": [r.posture is Verdict.AWAY for r in readings],
        "poor": [r.posture is Verdict.POOR and not r.alert for r in readings],
        "alert": [r.alert for r in readings],
    }
    return {name: runs(mask, t - t0, dur, total) for name, mask in masks.items()}


def timeline_chart(
    readings: Sequence[Reading],
    dur: np.ndarray,
    metrics: Sequence[str],
    rules: FindingRules,
    baseline: Mapping[str, float | None] | None,
) -> Chart | None:
    """The chosen metrics over time (one panel each) with their thresholds and the verdicts shaded."""
    series = {}
    t = np.array([r.t_s for r in readings], dtype=float)
    for name in metrics:
        v = np.array(
            [np.nan if r.metrics.get(name) is None else r.metrics[name] for r in readings], dtype=float
        )
        if np.isfinite(v).any():
            series[name] = v
    if not series:
        return None

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    t0 = float(t[0])
    total = float(t[-1] + dur[-1] - t0)
    div, xlabel = time_axis(total)
    shades = [
        ("away", COLOURS["away"], 0.28),
        ("poor", COLOURS["poor"], 0.22),
        ("alert", COLOURS["alert"], 0.30),
    ]
    spans = shaded_spans(readings, dur)
    with chart_style():
        n = len(series)
        fig = Figure(figsize=(9.5, 1.1 + 1.6 * n), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
        for ax, (name, values) in zip(axes, series.items(), strict=False):
            for shade, colour, alpha in shades:
                for a, b in spans[shade]:
                    ax.axvspan(a / div, b / div, color=colour, alpha=alpha, lw=0, zorder=0)
            tt, vv = decimate(t - t0, values)
            ax.plot(tt / div, vv, color=COLOURS["line"], lw=1.4, zorder=3)
            ref = _ref(baseline, name)
            if name in ("face_scale_pct", "head_drop_pct") and baseline is not None:
                ref = 0.0  # these are already changes from the baseline
            if ref is not None:
                ax.axhline(ref, color=COLOURS["baseline"], lw=1.0, ls=":", zorder=2)
            label, unit, _ = METRIC_TEXT.get(name, (name, "", ""))
            lows, highs = [np.nanmin(values)], [np.nanmax(values)]
            for y, text in threshold_lines(name, rules, baseline):
                ax.axhline(y, color=COLOURS["threshold"], lw=1.0, ls=(0, (5, 3)), zorder=2)
                ax.annotate(
                    f"{text} {y:.0f}{unit}",
                    xy=(1.0, y),
                    xycoords=("axes fraction", "data"),
                    xytext=(-2, 2),
                    textcoords="offset points",
                    ha="right",
                    va="bottom",
                    fontsize=7.5,
                    color=COLOURS["threshold"],
                )
                lows.append(y)
                highs.append(y)
            lo, hi = min(lows), max(highs)
            pad = max(2.0, 0.12 * (hi - lo))
            ax.set_ylim(lo - pad, hi + pad)
            ax.set_ylabel("change (%)" if unit == "%" else f"angle ({unit})")
            ax.set_title(label, loc="left", fontsize=9.5, fontweight="bold", pad=3)
            ax.grid(axis="y", color="#d0d7de", lw=0.6)
            ax.set_xlim(0, max(total, 1e-6) / div)
        axes[-1].set_xlabel(xlabel)
        handles = [Line2D([], [], color=COLOURS["line"], lw=1.4, label="measured")]
        handles.append(
            Line2D(
                [], [], color=COLOURS["threshold"], lw=1.0, ls=(0, (5, 3)), label="threshold (poor beyond)"
            )
        )
        if baseline is not None:
            handles.append(Line2D([], [], color=COLOURS["baseline"], lw=1.0, ls=":", label="your baseline"))
        for shade, colour, alpha in shades:
            if spans[shade]:
                text = {"away": "away", "poor": "poor posture", "alert": "alert (sustained)"}[shade]
                handles.append(Patch(color=colour, alpha=alpha + 0.1, lw=0, label=text))
        fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 6), frameon=False)
        fig.suptitle("Neck and upper back over time", fontweight="bold", fontsize=11)
        svg = svg_element(fig, "timeline")
    names = ", ".join(METRIC_TEXT.get(n, (n,))[0].lower() for n in series)
    return Chart(
        "Neck and upper back over time",
        f"Line charts of {names} over the session, with threshold lines; poor-posture, alert and "
        "away stretches are shaded.",
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
