"""Scoring readings against labelled footage (used by ``accuracy.py``, ``learned.py`` and, through
``accuracy.py``, the footage tests).

Pure: labels and readings in, figures out. Also the LearnOpenCV tutorial's rule, reimplemented
for a side-by-side comparison on the same landmarks.
"""

from __future__ import annotations

import bisect
import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from posture.landmarks import Landmark as L
from posture.landmarks import Pose
from posture.reading import Reading

__all__ = ["Agreement", "FrameLabel", "agreement", "learnopencv_is_good", "load_frame_labels"]


@dataclass(frozen=True)
class FrameLabel:
    t_s: float
    label: str  # "good", "bad" or "unknown"


def load_frame_labels(path: Path) -> list[FrameLabel]:
    """A per-frame label CSV with ``time_s`` and ``overlay_label`` (or ``label``) columns."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    key = "overlay_label" if rows and "overlay_label" in rows[0] else "label"
    return [FrameLabel(float(r["time_s"]), r[key].strip().lower()) for r in rows]


@dataclass(frozen=True)
class Agreement:
    matched: int  # labelled good/bad frames with a reading at the same time
    agree: int
    disagreements: tuple[tuple[float, str, str], ...]  # (t_s, label, verdict)

    @property
    def rate(self) -> float:
        return self.agree / self.matched if self.matched else 0.0


def agreement(
    readings: Sequence[Reading],
    labels: Sequence[FrameLabel],
    tolerance_s: float = 0.02,
    *,
    hold: bool = False,
) -> Agreement:
    """How often the verdict matches good/bad labels (poor counts as bad; away/uncertain as neither
    good nor bad, so they disagree with either label). Labels of ``unknown`` are skipped.

    ``hold=False`` scores only the labelled frames that were analysed; ``hold=True`` scores every
    labelled frame by the latest reading at or before it, as a sampled run presents them.
    """
    by_time = sorted(readings, key=lambda r: r.t_s)
    times = [r.t_s for r in by_time]

    matched = agree = 0
    misses: list[tuple[float, str, str]] = []
    for lab in labels:
        if lab.label not in ("good", "bad"):
            continue
        if hold:
            i = bisect.bisect_right(times, lab.t_s + tolerance_s) - 1
            if i < 0:
                continue
        else:
            i = bisect.bisect_left(times, lab.t_s - tolerance_s)
            if i >= len(times) or abs(times[i] - lab.t_s) > tolerance_s:
                continue
        matched += 1
        verdict = by_time[i].posture.value
        ok = (lab.label == "good" and verdict == "good") or (lab.label == "bad" and verdict == "poor")
        if ok:
            agree += 1
        else:
            misses.append((lab.t_s, lab.label, verdict))
    return Agreement(matched, agree, tuple(misses))


def _learnopencv_angle(x1: float, y1: float, x2: float, y2: float) -> float:
    # The tutorial's findAngle, with its int(180/pi) = 57 degrees-per-radian kept as it is.
    theta = math.acos((y2 - y1) * (-y1) / (math.sqrt((x2 - x1) ** 2 + (y2 - y1) ** 2) * y1))
    return int(180 / math.pi) * theta


def learnopencv_is_good(pose: Pose | None) -> bool | None:
    """The LearnOpenCV posture tutorial's rule: neck < 40° and torso < 10° on the left side."""
    if pose is None:
        return None
    sh, ear, hip = pose.point(L.LEFT_SHOULDER), pose.point(L.LEFT_EAR), pose.point(L.LEFT_HIP)
    try:
        neck = _learnopencv_angle(sh[0], sh[1], ear[0], ear[1])
        torso = _learnopencv_angle(hip[0], hip[1], sh[0], sh[1])
    except (ValueError, ZeroDivisionError):
        return None
    return neck < 40 and torso < 10
