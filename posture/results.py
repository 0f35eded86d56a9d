"""What a run hands back, as plain data: the analysis of a video, the reading of a photo, and the
progress it reports on the way.

The pipeline (:mod:`posture.pipeline`) makes these and the writers (:mod:`posture.outputs`) read
them; neither imports the other for them, so orchestration and outputs stay apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from posture.baseline import Baseline
from posture.detector import Episode, Event
from posture.landmarks import Pose
from posture.reading import Reading
from posture.sources.media import VideoInfo

__all__ = [
    "ANALYSING",
    "REPORT",
    "VIDEO",
    "AnalysisResult",
    "ImageResult",
    "Progress",
    "ProgressFn",
    "Stage",
]


@dataclass
class AnalysisResult:
    """Everything ``analyze`` learned about one video, as plain data for the writers."""

    source: Path
    info: VideoInfo
    model: str
    sample_fps: float | None
    readings: list[Reading] = field(default_factory=list)
    poses: list[Pose | None] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    episodes: list[Episode] = field(default_factory=list)
    baseline: Baseline | None = None
    calibrated_from: str | None = None  # "profile", "image", "first N s" or None
    truncated: bool = False
    frames_decoded: int = 0
    wall_s: float = 0.0
    workers: int = 1
    warnings: list[str] = field(default_factory=list)  # what the set-up did not allow, one line each

    def to_json(self) -> dict[str, Any]:
        """Everything but the landmarks, as JSON values (each reading as in the timeline)."""
        return {
            "source": str(self.source),
            "video": {"width": self.info.width, "height": self.info.height, "fps": self.info.fps},
            "model": self.model,
            "sample_fps": self.sample_fps,
            "calibrated_from": self.calibrated_from,
            "baseline": None if self.baseline is None else self.baseline.to_dict(),
            "readings": [r.to_dict() for r in self.readings],
            "events": [
                {
                    "kind": e.kind,
                    "t_s": round(e.t_s, 3),
                    "findings": list(e.findings),
                    "duration_s": round(e.duration_s, 3),
                }
                for e in self.events
            ],
            "episodes": [e.to_dict() for e in self.episodes],
            "truncated": self.truncated,
            "frames_decoded": self.frames_decoded,
            "wall_s": round(self.wall_s, 3),
            "workers": self.workers,
            "warnings": list(self.warnings),
        }

    @property
    def step_s(self) -> float:
        """How long each analysed frame stands for (the last one included): the sample step, but
        never past the end of the video, so a step longer than the clip (one frame every 100 s
        of a 3 s clip) never makes a session longer than its source."""
        step = self.info.sample_step_s(self.sample_fps)
        if self.readings:
            end_s = max(self.info.duration_s, self.readings[-1].t_s + self.info.frame_step_s)
            step = min(step, end_s - self.readings[-1].t_s)
        return step

    def durations_s(self) -> np.ndarray:
        """How long each reading counts, as the summary, the report and the history count it
        (:func:`posture.summary.durations_s` with this analysis's steps)."""
        from posture.summary import durations_s

        return durations_s(self.readings, self.step_s, sample_step_s=self.info.sample_step_s(self.sample_fps))

    @property
    def duration_s(self) -> float:
        if not self.readings:
            return 0.0
        return self.readings[-1].t_s - self.readings[0].t_s + self.step_s


@dataclass(frozen=True)
class ImageResult:
    """One still image's reading (``measure``)."""

    source: Path
    reading: Reading
    pose: Pose | None


ProgressFn = Callable[[float], None]  # one stage's progress: called with the source time reached

# The stages of a run, by the names a progress display shows.
ANALYSING = "analysing"
VIDEO = "annotated video"
REPORT = "report"


@dataclass(frozen=True)
class Stage:
    """One stage of a run, as a progress display needs it."""

    name: str  # ANALYSING, VIDEO or REPORT
    size: float  # its work in its own units: seconds of video (analysis, video) or 1 (the report)
    unit: str  # "s" (of video) or "" (a whole)
    weight: float  # its expected wall time in seconds, only to pace a progress bar


class Progress(Protocol):
    """What a run tells a progress display: the stages, then how far each got."""

    def plan(self, stages: Sequence[Stage]) -> None:
        """The stages to come, in order (called once, before any work)."""

    def advance(self, stage: str, done: float) -> None:
        """``stage`` reached ``done`` of its size."""

    def finish(self, stage: str) -> None:
        """``stage`` is complete (the run's last ``finish`` means all work is done)."""
