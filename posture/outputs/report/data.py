"""The data behind ``report.html``: everything the page shows, as plain numbers and strings.

:func:`build_report_data` gathers it from an analysis result and its summary: the header facts,
the headline numbers, the charts (inline SVG, :mod:`~posture.outputs.report.charts`), the
sections (:mod:`~posture.outputs.report.sections`) and, for a recorded video, a few key frames
(:mod:`~posture.outputs.report.frames`, the only I/O here).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from posture import __version__
from posture.advice import ABOUT_TOPIC, WARNING_TOPIC, Catalogue, attribution, load_catalogue
from posture.config import Config
from posture.durations import format_duration
from posture.metric_registry import charted, estimate_reasons
from posture.outputs.report.charts import Chart, bar_charts, timeline_chart
from posture.outputs.report.frames import KeyFrame, key_moments, read_key_frames
from posture.outputs.report.sections import (
    AdviceSection,
    EpisodeRow,
    Fact,
    FindingSection,
    Headline,
    ThresholdRow,
    advice_section,
    episode_rows,
    finding_sections,
    headlines,
    threshold_rows,
)
from posture.outputs.report.words import metric_label
from posture.outputs.session_files import AnalysisSummary
from posture.results import AnalysisResult
from posture.summary import whole_percentages

__all__ = ["ReportData", "VideoLink", "build_report_data"]


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
    summary: AnalysisSummary,
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

    ``summary`` is :func:`posture.outputs.session_files.analysis_summary` of the result. ``config`` gives the
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
    views = list(summary.views) or [summary.view]
    view = summary.view
    dur = result.durations_s()
    baseline = result.baseline.values if result.baseline is not None else None
    measured_anything = any(r.person for r in readings)

    source = summary.source
    source_name = Path(source).name or source
    duration = summary.duration_s
    views_text = view.value
    if len(summary.views) > 1:
        shares = whole_percentages({v: float(c) for v, c in summary.views.items()})
        views_text = (
            f"{view} (" + ", ".join(f"{v} {p} %" for v, p in shares.items()) + " of frames with a person)"
        )
    header = (
        Fact("Source", source),
        Fact("Analysed", generated.strftime("%Y-%m-%d %H:%M")),
        Fact("Duration", format_duration(duration)),
        Fact("View", views_text),
        Fact("Frames analysed", f"{len(readings)} at {_sample_text(result)}"),
        Fact("Calibration", _calibration_text(result)),
        Fact("Model", result.model),
    )

    timeline = None
    if readings and measured_anything:
        timeline = timeline_chart(readings, dur, charted(view), rules, baseline)
    charts = bar_charts(summary.time_s, summary.finding_poor_s, summary.duration_s) if readings else ()

    reasons = estimate_reasons((name, r.view) for r in readings for name in r.estimated)
    estimate_facts = tuple(Fact(metric_label(name), reason) for name, reason in reasons.items())
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
            f"ISO 11226 holding times by severity: head/neck {format_duration(d.head_hold_s)} at the threshold "
            f"down to {format_duration(d.head_min_hold_s)}, trunk {format_duration(d.trunk_hold_s)} down to "
            f"{format_duration(d.trunk_min_hold_s)}; shorter than {d.grace_s:g} s never counts"
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

    warning = advice_section(catalogue, WARNING_TOPIC)
    src = catalogue.source
    return ReportData(
        title=f"Posture report: {source_name}",
        source=source,
        source_name=source_name,
        generated=generated.strftime("%Y-%m-%d %H:%M"),
        header=header,
        headlines=headlines(summary) if readings else (),
        measured_anything=measured_anything,
        timeline=timeline,
        bar_charts=charts,
        episodes=episode_rows(result, catalogue),
        findings=finding_sections(result, summary, catalogue, views),
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
