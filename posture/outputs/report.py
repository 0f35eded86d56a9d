"""``report.html``: one self-contained page per analysed session.

Built in two steps, like every output: :func:`build_report_data` gathers plain data (numbers,
texts, inline SVG charts and, for a recorded video, a few JPEG key frames as data URIs);
:func:`render_report` turns it into HTML with a Jinja2 template (``data/report.html.j2``,
autoescaped), and :func:`write_report` writes it to a path (atomically) or an open file.

The page loads nothing: inline CSS, inline SVG, no scripts, no fonts, no network. The key frames
are the only pictures of the person it ever contains, and the page says so.
"""

from __future__ import annotations

import base64
import functools
import io
import logging
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import numpy as np

from posture import __version__
from posture.advice import ABOUT_TOPIC, WARNING_TOPIC, Catalogue, attribution, load_catalogue
from posture.config import Band, Config, FindingRules
from posture.findings import FINDING_CODES
from posture.landmarks import SKELETON, Pose
from posture.outputs.timeline import open_text
from posture.pipeline import AnalysisResult
from posture.reading import ESTIMATE_METRICS, Reading, Verdict
from posture.summary import durations_s

__all__ = [
    "AdviceBlock",
    "AdviceSection",
    "Chart",
    "EpisodeFinding",
    "EpisodeRow",
    "Fact",
    "FindingSection",
    "Headline",
    "KeyFrame",
    "ReportData",
    "ThresholdRow",
    "VideoLink",
    "build_report_data",
    "key_moments",
    "render_report",
    "write_report",
]

log = logging.getLogger(__name__)

MAX_CHART_POINTS = 2000  # per plotted series; longer sessions are decimated (min/max per bin)
MAX_KEY_FRAMES = 3
KEY_FRAME_WIDTH_PX = 480
_MAX_SPANS = 300  # shaded stretches per chart; closer ones are merged beyond this

# Colours shared by the charts and the page's CSS.
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

# Plain words for each finding: a short label and what it means.
FINDING_TEXT: dict[str, tuple[str, str]] = {
    "forward_head": (
        "Head carried forward",
        "Your head was carried ahead of your shoulders or tipped down, so the muscles at the back of "
        "your neck and between your shoulder blades had to hold its weight.",
    ),
    "hunched_back": (
        "Upper back rounded forward",
        "The line from your hips to your shoulders leaned forward of upright: your back muscles, "
        "not the chair, were holding you up.",
    ),
    "neck_flexion": (
        "Neck bent forward",
        "Your neck was bent forward relative to your upper body, as happens when looking down at a "
        "laptop, a phone, papers or the keyboard.",
    ),
    "leaning_in": (
        "Leaning in towards the screen",
        "Your face came closer to the camera than in your calibrated good posture, usually a sign "
        "of leaning in to read.",
    ),
    "side_lean": (
        "Leaning to one side",
        "Your shoulders or trunk were tilted sideways, loading one side of the back more than the other.",
    ),
    "slumped": (
        "Slumped down in the chair",
        "You had slid down the chair, your trunk reclined well past a supported recline, "
        "a rounded, collapsed sitting posture.",
    ),
}

# Metric labels for charts and tables: (short label, unit, what it is).
METRIC_TEXT: dict[str, tuple[str, str, str]] = {
    "neck_inclination_deg": ("Neck inclination", "°", "shoulders→ears against the vertical, + forward"),
    "trunk_inclination_deg": ("Trunk inclination", "°", "hips→shoulders against the vertical, + forward"),
    "head_forward_deg": ("Head forward", "°", "neck lean plus half the face's downward pitch (estimate)"),
    "neck_flexion_deg": ("Neck flexion", "°", "neck inclination minus trunk inclination"),
    "cva_deg": ("Craniovertebral angle", "°", "90° minus the neck inclination"),
    "head_pitch_deg": (
        "Head pitch",
        "°",
        "nose below the ears against the face's height, + looking down (estimate)",
    ),
    "shoulder_tilt_deg": ("Shoulder tilt", "°", "shoulder line against the horizontal"),
    "head_roll_deg": ("Head roll", "°", "ear line against the horizontal"),
    "trunk_side_lean_deg": ("Trunk side lean", "°", "hips→shoulders sideways against the vertical"),
    "face_scale_pct": ("Face size vs baseline", "%", "face width change from your calibrated posture"),
    "head_drop_pct": ("Head drop vs baseline", "%", "fall of the nose towards the shoulder line"),
    "neck_forward_3d_delta_deg": ("Neck forward (3-D)", "°", "change from the baseline, from 3-D landmarks"),
}

