"""The options of a run that do not depend on the video, in one frozen :class:`AnalysisOptions`.

``analyze``, ``demo`` and ``batch`` fill it in; it is checked once, when it is made, and then
travels whole: into :func:`posture.analysis.run_analysis`, each recording's batch task (to a
worker process or a Ray actor) and the batch manifest's stored options. Its errors name the
parameter (``workers must be at least 1``); the CLI names its flag instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TypeGuard

from posture.errors import OptionError

__all__ = ["MAX_CALIBRATE_FIRST_S", "AnalysisOptions", "check_count"]

MAX_CALIBRATE_FIRST_S = 3600.0  # an hour of good posture is more than any baseline needs


@dataclass(frozen=True)
class AnalysisOptions:
    """How to analyse a video into a folder of outputs, whatever the video."""

    baseline: Path | None = None  # the person's good posture: a photo or a saved profile (.json)
    calibrate_first_s: float | None = None  # or: the baseline from the video's first seconds
    workers: int | None = None  # estimator processes (None: as many as the video's length is worth)
    annotate: bool = False  # also write an annotated copy of the video
    annotate_fps: float | None = None  # its frames a second (None: the video's own rate)
    report: bool = True  # write report.html
    key_frames: bool = True  # with a few pictures of the person in it
    history: bool = True  # record the session in the user's history
    footage_credit: str = ""  # who made the video, and its licence, for the report's footer
    credit_band_px: int = 0  # rows at the bottom of the video that show the credit: never drawn over
    own_folder: bool = False  # the output folder is posture's own: every earlier output in it goes

    def __post_init__(self) -> None:
        if self.baseline is not None and self.calibrate_first_s is not None:
            raise OptionError("use either {baseline} or {calibrate_first_s}, not both")
        if self.calibrate_first_s is not None:
            _check_seconds(self.calibrate_first_s)
        if self.workers is not None:
            check_count("workers", self.workers)
        fps = self.annotate_fps
        if fps is not None and not (_is_number(fps) and math.isfinite(fps) and fps > 0):
            raise OptionError("{annotate_fps} must be a number above 0, not {value!r}", value=fps)
        band = self.credit_band_px
        if isinstance(band, bool) or not isinstance(band, int) or band < 0:
            raise OptionError("{credit_band_px} must be a whole number from 0, not {value!r}", value=band)


def check_count(parameter: str, value: object) -> None:
    """A count of processes or attempts: a whole number, at least 1 (else :class:`OptionError`
    naming ``parameter``)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise OptionError(f"{{{parameter}}} needs a whole number, not {{value!r}}", value=value)
    if value < 1:
        raise OptionError(f"{{{parameter}}} must be at least 1")


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_seconds(seconds: object) -> None:
    """``calibrate_first_s``: a number of seconds above 0 and at most an hour."""
    if not _is_number(seconds):
        raise OptionError("{calibrate_first_s} needs a number of seconds, not {value!r}", value=seconds)
    if not (math.isfinite(seconds) and 0 < seconds <= MAX_CALIBRATE_FIRST_S):
        raise OptionError(
            "{calibrate_first_s} must be a number above 0 and at most {most:g}, not {value!r}",
            most=MAX_CALIBRATE_FIRST_S,
            value=seconds,
        )
