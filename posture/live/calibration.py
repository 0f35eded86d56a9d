"""A calibration taken from a live source: ``posture calibrate``, and the monitor's own when the
tray (or ``{"cmd": "calibrate"}``) asks for one while it holds the camera.

The steps: a guided capture (:func:`posture.calibrate.run_calibration`), a short validation pass
(:func:`posture.profile.validate`), and the profile saved only when both passed. Failures are a
:class:`CalibrationFailed` with the one-line reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posture.baseline import Baseline
from posture.config import Config
from posture.errors import InputError
from posture.sources.media import Frame

if TYPE_CHECKING:
    from posture.calibrate import CalibrationReport
    from posture.pose.estimator import PoseEstimator
    from posture.sources.camera import LiveFrames

__all__ = ["CAPTURE_FPS", "VALIDATION_S", "CalibrationFailed", "Calibrated", "calibrate_live", "frames_for"]

CAPTURE_FPS = 15.0  # frames read a second during a capture
VALIDATION_S = 3.0  # the validation pass after the capture
_SLACK_S = 30.0  # extra source time the capture may take (a person who sits down late)


class CalibrationFailed(InputError):
    """The capture or its validation failed: nothing was saved (the message says why)."""


@dataclass(frozen=True)
class Calibrated:
    """A saved calibration."""

    baseline: Baseline
    path: Path
    message: str  # the validation's verdict in words


def frames_for(
    live: LiveFrames,
    seconds: float,
    *,
    sleep: Callable[[float], Any] = time.sleep,
    fps: float = CAPTURE_FPS,
    stopped: Callable[[], bool] = lambda: False,
) -> Iterator[Frame]:
    """Frames from an opened live source for ``seconds`` of its own time, about ``fps`` a second;
    none more once ``stopped()`` is true (the monitor is asked to stop mid-capture)."""
    first: float | None = None
    while not stopped():
        frame = live.read()
        if frame is None:
            if live.ended:
                return
            sleep(0.05)
            continue
        first = frame.t_s if first is None else first
        if frame.t_s - first > seconds:
            return
        yield frame
        sleep(1.0 / fps)


def calibrate_live(
    live: LiveFrames,
    estimator: PoseEstimator,
    config: Config,
    profile: Path,
    *,
    on_check: Callable[[CalibrationReport], None] | None = None,
    on_validating: Callable[[], None] | None = None,
    sleep: Callable[[float], Any] = time.sleep,
    stopped: Callable[[], bool] = lambda: False,
) -> Calibrated:
    """Capture, validate and save a baseline from ``live`` (opened) with ``estimator`` (opened).

    ``on_check`` receives the running :class:`posture.calibrate.CalibrationReport`,
    ``on_validating`` is called when the validation pass starts. Raises :class:`CalibrationFailed`.
    """
    from posture.calibrate import run_calibration
    from posture.metrics import measure
    from posture.profile import validate

    seconds = config.calibration.seconds
    baseline, report = run_calibration(
        frames_for(live, seconds + _SLACK_S, sleep=sleep, stopped=stopped),
        estimator,
        config.calibration,
        config.metrics,
        on_check=on_check,
    )
    if baseline is None:
        failed = "; ".join(c.message for c in report.failed) or "no usable frames"
        raise CalibrationFailed(f"calibration not saved: {failed}")
    if on_validating is not None:
        on_validating()
    raws = [
        measure(estimator.estimate(f), config.metrics)
        for f in islice(frames_for(live, VALIDATION_S, sleep=sleep, stopped=stopped), 0, None, 3)
    ]
    if stopped():
        raise CalibrationFailed("calibration not saved: stopped before it was checked")
    check = validate(baseline, raws, config.metrics)
    if not check.ok:  # only a profile that passed its check is ever saved
        raise CalibrationFailed(f"calibration not saved: {check.message}")
    baseline.save(profile)
    return Calibrated(baseline, profile, check.message)
