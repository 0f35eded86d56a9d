"""An annotated copy of an analysed video, in a format browsers play.

Every frame of the source is decoded again and drawn over (:mod:`posture.outputs.overlay`) with
what the analysis knew at that moment: the latest reading at or before the frame's time. What the
overlay says per reading is worked out first, as plain data (:func:`overlay_states`); the frames
are then written by the one video writer (:mod:`posture.outputs.video`): H.264 MP4 with the
``h264`` extra, VP8 WebM otherwise, and never half a file.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Sequence
from pathlib import Path

from posture.advice import load_catalogue
from posture.detector import Episode
from posture.durations import format_duration
from posture.findings import FINDING_WORDS, info
from posture.landmarks import Pose
from posture.outputs.overlay import VERDICT_TEXT, OverlayState, annotate_frame
from posture.outputs.video import Encoder, VideoEncodeError, VideoWriter, default_encoder
from posture.reading import Reading, Verdict
from posture.results import AnalysisResult, ProgressFn
from posture.sources.media import VideoFileSource

__all__ = ["annotated_path", "overlay_states", "reading_index", "write_annotated_video"]

log = logging.getLogger(__name__)


def _hint_for(code: str | None) -> str | None:
    """The one-line summary of the advice topic the finding opens (from the finding registry)."""
    found = info(code) if code is not None else None
    return load_catalogue().topic(found.advice_topic).summary if found is not None else None


def overlay_states(readings: Sequence[Reading], episodes: Sequence[Episode]) -> list[OverlayState]:
    """What the overlay says at each reading, using only that reading and the ones before it.

    While an alert is active the alert names the finding that was last poor in it (the current
    worst while it is still poor) and how long the poor stretch has lasted (from its episode's
    start). The hint is the advice for the finding in focus while poor or alerting.
    """
    starts = [e.start_s for e in episodes]
    out: list[OverlayState] = []
    run_start: float | None = None  # time the current alert run began
    run_code: str | None = None  # finding last poor during the current alert run
    for r in readings:
        worst = r.worst_finding()
        poor_code = worst[0] if worst is not None and worst[1] >= 1.0 else None
        label = VERDICT_TEXT[r.posture]
        if r.posture is Verdict.POOR and poor_code is not None:
            label = f"POOR: {FINDING_WORDS.get(poor_code, poor_code.replace('_', ' '))}"
        elif r.posture is Verdict.AWAY:
            label = "AWAY: nobody in view"
        alert = None
        focus = poor_code if r.posture is Verdict.POOR else None
        if r.alert:
            if run_start is None:
                run_start = r.t_s
                run_code = None
            run_code = poor_code or run_code
            k = bisect.bisect_right(starts, r.t_s + 1e-9) - 1
            if run_code is None and k >= 0 and episodes[k].findings:
                run_code = next(iter(episodes[k].findings))
            since = episodes[k].start_s if k >= 0 else run_start
            what = FINDING_WORDS.get(run_code, "poor posture") if run_code else "poor posture"
            alert = f"ALERT: {what} for {format_duration(r.t_s - since)}"
            focus = run_code or focus
        else:
            run_start, run_code = None, None
        out.append(OverlayState(r.posture, label, alert, _hint_for(focus)))
    return out


def reading_index(times_s: Sequence[float], t_s: float, max_age_s: float) -> int | None:
    """Index of the latest reading at or before ``t_s`` (no older than ``max_age_s``), or None."""
    i = bisect.bisect_right(times_s, t_s + 1e-3) - 1
    if i < 0 or t_s - times_s[i] > max_age_s:
        return None
    return i


_FALLBACK_FPS = 30.0


def annotated_path(out_base: Path, encoder: Encoder | None = None) -> Path:
    """Where :func:`write_annotated_video` writes with ``encoder`` (by default the best one here)."""
    return Path(out_base).with_suffix((encoder or default_encoder()).suffix)


def write_annotated_video(
    result: AnalysisResult,
    out_base: Path,
    *,
    progress: ProgressFn | None = None,
    encoder: Encoder | None = None,
    fps: float | None = None,
    credit_band_px: int = 0,
) -> Path:
    """Re-decode ``result.source`` frame by frame, draw the analysis on every frame and encode it.

    Each frame shows the latest reading at or before its time (readings are sampled, frames are
    not), so the output keeps the source's frame count, size and rate. ``fps`` (below the
    source's) writes fewer frames: one every 1/fps s of source time, the latest frame at that
    time, for sources whose picture changes more slowly than their frame rate (the demo's
    time-lapse). Frames are encoded on a thread of their own while the next ones are decoded and
    drawn. ``credit_band_px`` rows at the bottom hold the footage's credit: the advice hint is
    drawn above them. Returns the path written: ``out_base`` with the suffix of ``encoder`` (by
    default the best one here: ``.mp4`` with the ``h264`` extra, else ``.webm``).
    """
    path = annotated_path(out_base, encoder)
    states = overlay_states(result.readings, result.episodes)
    times = [r.t_s for r in result.readings]
    poses: list[Pose | None] = list(result.poses) + [None] * (len(times) - len(result.poses))
    step_s = 1.0 / result.sample_fps if result.sample_fps else 0.0
    max_age_s = max(0.5, 2.0 * step_s)
    source_fps = result.info.fps
    if not source_fps > 0:
        log.warning(
            "%s states no frame rate; writing the annotated video at %g fps", result.source, _FALLBACK_FPS
        )
        source_fps = _FALLBACK_FPS
    sample_fps = fps if fps is not None and 0 < fps < source_fps else None
    with (
        VideoFileSource(result.source, sample_fps=sample_fps) as source,
        VideoWriter(path, sample_fps or source_fps, background=True) as writer,
    ):
        for frame in source:
            image = frame.image
            i = reading_index(times, frame.t_s, max_age_s)
            if i is not None:
                annotate_frame(image, result.readings[i], poses[i], states[i], credit_band_px)
            writer.write(image)
            if progress is not None:
                progress(frame.t_s)
        if writer.frames == 0:
            raise VideoEncodeError(f"{result.source} gave no frames to annotate")
    return path