SIDE_CHART_METRICS = ("neck_inclination_deg", "trunk_inclination_deg", "head_forward_deg")
FRONT_CHART_METRICS = ("face_scale_pct", "head_drop_pct", "shoulder_tilt_deg")

Target = str | Path | IO[str]


# --- plain data ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fact:
    """A label and its value, for the header and the "How it was measured" list."""

    label: str
    value: str


@dataclass(frozen=True)
class Headline:
    """One headline number; ``tone`` picks its colour (good, poor, away, uncertain, neutral)."""

    label: str
    value: str
    detail: str
    tone: str = "neutral"


@dataclass(frozen=True)
class EpisodeFinding:
    code: str
    label: str
    peak: float
    mean: float
    poor_s: float
    anchor: str  # "advice-<topic>" on the same page


@dataclass(frozen=True)
class EpisodeRow:
    number: int
    start_s: float
    end_s: float
    duration_s: float
    alert_s: float | None
    start: str
    end: str
    duration: str
    alert: str
    findings: tuple[EpisodeFinding, ...]


@dataclass(frozen=True)
class AdviceBlock:
    """A paragraph (``kind="p"``, one item) or a bullet list (``kind="ul"``)."""

    kind: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class AdviceSection:
    anchor: str
    topic_id: str
    title: str
    summary: str
    body: tuple[AdviceBlock, ...]


@dataclass(frozen=True)
class FindingSection:
    """A finding that reached its threshold at some time, with its advice."""

    code: str
    label: str
    meaning: str
    measured_by: str
    poor_s: float
    poor: str  # "2.1 s (32 % of the time present)"
    episodes: int  # sustained episodes it took part in
    advice: AdviceSection | None  # None when an earlier finding already shows the same topic
    related: tuple[Fact, ...]  # other topics: (title, `posture advice <id>`)


@dataclass(frozen=True)
class Chart:
    title: str
    description: str  # a text alternative for screen readers
    svg: str  # inline <svg> element


@dataclass(frozen=True)
class KeyFrame:
    t_s: float
    time: str
    caption: str
    data_uri: str
    width: int
    height: int


@dataclass(frozen=True)
class ThresholdRow:
    finding: str
    measured_by: str
    start: str  # where the severity starts rising (dead zone)
    limit: str  # the threshold: poor from here
    applies: bool  # whether this session's view and calibration use it


@dataclass(frozen=True)
class VideoLink:
    href: str  # relative to the report
    name: str


@dataclass(frozen=True)
class ReportData:
    """Everything report.html shows, as plain data."""

    title: str
    source: str
    source_name: str
    generated: str
    header: tuple[Fact, ...]
    headlines: tuple[Headline, ...]
    measured_anything: bool  # somebody was measured at some point
    timeline: Chart | None
    bar_charts: tuple[Chart, ...]
    episodes: tuple[EpisodeRow, ...]
    findings: tuple[FindingSection, ...]
    warning: AdviceSection
    disclaimer: str
    attribution: str
    source_note: str
    measured: tuple[Fact, ...]
    thresholds: tuple[ThresholdRow, ...]
    estimates: tuple[Fact, ...]
    key_frames: tuple[KeyFrame, ...]
    key_frames_note: str
    video: VideoLink | None
    version: str
    footage_credit: str = ""  # who made the analysed footage and its licence (the demo clip)


# --- formatting ---------------------------------------------------------------------------------


def clock(t_s: float, *, decimals: bool = True) -> str:
    """``m:ss.s`` (or ``h:mm:ss``) for a time in seconds."""
    t_s = max(0.0, float(t_s))
    if t_s >= 3600:
        h, rest = divmod(round(t_s), 3600)
        m, s = divmod(rest, 60)
        return f"{h}:{m:02d}:{s:02d}"
    if decimals and t_s < 600:
        m, s = divmod(round(t_s, 1), 60)
        return f"{int(m)}:{s:04.1f}"
    m, s = divmod(round(t_s), 60)
    return f"{m}:{s:02d}"


