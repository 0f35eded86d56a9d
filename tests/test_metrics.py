"""Findings, verdicts and baselines on hand-built poses."""

from __future__ import annotations

import json

import pytest

from posture.baseline import Baseline, baseline_from_measurements
from posture.config import Band, MetricsConfig
from posture.errors import BaselineError
from posture.findings import FINDING_CODES
from posture.geometry import View
from posture.metric_registry import METRIC_NAMES
from posture.metrics import assess, measure
from posture.reading import Reference, Verdict
from tests.builders import front_pose, side_pose

CFG = MetricsConfig()


def _assess(pose, baseline=None):
    return assess(measure(pose, CFG), CFG, baseline)


def test_band_severity() -> None:
    band = Band(5.0, 15.0)
    assert band.severity(None) == 0.0
    assert band.severity(3.0) == 0.0
    assert band.severity(10.0) == pytest.approx(0.5)
    assert band.severity(15.0) == pytest.approx(1.0)
    assert band.severity(25.0) == pytest.approx(2.0)


def test_nobody_is_away_with_every_field_present() -> None:
    a = assess(measure(None, CFG), CFG)
    assert a.posture is Verdict.AWAY
    assert set(a.metrics) == set(METRIC_NAMES)
    assert set(a.findings) == set(FINDING_CODES)
    assert all(v is None for v in a.metrics.values())


def test_upright_side_view_is_good() -> None:
    a = _assess(side_pose(trunk_deg=-8.0, neck_deg=8.0, pitch_deg=10.0))
    assert a.posture is Verdict.GOOD
    assert all(sev < 1.0 for sev in a.findings.values())


@pytest.mark.parametrize("facing", [1, -1])
def test_hunched_back_from_trunk_inclination(facing: int) -> None:
    a = _assess(side_pose(trunk_deg=25.0, neck_deg=30.0, pitch_deg=10.0, facing=facing))
    assert a.findings["hunched_back"] >= 1.0
    assert a.posture is Verdict.POOR


def test_forward_head_from_the_neck_lean_and_head_forward_adds_the_pitch() -> None:
    neutral = _assess(side_pose(trunk_deg=-5.0, neck_deg=10.0, pitch_deg=10.0))
    forward = _assess(side_pose(trunk_deg=-5.0, neck_deg=33.0, pitch_deg=10.0))
    assert neutral.findings["forward_head"] < 1.0
    assert forward.findings["forward_head"] >= 1.0
    m = forward.metrics
    assert m["head_forward_deg"] == pytest.approx(m["neck_inclination_deg"] + 0.5 * m["head_pitch_deg"])
    assert {"head_pitch_deg", "head_forward_deg"} <= forward.estimated


def test_looking_down_raises_the_head_pitch() -> None:
    level = _assess(side_pose(neck_deg=10.0, pitch_deg=5.0)).metrics["head_pitch_deg"]
    down = _assess(side_pose(neck_deg=10.0, pitch_deg=35.0)).metrics["head_pitch_deg"]
    assert down > level + 20.0


def _turned_toward_camera(pose, facing: int = 1):
    """The head of a side-view pose turned toward the camera: the nose, eyes and mouth move
    back over the ears in the image, at the same height (a turn about the vertical axis)."""
    from posture.landmarks import Landmark as L
    from posture.landmarks import Pose

    xy = pose.xy_px.copy()
    ear_x = (xy[L.LEFT_EAR][0] + xy[L.RIGHT_EAR][0]) / 2
    for lm in (L.NOSE, L.LEFT_EYE, L.RIGHT_EYE, L.MOUTH_LEFT, L.MOUTH_RIGHT):
        xy[lm][0] = ear_x + facing * 0.15 * (xy[lm][0] - ear_x) * facing
    return Pose(xy, pose.visibility, pose.world_m, pose.image_size)


