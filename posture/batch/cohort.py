"""The cohort summary of a batch: ``cohort.csv`` (one row per recording) and ``cohort.html``
(per-person and group charts, the worst episodes with links to each recording's report).

Built like the single report: plain data first (:func:`cohort_rows`, :func:`build_cohort_data`),
then written by small writers that accept a path or an open file. The numbers come from each
recording's own ``summary.json`` and ``events.json``, so the cohort says exactly what the
recordings' reports say. The charts reuse the report's matplotlib style and its bar charts.

Those files are read back as untrusted: a summary that does not hold what posture writes makes
its recording's row "failed" with the reason, and an episode that does not is left out. Every CSV
cell goes through :func:`posture.outputs.timeline.csv_cell` (no spreadsheet formulas).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from posture import __version__
from posture.batch.manifest import RecordState, Status
from posture.durations import clock, format_duration
from posture.findings import FINDING_CODES
from posture.outputs.report.charts import COLOURS, Chart, bar_charts, chart_style, svg_element
from posture.outputs.report.page import Target, render, write_page
from posture.outputs.report.words import finding_title
from posture.outputs.timeline import csv_cell

__all__ = [
    "COHORT_COLUMNS",
    "CohortData",
    "CohortRow",
    "PersonRow",
    "WorstEpisode",
    "build_cohort_data",
    "cohort_rows",
    "render_cohort",
    "write_cohort",
    "write_cohort_csv",
]

MAX_WORST_EPISODES = 10
TOP_FINDINGS = 3
VERDICTS = ("good", "poor", "uncertain", "away")

COHORT_COLUMNS: tuple[str, ...] = (
    "recording",
    "person",
    "status",
    "duration_s",
    "frames_analysed",
    "view",
    "share_good",
    "share_poor",
    "share_uncertain",
    "share_away",
    "poor_share_of_present",
    "alert_s",
    "episodes",
    "top_findings",
    "result",
    "error",
    "note",
)


@dataclass(frozen=True)
class CohortRow:
    """One recording: its state and, when done, its summary and episodes."""

    recording: str
    person: str
    status: str  # ok or failed (or pending: not analysed yet)
    folder: str  # result folder, relative to the results folder
    summary: Mapping[str, Any] | None
    episodes: tuple[Mapping[str, Any], ...]
    error: str | None
    note: str | None
    report: str | None  # link to the recording's report.html, relative to the results folder

    def top_findings(self) -> list[tuple[str, float]]:
        poor = (self.summary or {}).get("finding_poor_s", {})
        ranked = sorted(((c, float(s)) for c, s in poor.items() if float(s) > 0), key=lambda x: -x[1])
        return ranked[:TOP_FINDINGS]

    def csv_row(self) -> dict[str, Any]:
        s = self.summary or {}
        share = s.get("share", {})
        row: dict[str, Any] = {
            "recording": self.recording,
            "person": self.person,
            "status": self.status,
            "result": self.folder if self.summary is not None else "",
            "error": self.error or "",
            "note": self.note or "",
            "top_findings": ";".join(f"{c}:{v:g}" for c, v in self.top_findings()),
        }
        if self.summary is None:
            return {k: csv_cell(row.get(k, "")) for k in COHORT_COLUMNS}
        row.update(
            duration_s=s["duration_s"],
            frames_analysed=s["frames_analysed"],
            view=s["view"],
            poor_share_of_present=s["poor_share_of_present"],
            alert_s=s["alert_s"],
            episodes=s["episodes"],
            **{f"share_{v}": share.get(v, 0.0) for v in VERDICTS},
        )
        return {k: csv_cell(v) for k, v in row.items()}


@dataclass(frozen=True)
class PersonRow:
    person: str
    recordings: int
    failed: int
    duration_s: float
    time_s: Mapping[str, float]  # per verdict
    poor_share_of_present: float
    episodes: int
    top_finding: str | None


@dataclass(frozen=True)
class WorstEpisode:
    recording: str
    person: str
    start: str
    duration: str
    duration_s: float
    alert: bool
    findings: str  # "Head carried forward (peak 2.1)"
    peak: float
    href: str | None  # the recording's report, at its episodes


@dataclass(frozen=True)
class CohortData:
    title: str
    generated: str
    recordings: int
    ok: int
    failed: int
    pending: int
    people: tuple[PersonRow, ...]
    total_s: float
    poor_share_of_present: float
    person_chart: Chart | None
    group_charts: tuple[Chart, ...]
    worst: tuple[WorstEpisode, ...]
    rows: tuple[CohortRow, ...]
    version: str


# --- data ---------------------------------------------------------------------------------------


MAX_RESULT_JSON_BYTES = 16 << 20


def _read_json(path: Path) -> Any:
    """A result file's JSON, or None (missing, not a regular file, too large, not JSON)."""
    from posture.untrusted import UntrustedJSONError, load_json

    try:
        if not path.is_file() or path.stat().st_size > MAX_RESULT_JSON_BYTES:
            return None
        return load_json(path.read_bytes())
    except (OSError, UntrustedJSONError):
        return None


