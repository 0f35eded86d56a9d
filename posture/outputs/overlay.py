"""The one drawer: what posture draws over a frame, on numpy BGR images, in place.

The skeleton, the measured angles where they were measured, a status bar with the verdict and the
alert, and the advice hint, from a :class:`Pose`, a :class:`Reading` and the :class:`OverlayState`
(the texts) only. Used by the annotated video, the monitor's preview window and the report's key
frames, so they all look alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from posture.durations import clock
from posture.findings import Finding
from posture.geometry import facing_sign
from posture.landmarks import SKELETON, Landmark, Pose
from posture.metric_registry import Shown, metric, shown
from posture.reading import Reading, Verdict, View

__all__ = [
    "ALERT_BGR",
    "GOOD_BGR",
    "POOR_BGR",
    "SKELETON_BGR",
    "VERDICT_TEXT",
    "OverlayState",
    "annotate_frame",
    "draw_angles",
    "draw_head_texts",
    "draw_hint",
    "draw_skeleton",
    "draw_status_bar",
    "fit_pose",
    "frame_texts",
    "put_text",
    "status_bar_height",
    "text_size",
]

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


VERDICT_TEXT: dict[Verdict, str] = {v: v.name for v in Verdict}  # GOOD, POOR, AWAY, UNCERTAIN


@dataclass(frozen=True)
class OverlayState:
    """The texts shown for one reading: verdict label, alert line (or None), advice hint (or None)."""

    verdict: Verdict
    label: str  # "POOR: head forward"
    alert: str | None  # "ALERT: head forward for 12 s"
    hint: str | None  # the advice topic's one-line summary


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
            label = VERDICT_TEXT[state.verdict]
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
    view = f"{reading.view.value} view  " if reading.person and reading.view is not View.UNKNOWN else ""
    info = f"{view}{clock(reading.t_s)}"
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


def draw_hint(image: np.ndarray, hint: str, keep_bottom_px: int = 0) -> None:
    """The advice hint on a shaded band at the bottom of the frame, at most two lines, above the
    bottom ``keep_bottom_px`` rows (a footage credit that must stay readable)."""
    s = _scale(image)
    h, w = image.shape[:2]
    h -= min(max(keep_bottom_px, 0), h // 2)
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


def draw_skeleton(image: np.ndarray, pose: Pose, colour: tuple[int, int, int] | None = None) -> None:
    """The pose's skeleton: head, arms and trunk bold, legs thin and grey; unseen points left out.

    ``colour`` draws the whole skeleton, legs included, in one colour (the report's key frames
    colour it by the verdict); the dark edge stays, so it shows on any background.
    """
    s = _scale(image)
    upper_max = Landmark.RIGHT_HIP
    for a, b in SKELETON:
        if not _visible(pose, a, b):
            continue
        upper = a <= upper_max and b <= upper_max
        pa, pb = _pt(pose.point(a)), _pt(pose.point(b))
        if upper or colour is not None:
            cv2.line(image, pa, pb, BLACK, _thick(s, 5), cv2.LINE_AA)
            cv2.line(image, pa, pb, colour or SKELETON_BGR, _thick(s, 2.5), cv2.LINE_AA)
        else:
            cv2.line(image, pa, pb, LEGS_BGR, _thick(s, 1.5), cv2.LINE_AA)
    for lm in Landmark:
        if lm <= upper_max and lm not in _FACE_DETAIL and _visible(pose, lm):
            cv2.circle(image, _pt(pose.point(lm)), _thick(s, 3.5), colour or SKELETON_BGR, -1, cv2.LINE_AA)
            cv2.circle(image, _pt(pose.point(lm)), _thick(s, 3.5), BLACK, 1, cv2.LINE_AA)


def fit_pose(pose: Pose, image: np.ndarray) -> Pose:
    """``pose`` in ``image``'s pixels, when it was measured on a frame of another size."""
    h, w = image.shape[:2]
    if pose.image_size == (w, h):
        return pose
    sx, sy = w / max(pose.image_size[0], 1), h / max(pose.image_size[1], 1)
    return pose.transformed(np.array([[sx, 0.0, 0.0], [0.0, sy, 0.0]]), (w, h))


# Eye corners, mouth and fingers: too close together to mark with dots (the lines through them are drawn).
_FACE_DETAIL = frozenset(
    lm
    for lm in Landmark
    if lm.name.endswith(("_INNER", "_OUTER", "_PINKY", "_INDEX", "_THUMB", "MOUTH_LEFT", "MOUTH_RIGHT"))
)


def _mid(pose: Pose, a: Landmark, b: Landmark) -> np.ndarray:
    return (pose.point(a) + pose.point(b)) / 2.0


def _severity_bgr(reading: Reading, *codes: str) -> tuple[int, int, int]:
    sev = max((reading.findings.get(c, 0.0) for c in codes), default=0.0)
    return POOR_BGR if sev >= 1.0 else GOOD_BGR