@pytest.mark.parametrize("facing", [1, -1])
def test_head_turned_toward_the_camera_while_upright_is_not_poor(facing: int) -> None:
    upright = side_pose(trunk_deg=-6.0, neck_deg=8.0, pitch_deg=12.0, facing=facing)
    before = _assess(upright)
    turned = _assess(_turned_toward_camera(upright, facing))
    assert turned.posture is Verdict.GOOD
    assert turned.findings["forward_head"] < 1.0
    assert turned.metrics["head_pitch_deg"] == pytest.approx(before.metrics["head_pitch_deg"], abs=1.0)
    assert turned.metrics["neck_inclination_deg"] == pytest.approx(before.metrics["neck_inclination_deg"])


def test_hidden_hips_judge_the_head_only() -> None:
    a = _assess(side_pose(trunk_deg=40.0, neck_deg=10.0, pitch_deg=10.0, hips_visible=False))
    assert a.metrics["trunk_inclination_deg"] is None
    assert a.findings["hunched_back"] == 0.0
    assert a.posture is Verdict.GOOD


def test_slid_down_far_recline_is_slumped_whatever_the_head_does() -> None:
    supported = _assess(side_pose(trunk_deg=-18.0, neck_deg=0.0, pitch_deg=5.0))
    slid_upright_neck = _assess(side_pose(trunk_deg=-45.0, neck_deg=-5.0, pitch_deg=5.0))
    slid_head_forward = _assess(side_pose(trunk_deg=-40.0, neck_deg=15.0, pitch_deg=15.0))
    assert supported.posture is Verdict.GOOD
    assert slid_upright_neck.findings["slumped"] >= 1.0
    assert slid_upright_neck.posture is Verdict.POOR
    assert slid_head_forward.findings["slumped"] >= 1.0


def test_impossible_angles_are_uncertain_never_a_verdict() -> None:
    a = _assess(side_pose(trunk_deg=85.0, neck_deg=120.0, pitch_deg=80.0))
    assert a.posture is Verdict.UNCERTAIN
    assert all(sev == 0.0 for sev in a.findings.values())
    assert all(v is None or abs(v) < 1000 for v in a.metrics.values())


def test_lying_trunk_is_uncertain() -> None:
    assert _assess(side_pose(trunk_deg=-80.0, neck_deg=-70.0)).posture is Verdict.UNCERTAIN


def _moved(pose, dy: float, *lms):
    from posture.landmarks import Pose

    xy = pose.xy_px.copy()
    for lm in lms:
        xy[lm][1] += dy
    return Pose(xy, pose.visibility, pose.world_m, pose.image_size)


def test_head_out_of_the_picture_is_uncertain() -> None:
    from posture.landmarks import Landmark as L

    pose = side_pose(trunk_deg=-5.0, neck_deg=10.0)
    head = (L.NOSE, L.LEFT_EAR, L.RIGHT_EAR, L.LEFT_EYE, L.RIGHT_EYE, L.MOUTH_LEFT, L.MOUTH_RIGHT)
    out = _moved(pose, -400.0, *head)  # above the top edge, as MediaPipe extrapolates it
    raw = measure(out, CFG)
    assert raw.problem == "head out of the picture"
    assert assess(raw, CFG).posture is Verdict.UNCERTAIN


def test_head_not_seen_is_uncertain() -> None:
    from posture.landmarks import Landmark as L
    from posture.landmarks import Pose

    pose = side_pose(trunk_deg=-5.0)
    vis = pose.visibility.copy()
    vis[[L.LEFT_EAR, L.RIGHT_EAR]] = 0.1
    a = assess(measure(Pose(pose.xy_px, vis, pose.world_m, pose.image_size), CFG), CFG)
    assert a.posture is Verdict.UNCERTAIN


def test_standing_with_the_head_out_of_frame_gets_no_verdict() -> None:
    from posture.landmarks import Landmark as L

    standing = side_pose(trunk_deg=0.0, standing=True)
    head = (L.NOSE, L.LEFT_EAR, L.RIGHT_EAR, L.LEFT_EYE, L.RIGHT_EYE, L.MOUTH_LEFT, L.MOUTH_RIGHT)
    a = _assess(_moved(standing, -500.0, *head))
    assert a.posture in (Verdict.AWAY, Verdict.UNCERTAIN)