def _number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def _numbers(value: Any, keys: Sequence[str] | None = None) -> bool:
    """A mapping of names to finite numbers (with at least ``keys``, when given)."""
    return (
        isinstance(value, dict)
        and all(isinstance(k, str) and _number(v) for k, v in value.items())
        and all(k in value for k in keys or ())
    )


def _checked_summary(doc: Any) -> dict[str, Any] | None:
    """``summary.json`` as posture writes it (what the cohort reads of it), or None."""
    if not isinstance(doc, dict):
        return None
    sound = (
        all(_number(doc.get(k)) for k in ("duration_s", "poor_share_of_present", "alert_s"))
        and type(doc.get("frames_analysed")) is int
        and type(doc.get("episodes")) is int
        and isinstance(doc.get("view"), str)
        and _numbers(doc.get("share"))
        and _numbers(doc.get("time_s"))
        and _numbers(doc.get("finding_poor_s"))
    )
    return doc if sound else None


def _checked_episodes(doc: Any) -> tuple[Mapping[str, Any], ...]:
    """The episodes of ``events.json`` that hold what the cohort reads; others are left out."""
    episodes = doc.get("episodes") if isinstance(doc, dict) else None
    if not isinstance(episodes, list):
        return ()
    return tuple(
        ep
        for ep in episodes
        if isinstance(ep, dict)
        and _number(ep.get("start_s"))
        and _number(ep.get("duration_s"))
        and (ep.get("alert_s") is None or _number(ep.get("alert_s")))
        and isinstance(ep.get("findings"), dict)
        and all(
            isinstance(code, str) and isinstance(f, dict) and _number(f.get("peak"))
            for code, f in ep["findings"].items()
        )
    )


def cohort_rows(states: Sequence[RecordState], out: Path, recordings_dir: str) -> list[CohortRow]:
    rows = []
    for st in states:
        folder = f"{recordings_dir}/{st.folder}"
        summary = episodes = None
        if st.status is Status.DONE:
            summary = _checked_summary(_read_json(out / folder / "summary.json"))
            episodes = _checked_episodes(_read_json(out / folder / "events.json"))
        if st.status is Status.DONE and summary is not None:
            status, error = "ok", None
        elif st.status is Status.DONE:
            status, error = "failed", f"{folder}/summary.json is missing or unreadable"
        elif st.status is Status.FAILED:
            status, error = "failed", st.error or "failed"
        else:
            status, error = "pending", None
        has_report = status == "ok" and (out / folder / "report.html").is_file()
        rows.append(
            CohortRow(
                recording=st.rel,
                person=st.person,
                status=status,
                folder=folder,
                summary=summary if status == "ok" else None,
                episodes=tuple(episodes or ()) if status == "ok" else (),
                error=error,
                note=st.note,
                report=quote(f"{folder}/report.html") if has_report else None,
            )
        )
    return rows


def _group_summary(rows: Sequence[CohortRow]) -> dict[str, Any]:
    """The recordings' summaries added up (the shape bar_charts reads)."""
    time_s = dict.fromkeys(VERDICTS, 0.0)
    poor = dict.fromkeys(FINDING_CODES, 0.0)
    total = 0.0
    for row in rows:
        s = row.summary
        if s is None:
            continue
        total += float(s["duration_s"])
        for v in VERDICTS:
            time_s[v] += float(s["time_s"].get(v, 0.0))
        for c in FINDING_CODES:
            poor[c] += float(s["finding_poor_s"].get(c, 0.0))
    return {"duration_s": total, "time_s": time_s, "finding_poor_s": poor}


def _people(rows: Sequence[CohortRow]) -> tuple[PersonRow, ...]:
    out = []
    for person in sorted({r.person for r in rows}):
        mine = [r for r in rows if r.person == person]
        g = _group_summary(mine)
        present = g["duration_s"] - g["time_s"]["away"]
        poor = g["finding_poor_s"]
        top = max(poor.items(), key=lambda kv: kv[1]) if poor else ("", 0.0)
        out.append(
            PersonRow(
                person=person,
                recordings=len(mine),
                failed=sum(1 for r in mine if r.status == "failed"),
                duration_s=g["duration_s"],
                time_s=g["time_s"],
                poor_share_of_present=g["time_s"]["poor"] / present if present > 0 else 0.0,
                episodes=sum(int(r.summary["episodes"]) for r in mine if r.summary is not None),
                top_finding=top[0] if top[1] > 0 else None,
            )
        )
    return tuple(out)


