"""The files that record an analysed session: ``timeline.csv``, ``summary.json`` (its typed
:class:`AnalysisSummary`) and ``events.json``, written into the run's output folder (the report
and the annotated video are written beside them by their own modules)."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from posture.outputs.timeline import write_json, write_timeline
from posture.reading import View
from posture.results import AnalysisResult
from posture.summary import SessionSummary, events_document, session_summary
from posture.untrusted import as_text

__all__ = [
    "AnalysisSummary",
    "CalibrationFacts",
    "OutputFiles",
    "VideoFacts",
    "analysis_summary",
    "write_outputs",
]

log = logging.getLogger(__name__)


@dataclass
class OutputFiles:
    folder: Path
    files: dict[str, Path] = field(default_factory=dict)


@dataclass(frozen=True)
class VideoFacts:
    width: int
    height: int
    fps: float
    stated_duration_s: float
    frames_decoded: int
    truncated: bool


@dataclass(frozen=True)
class CalibrationFacts:
    origin: str | None  # "profile", "image", "first N s" (``from`` in the JSON)
    view: View
    frames: int


@dataclass(frozen=True, kw_only=True)
class AnalysisSummary(SessionSummary):
    """``summary.json``: the session summary plus how it was measured."""

    source: str
    video: VideoFacts
    sample_fps: float | None
    model: str
    calibration: CalibrationFacts | None
    analysis_wall_s: float
    workers: int
    warnings: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        c = self.calibration
        return {
            **super().to_json(),
            "source": self.source,
            "video": asdict(self.video),
            "sample_fps": self.sample_fps,
            "model": self.model,
            "calibration": None
            if c is None
            else {"from": c.origin, "view": c.view.value, "frames": c.frames},
            "analysis_wall_s": self.analysis_wall_s,
            "workers": self.workers,
            "warnings": list(self.warnings),
        }


def analysis_summary(result: AnalysisResult) -> AnalysisSummary:
    """The session summary of an analysed video, with how it was measured."""
    session = session_summary(
        result.readings,
        result.episodes,
        step_s=result.step_s,
        sample_step_s=result.info.sample_step_s(result.sample_fps),
    )
    info, baseline = result.info, result.baseline
    return AnalysisSummary(
        **{f.name: getattr(session, f.name) for f in fields(SessionSummary)},
        source=as_text(result.source),  # a name that is not UTF-8 still writes as JSON and HTML
        video=VideoFacts(
            width=info.width,
            height=info.height,
            fps=round(info.fps, 3),
            stated_duration_s=round(info.duration_s, 2),
            frames_decoded=result.frames_decoded,
            truncated=result.truncated,
        ),
        sample_fps=result.sample_fps,
        model=result.model,
        calibration=None
        if baseline is None
        else CalibrationFacts(result.calibrated_from, baseline.view, baseline.frames),
        analysis_wall_s=round(result.wall_s, 2),
        workers=result.workers,
        warnings=tuple(result.warnings),
    )


def write_outputs(result: AnalysisResult, summary: AnalysisSummary, folder: Path) -> OutputFiles:
    """timeline.csv, summary.json and events.json into ``folder`` (created if needed)."""
    from posture.advice import load_catalogue

    folder.mkdir(parents=True, exist_ok=True)
    out = OutputFiles(folder)
    catalogue = load_catalogue()
    out.files["timeline"] = folder / "timeline.csv"
    write_timeline(result.readings, out.files["timeline"])
    out.files["summary"] = folder / "summary.json"
    write_json(summary.to_json(), out.files["summary"])
    breaks = [e.t_s for e in result.events if e.kind == "break_due"]
    out.files["events"] = folder / "events.json"
    write_json(events_document(result.episodes, catalogue.topics_for, breaks=breaks), out.files["events"])
    return out