def test_front_trunk_lean_of_a_body_upside_down_is_uncertain() -> None:
    pose = front_pose(hips_visible=True)
    from posture.landmarks import Landmark as L
    from posture.landmarks import Pose

    xy = pose.xy_px.copy()
    xy[L.LEFT_HIP] = xy[L.LEFT_SHOULDER] + (0.0, -250.0)  # hips above the shoulders
    xy[L.RIGHT_HIP] = xy[L.RIGHT_SHOULDER] + (0.0, -250.0)
    base = baseline_from_measurements([measure(front_pose(), CFG)])
    a = assess(measure(Pose(xy, pose.visibility, pose.world_m, pose.image_size), CFG), CFG, base.values)
    assert a.posture is Verdict.UNCERTAIN


def test_front_view_without_baseline_judges_side_lean_only() -> None:
    straight = _assess(front_pose())
    leaning = _assess(front_pose(tilt_deg=14.0))
    assert straight.posture is Verdict.UNCERTAIN  # forward head is invisible without a baseline
    assert straight.metrics["face_scale_pct"] is None
    assert leaning.findings["side_lean"] >= 1.0


def test_front_view_with_baseline_flags_leaning_in_and_head_drop() -> None:
    base = baseline_from_measurements([measure(front_pose(), CFG)])
    closer = _assess(front_pose(face_width=90.0, shoulder_width=257.0, head_height=141.0), base.values)
    drop = _assess(front_pose(head_height=80.0), base.values)
    same = _assess(front_pose(), base.values)
    assert closer.metrics["face_scale_pct"] == pytest.approx(100 * (90 - 70) / 70, abs=0.5)
    assert closer.findings["leaning_in"] >= 1.0
    assert closer.findings["forward_head"] < 1.0  # scale-free: coming closer is not a head drop
    assert drop.metrics["head_drop_pct"] == pytest.approx(100 * (100 - 70) / 100, abs=0.5)
    assert drop.findings["forward_head"] >= 1.0
    assert same.posture is Verdict.GOOD
    assert "face_scale_pct" in same.estimated


@pytest.mark.parametrize("drop_pct", [12.0, 17.0])
def test_front_moderate_forward_head_with_baseline_is_poor(drop_pct: float) -> None:
    """The issue's second-worst level: a head drop of 12-17 % must be caught, not only extremes."""
    base = baseline_from_measurements([measure(front_pose(head_height=110.0), CFG)])
    nose_height = 100.0 * (1 - drop_pct / 100)
    a = _assess(front_pose(head_height=nose_height + 10.0), base.values)
    assert a.metrics["head_drop_pct"] == pytest.approx(drop_pct, abs=0.5)
    assert a.posture is Verdict.POOR


def test_only_a_face_in_the_picture_is_uncertain() -> None:
    base = baseline_from_measurements([measure(front_pose(), CFG)])
    raw = measure(front_pose(shoulder_width=60.0, face_width=70.0), CFG)
    assert raw.problem == "only the face in the picture"
    assert assess(raw, CFG, base.values).posture is Verdict.UNCERTAIN


def test_baseline_deviation_drives_side_findings() -> None:
    # A camera tilted so the good posture already reads a forward trunk of 12°.
    base = baseline_from_measurements([measure(side_pose(trunk_deg=20.0, neck_deg=20.0), CFG)])
    assert _assess(side_pose(trunk_deg=20.0, neck_deg=20.0)).findings["hunched_back"] >= 0.5
    assert _assess(side_pose(trunk_deg=20.0, neck_deg=20.0), base.values).findings["hunched_back"] == 0.0
    assert _assess(side_pose(trunk_deg=36.0, neck_deg=20.0), base.values).findings["hunched_back"] >= 1.0