def _worst(rows: Sequence[CohortRow], limit: int = MAX_WORST_EPISODES) -> tuple[WorstEpisode, ...]:
    """The longest sustained episodes across the cohort (the highest peak breaks ties)."""
    found = []
    for row in rows:
        for ep in row.episodes:
            findings = ep.get("findings", {})
            peak = max((float(f["peak"]) for f in findings.values()), default=0.0)
            ranked = sorted(findings.items(), key=lambda kv: -float(kv[1]["peak"]))
            found.append(
                WorstEpisode(
                    recording=row.recording,
                    person=row.person,
                    start=clock(float(ep["start_s"])),
                    duration=format_duration(float(ep["duration_s"])),
                    duration_s=float(ep["duration_s"]),
                    alert=ep.get("alert_s") is not None,
                    findings=", ".join(
                        f"{finding_title(c)} (peak {float(f['peak']):.1f})" for c, f in ranked
                    ),
                    peak=peak,
                    href=f"{row.report}#episodes" if row.report else None,
                )
            )
    found.sort(key=lambda e: (-e.duration_s, -e.peak, e.recording))
    return tuple(found[:limit])


def person_chart(people: Sequence[PersonRow]) -> Chart | None:
    """One stacked bar per person: the share of their recorded time per verdict."""
    people = [p for p in people if p.duration_s > 0]
    if not people:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with chart_style():  # the single report's chart style, shared on purpose
        fig = Figure(figsize=(9.5, 1.3 + 0.38 * len(people)), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        y = np.arange(len(people))
        left = np.zeros(len(people))
        for verdict in VERDICTS:
            share = np.array([100.0 * p.time_s[verdict] / p.duration_s for p in people])
            ax.barh(y, share, left=left, color=COLOURS[verdict], height=0.62, label=verdict)
            left += share
        for yi, p in enumerate(people):
            ax.text(
                101,
                yi,
                f"poor {p.poor_share_of_present:.0%} of time present, {format_duration(p.duration_s)}",
                va="center",
                fontsize=8,
            )
        ax.set_yticks(y, [p.person for p in people])
        ax.invert_yaxis()
        ax.set_xlim(0, 145)
        ax.set_xticks([0, 25, 50, 75, 100])
        ax.set_xlabel("share of recorded time (%)")
        ax.tick_params(axis="y", length=0)
        fig.legend(loc="outside lower center", ncol=4, frameon=False)
        fig.suptitle("Time per verdict, per person", x=0.02, ha="left", fontweight="bold", fontsize=10)
        svg = svg_element(fig, "people")
    text = "; ".join(
        f"{p.person}: poor {p.poor_share_of_present:.0%} of the time present over {format_duration(p.duration_s)}"
        for p in people
    )
    return Chart("Time per verdict, per person", f"Stacked bar chart per person. {text}", svg)


def build_cohort_data(rows: Sequence[CohortRow], title: str = "Cohort report") -> CohortData:
    people = _people(rows)
    group = _group_summary(rows)
    present = group["duration_s"] - group["time_s"]["away"]
    return CohortData(
        title=title,
        generated=datetime.now().strftime("%Y-%m-%d %H:%M"),
        recordings=len(rows),
        ok=sum(1 for r in rows if r.status == "ok"),
        failed=sum(1 for r in rows if r.status == "failed"),
        pending=sum(1 for r in rows if r.status == "pending"),
        people=people,
        total_s=group["duration_s"],
        poor_share_of_present=group["time_s"]["poor"] / present if present > 0 else 0.0,
        person_chart=person_chart(people),
        group_charts=bar_charts(group["time_s"], group["finding_poor_s"], group["duration_s"]),
        worst=_worst(rows),
        rows=tuple(rows),
        version=__version__,
    )


# --- writing ------------------------------------------------------------------------------------


def write_cohort_csv(rows: Sequence[CohortRow], target: Target) -> None:
    """cohort.csv to a path (atomically) or an open text file."""
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=COHORT_COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow(row.csv_row())
    write_page(buf.getvalue(), target)


def render_cohort(data: CohortData) -> str:
    return render("cohort.html.j2", data, label=finding_title)


def write_cohort(states: Sequence[RecordState], out: Path, recordings_dir: str) -> tuple[Path, Path]:
    """cohort.csv and cohort.html into ``out``, each written atomically."""
    rows = cohort_rows(states, out, recordings_dir)
    csv_path, html_path = out / "cohort.csv", out / "cohort.html"
    write_cohort_csv(rows, csv_path)
    write_page(render_cohort(build_cohort_data(rows)), html_path)
    return csv_path, html_path
