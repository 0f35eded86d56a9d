"""No silent mismatch: the set-up warnings on hand-built measurements (pure)."""

from __future__ import annotations

from posture import setup_check
from posture.baseline import Baseline, baseline_from_measurements
from posture.config import MetricsConfig
from posture.geometry import View
from posture.metrics import RawMeasurement, measure
from tests.builders import front_pose, side_pose

CFG = MetricsConfig()


def test_calibration_window_longer_than_the_clip() -> None:
    line = setup_check.calibration_window_warning(30.0, 6.5)
    assert line is not None and "longer than the clip (6.5 s)" in line and "\n" not in line
    assert setup_check.calibration_window_warning(5.0, 6.5) is None


def test_front_profile_on_a_side_video_is_named() -> None:
    front = baseline_from_measurements([measure(front_pose(), CFG)])
    side = [measure(side_pose(), CFG)] * 10
    line = setup_check.view_mismatch_warning(front, side)
    assert line is not None and "front view" in line and "side view" in line
    assert setup_check.view_mismatch_warning(front, [measure(front_pose(), CFG)] * 10) is None


def test_a_baseline_that_looks_poor_or_implausible() -> None:
    hunched = baseline_from_measurements([measure(side_pose(trunk_deg=35.0, neck_deg=40.0), CFG)])
    [line] = setup_check.baseline_warnings(hunched, CFG)
    assert "looks poor" in line
    upright = baseline_from_measurements([measure(side_pose(trunk_deg=-5.0, neck_deg=8.0), CFG)])
    assert setup_check.baseline_warnings(upright, CFG) == []
    odd = Baseline(view=View.SIDE, values={"neck_inclination_deg": 120.0}, frames=1)
    [line] = setup_check.baseline_warnings(odd, CFG)
    assert "implausible" in line


def test_only_a_face_in_most_frames() -> None:
    face = RawMeasurement(True, View.FRONT, {}, problem="only the face in the picture")
    body = measure(front_pose(), CFG)
    assert setup_check.only_face_warning([face] * 7 + [body] * 3) is not None
    assert setup_check.only_face_warning([face] * 3 + [body] * 7) is None


def test_front_view_without_baseline_asks_for_a_calibration() -> None:
    line = setup_check.front_without_baseline_warning([measure(front_pose(), CFG)] * 5)
    assert line is not None and "calibrate" in line
    assert setup_check.front_without_baseline_warning([measure(side_pose(), CFG)] * 5) is None