def _turned(pose, yaw_deg: float):
    """A pose whose shoulder line is turned ``yaw_deg`` from the image plane (3-D landmarks)."""
    import math

    from posture.landmarks import Pose

    world = pose.world_m.copy()
    x, z = 0.15 * math.cos(math.radians(yaw_deg)), 0.15 * math.sin(math.radians(yaw_deg))
    world[11] = [x, -0.5, z]
    world[12] = [-x, -0.5, -z]
    return Pose(pose.xy_px, pose.visibility, world, pose.image_size)


def test_oblique_far_from_a_profile_without_baseline_is_uncertain() -> None:
    raw = measure(_turned(side_pose(), 38.0), CFG)
    assert raw.view is View.OBLIQUE
    assert assess(raw, CFG).posture is Verdict.UNCERTAIN


def test_oblique_near_a_profile_is_judged_with_corrected_angles() -> None:
    upright = measure(_turned(side_pose(trunk_deg=-6.0, neck_deg=10.0), 50.0), CFG)
    # 25° in the picture (under the 29° limit) at a 50° turn stands for atan(tan 25° / sin 50°)
    # = 31.3° of neck lean (over it).
    forward = measure(_turned(side_pose(trunk_deg=-6.0, neck_deg=25.0), 50.0), CFG)
    assert upright.view is View.OBLIQUE and forward.view is View.OBLIQUE
    assert assess(upright, CFG).posture is Verdict.GOOD
    a = assess(forward, CFG)
    assert a.posture is Verdict.POOR
    assert a.findings["forward_head"] >= 1.0
    assert "neck_inclination_deg" in a.estimated


def test_baseline_profile_round_trip(tmp_path) -> None:
    base = baseline_from_measurements([measure(side_pose(trunk_deg=-5.0), CFG)] * 3, source="test")
    path = tmp_path / "profile.json"
    base.save(path)
    loaded = Baseline.load(path)
    assert loaded.view == "side"
    assert loaded.frames == 3
    assert loaded.values["trunk_inclination_deg"] == pytest.approx(-5.0, abs=0.01)


def test_baseline_save_that_fails_leaves_nothing_behind(tmp_path) -> None:
    base = baseline_from_measurements([measure(side_pose(trunk_deg=-5.0), CFG)] * 3, source="test")
    taken = tmp_path / "profile.json"
    taken.mkdir()  # a folder where the profile should go: the final rename fails
    with pytest.raises(BaselineError, match="cannot save the profile"):
        base.save(taken)
    assert [p.name for p in tmp_path.iterdir()] == ["profile.json"] and taken.is_dir()
    base.save(tmp_path / "new" / "profile.json")  # a missing folder is made
    assert Baseline.load(tmp_path / "new" / "profile.json").frames == 3


def test_baseline_rejects_bad_profiles(tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(BaselineError):
        Baseline.load(bad)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"kind": "something-else"}))
    with pytest.raises(BaselineError):
        Baseline.load(other)
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"kind": "posture-baseline", "version": 99, "values": {}}))
    with pytest.raises(BaselineError, match="version"):
        Baseline.load(old)


def test_baseline_needs_a_person() -> None:
    with pytest.raises(BaselineError):
        baseline_from_measurements([measure(None, CFG)])


def test_standing_up_counts_as_away_not_as_poor_posture() -> None:
    seated = _assess(side_pose(trunk_deg=-5.0, neck_deg=8.0))
    standing = _assess(side_pose(trunk_deg=25.0, neck_deg=40.0, standing=True))
    assert seated.posture is Verdict.GOOD
    assert standing.posture is Verdict.AWAY
    assert all(v == 0.0 for v in standing.findings.values())