def span_text(seconds: float) -> str:
    """A duration in words: ``4.4 s``, ``3 min 20 s``, ``1 h 05 min``."""
    seconds = max(0.0, float(seconds))
    if seconds < 0.05:
        return "0 s"
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    if seconds < 3600:
        m, s = divmod(round(seconds), 60)
        return f"{m} min {s:02d} s" if s else f"{m} min"
    h, rest = divmod(round(seconds), 3600)
    return f"{h} h {rest // 60:02d} min"


def _pct(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.0f} %" if whole > 0 else "–"


def _label(code: str) -> str:
    return FINDING_TEXT.get(code, (code.replace("_", " ").capitalize(), ""))[0]


def _metric_label(name: str) -> str:
    label, unit, _ = METRIC_TEXT.get(name, (name, "", ""))
    return f"{label} ({unit})" if unit else label


# --- advice -------------------------------------------------------------------------------------


def _body_blocks(body: str) -> tuple[AdviceBlock, ...]:
    """A catalogue body (one line per paragraph or ``- `` bullet) as paragraphs and lists."""
    blocks: list[AdviceBlock] = []
    bullets: list[str] = []
    for line in body.splitlines():
        text = line.strip()
        if text.startswith("- "):
            bullets.append(text[2:].strip())
            continue
        if bullets:
            blocks.append(AdviceBlock("ul", tuple(bullets)))
            bullets = []
        if text:
            blocks.append(AdviceBlock("p", (text,)))
    if bullets:
        blocks.append(AdviceBlock("ul", tuple(bullets)))
    return tuple(blocks)


def _advice(catalogue: Catalogue, topic_id: str) -> AdviceSection:
    t = catalogue.topic(topic_id)
    return AdviceSection(f"advice-{t.id}", t.id, t.title, t.summary, _body_blocks(t.body))


def _primary_topic(catalogue: Catalogue, code: str) -> str:
    topics = catalogue.topics_for(code)
    return topics[0] if topics else ABOUT_TOPIC


# --- thresholds ---------------------------------------------------------------------------------


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


def _band_text(band: Band, unit: str, prefix: str = "") -> tuple[str, str]:
    return f"{prefix}{band.start:g}{unit}", f"{prefix}{band.limit:g}{unit}"


def threshold_rows(rules: FindingRules, calibrated: bool, views: Sequence[str]) -> tuple[ThresholdRow, ...]:
    """The finding rules as a table, marking those this session's view and calibration used."""
    side = any(v in ("side", "oblique") for v in views) if calibrated else "side" in views
    front = any(v in ("front", "oblique") for v in views)
    rows: list[ThresholdRow] = []

    def add(code: str, measured_by: str, band: Band, unit: str, applies: bool, prefix: str = "") -> None:
        start, limit = _band_text(band, unit, prefix)
        rows.append(ThresholdRow(_label(code), measured_by, start, limit, applies))

    if calibrated:
        d = "change from your baseline: "
        add("forward_head", d + "head forward", rules.forward_head_delta_deg, "°", side, "+")
        add("forward_head", d + "head drop (front, estimate)", rules.head_drop_pct, " %", front, "+")
        add("hunched_back", d + "trunk inclination", rules.hunched_back_delta_deg, "°", side, "+")
        add("neck_flexion", d + "neck flexion", rules.neck_flexion_delta_deg, "°", side, "+")
        add("slumped", d + "trunk reclined", rules.slumped_recline_delta_deg, "°", side, "+")
        add("side_lean", d + "shoulder tilt or trunk side lean", rules.side_lean_delta_deg, "°", front, "±")
        add("leaning_in", d + "face size (front, estimate)", rules.leaning_in_pct, " %", front, "+")
    else:
        add("forward_head", "neck inclination (forward)", rules.forward_head_deg, "°", side)
        add("hunched_back", "trunk inclination (forward)", rules.hunched_back_deg, "°", side)
        add("slumped", "trunk reclined", rules.slumped_recline_deg, "°", side)
        add("side_lean", "shoulder tilt or trunk side lean (front)", rules.side_lean_deg, "°", front, "±")
    return tuple(rows)


# --- charts -------------------------------------------------------------------------------------


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


def _time_axis(total_s: float) -> tuple[float, str]:
    """Divisor and axis label for the time axis."""
    if total_s >= 3 * 3600:
        return 3600.0, "time since start (h)"
    if total_s >= 180:
        return 60.0, "time since start (min)"
    return 1.0, "time since start (s)"


