"""Rendering the pages: the Jinja2 templates in ``posture/data`` (autoescaped; only the charts'
SVG is marked safe) and writing ``report.html`` atomically (:func:`posture.atomic.atomic_write`)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import IO, Any

from posture.atomic import atomic_write
from posture.durations import clock, format_duration
from posture.outputs.report.charts import COLOURS
from posture.outputs.report.data import ReportData, build_report_data
from posture.outputs.session_files import AnalysisSummary
from posture.results import AnalysisResult

__all__ = ["Target", "render", "render_report", "template", "write_page", "write_report"]

Target = str | Path | IO[str]


@functools.lru_cache(maxsize=4)
def template(name: str) -> Any:
    """A packaged template (``report.html.j2``, ``cohort.html.j2``, ``week.html.j2``), compiled once, with the
    ``clock`` and ``span`` filters (:mod:`posture.durations`)."""
    import jinja2

    def load(included: str) -> str:
        return (resources.files("posture") / "data" / included).read_text(encoding="utf-8")

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(load),  # for {% include %} of the shared stylesheet
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["clock"] = clock
    env.filters["span"] = format_duration
    return env.get_template(name)


def render(name: str, data: Any, **extra: Any) -> str:
    """A page from a template and its data (``d`` in the template), with the shared colours."""
    from markupsafe import Markup

    return template(name).render(d=data, colours=COLOURS, safe_svg=Markup, **extra)


def write_page(text: str, target: Target) -> Path | None:
    """Write a page to a path (atomically: a crash leaves the old file or none) or an open text
    file. Returns the path written, or None for an open file."""
    if not isinstance(target, (str, Path)):
        target.write(text)
        return None
    path = Path(target)
    with atomic_write(path) as fh:
        fh.write(text)
    return path


def render_report(data: ReportData) -> str:
    """The report's HTML (pure: no I/O beyond reading the packaged template once)."""
    return render("report.html.j2", data)


def write_report(
    result: AnalysisResult,
    summary: AnalysisSummary,
    target: Target,
    files: Mapping[str, Path] | None = None,
    **options: Any,
) -> Path | None:
    """Builds and writes report.html to a path (atomically) or an open text file.

    Returns the path written, or None for an open file. ``options`` go to :func:`build_report_data`.
    """
    if isinstance(target, (str, Path)):
        options.setdefault("report_dir", Path(target).parent)
    return write_page(render_report(build_report_data(result, summary, files, **options)), target)