def test_oblique_view_far_from_a_profile_never_uses_the_absolute_bands() -> None:
    """A front-view baseline has no side angles: an oblique frame far from a profile must not be
    judged on absolute side-view bands (its angles are foreshortened beyond correction), nor on
    the front ratios of a baseline taken square to the camera: uncertain."""
    base = baseline_from_measurements([measure(front_pose(), CFG)])
    raw = measure(_turned(side_pose(trunk_deg=30.0, neck_deg=40.0), 38.0), CFG)
    assert raw.view is View.OBLIQUE
    a = assess(raw, CFG, base.values)
    assert a.findings["hunched_back"] == 0.0 and a.findings["forward_head"] < 1.0
    assert a.posture is Verdict.UNCERTAIN


def test_a_baseline_without_side_values_leaves_the_absolute_limits_in_force() -> None:
    """A front profile applied to a side view (or one taken with the hips hidden) must not turn a
    hunched pose good: where the baseline has no value, the absolute limit applies."""
    front = baseline_from_measurements([measure(front_pose(), CFG)]).values
    hunched = measure(side_pose(trunk_deg=35.0, neck_deg=45.0), CFG)
    assert assess(hunched, CFG, front).posture is Verdict.POOR
    no_hips = baseline_from_measurements([measure(side_pose(hips_visible=False), CFG)]).values
    slid = measure(side_pose(trunk_deg=-45.0, neck_deg=-5.0), CFG)
    assert assess(slid, CFG, no_hips).findings["slumped"] >= 1.0


def test_a_non_finite_landmark_never_reaches_a_verdict() -> None:
    import numpy as np

    from posture.landmarks import Landmark as L
    from posture.landmarks import Pose

    p = side_pose(trunk_deg=40.0, neck_deg=20.0)
    xy = p.xy_px.copy()
    xy[L.LEFT_HIP] = np.nan
    raw = measure(Pose(xy, p.visibility, p.world_m, p.image_size), CFG)
    assert all(v is None or np.isfinite(v) for v in raw.values.values())


def test_malformed_profile_is_a_baseline_error(tmp_path) -> None:
    bad = tmp_path / "p.json"
    bad.write_text(json.dumps({"kind": "posture-baseline", "version": 1, "values": {}, "frames": "many"}))
    with pytest.raises(BaselineError, match="frames"):
        Baseline.load(bad)


# -- slumped or supported, and why ---------------------------------------------------------------


def test_a_lesser_recline_with_the_head_forward_is_slumped_with_both_reasons() -> None:
    """Sacral sitting: the trunk reclined about 20° as measured, the head not resting back but
    still forward of upright. Both conditions are the reasons, each against everyone's limit."""
    a = _assess(side_pose(trunk_deg=-22.0, neck_deg=8.0, pitch_deg=0.0))
    assert a.posture is Verdict.POOR
    assert a.findings["slumped"] >= 1.0
    reasons = [r for r in a.reasons if r.finding == "slumped"]
    assert {r.metric for r in reasons} == {"trunk_inclination_deg", "neck_inclination_deg"}
    assert all(r.reference is Reference.EVERYONE for r in reasons)
    trunk = next(r for r in reasons if r.metric == "trunk_inclination_deg")
    assert not trunk.above and trunk.limit == pytest.approx(-CFG.rules.slumped_pulled_recline_deg.limit)
    assert trunk.value == pytest.approx(-22.0, abs=0.5)


def test_a_supported_recline_with_the_head_resting_back_is_good() -> None:
    a = _assess(side_pose(trunk_deg=-30.0, neck_deg=-4.0, pitch_deg=2.0))
    assert a.posture is Verdict.GOOD
    assert a.findings["slumped"] < 1.0


def test_a_recline_with_the_head_thrown_back_is_slumped() -> None:
    a = _assess(side_pose(trunk_deg=-30.0, neck_deg=-35.0, pitch_deg=-30.0))
    assert a.posture is Verdict.POOR
    head = [r for r in a.reasons if r.finding == "slumped" and r.metric == "neck_inclination_deg"]
    assert head and not head[0].above  # poor from the limit downwards: the neck extended


