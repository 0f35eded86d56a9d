"""An annotated copy of an analysed video, in a format browsers play.

Every frame of the source is decoded again and drawn over with what the analysis knew at that
moment (the latest reading at or before the frame's time): the skeleton, the measured angles where
they are measured, a status bar with the verdict and the alert, and the advice hint. Drawing is done
by small functions on numpy images, from the :class:`Pose` and the :class:`Reading` only.

Encoding sits behind :class:`VideoWriter`, which takes the first encoder that works here: H.264 in
MP4 through the ffmpeg binary of the optional ``imageio-ffmpeg`` (``pip install "posture[h264]"``)
or one on the PATH, VP9 or VP8 WebM through that binary, else VP8 WebM through OpenCV's own
writer (in every install: browsers play it), H.264 through OpenCV where its build has it, and as a
last resort MPEG-4 Part 2 in MP4 (which browsers may refuse). The file is written under a temporary name beside the target and renamed
when complete, so a failed or interrupted run leaves nothing half-written.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import logging
import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

import cv2
import numpy as np

from posture.advice import load_catalogue
from posture.detector import Episode
from posture.errors import PostureError
from posture.findings import FINDING_WORDS
from posture.geometry import facing_sign
from posture.landmarks import SKELETON, Landmark, Pose
from posture.pipeline import AnalysisResult
from posture.reading import Reading, Verdict
from posture.sources.media import VideoFileSource

__all__ = [
    "ENCODERS",
    "Encoder",
    "OverlayState",
    "VideoEncodeError",
    "VideoWriter",
    "annotate_frame",
    "draw_angles",
    "draw_hint",
    "draw_skeleton",
    "draw_status_bar",
    "overlay_states",
    "reading_index",
    "write_annotated_video",
]

log = logging.getLogger(__name__)

ProgressFn = Callable[[float], None]  # called with the source time reached

# --------------------------------------------------------------------------------------------------
# What to say: plain data per reading, no drawing.

# Colour-blind-safe colours (Okabe & Ito), BGR. Every colour also comes with a text label.
GOOD_BGR = (115, 158, 0)  # bluish green
POOR_BGR = (0, 159, 230)  # orange
ALERT_BGR = (0, 94, 213)  # vermillion
UNCERTAIN_BGR = (233, 180, 86)  # sky blue
AWAY_BGR = (160, 160, 160)  # grey
VERDICT_BGR: dict[Verdict, tuple[int, int, int]] = {
    Verdict.GOOD: GOOD_BGR,
    Verdict.POOR: POOR_BGR,
    Verdict.AWAY: AWAY_BGR,
    Verdict.UNCERTAIN: UNCERTAIN_BGR,
}
WHITE = (245, 245, 245)
BLACK = (0, 0, 0)
SKELETON_BGR = (235, 235, 235)
LEGS_BGR = (150, 150, 150)


_VERDICT_TEXT: dict[Verdict, str] = {
    Verdict.GOOD: "GOOD",
    Verdict.POOR: "POOR",
    Verdict.AWAY: "AWAY",
    Verdict.UNCERTAIN: "UNCERTAIN",
}


@dataclass(frozen=True)
class OverlayState:
    """The texts shown for one reading: verdict label, alert line (or None), advice hint (or None)."""

    verdict: Verdict
    label: str  # "POOR: head forward"
    alert: str | None  # "ALERT: head forward for 12 s"
    hint: str | None  # the advice topic's one-line summary


def _fmt_duration(seconds: float) -> str:
    s = max(0, round(seconds))
    return f"{s} s" if s < 60 else f"{s // 60} min {s % 60:02d} s"


def _hint_for(code: str | None) -> str | None:
    if code is None:
        return None
    topics = load_catalogue().topics_for(code)
    return load_catalogue().topic(topics[0]).summary if topics else None


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
        label = _VERDICT_TEXT[r.posture]
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
            alert = f"ALERT: {what} for {_fmt_duration(r.t_s - since)}"
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


# --------------------------------------------------------------------------------------------------
# Drawing: small functions that draw on a BGR uint8 image in place.

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_VIS = 0.5  # landmarks below this visibility are not drawn (the metrics' default threshold)


def _scale(image: np.ndarray) -> float:
    """Size factor for lines and text: 1.0 for a 400-pixel-high frame (or a narrow one as wide)."""
    h, w = image.shape[:2]
    return float(np.clip(min(h, w * 0.75) / 400.0, 0.75, 4.0))


def _font_scale(s: float) -> float:
    return 0.55 * s


def _thick(s: float, base: float = 1.0) -> int:
    return max(1, round(base * s))


def _degree_radius(fs: float) -> int:
    return max(2, round(4 * fs))


def text_size(text: str, fs: float, thickness: int) -> tuple[int, int]:
    """Width and cap height in pixels of ``text`` as :func:`put_text` draws it."""
    width = 0
    parts = text.split("°")
    for i, part in enumerate(parts):
        if part:
            width += cv2.getTextSize(part, _FONT, fs, thickness)[0][0]
        if i < len(parts) - 1:
            width += 2 * _degree_radius(fs) + thickness + 2
    height = cv2.getTextSize("Hg", _FONT, fs, thickness)[0][1]
    return width, height


def put_text(
    image: np.ndarray,
    text: str,
    org: tuple[int, int],
    fs: float,
    color: tuple[int, int, int],
    thickness: int = 1,
    outline: tuple[int, int, int] | None = None,
) -> None:
    """``cv2.putText`` that also draws ``°`` (the Hershey fonts have no such glyph) and an outline."""
    x, y = org
    parts = text.split("°")
    passes = [(outline, thickness + max(2, thickness + 1))] if outline is not None else []
    passes.append((color, thickness))
    for col, th in passes:
        cx = x
        for i, part in enumerate(parts):
            if part:
                cv2.putText(image, part, (cx, y), _FONT, fs, col, th, cv2.LINE_AA)
                cx += cv2.getTextSize(part, _FONT, fs, thickness)[0][0]
            if i < len(parts) - 1:
                r = _degree_radius(fs)
                cap = cv2.getTextSize("H", _FONT, fs, thickness)[0][1]
                cv2.circle(image, (cx + r + 1, y - cap + r), r, col, max(1, th - 1), cv2.LINE_AA)
                cx += 2 * r + thickness + 2


def _shade(image: np.ndarray, x0: int, y0: int, x1: int, y1: int, alpha: float = 0.6) -> None:
    """Darken a rectangle so text on it stays readable over any background."""
    h, w = image.shape[:2]
    x0, x1 = max(0, x0), min(w, x1)
    y0, y1 = max(0, y0), min(h, y1)
    if x1 > x0 and y1 > y0:
        roi = image[y0:y1, x0:x1]
        roi[:] = (roi.astype(np.float32) * (1.0 - alpha)).astype(np.uint8)


def _ink_for(bg: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black or white text, whichever contrasts more with the background colour."""
    b, g, r = (c / 255.0 for c in bg)
    luminance = 0.0722 * b + 0.7152 * g + 0.2126 * r
    return BLACK if luminance > 0.35 else WHITE