_RC = {
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


def _svg(fig: Any, salt: str) -> str:
    """A figure as an inline ``<svg>`` element: no XML prolog, no DOCTYPE, no metadata, and ids
    salted per chart so that several charts can share one page."""
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

    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    t0 = float(t[0])
    total = float(t[-1] + dur[-1] - t0)
    div, xlabel = _time_axis(total)
    shades = [
        ("away", [r.posture is Verdict.AWAY for r in readings], COLOURS["away"], 0.28),
        ("poor", [r.posture is Verdict.POOR for r in readings], COLOURS["poor"], 0.22),
        ("alert", [r.alert for r in readings], COLOURS["alert"], 0.30),
    ]
    spans = {name: runs(mask, t - t0, dur, total) for name, mask, _, _ in shades}
    with matplotlib.rc_context(_RC):
        n = len(series)
        fig = Figure(figsize=(9.5, 1.1 + 1.6 * n), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
        for ax, (name, values) in zip(axes, series.items(), strict=False):
            for shade, _, colour, alpha in shades:
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
        for shade, _, colour, alpha in shades:
            if spans[shade]:
                text = {"away": "away", "poor": "poor posture", "alert": "alert (sustained)"}[shade]
                handles.append(Patch(color=colour, alpha=alpha + 0.1, lw=0, label=text))
        fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 6), frameon=False)
        fig.suptitle("Neck and upper back over time", fontweight="bold", fontsize=11)
        svg = _svg(fig, "timeline")
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
) -> str:
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    div, xlabel = _time_axis(max(seconds) if seconds else 0.0)
    xlabel = xlabel.replace("time since start", "time")
    with matplotlib.rc_context(_RC):
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
            text = span_text(s) + (f" ({_pct(s, total)})" if total > 0 and s > 0 else "")
            ax.text(v + right * 0.02, yi, text, va="center", fontsize=8, color="#1f2328")
        ax.set_xlabel(xlabel)
        fig.suptitle(title, x=0.02, ha="left", fontweight="bold", fontsize=10)
        ax.grid(axis="x", color="#d0d7de", lw=0.6)
        ax.set_axisbelow(True)
        ax.tick_params(axis="y", length=0)
        return _svg(fig, salt)


def bar_charts(summary: Mapping[str, Any]) -> tuple[Chart, ...]:
    """Time per verdict and time over threshold per finding."""
    time_s = summary.get("time_s", {})
    total = float(summary.get("duration_s") or 0.0)
    if total <= 0:
        return ()
    order = ("good", "poor", "uncertain", "away")
    verdict = Chart(
        "Time per verdict",
        "Bar chart of the time spent in good posture, poor posture, uncertain and away. "
        + ", ".join(f"{v}: {span_text(float(time_s.get(v, 0.0)))}" for v in order),
        _bar_chart(
            "Time per verdict (% of the session)",
            [v.capitalize() for v in order],
            [float(time_s.get(v, 0.0)) for v in order],
            [COLOURS[v] for v in order],
            total,
            "verdicts",
        ),
    )
    poor_s = summary.get("finding_poor_s", {})
    present = total - float(time_s.get("away", 0.0))
    codes = [c for c in FINDING_CODES if c in poor_s]
    if not any(float(poor_s[c]) > 0 for c in codes):
        return (verdict,)  # nothing over threshold: the page says so in words
    findings = Chart(
        "Time over threshold per finding",
        "Bar chart of the time each posture finding was at or over its threshold. "
        + ", ".join(f"{_label(c)}: {span_text(float(poor_s[c]))}" for c in codes),
        _bar_chart(
            "Time over threshold (% of time present)",
            [_label(c) for c in codes],
            [float(poor_s[c]) for c in codes],
            [COLOURS["poor"] if poor_s[c] > 0 else COLOURS["away"] for c in codes],
            present,
            "findings",
        ),
    )
    return verdict, findings


# --- key frames ---------------------------------------------------------------------------------


def _severity(reading: Reading) -> float:
    worst = reading.worst_finding()
    return worst[1] if worst else 0.0


