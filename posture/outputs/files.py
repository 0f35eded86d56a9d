"""Writes an analysed session into its output folder: timeline, summary, events (and, when
asked, the report and the annotated video)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from posture.outputs.timeline import write_json, write_timeline
from posture.pipeline import AnalysisResult
from posture.summary import events_document, session_summary

__all__ = ["OutputFiles", "analysis_summary", "write_outputs"]

log = logging.getLogger(__name__)


@dataclass
class OutputFiles:
    folder: Path
    files: dict[str, Path] = field(default_factory=dict)


def analysis_summary(result: AnalysisResult) -> dict[str, Any]:
    """summary.json's content: the session summary plus how it was measured."""
    baseline = result.baseline
    extra = {
        "source": str(result.source),
        "video": {
            "width": result.info.width,
            "height": result.info.height,
            "fps": round(result.info.fps, 3),
            "stated_duration_s": round(result.info.duration_s, 2),
            "frames_decoded": result.frames_decoded,
            "truncated": result.truncated,
        },
        "sample_fps": result.sample_fps,
        "model": result.model,
        "calibration": None
        if baseline is None
        else {"from": result.calibrated_from, "view": baseline.view, "frames": baseline.frames},
        "analysis_wall_s": round(result.wall_s, 2),
        "workers": result.workers,
        "warnings": list(result.warnings),
    }
    return session_summary(result.readings, result.episodes, step_s=result.step_s, extra=extra)


def write_outputs(result: AnalysisResult, folder: Path) -> OutputFiles:
    """timeline.csv, summary.json and events.json into ``folder`` (created if needed)."""
    from posture.advice import load_catalogue

    folder.mkdir(parents=True, exist_ok=True)
    out = OutputFiles(folder)
    catalogue = load_catalogue()
    out.files["timeline"] = folder / "timeline.csv"
    write_timeline(result.readings, out.files["timeline"])
    out.files["summary"] = folder / "summary.json"
    write_json(analysis_summary(result), out.files["summary"])
    breaks = [e.t_s for e in result.events if e.kind == "break_due"]
    out.files["events"] = folder / "events.json"
    write_json(events_document(result.episodes, catalogue.topics_for, breaks=breaks), out.files["events"])
    return out
