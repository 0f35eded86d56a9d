"""Calibration (posture.calibrate) and the profile checks (posture.profile): the live checks, validation
and profile fit with hand-built poses; one real run."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from posture.baseline import Baseline, baseline_from_measurements
from posture.calibrate import CalibrationCheck, CalibrationReport, brightness, run_calibration
from posture.config import CalibrationConfig, Config
from posture.errors import ConfigError
from posture.geometry import View
from posture.landmarks import Landmark as L
from posture.landmarks import Pose
from posture.metrics import RawMeasurement, measure
from posture.paths import CONFIG_DIR_ENV, profile_path
from posture.profile import profile_fit, validate
from posture.sources.media import Frame, VideoFileSource
from tests.builders import front_pose, side_pose
from tests.fakes import ScriptedEstimator

CONFIG = Config()
LIGHT = 120.0  # a well-lit frame's mean grey level


def _raw(pose: Pose | None) -> RawMeasurement:
    return measure(pose, CONFIG.metrics)


def _check(poses, level: float = LIGHT, cal: CalibrationConfig | None = None) -> CalibrationReport:
    check = CalibrationCheck(cal)
    for pose in poses:
        check.add(level, _raw(pose), pose)
    return check.report()


def _hidden(pose: Pose, *landmarks: L) -> Pose:
    vis = pose.visibility.copy()
    vis[list(landmarks)] = 0.1
    return Pose(pose.xy_px, vis, pose.world_m, pose.image_size)


def _oblique(pose: Pose) -> Pose:
    """The same image points with the shoulder line turned 45° away from the camera."""
    world = pose.world_m.copy()
    world[L.LEFT_SHOULDER] = [0.13, -0.5, 0.13]
    world[L.RIGHT_SHOULDER] = [-0.13, -0.5, -0.13]
    return Pose(pose.xy_px, pose.visibility, world, pose.image_size)


def _rolled(pose: Pose, angle_deg: float, about: tuple[float, float] = (320.0, 400.0)) -> Pose:
    """The pose as a camera rolled by ``angle_deg`` sees it (rotation of the image points)."""
    a = math.radians(angle_deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    centre = np.array(about)
    matrix = np.hstack([rot, (centre - rot @ centre)[:, None]])
    return pose.transformed(matrix, pose.image_size)


def _steady_side(n: int = 40, jitter_deg: float = 0.5) -> list[Pose]:
    return [
        side_pose(trunk_deg=-2.0 + jitter_deg * math.sin(i), neck_deg=10.0 + jitter_deg * math.cos(i))
        for i in range(n)
    ]


def _steady_front(n: int = 40, **kw: float) -> list[Pose]:
    return [front_pose(tilt_deg=0.3 * math.sin(i), **kw) for i in range(n)]


# --- the live checks -----------------------------------------------------------------------------


def test_good_steady_capture_passes_every_check_and_gives_a_baseline() -> None:
    check = CalibrationCheck()
    for pose in _steady_side():
        check.add(LIGHT, _raw(pose), pose)
    report = check.report()
    assert report.ok, report.failed
    assert [c.name for c in report.checks] == ["person", "shoulders_and_ears", "steady", "lighting", "view"]
    assert all(c.ok for c in report.checks)
    assert report.frames == 40
    baseline = baseline_from_measurements(check.usable)
    assert baseline.view == "side"
    assert baseline.values["trunk_inclination_deg"] == pytest.approx(-2.0, abs=0.5)
    assert baseline.values["neck_inclination_deg"] == pytest.approx(10.0, abs=0.5)


def test_no_frames_yet_is_not_ok() -> None:
    report = CalibrationCheck().report()
    assert not report.ok
    assert report.check("person").message.startswith("No picture yet")


def test_nobody_fails_the_person_check() -> None:
    report = _check([None] * 40)
    assert not report.ok
    person = report.check("person")
    assert not person.ok
    assert "Nobody in the picture" in person.message
    assert not report.check("shoulders_and_ears").ok


def test_a_person_missing_for_part_of_the_capture_fails() -> None:
    poses = _steady_side(30) + [None] * 10  # 75 % < 80 %
    person = _check(poses).check("person")
    assert not person.ok
    assert "out of the picture for part" in person.message


def test_standing_is_not_calibrated() -> None:
    poses = [side_pose(standing=True)] * 40
    assert _raw(poses[0]).standing
    person = _check(poses).check("person")
    assert not person.ok
    assert "standing" in person.message


def test_hidden_shoulders_fail_with_a_placement_hint() -> None:
    poses = [_hidden(p, L.LEFT_SHOULDER, L.RIGHT_SHOULDER) for p in _steady_front()]
    report = _check(poses)
    check = report.check("shoulders_and_ears")
    assert not check.ok
    assert check.message == "Your shoulders are out of the picture: move the camera back or lower it"
    assert report.check("person").ok  # somebody is there, just badly framed


def test_hidden_head_and_hidden_ears_get_their_own_messages() -> None:
    head = [_hidden(p, L.LEFT_EAR, L.RIGHT_EAR, L.NOSE) for p in _steady_front()]
    assert "head is out of the picture" in _check(head).check("shoulders_and_ears").message
    ears = [_hidden(p, L.LEFT_EAR, L.RIGHT_EAR) for p in _steady_front()]
    assert "ears are hidden" in _check(ears).check("shoulders_and_ears").message


def test_profile_needs_only_the_near_shoulder_and_ear() -> None:
    poses = [_hidden(p, L.RIGHT_EAR) for p in _steady_side()]
    assert _check(poses).check("shoulders_and_ears").ok


def test_jittery_angles_fail_the_steadiness_check() -> None:
    poses = [side_pose(trunk_deg=-2.0, neck_deg=10.0 + (6.0 if i % 2 else -6.0)) for i in range(40)]
    report = _check(poses)
    steady = report.check("steady")
    assert not steady.ok
    assert steady.message.startswith("Hold still for a few seconds")
    assert "your head" in steady.message
    assert not report.ok


def test_front_view_moving_toward_the_camera_is_not_steady() -> None:
    poses = [front_pose(face_width=70.0 * (1.0 + (0.1 if i % 2 else -0.1))) for i in range(40)]
    steady = _check(poses).check("steady")
    assert not steady.ok
    assert "toward or away from the camera" in steady.message


def test_steadiness_needs_a_few_frames() -> None:
    steady = _check(_steady_side(3)).check("steady")
    assert not steady.ok
    assert steady.message == "Hold still for a few seconds"


def test_too_dark_and_too_bright() -> None:
    dark = _check(_steady_side(), level=20.0).check("lighting")
    assert not dark.ok
    assert dark.message == "Too dark: turn on a light in front of you"
    bright = _check(_steady_side(), level=240.0).check("lighting")
    assert not bright.ok
    assert bright.message.startswith("Too bright")
    assert _check(_steady_side(), level=LIGHT).check("lighting").ok


def test_view_messages_for_side_front_and_oblique() -> None:
    side = _check(_steady_side()).check("view")
    assert side.ok
    assert side.message == (
        "The camera sees you from the side: neck and upper-back angles are measured in degrees"
    )
    front = _check(_steady_front()).check("view")
    assert front.ok
    assert front.message.startswith("The camera sees you from the front: leaning in, head drop")
    assert "put the camera to your side" in front.message
    oblique_poses = [_oblique(p) for p in _steady_front()]
    assert _raw(oblique_poses[0]).view is View.OBLIQUE
    oblique = _check(oblique_poses).check("view")
    assert "at an angle" in oblique.message
    assert "true side view" in oblique.message
    assert "face it squarely" in oblique.message


def test_side_view_without_hips_says_the_upper_back_is_not_measured() -> None:
    poses = [side_pose(neck_deg=10.0 + 0.3 * math.sin(i), hips_visible=False) for i in range(40)]
    view = _check(poses).check("view")
    assert view.ok
    assert "hips are out of the picture" in view.message


def test_turning_during_the_capture_fails_the_view_check() -> None:
    view = _check(_steady_side(20) + _steady_front(20)).check("view")
    assert not view.ok
    assert "keep facing the same way" in view.message


def test_brightness_is_the_mean_grey_level() -> None:
    assert brightness(np.full((480, 640, 3), 100, np.uint8)) == pytest.approx(100.0)
    blue = np.zeros((480, 640, 3), np.uint8)
    blue[..., 0] = 255  # BGR: pure blue is dark in grey
    assert brightness(blue) == pytest.approx(0.114 * 255, abs=0.5)
    assert brightness(np.full((100, 100), 30, np.uint8)) == pytest.approx(30.0)
    half = np.zeros((480, 640, 3), np.uint8)
    half[:, 320:] = 200
    assert brightness(half) == pytest.approx(100.0, abs=2.0)
    assert brightness(np.empty((0, 0, 3), np.uint8)) == 0.0


def test_calibration_config_is_validated() -> None:
    with pytest.raises(ConfigError):
        CalibrationConfig(seconds=0)
    with pytest.raises(ConfigError):
        CalibrationConfig(min_brightness=200.0, max_brightness=100.0)
    with pytest.raises(ConfigError):
        CalibrationConfig(min_frames_with_person=1.5)


# --- validation right after calibration ----------------------------------------------------------


def test_validate_accepts_the_calibrated_posture() -> None:
    raws = [_raw(p) for p in _steady_front()]
    baseline = baseline_from_measurements(raws)
    result = validate(baseline, raws, CONFIG.metrics)
    assert result.ok, result.message
    assert result.good_share == 1.0
    assert result.frames == 40
    assert max(result.severities.values()) <= 0.5


def test_validate_rejects_a_different_posture() -> None:
    baseline = baseline_from_measurements([_raw(p) for p in _steady_front()])
    dropped = [_raw(p) for p in _steady_front(head_height=60.0)]  # head sunk 45 %
    result = validate(baseline, dropped, CONFIG.metrics)
    assert not result.ok
    assert result.severities["forward_head"] > 0.5
    assert "sit as you did during calibration" in result.message
    assert "head forward" in result.message


def test_validate_rejects_an_empty_or_absent_check() -> None:
    baseline = baseline_from_measurements([_raw(p) for p in _steady_front()])
    assert not validate(baseline, [], CONFIG.metrics).ok
    away = validate(baseline, [RawMeasurement.nobody()] * 20, CONFIG.metrics)
    assert not away.ok
    assert "out of the picture" in away.message


# --- does a saved profile still fit? -------------------------------------------------------------


def _front_baseline() -> Baseline:
    return baseline_from_measurements([_raw(p) for p in _steady_front()])


def _side_baseline() -> Baseline:
    return baseline_from_measurements([_raw(p) for p in _steady_side()])


def test_profile_fit_detects_a_camera_moved_closer_in_front_view() -> None:
    # Everything twice as big: the face width doubles, the scale-free head height does not.
    closer = _steady_front(50, shoulder_width=400.0, head_height=220.0, face_width=140.0)
    fit = profile_fit(_front_baseline(), [_raw(p) for p in closer])
    assert not fit.fits
    assert fit.reason == "face_width"
    assert "2.0 times" in fit.message
    assert fit.message.endswith(
        "the camera or your seat seems to have moved since calibration: run posture calibrate again"
    )


def test_profile_fit_detects_a_rolled_side_camera() -> None:
    rolled = [_rolled(p, 30.0) for p in _steady_side(50)]
    raws = [_raw(p) for p in rolled]
    assert raws[0].values["trunk_inclination_deg"] == pytest.approx(28.0, abs=1.0)
    fit = profile_fit(_side_baseline(), raws)
    assert not fit.fits
    assert fit.reason == "trunk"
    assert "run posture calibrate again" in fit.message


def test_profile_fit_detects_another_view() -> None:
    fit = profile_fit(_side_baseline(), [_raw(p) for p in _steady_front(50)])
    assert not fit.fits
    assert fit.reason == "view"
    assert "from the front now, from the side at calibration" in fit.message


def test_profile_fit_accepts_small_changes() -> None:
    nearer = _steady_front(50, face_width=77.0)  # 10 % bigger: leaning in a little
    assert profile_fit(_front_baseline(), [_raw(p) for p in nearer]).fits
    bent = [side_pose(trunk_deg=6.0, neck_deg=16.0) for _ in range(50)]  # 8° more forward
    assert profile_fit(_side_baseline(), [_raw(p) for p in bent]).fits


def test_profile_fit_needs_the_change_to_last_from_the_start() -> None:
    # Leaning right into the screen for a few seconds, then back: a posture, not a moved camera.
    lean = _steady_front(25, face_width=140.0) + _steady_front(25)
    assert profile_fit(_front_baseline(), [_raw(p) for p in lean]).fits


def test_profile_fit_gives_the_benefit_of_the_doubt_on_too_few_frames() -> None:
    closer = _steady_front(5, face_width=140.0)
    assert profile_fit(_front_baseline(), [_raw(p) for p in closer]).fits
    assert profile_fit(_front_baseline(), [RawMeasurement.nobody()] * 50).fits


# --- the capture loop ----------------------------------------------------------------------------


def _frames(seconds: float, fps: float = 30.0, level: int = 120, t0: float = 3.0):
    image = np.full((48, 64, 3), level, np.uint8)
    for i in range(round(seconds * fps)):
        yield Frame(image, i, t0 + i / fps)


def test_run_calibration_samples_checks_live_and_returns_a_baseline() -> None:
    est = ScriptedEstimator(lambda t: side_pose(trunk_deg=-2.0 + 0.3 * math.sin(t), neck_deg=10.0))
    reports: list[CalibrationReport] = []
    frames = _frames(12.0)  # 30 fps from t = 3 s; the capture takes 8 s of it
    baseline, report = run_calibration(
        frames, est, CONFIG.calibration, CONFIG.metrics, on_check=reports.append
    )
    assert report.ok
    assert baseline is not None
    assert baseline.view == "side"
    assert baseline.frames == 40
    assert baseline.values["neck_inclination_deg"] == pytest.approx(10.0, abs=0.1)
    assert len(est.calls) == 40  # 5 fps of 8 s
    assert est.calls[0] == 3.0
    assert est.calls[-1] < 11.0
    assert 6 <= len(reports) <= 8  # about once a second
    assert all(isinstance(r, CalibrationReport) for r in reports)
    # The frames after the capture are left for the caller (e.g. for the validation pass).
    assert next(frames).t_s == pytest.approx(11.0 + 1 / 30.0)


def test_run_calibration_without_a_person_returns_no_baseline() -> None:
    est = ScriptedEstimator(lambda t: None)
    baseline, report = run_calibration(
        _frames(9.0), est, CONFIG.replace("calibration", seconds=4.0).calibration, CONFIG.metrics
    )
    assert baseline is None
    assert not report.ok
    assert not report.check("person").ok
    assert len(est.calls) == 20


def test_run_calibration_in_the_dark_returns_no_baseline() -> None:
    est = ScriptedEstimator(lambda t: side_pose())
    baseline, report = run_calibration(_frames(9.0, level=10), est, CONFIG.calibration, CONFIG.metrics)
    assert baseline is None
    assert report.check("lighting").message == "Too dark: turn on a light in front of you"


def test_run_calibration_on_a_short_source_reports_what_it_saw() -> None:
    est = ScriptedEstimator(lambda t: side_pose())
    baseline, report = run_calibration(_frames(0.5), est, CONFIG.calibration, CONFIG.metrics)
    assert baseline is None
    assert report.frames == 3
    assert report.check("steady").message == "Hold still for a few seconds"


def test_profile_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path))
    assert profile_path() == tmp_path / "profile.json"
    monkeypatch.delenv(CONFIG_DIR_ENV)
    path = profile_path()
    assert path.name == "profile.json"
    assert "posture" in path.parts


@pytest.mark.mediapipe
def test_run_calibration_on_the_demo_clip_with_mediapipe() -> None:
    from posture.pose.estimator import open_estimator
    from posture.sources import demo

    estimator = open_estimator(None, video=True, sampled=True)
    with demo.clip_path() as clip, VideoFileSource(clip) as src, estimator as est:
        baseline, report = run_calibration(iter(src), est, CONFIG.calibration, CONFIG.metrics)
    assert report.ok, [c.message for c in report.failed]
    assert all(c.ok for c in report.checks)
    assert baseline is not None
    assert baseline.view == "side"  # a side-view time-lapse of real photos, upright at first
    assert baseline.frames >= 35
    assert -10.0 < baseline.values["trunk_inclination_deg"] < 5.0
    assert 5.0 < baseline.values["neck_inclination_deg"] < 20.0