def key_moments(result: AnalysisResult, limit: int = MAX_KEY_FRAMES) -> list[tuple[int, int | None]]:
    """The readings to show as key frames: (reading index, episode number or None).

    The peak of each of the worst episodes (highest peak severity first); without episodes, the
    worst poor readings, at least a few seconds apart.
    """
    readings = result.readings
    poor = [i for i, r in enumerate(readings) if r.posture is Verdict.POOR]
    picks: list[tuple[int, int | None]] = []
    if result.episodes:
        ranked = sorted(
            enumerate(result.episodes, start=1),
            key=lambda item: -max((f.peak for f in item[1].findings.values()), default=0.0),
        )
        for number, ep in ranked:
            inside = [i for i in poor if ep.start_s - 1e-6 <= readings[i].t_s <= ep.end_s + 1e-6]
            if inside:
                picks.append((max(inside, key=lambda i: _severity(readings[i])), number))
            if len(picks) >= limit:
                break
        return picks
    gap_s = max(3.0, 0.05 * result.duration_s)
    for i in sorted(poor, key=lambda i: -_severity(readings[i])):
        if all(abs(readings[i].t_s - readings[j].t_s) >= gap_s for j, _ in picks):
            picks.append((i, None))
        if len(picks) >= limit:
            break
    return sorted(picks, key=lambda p: readings[p[0]].t_s)


def draw_skeleton(
    image: np.ndarray, pose: Pose, scale: tuple[float, float], colour: tuple[int, int, int]
) -> None:
    """Draws the pose's skeleton edges and joints (visible ones only) onto a BGR image in place."""
    import cv2

    sx, sy = scale
    pts = [(int(x), int(y)) for x, y in np.rint(pose.xy_px * np.array([sx, sy]))]
    used: set[int] = set()
    for a, b in SKELETON:
        if pose.visibility[a] >= 0.5 and pose.visibility[b] >= 0.5:
            cv2.line(image, pts[a], pts[b], (255, 255, 255), 4, cv2.LINE_AA)
            cv2.line(image, pts[a], pts[b], colour, 2, cv2.LINE_AA)
            used.update((int(a), int(b)))
    for i in used:
        cv2.circle(image, pts[i], 4, (255, 255, 255), -1, cv2.LINE_AA)
        cv2.circle(image, pts[i], 3, colour, -1, cv2.LINE_AA)


def read_key_frames(
    result: AnalysisResult, moments: Sequence[tuple[int, int | None]], max_width: int = KEY_FRAME_WIDTH_PX
) -> tuple[KeyFrame, ...]:
    """Re-reads the chosen moments from the video (seeking by time), draws the skeleton, downscales
    and JPEG-encodes them. Returns nothing when the video cannot be read."""
    if not moments:
        return ()
    source = Path(result.source)
    if not source.is_file():
        log.info("no key frames: %s is not a readable file", source)
        return ()
    import cv2

    cap = cv2.VideoCapture(str(source))
    frames: list[KeyFrame] = []
    try:
        if not cap.isOpened():
            log.warning("no key frames: OpenCV cannot open %s", source)
            return ()
        for index, episode in moments:
            reading = result.readings[index]
            cap.set(cv2.CAP_PROP_POS_MSEC, reading.t_s * 1000.0)
            ok, image = cap.read()
            if not ok or image is None:
                log.warning("no key frame at %.2f s: the video could not be read there", reading.t_s)
                continue
            h, w = image.shape[:2]
            factor = min(1.0, max_width / float(w))
            if factor < 1.0:
                image = cv2.resize(
                    image, (round(w * factor), round(h * factor)), interpolation=cv2.INTER_AREA
                )
            pose = result.poses[index] if index < len(result.poses) else None
            if pose is not None:
                pw, ph = pose.image_size
                scale = (image.shape[1] / max(pw, 1), image.shape[0] / max(ph, 1))
                draw_skeleton(image, pose, scale, (30, 135, 232) if not reading.alert else (46, 34, 207))
            ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 82])
            if not ok:
                continue
            worst = reading.worst_finding()
            what = f"{_label(worst[0])} (severity {worst[1]:.1f})" if worst else "poor posture"
            lead = (
                f"Episode {episode}, peak at {clock(reading.t_s)}" if episode else f"At {clock(reading.t_s)}"
            )
            others = [
                _label(c) for c, s in sorted(reading.findings.items(), key=lambda kv: -kv[1]) if s >= 1.0
            ][1:]
            caption = f"{lead}: {what}" + (f"; also {', '.join(others).lower()}" if others else "")
            if reading.alert:
                caption += "; alert active"
            frames.append(
                KeyFrame(
                    t_s=reading.t_s,
                    time=clock(reading.t_s),
                    caption=caption,
                    data_uri="data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii"),
                    width=int(image.shape[1]),
                    height=int(image.shape[0]),
                )
            )
    finally:
        cap.release()
    return tuple(frames)