def test_hunched_onto_the_desk_with_the_head_below_the_shoulders_is_poor_on_the_trunk_alone() -> None:
    """The head below the shoulders makes the neck's angle meaningless, but a trunk bent far
    forward is still a real posture, judged on the trunk."""
    a = _assess(side_pose(trunk_deg=50.0, neck_deg=100.0, pitch_deg=60.0))
    assert a.posture is Verdict.POOR
    assert [r.metric for r in a.reasons] == ["trunk_inclination_deg"]
    barely = _assess(side_pose(trunk_deg=15.0, neck_deg=100.0, pitch_deg=60.0))
    assert barely.posture is Verdict.UNCERTAIN


def test_reasons_name_the_metric_the_limit_and_the_reference() -> None:
    a = _assess(side_pose(trunk_deg=0.0, neck_deg=35.0, pitch_deg=10.0))
    [reason] = a.reasons
    assert (reason.finding, reason.metric, reason.reference) == (
        "forward_head",
        "neck_inclination_deg",
        Reference.EVERYONE,
    )
    assert reason.limit == CFG.rules.forward_head_deg.limit and reason.above and reason.reached
    assert reason.severity == pytest.approx(a.findings["forward_head"])
    assert "(everyone's limit)" in reason.describe() and ">=" in reason.describe()
    good = _assess(side_pose(trunk_deg=-5.0, neck_deg=5.0, pitch_deg=0.0))
    assert good.posture is Verdict.GOOD and all(r.severity < 1.0 for r in good.reasons)


def test_a_calibration_reason_gives_its_limit_in_the_metric_s_own_units() -> None:
    base = baseline_from_measurements([measure(side_pose(trunk_deg=-5.0, neck_deg=10.0, pitch_deg=5.0), CFG)])
    a = _assess(side_pose(trunk_deg=-5.0, neck_deg=30.0, pitch_deg=20.0), base.values)
    head = [r for r in a.reasons if r.finding == "forward_head"]
    assert head and all(r.reference is Reference.CALIBRATION for r in head)
    ref = base.values["head_forward_deg"]
    assert head[0].limit == pytest.approx(ref + CFG.rules.forward_head_delta_deg.limit)


def test_the_habit_never_makes_poor_a_posture_inside_the_upright_band() -> None:
    """Against a habit learnt at a very upright neck, a neck of 14° (still inside the band of
    clearly upright sitting) is not poor; a neck of 24°, outside it, is, with the habit named."""
    habit = {
        "neck_inclination_deg": 0.0,
        "trunk_inclination_deg": -5.0,
        "neck_flexion_deg": 5.0,
        "head_forward_deg": 0.0,
    }
    inside = assess(
        measure(side_pose(trunk_deg=-5.0, neck_deg=14.0, pitch_deg=10.0), CFG), CFG, habitual=habit
    )
    outside = assess(
        measure(side_pose(trunk_deg=-5.0, neck_deg=24.0, pitch_deg=20.0), CFG), CFG, habitual=habit
    )
    assert inside.posture is Verdict.GOOD
    assert outside.posture is Verdict.POOR
    assert any(r.reference is Reference.HABIT and r.reached for r in outside.reasons)


def test_front_moderate_head_drop_counts_when_the_neck_comes_forward_in_depth() -> None:
    """A drop below the head-drop limit is poor only together with the neck coming forward
    toward the camera (MediaPipe's depth, against the baseline's)."""
    base = baseline_from_measurements([measure(front_pose(head_height=110.0), CFG)])
    moderate = 100.0 * (1 - 0.06)  # a 6 % drop: under the 12 % limit, over the moderate one
    still = _assess(front_pose(head_height=moderate + 10.0), base.values)
    forward = _assess(front_pose(head_height=moderate + 10.0, head_forward_m=0.08), base.values)
    assert still.posture is Verdict.GOOD
    assert forward.posture is Verdict.POOR
    assert {r.metric for r in forward.reasons if r.finding == "forward_head"} == {
        "head_drop_pct",
        "neck_forward_3d_delta_deg",
    }