def _badge_width(text: str, fs: float, th: int) -> int:
    tw, tch = text_size(text, fs, th)
    return tw + 2 * max(4, tch // 2)


def _badge(
    image: np.ndarray,
    text: str,
    x: int,
    y0: int,
    height: int,
    fs: float,
    th: int,
    fill: tuple[int, int, int],
) -> int:
    """A filled box with text in a contrasting ink; returns the x just right of it."""
    tw, tch = text_size(text, fs, th)
    pad = max(4, tch // 2)
    cv2.rectangle(image, (x, y0), (x + tw + 2 * pad, y0 + height), fill, -1, cv2.LINE_AA)
    put_text(image, text, (x + pad, y0 + (height + tch) // 2), fs, _ink_for(fill), th)
    return x + tw + 2 * pad


def status_bar_height(image: np.ndarray) -> int:
    """Height in pixels of the status bar at the top of the frame."""
    return round(34 * _scale(image))


def draw_status_bar(image: np.ndarray, state: OverlayState, reading: Reading) -> None:
    """The top bar: a verdict badge (colour and word), the view and time, and the alert badge.

    On a narrow frame the verdict badge keeps only its word (the alert names the finding), then
    the alert's text shrinks to fit; the view and time are shown only where there is room.
    """
    s = _scale(image)
    h_bar = status_bar_height(image)
    w = image.shape[1]
    _shade(image, 0, 0, w, h_bar, 0.65)
    fs, th = _font_scale(s), _thick(s, 1.3)
    m = max(3, round(5 * s))
    label, alert_fs = state.label, fs
    if state.alert is not None:
        room = w - 3 * m
        if _badge_width(label, fs, th) + _badge_width(state.alert, fs, th) > room:
            label = _VERDICT_TEXT[state.verdict]
        spare = room - _badge_width(label, fs, th)
        alert_w = _badge_width(state.alert, fs, th)
        if alert_w > spare:
            alert_fs = fs * max(0.6, spare / alert_w)
    x = _badge(image, label, m, m, h_bar - 2 * m, fs, th, VERDICT_BGR[state.verdict])
    info_right = w - m
    if state.alert is not None:
        ax = max(x + m, w - m - _badge_width(state.alert, alert_fs, th))
        _badge(image, state.alert, ax, m, h_bar - 2 * m, alert_fs, th, ALERT_BGR)
        info_right = ax - m
    minutes, seconds = divmod(max(reading.t_s, 0.0), 60.0)
    view = f"{reading.view} view  " if reading.person and reading.view != "unknown" else ""
    info = f"{view}{int(minutes)}:{seconds:04.1f}"
    iw, ih = text_size(info, fs * 0.85, _thick(s))
    if x + m + iw <= info_right:
        put_text(image, info, (x + m, (h_bar + ih) // 2), fs * 0.85, (210, 210, 210), _thick(s))


def _wrap(text: str, fs: float, thickness: int, width_px: int, max_lines: int) -> list[str]:
    """Greedy word wrap by measured width; an overflowing last line ends with "..."."""
    lines: list[str] = []
    words = text.split()
    current = ""
    for i, word in enumerate(words):
        trial = f"{current} {word}".strip()
        if text_size(trial, fs, thickness)[0] <= width_px or not current:
            current = trial
            continue
        lines.append(current)
        current = word
        if len(lines) == max_lines:
            current = ""
            rest = " ".join(words[i:])
            last = lines[-1]
            while last and text_size(last + " ...", fs, thickness)[0] > width_px:
                last = last.rsplit(" ", 1)[0] if " " in last else last[:-1]
            lines[-1] = (last + " ..." if rest else last).strip()
            break
    if current:
        lines.append(current)
    return lines


def draw_hint(image: np.ndarray, hint: str) -> None:
    """The advice hint on a shaded band at the bottom of the frame, at most two lines."""
    s = _scale(image)
    h, w = image.shape[:2]
    fs = _font_scale(s) * 0.9
    th = _thick(s)
    m = max(3, round(6 * s))
    lines = _wrap(f"Tip: {hint}", fs, th, w - 2 * m, 2)
    line_h = round(text_size("Hg", fs, th)[1] * 1.7)
    top = h - len(lines) * line_h - m
    _shade(image, 0, top - m, w, h, 0.65)
    for i, line in enumerate(lines):
        put_text(image, line, (m, top + (i + 1) * line_h - line_h // 4), fs, (170, 235, 255), th)


def _visible(pose: Pose, *lms: Landmark) -> bool:
    return pose.vis(*lms) >= _VIS


def _pt(p: np.ndarray) -> tuple[int, int]:
    return round(float(p[0])), round(float(p[1]))


def draw_skeleton(image: np.ndarray, pose: Pose) -> None:
    """The pose's skeleton: head, arms and trunk bold, legs thin and grey; unseen points left out."""
    s = _scale(image)
    upper_max = Landmark.RIGHT_HIP
    for a, b in SKELETON:
        if not _visible(pose, a, b):
            continue
        upper = a <= upper_max and b <= upper_max
        pa, pb = _pt(pose.point(a)), _pt(pose.point(b))
        if upper:
            cv2.line(image, pa, pb, BLACK, _thick(s, 5), cv2.LINE_AA)
            cv2.line(image, pa, pb, SKELETON_BGR, _thick(s, 2.5), cv2.LINE_AA)
        else:
            cv2.line(image, pa, pb, LEGS_BGR, _thick(s, 1.5), cv2.LINE_AA)
    for lm in Landmark:
        if lm <= upper_max and lm not in _FACE_DETAIL and _visible(pose, lm):
            cv2.circle(image, _pt(pose.point(lm)), _thick(s, 3.5), SKELETON_BGR, -1, cv2.LINE_AA)
            cv2.circle(image, _pt(pose.point(lm)), _thick(s, 3.5), BLACK, 1, cv2.LINE_AA)


# Face points too close together to mark with dots (the lines through them are drawn).
_FACE_DETAIL = frozenset(
    {
        Landmark.LEFT_EYE_INNER,
        Landmark.LEFT_EYE_OUTER,
        Landmark.RIGHT_EYE_INNER,
        Landmark.RIGHT_EYE_OUTER,
        Landmark.MOUTH_LEFT,
        Landmark.MOUTH_RIGHT,
        Landmark.LEFT_PINKY,
        Landmark.RIGHT_PINKY,
        Landmark.LEFT_INDEX,
        Landmark.RIGHT_INDEX,
        Landmark.LEFT_THUMB,
        Landmark.RIGHT_THUMB,
    }
)


def _mid(pose: Pose, a: Landmark, b: Landmark) -> np.ndarray:
    return (pose.point(a) + pose.point(b)) / 2.0


def _severity_bgr(reading: Reading, *codes: str) -> tuple[int, int, int]:
    sev = max((reading.findings.get(c, 0.0) for c in codes), default=0.0)
    return POOR_BGR if sev >= 1.0 else GOOD_BGR


def _fmt_value(reading: Reading, name: str, unit: str, signed: bool = False) -> str | None:
    value = reading.metrics.get(name)
    if value is None or not math.isfinite(value):
        return None
    text = f"{value:+.0f}{unit}" if signed else f"{value:.0f}{unit}"
    return ("~" + text) if name in reading.estimated else text


def _dashed(image: np.ndarray, p0: np.ndarray, p1: np.ndarray, color: tuple[int, int, int], th: int) -> None:
    """A dashed line with a dark edge, visible on light and dark backgrounds alike."""
    length = float(np.linalg.norm(p1 - p0))
    n = max(2, int(length / (5 * th + 4)))
    for col, t in ((BLACK, th + 2), (color, th)):
        for i in range(0, n, 2):
            a = p0 + (p1 - p0) * (i / n)
            b = p0 + (p1 - p0) * (min(i + 1, n) / n)
            cv2.line(image, _pt(a), _pt(b), col, t, cv2.LINE_AA)


def _label(image: np.ndarray, text: str, anchor: np.ndarray, side: int, s: float) -> None:
    """Text beside ``anchor`` (to its right for side=+1, its left for -1), kept inside the frame."""
    fs = _font_scale(s)
    th = _thick(s, 1.3)
    tw, tch = text_size(text, fs, th)
    gap = round(8 * s)
    x = int(anchor[0]) + gap if side > 0 else int(anchor[0]) - gap - tw
    y = int(anchor[1]) + tch // 2
    h, w = image.shape[:2]
    x = int(np.clip(x, 2, max(2, w - tw - 2)))
    y = int(np.clip(y, tch + 2, max(tch + 2, h - 4)))
    put_text(image, text, (x, y), fs, WHITE, th, outline=BLACK)


def _angle_marker(
    image: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    color: tuple[int, int, int],
    text: str,
    label_side: int,
) -> None:
    """A measured segment lower→upper, a short vertical reference up from ``lower``, the arc
    between them and the value beside it, on the ``label_side`` (+1 image-right, -1 left)."""
    s = _scale(image)
    length = float(np.linalg.norm(upper - lower))
    if length < 2:
        return
    ref_len = max(0.75 * length, 20 * s)
    top = lower + np.array([0.0, -ref_len])
    _dashed(image, lower, top, WHITE, _thick(s, 1.5))
    cv2.line(image, _pt(lower), _pt(upper), BLACK, _thick(s, 7), cv2.LINE_AA)
    cv2.line(image, _pt(lower), _pt(upper), color, _thick(s, 4), cv2.LINE_AA)
    # Arc from the vertical (-90° in OpenCV's y-down angles) to the segment's direction.
    seg_deg = math.degrees(math.atan2(upper[1] - lower[1], upper[0] - lower[0]))
    r = round(min(0.55 * length, 50 * s))
    if r >= 4:
        for col, t in ((BLACK, _thick(s, 5)), (color, _thick(s, 2.5))):
            cv2.ellipse(image, _pt(lower), (r, r), 0.0, -90.0, seg_deg, col, t, cv2.LINE_AA)
    cv2.circle(image, _pt(lower), _thick(s, 4), color, -1, cv2.LINE_AA)
    # Beside the arc, clear of both lines: past whichever of them reaches further to that side.
    mid_y = lower[1] - 0.6 * min(ref_len, max(lower[1] - upper[1], r))
    edge_x = max(lower[0], upper[0]) if label_side > 0 else min(lower[0], upper[0])
    _label(image, text, np.array([edge_x, mid_y]), label_side, s)


def draw_side_angles(image: np.ndarray, pose: Pose, reading: Reading) -> None:
    """Side view: the neck line shoulders→ears and the trunk line hips→shoulders, each against a
    vertical reference, with the reading's inclinations. Labels go behind the person."""
    facing = facing_sign(pose) or 1
    shoulders = _mid(pose, Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER)
    neck = _fmt_value(reading, "neck_inclination_deg", "°")
    trunk = _fmt_value(reading, "trunk_inclination_deg", "°")
    if trunk is not None:
        hips = _mid(pose, Landmark.LEFT_HIP, Landmark.RIGHT_HIP)
        color = _severity_bgr(reading, "hunched_back", "slumped")
        _angle_marker(image, hips, shoulders, color, f"trunk {trunk}", -facing)
    if neck is not None:
        ears = _mid(pose, Landmark.LEFT_EAR, Landmark.RIGHT_EAR)
        color = _severity_bgr(reading, "forward_head", "neck_flexion")
        _angle_marker(image, shoulders, ears, color, f"neck {neck}", -facing)


def draw_front_angles(image: np.ndarray, pose: Pose, reading: Reading) -> None:
    """Front view: the shoulder line against a horizontal reference with its tilt, and the
    face-scale and head-drop changes (against the baseline) beside the head when present."""
    s = _scale(image)
    tilt = _fmt_value(reading, "shoulder_tilt_deg", "°", signed=True)
    left, right = pose.point(Landmark.LEFT_SHOULDER), pose.point(Landmark.RIGHT_SHOULDER)
    if tilt is not None:
        color = _severity_bgr(reading, "side_lean")
        mid = (left + right) / 2.0
        half = abs(float(left[0] - right[0])) / 2.0
        offset = np.array([half, 0.0])
        _dashed(image, mid - offset, mid + offset, WHITE, _thick(s, 1.5))
        cv2.line(image, _pt(left), _pt(right), BLACK, _thick(s, 7), cv2.LINE_AA)
        cv2.line(image, _pt(left), _pt(right), color, _thick(s, 4), cv2.LINE_AA)
        outer = left if left[0] > right[0] else right
        _label(image, f"tilt {tilt}", outer, 1 if outer[0] >= mid[0] else -1, s)
    extras = [
        text
        for text in (
            _fmt_value(reading, "face_scale_pct", "%", signed=True),
            _fmt_value(reading, "head_drop_pct", "%", signed=True),
        )
        if text is not None
    ]
    if extras:
        names = [n for n in ("face_scale_pct", "head_drop_pct") if reading.metrics.get(n) is not None]
        words = {"face_scale_pct": "face", "head_drop_pct": "drop"}
        text = "  ".join(f"{words[n]} {t}" for n, t in zip(names, extras, strict=False))
        ears = _mid(pose, Landmark.LEFT_EAR, Landmark.RIGHT_EAR)
        face_half = abs(float(pose.point(Landmark.LEFT_EAR)[0] - pose.point(Landmark.RIGHT_EAR)[0])) / 2
        _label(image, text, ears + np.array([face_half, 0.0]), 1, s)


def draw_angles(image: np.ndarray, pose: Pose, reading: Reading) -> None:
    """The angles the reading measured, drawn where they were measured (side and/or front)."""
    if reading.view in ("side", "oblique"):
        draw_side_angles(image, pose, reading)
    if reading.view in ("front", "oblique"):
        draw_front_angles(image, pose, reading)


def annotate_frame(image: np.ndarray, reading: Reading, pose: Pose | None, state: OverlayState) -> None:
    """Everything for one frame, in place: skeleton and angles (when someone is there), status
    bar, and the advice hint while posture is poor or an alert is on."""
    h, w = image.shape[:2]
    if pose is not None and reading.person:
        if pose.image_size != (w, h):
            sx, sy = w / max(pose.image_size[0], 1), h / max(pose.image_size[1], 1)
            pose = pose.transformed(np.array([[sx, 0.0, 0.0], [0.0, sy, 0.0]]), (w, h))
        draw_skeleton(image, pose)
        draw_angles(image, pose, reading)
    draw_status_bar(image, state, reading)
    if state.hint is not None:
        draw_hint(image, state.hint)


# --------------------------------------------------------------------------------------------------
# Encoding.


class VideoEncodeError(PostureError):
    """No encoder could write the annotated video, or the encoder failed while writing."""


@dataclass(frozen=True)
class Encoder:
    """One way to write a video: an ffmpeg codec or an OpenCV FourCC, into a container."""

    name: str
    backend: str  # "ffmpeg" or "opencv"
    codec: str  # ffmpeg encoder name, or OpenCV FourCC
    suffix: str  # ".mp4" or ".webm"
    browser_safe: bool
    args: str = ""  # ffmpeg output options, separated by spaces


ENCODERS: tuple[Encoder, ...] = (
    Encoder(
        "ffmpeg-h264",
        "ffmpeg",
        "libx264",
        ".mp4",
        True,
        "-pix_fmt yuv420p -preset veryfast -crf 26 -movflags +faststart -f mp4",
    ),
    Encoder(
        "ffmpeg-vp9",
        "ffmpeg",
        "libvpx-vp9",
        ".webm",
        True,
        "-pix_fmt yuv420p -b:v 0 -crf 36 -deadline realtime -cpu-used 8 -row-mt 1 -f webm",
    ),
    Encoder(
        "ffmpeg-vp8",
        "ffmpeg",
        "libvpx",
        ".webm",
        True,
        "-pix_fmt yuv420p -b:v 2M -crf 10 -deadline realtime -cpu-used 8 -f webm",
    ),
    # OpenCV's VP9 ("VP90") is left out: with its fixed settings (OpenCV 5.1) it encodes 150
    # frames of 640x480 in 35 s where VP8 takes 9 s, i.e. 3.5x slower than real time at 15 fps.
    Encoder("opencv-vp8", "opencv", "VP80", ".webm", True),
    Encoder("opencv-h264", "opencv", "avc1", ".mp4", True),
    Encoder("opencv-mp4v", "opencv", "mp4v", ".mp4", False),
)


def _ffmpeg_exe() -> str | None:
    """The ffmpeg of ``imageio-ffmpeg`` (its own binary, or what ``IMAGEIO_FFMPEG_EXE`` names),
    else one on the PATH."""
    try:
        import imageio_ffmpeg
    except ImportError:
        exe = shutil.which("ffmpeg")
        if exe is None:
            log.info("no ffmpeg: WebM, not H.264 MP4 (pip install 'posture[h264]')")
        return exe
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as exc:
        log.info("imageio-ffmpeg has no ffmpeg for this platform: %s", exc)
        return shutil.which("ffmpeg")


@functools.lru_cache(maxsize=1)
def _ffmpeg() -> tuple[str, frozenset[str]] | None:
    """An ffmpeg binary and the names of its video encoders, or None when there is none that runs."""
    exe = _ffmpeg_exe()
    if exe is None:
        return None
    try:
        listing = subprocess.run(
            [exe, "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        log.info("ffmpeg (%s) does not run here: %s", exe, exc)
        return None
    names = frozenset(
        line.split()[1] for line in listing.splitlines() if len(line.split()) > 1 and line.startswith(" V")
    )
    return exe, names


def _ffmpeg_rate(fps: float) -> str:
    """A frame rate as ffmpeg's exact fraction (29.97 → 30000/1001)."""
    rate = Fraction(fps).limit_denominator(1001)
    return f"{rate.numerator}/{rate.denominator}"


class VideoWriter:
    """BGR frames in, one video file out, written under a temporary name beside the target.

    Takes the first encoder of ``encoders`` that works here. ``close()`` finishes the file and
    renames it to ``out_base`` with the encoder's suffix (the ``path``); ``abort()`` (also called
    by the context manager on an exception) stops the encoder and deletes the partial file.
    """

    def __init__(
        self,
        out_base: Path,
        size: tuple[int, int],
        fps: float,
        encoders: Sequence[Encoder] = ENCODERS,
    ) -> None:
        self.size = (int(size[0]), int(size[1]))
        if self.size[0] <= 0 or self.size[1] <= 0 or not fps > 0:
            raise ValueError(f"bad video size {size} or frame rate {fps}")
        self.fps = float(fps)
        self.frames = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._cv: Any = None
        self._tmp: Path | None = None
        self._done = False
        out_base = Path(out_base)
        tried = []
        for enc in encoders:
            tried.append(enc.name)
            if self._open(enc, out_base):
                self.encoder = enc
                self.path = out_base.with_suffix(enc.suffix)
                break
        else:
            raise VideoEncodeError(
                f"no video encoder works here (tried {', '.join(tried)}); pip install 'posture[h264]' "
                "adds an ffmpeg with H.264"
            )
        log.info("writing %s with %s", self.path, self.encoder.name)
        if not self.encoder.browser_safe:
            log.warning(
                "no browser-playable video encoder here: %s is MPEG-4 Part 2, which browsers may not "
                "play (pip install 'posture[h264]' for H.264)",
                self.path,
            )

    def _temp_path(self, out_base: Path, suffix: str) -> Path:
        fd, name = tempfile.mkstemp(
            prefix=f".{out_base.name}.", suffix=f".partial{suffix}", dir=out_base.parent
        )
        os.close(fd)
        return Path(name)

    def _open(self, enc: Encoder, out_base: Path) -> bool:
        if enc.backend == "ffmpeg":
            found = _ffmpeg()
            if found is None or enc.codec not in found[1]:
                return False
            self._tmp = self._temp_path(out_base, enc.suffix)
            try:
                self._open_ffmpeg(found[0], enc, self._tmp)
            except OSError as exc:
                log.info("cannot start ffmpeg: %s", exc)
                self._release()
                self._proc = None
                self._tmp.unlink(missing_ok=True)
                self._tmp = None
                return False
            return True
        self._tmp = self._temp_path(out_base, enc.suffix)
        writer = cv2.VideoWriter(str(self._tmp), cv2.VideoWriter_fourcc(*enc.codec), self.fps, self.size)
        if writer.isOpened():
            self._cv = writer
            return True
        writer.release()
        self._tmp.unlink(missing_ok=True)
        self._tmp = None
        log.debug("OpenCV cannot write %s here", enc.name)
        return False

    def _open_ffmpeg(self, exe: str, enc: Encoder, tmp: Path) -> None:
        w, h = self.size
        cmd = [exe, "-hide_banner", "-nostats", "-loglevel", "error", "-y"]
        cmd += ["-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w}x{h}", "-r", _ffmpeg_rate(self.fps)]
        cmd += ["-i", "-", "-an"]
        if w % 2 or h % 2:  # 4:2:0 chroma needs even sizes: pad by one pixel
            cmd += ["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"]
        cmd += ["-c:v", enc.codec, *enc.args.split(), str(tmp)]
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in _release()
        self._proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._stderr
        )

    def _ffmpeg_message(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", "replace").strip()
        return text.splitlines()[-1] if text else ""

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def write(self, image: np.ndarray) -> None:
        """Append one BGR uint8 frame of exactly the writer's size."""
        if self._done:
            raise VideoEncodeError("write to a closed video writer")
        w, h = self.size
        if image.shape != (h, w, 3) or image.dtype != np.uint8:
            raise ValueError(f"frame must be {h}x{w}x3 uint8, got {image.shape} {image.dtype}")
        if self._proc is not None:
            assert self._proc.stdin is not None
            try:
                self._proc.stdin.write(np.ascontiguousarray(image).data)
            except (BrokenPipeError, OSError) as exc:
                self._proc.wait()
                raise VideoEncodeError(f"ffmpeg stopped: {self._ffmpeg_message() or exc}") from None
        else:
            self._cv.write(image)
        self.frames += 1

    def close(self) -> Path:
        """Finish the file and move it into place; returns its path. On failure nothing is left."""
        if self._done:
            return self.path
        try:
            if self._proc is not None:
                assert self._proc.stdin is not None
                with contextlib.suppress(BrokenPipeError, OSError):
                    self._proc.stdin.close()
                rc = self._proc.wait()
                if rc != 0:
                    raise VideoEncodeError(f"ffmpeg failed ({rc}): {self._ffmpeg_message()}")
            elif self._cv is not None:
                self._cv.release()
                self._cv = None
            if self.frames == 0:
                raise VideoEncodeError("no frames were written")
            assert self._tmp is not None
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(self._tmp, 0o666 & ~umask)  # mkstemp made it private; give it the usual mode
            os.replace(self._tmp, self.path)
            self._tmp = None
        except BaseException:
            self.abort()
            raise
        finally:
            self._release()
        self._done = True
        return self.path

    def abort(self) -> None:
        """Stop the encoder and delete the partial file."""
        self._done = True
        if self._proc is not None and self._proc.poll() is None:
            with contextlib.suppress(OSError):
                assert self._proc.stdin is not None
                self._proc.stdin.close()
            self._proc.kill()
            self._proc.wait()
        if self._cv is not None:
            self._cv.release()
            self._cv = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None
        self._release()

    def _release(self) -> None:
        if self._proc is not None and self._proc.stdin is not None and not self._proc.stdin.closed:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


# --------------------------------------------------------------------------------------------------
# The whole video.

_FALLBACK_FPS = 30.0


def write_annotated_video(
    result: AnalysisResult,
    out_base: Path,
    *,
    progress: ProgressFn | None = None,
    encoders: Sequence[Encoder] = ENCODERS,
) -> Path:
    """Re-decode ``result.source`` frame by frame, draw the analysis on every frame and encode it.

    Each frame shows the latest reading at or before its time (readings are sampled, frames are
    not), so the output keeps the source's frame count, size and rate. Returns the path written:
    ``out_base`` with ``.mp4`` or ``.webm``, depending on the encoder available.
    """
    out_base = Path(out_base)
    states = overlay_states(result.readings, result.episodes)
    times = [r.t_s for r in result.readings]
    poses: list[Pose | None] = list(result.poses) + [None] * (len(times) - len(result.poses))
    step_s = 1.0 / result.sample_fps if result.sample_fps else 0.0
    max_age_s = max(0.5, 2.0 * step_s)
    fps = result.info.fps
    if not fps > 0:
        log.warning(
            "%s states no frame rate; writing the annotated video at %g fps", result.source, _FALLBACK_FPS
        )
        fps = _FALLBACK_FPS
    with contextlib.ExitStack() as stack:
        source = stack.enter_context(VideoFileSource(result.source))
        writer: VideoWriter | None = None
        for frame in source:
            image = frame.image
            i = reading_index(times, frame.t_s, max_age_s)
            if i is not None:
                annotate_frame(image, result.readings[i], poses[i], states[i])
            if writer is None:
                h, w = image.shape[:2]
                writer = stack.enter_context(VideoWriter(out_base, (w, h), fps, encoders))
            writer.write(image)
            if progress is not None:
                progress(frame.t_s)
        if writer is None:
            raise VideoEncodeError(f"{result.source} gave no frames to annotate")
        path = writer.path
    return path