# --- the report data ----------------------------------------------------------------------------


def _chart_metrics(view: str) -> tuple[str, ...]:
    if view == "side":
        return SIDE_CHART_METRICS
    if view == "front":
        return FRONT_CHART_METRICS
    return SIDE_CHART_METRICS + FRONT_CHART_METRICS


def _calibration_text(result: AnalysisResult) -> str:
    b = result.baseline
    if b is None:
        return "none (absolute thresholds, judged from a side view only)"
    origin = result.calibrated_from or "profile"
    if origin.startswith("first"):
        text = f"the {origin} of this video"
    elif origin in ("profile", "image"):
        text = f"from a saved {origin}"
    else:
        text = f"profile: {origin}"
    return f"{text} ({b.view} view, {b.frames} frame{'s' if b.frames != 1 else ''})"


def _sample_text(result: AnalysisResult) -> str:
    fps = result.info.fps
    if result.sample_fps:
        video = f" of a {fps:g} fps video" if fps else ""
        return f"{result.sample_fps:g} frames per second{video}"
    return f"every frame ({fps:g} fps)" if fps else "every frame"


def _episode_rows(result: AnalysisResult, catalogue: Catalogue) -> tuple[EpisodeRow, ...]:
    rows = []
    for number, ep in enumerate(result.episodes, start=1):
        cells = tuple(
            EpisodeFinding(
                code=code,
                label=_label(code),
                peak=stats.peak,
                mean=stats.mean,
                poor_s=stats.poor_s,
                anchor=f"advice-{_primary_topic(catalogue, code)}",
            )
            for code, stats in ep.findings.items()
        )
        rows.append(
            EpisodeRow(
                number=number,
                start_s=ep.start_s,
                end_s=ep.end_s,
                duration_s=ep.duration_s,
                alert_s=ep.alert_s,
                start=clock(ep.start_s),
                end=clock(ep.end_s),
                duration=span_text(ep.duration_s),
                alert="–"
                if ep.alert_s is None
                else f"{clock(ep.alert_s)} (after {span_text(ep.alert_s - ep.start_s)})",
                findings=cells,
            )
        )
    return tuple(rows)


def _measured_by(code: str, views: Sequence[str]) -> str:
    front = any(v in ("front", "oblique") for v in views)
    side = any(v in ("side", "oblique") for v in views)
    by = {
        "forward_head": [("head forward (°)", side), ("head drop vs baseline (%, estimate)", front)],
        "hunched_back": [("trunk inclination (°)", True)],
        "neck_flexion": [("neck flexion (°)", True)],
        "leaning_in": [("face size vs baseline (%, estimate)", True)],
        "side_lean": [("shoulder tilt or trunk side lean (°)", True)],
        "slumped": [("trunk recline (°)", True)],
    }.get(code, [])
    chosen = [name for name, ok in by if ok] or [name for name, _ in by]
    return " and ".join(chosen)


def _finding_sections(
    result: AnalysisResult, summary: Mapping[str, Any], catalogue: Catalogue, views: Sequence[str]
) -> tuple[FindingSection, ...]:
    poor_s = summary.get("finding_poor_s", {})
    time_s = summary.get("time_s", {})
    present = float(summary.get("duration_s") or 0.0) - float(time_s.get("away", 0.0))
    occurred = [c for c in FINDING_CODES if any(r.findings.get(c, 0.0) >= 1.0 for r in result.readings)]
    extra = sorted(
        {c for r in result.readings for c, s in r.findings.items() if s >= 1.0 and c not in FINDING_CODES}
    )
    sections = []
    shown: set[str] = set()
    for code in occurred + extra:
        topic = _primary_topic(catalogue, code)
        seconds = float(poor_s.get(code, 0.0))
        related = tuple(
            Fact(catalogue.topic(tid).title, f"posture advice {tid}")
            for tid in catalogue.topics_for(code)
            if tid != topic
        )
        sections.append(
            FindingSection(
                code=code,
                label=_label(code),
                meaning=FINDING_TEXT.get(code, ("", "A posture finding reported by the analysis."))[1],
                measured_by=_measured_by(code, views),
                poor_s=seconds,
                poor=f"{span_text(seconds)} ({_pct(seconds, present)} of the time present)",
                episodes=sum(1 for ep in result.episodes if code in ep.findings),
                advice=None if topic in shown else _advice(catalogue, topic),
                related=related,
            )
        )
        shown.add(topic)
    order = {c: i for i, c in enumerate(FINDING_CODES)}
    return tuple(sorted(sections, key=lambda s: (-s.poor_s, order.get(s.code, 99))))


