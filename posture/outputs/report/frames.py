"""The report's key frames: the worst moments of a recorded video, re-read, with the skeleton drawn.

The only pictures of the person a report ever contains (the page says so). OpenCV is imported only
when frames are read.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from posture.durations import clock
from posture.outputs.overlay import draw_skeleton, fit_pose
from posture.outputs.report.words import finding_title
from posture.reading import Reading, Verdict
from posture.results import AnalysisResult
from posture.sources.media import read_frames_at

__all__ = [
    "KEY_FRAME_WIDTH_PX",
    "MAX_KEY_FRAMES",
    "KeyFrame",
    "key_moments",
    "read_key_frames",
]

log = logging.getLogger(__name__)

MAX_KEY_FRAMES = 3
KEY_FRAME_WIDTH_PX = 480


@dataclass(frozen=True)
class KeyFrame:
    t_s: float
    time: str
    caption: str
    data_uri: str
    width: int
    height: int


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

    from posture.errors import PostureError

    try:
        images = read_frames_at(source, [result.readings[index].t_s for index, _ in moments])
    except PostureError as exc:
        log.warning("no key frames: %s", exc)
        return ()
    frames: list[KeyFrame] = []
    for (index, episode), image in zip(moments, images, strict=True):
        reading = result.readings[index]
        if image is None:
            log.warning("no key frame at %.2f s: the video could not be read there", reading.t_s)
            continue
        h, w = image.shape[:2]
        factor = min(1.0, max_width / float(w))
        if factor < 1.0:
            image = cv2.resize(image, (round(w * factor), round(h * factor)), interpolation=cv2.INTER_AREA)
        pose = result.poses[index] if index < len(result.poses) else None
        if pose is not None:
            colour = (30, 135, 232) if not reading.alert else (46, 34, 207)
            draw_skeleton(image, fit_pose(pose, image), colour=colour)
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 82])
        if not ok:
            continue
        worst = reading.worst_finding()
        what = f"{finding_title(worst[0])} (severity {worst[1]:.1f})" if worst else "poor posture"
        lead = f"Episode {episode}, peak at {clock(reading.t_s)}" if episode else f"At {clock(reading.t_s)}"
        others = [
            finding_title(c) for c, s in sorted(reading.findings.items(), key=lambda kv: -kv[1]) if s >= 1.0
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
    return tuple(frames)