def _fmt_value(reading: Reading, name: str) -> str | None:
    """``neck 23°``, ``face scale ~+12%``: a metric's word and value as the frames show it (with
    its sign where the registry says so, ``~`` where it is an estimate), or None when not measured."""
    value, info = reading.metrics.get(name), metric(name)
    if value is None or not math.isfinite(value) or info is None:
        return None
    text = f"{value:+.0f}{info.unit}" if info.signed else f"{value:.0f}{info.unit}"
    return f"{info.short} {'~' if name in reading.estimated else ''}{text}"


# The metrics drawn as a line against a reference where they were measured; the frame's other
# metrics are written beside the head (frame_texts).
_MARKED = ("neck_inclination_deg", "trunk_inclination_deg", "shoulder_tilt_deg")


def frame_texts(reading: Reading) -> list[str]:
    """The values written beside the head: every metric the registry shows on frames
    (:attr:`~posture.metric_registry.Shown.FRAME`) that has no marker of its own, when measured."""
    texts = (_fmt_value(reading, m.name) for m in shown(Shown.FRAME) if m.name not in _MARKED)
    return [t for t in texts if t is not None]


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
    neck = _fmt_value(reading, "neck_inclination_deg")
    trunk = _fmt_value(reading, "trunk_inclination_deg")
    if trunk is not None:
        hips = _mid(pose, Landmark.LEFT_HIP, Landmark.RIGHT_HIP)
        color = _severity_bgr(reading, Finding.HUNCHED_BACK.value, Finding.SLUMPED.value)
        _angle_marker(image, hips, shoulders, color, trunk, -facing)
    if neck is not None:
        ears = _mid(pose, Landmark.LEFT_EAR, Landmark.RIGHT_EAR)
        color = _severity_bgr(reading, Finding.FORWARD_HEAD.value, Finding.NECK_FLEXION.value)
        _angle_marker(image, shoulders, ears, color, neck, -facing)


def draw_front_angles(image: np.ndarray, pose: Pose, reading: Reading) -> None:
    """Front view: the shoulder line against a horizontal reference with its tilt."""
    s = _scale(image)
    tilt = _fmt_value(reading, "shoulder_tilt_deg")
    left, right = pose.point(Landmark.LEFT_SHOULDER), pose.point(Landmark.RIGHT_SHOULDER)
    if tilt is not None:
        color = _severity_bgr(reading, Finding.SIDE_LEAN.value)
        mid = (left + right) / 2.0
        half = abs(float(left[0] - right[0])) / 2.0
        offset = np.array([half, 0.0])
        _dashed(image, mid - offset, mid + offset, WHITE, _thick(s, 1.5))
        cv2.line(image, _pt(left), _pt(right), BLACK, _thick(s, 7), cv2.LINE_AA)
        cv2.line(image, _pt(left), _pt(right), color, _thick(s, 4), cv2.LINE_AA)
        outer = left if left[0] > right[0] else right
        _label(image, tilt, outer, 1 if outer[0] >= mid[0] else -1, s)


def draw_head_texts(image: np.ndarray, pose: Pose, reading: Reading) -> None:
    """The other measured values (:func:`frame_texts`: the face's scale and the head's drop
    against the baseline, ...) beside the head: in front of the face in a profile, to the right
    of it otherwise."""
    texts = frame_texts(reading)
    if not texts:
        return
    side = (facing_sign(pose) or 1) if reading.view is View.SIDE else 1
    ears = _mid(pose, Landmark.LEFT_EAR, Landmark.RIGHT_EAR)
    face_half = abs(float(pose.point(Landmark.LEFT_EAR)[0] - pose.point(Landmark.RIGHT_EAR)[0])) / 2
    _label(image, "  ".join(texts), ears + np.array([side * face_half, 0.0]), side, _scale(image))


def draw_angles(image: np.ndarray, pose: Pose, reading: Reading) -> None:
    """The angles the reading measured, drawn where they were measured (side and/or front), and
    its other values beside the head."""
    if reading.view in (View.SIDE, View.OBLIQUE):
        draw_side_angles(image, pose, reading)
    if reading.view in (View.FRONT, View.OBLIQUE):
        draw_front_angles(image, pose, reading)
    draw_head_texts(image, pose, reading)


def annotate_frame(
    image: np.ndarray, reading: Reading, pose: Pose | None, state: OverlayState, keep_bottom_px: int = 0
) -> None:
    """Everything for one frame, in place: skeleton and angles (when someone is there), status
    bar, and the advice hint while posture is poor or an alert is on, above the bottom
    ``keep_bottom_px`` rows."""
    if pose is not None and reading.person:
        pose = fit_pose(pose, image)
        draw_skeleton(image, pose)
        draw_angles(image, pose, reading)
    draw_status_bar(image, state, reading)
    if state.hint is not None:
        draw_hint(image, state.hint, keep_bottom_px)