def _headlines(summary: Mapping[str, Any]) -> tuple[Headline, ...]:
    time_s = {k: float(v) for k, v in summary.get("time_s", {}).items()}
    total = float(summary.get("duration_s") or 0.0)
    present = total - time_s.get("away", 0.0)
    top = summary.get("top_finding")
    n_ep = int(summary.get("episodes") or 0)
    return (
        Headline("Good posture", _pct(time_s.get("good", 0.0), present), f"{span_text(time_s.get('good', 0.0))} of the time present", "good"),
        Headline("Poor posture", _pct(time_s.get("poor", 0.0), present), f"{span_text(time_s.get('poor', 0.0))} of the time present", "poor"),
        Headline("Uncertain", _pct(time_s.get("uncertain", 0.0), present), f"{span_text(time_s.get('uncertain', 0.0))}: landmarks too unclear to judge", "uncertain"),
        Headline("Away", _pct(time_s.get("away", 0.0), total), f"{span_text(time_s.get('away', 0.0))} of the whole session", "away"),
        Headline("Sustained episodes", str(n_ep), f"{span_text(float(summary.get('alert_s') or 0.0))} with an alert active", "poor" if n_ep else "good"),
        Headline(
            "Top finding",
            _label(top) if top else "None",
            f"{span_text(float(summary.get('finding_poor_s', {}).get(top, 0.0)))} over its threshold" if top else "no finding reached its threshold",
            "poor" if top else "good",
        ),
    )  # fmt: skip


def _video_link(files: Mapping[str, Path] | None, report_dir: Path | None) -> VideoLink | None:
    if not files or files.get("video") is None:
        return None
    video = Path(files["video"])
    if report_dir is not None:
        try:
            rel = Path(os.path.relpath(video, report_dir))
        except ValueError:  # another drive on Windows
            rel = Path(video.name)
    else:
        rel = Path(video.name)
    return VideoLink(href=quote(rel.as_posix()), name=video.name)


