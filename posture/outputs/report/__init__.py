"""``report.html``: one self-contained page per analysed session.

Built in two steps, like every output: :func:`build_report_data` (``data.py``) gathers plain data
(numbers, texts, inline SVG charts from ``charts.py`` and, for a recorded video, a few JPEG key
frames from ``frames.py`` as data URIs); :func:`render_report` (``page.py``) turns it into HTML with
a Jinja2 template (``data/report.html.j2``, autoescaped), and :func:`write_report` writes it to a
path (atomically) or an open file.

The page loads nothing: inline CSS, inline SVG, no scripts, no fonts, no network. The key frames
are the only pictures of the person it ever contains, and the page says so.
"""

from __future__ import annotations

from posture.outputs.report.charts import COLOURS, MAX_CHART_POINTS, Chart, decimate, fixed_limits
from posture.outputs.report.data import ReportData, VideoLink, build_report_data
from posture.outputs.report.frames import KeyFrame, key_moments
from posture.outputs.report.page import render_report, write_report
from posture.outputs.report.sections import (
    AdviceBlock,
    AdviceSection,
    EpisodeFinding,
    EpisodeRow,
    Fact,
    FindingSection,
    Headline,
    ThresholdRow,
)

__all__ = [
    "COLOURS",
    "MAX_CHART_POINTS",
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
    "decimate",
    "fixed_limits",
    "key_moments",
    "render_report",
    "write_report",
]