def build_report_data(
    result: AnalysisResult,
    summary: Mapping[str, Any],
    files: Mapping[str, Path] | None = None,
    *,
    key_frames: bool = True,
    config: Config | None = None,
    report_dir: Path | None = None,
    generated: datetime | None = None,
    catalogue: Catalogue | None = None,
    footage_credit: str = "",
) -> ReportData:
    """Everything the page shows, as plain data.

    ``summary`` is :func:`posture.outputs.files.analysis_summary` of the result. ``config`` gives the
    thresholds and smoothing actually used (default: the defaults). ``report_dir`` is where the
    page will be written, so that ``files["video"]`` can be linked relative to it. The only I/O is
    re-reading up to three key frames from the video (``key_frames=False`` skips it).
    ``footage_credit`` (who made the footage and its licence, e.g. the demo clip's) goes in the footer.
    """
    config = config or Config()
    catalogue = catalogue or load_catalogue()
    rules = config.metrics.rules
    readings = result.readings
    generated = generated or datetime.now().astimezone()
    views = [str(v) for v in summary.get("views", {})] or [str(summary.get("view", "unknown"))]
    view = str(summary.get("view", "unknown"))
    step = (
        1.0 / result.sample_fps if result.sample_fps else (1.0 / result.info.fps if result.info.fps else 0.1)
    )
    dur = durations_s(readings, step)
    baseline = result.baseline.values if result.baseline is not None else None
    measured_anything = any(r.person for r in readings)

    source = str(summary.get("source", result.source))
    source_name = Path(source).name or source
    duration = float(summary.get("duration_s") or 0.0)
    views_text = view
    if len(summary.get("views", {})) > 1:
        counts = summary["views"]
        n = sum(counts.values())
        views_text = (
            f"{view} ("
            + ", ".join(f"{v} {_pct(c, n)}" for v, c in counts.items())
            + " of frames with a person)"
        )
    header = (
        Fact("Source", source),
        Fact("Analysed", generated.strftime("%Y-%m-%d %H:%M")),
        Fact("Duration", span_text(duration)),
        Fact("View", views_text),
        Fact("Frames analysed", f"{len(readings)} at {_sample_text(result)}"),
        Fact("Calibration", _calibration_text(result)),
        Fact("Model", result.model),
    )

    timeline = None
    if readings and measured_anything:
        timeline = timeline_chart(readings, dur, _chart_metrics(view), rules, baseline)
    charts = bar_charts(summary) if readings else ()

    estimates = sorted({name for r in readings for name in r.estimated})
    estimate_facts = tuple(
        Fact(
            _metric_label(name),
            "relative to your baseline, from the face and shoulders seen from the front"
            if name in ESTIMATE_METRICS
            else "foreshortened: the camera saw you at an angle (oblique view)",
        )
        for name in estimates
    )
    s = config.smoothing
    smoothing = (
        f"One Euro filter on the metrics (min cut-off {s.min_cutoff_hz:g} Hz, beta {s.beta:g})"
        if s.enabled
        else "off"
    )
    d = config.detector
    if d.hold_s is not None:
        sustained = f"poor for {d.hold_s:g} s in a row (a fixed holding time)"
    else:
        sustained = (
            f"ISO 11226 holding times by severity: head/neck {span_text(d.head_hold_s)} at the threshold "
            f"down to {span_text(d.head_min_hold_s)}, trunk {span_text(d.trunk_hold_s)} down to "
            f"{span_text(d.trunk_min_hold_s)}; shorter than {d.grace_s:g} s never counts"
        )
    measured = (
        Fact("View", views_text),
        Fact("Calibration", _calibration_text(result)),
        Fact("Sample rate", _sample_text(result)),
        Fact("Model", result.model),
        Fact("Smoothing", smoothing),
        Fact("Sustained means", sustained),
        Fact("Severity", "0 = neutral, 1.0 = exactly at the finding's threshold, above 1 = beyond it"),
    )

    moments = key_moments(result) if key_frames else []
    frames = read_key_frames(result, moments) if moments else ()
    if frames:
        frames_note = (
            f"This report contains {len(frames)} still frame{'s' if len(frames) != 1 else ''} from the "
            "video (the worst moments below), embedded in the file. Keep that in mind before sharing it."
        )
    else:
        frames_note = "This report contains no pictures from the video: only numbers and charts."

    warning = _advice(catalogue, WARNING_TOPIC)
    src = catalogue.source
    return ReportData(
        title=f"Posture report: {source_name}",
        source=source,
        source_name=source_name,
        generated=generated.strftime("%Y-%m-%d %H:%M"),
        header=header,
        headlines=_headlines(summary) if readings else (),
        measured_anything=measured_anything,
        timeline=timeline,
        bar_charts=charts,
        episodes=_episode_rows(result, catalogue),
        findings=_finding_sections(result, summary, catalogue, views),
        warning=warning,
        disclaimer=catalogue.topic(ABOUT_TOPIC).summary,
        attribution=attribution(catalogue),
        source_note=src.get("note", ""),
        measured=measured,
        thresholds=threshold_rows(rules, baseline is not None, views),
        estimates=estimate_facts,
        key_frames=frames,
        key_frames_note=frames_note,
        video=_video_link(files, report_dir),
        version=__version__,
        footage_credit=footage_credit,
    )


# --- rendering and writing ----------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _template() -> Any:
    import jinja2

    text = (resources.files("posture") / "data" / "report.html.j2").read_text(encoding="utf-8")
    env = jinja2.Environment(
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["clock"] = clock
    env.filters["span"] = span_text
    return env.from_string(text)


def render_report(data: ReportData) -> str:
    """The page's HTML (pure: no I/O beyond reading the packaged template once)."""
    from markupsafe import Markup

    return _template().render(d=data, colours=COLOURS, safe_svg=Markup)


def write_report(
    result: AnalysisResult,
    summary: Mapping[str, Any],
    target: Target,
    files: Mapping[str, Path] | None = None,
    **options: Any,
) -> Path | None:
    """Builds and writes report.html to a path (atomically) or an open text file.

    Returns the path written, or None for an open file. ``options`` go to :func:`build_report_data`.
    """
    path = Path(target) if isinstance(target, (str, Path)) else None
    if path is not None:
        options.setdefault("report_dir", path.parent)
    html_text = render_report(build_report_data(result, summary, files, **options))
    with open_text(target) as fh:
        fh.write(html_text)
    return path
