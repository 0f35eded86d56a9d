"""Findings, verdicts and baselines on hand-built poses."""

from __future__ import annotations

import json

import pytest

from posture.baseline import Baseline, baseline_from_measurements
from posture.config import Band, MetricsConfig
from posture.errors import BaselineError
from posture.geometry import View
from posture.metrics import assess, measure
from posture.reading import FINDING_CODES, METRIC_NAMES, Verdict
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


def test_forward_head_combines_neck_lean_and_head_pitch() -> None:
    neutral = _assess(side_pose(trunk_deg=-5.0, neck_deg=10.0, pitch_deg=10.0))
    looking_down = _assess(side_pose(trunk_deg=-5.0, neck_deg=16.0, pitch_deg=25.0))
    assert neutral.findings["forward_head"] < 1.0
    assert looking_down.metrics["head_forward_deg"] == pytest.approx(31.0, abs=0.5)
    assert looking_down.findings["forward_head"] >= 1.0


def test_hidden_hips_judge_the_head_only() -> None:
    a = _assess(side_pose(trunk_deg=40.0, neck_deg=10.0, pitch_deg=10.0, hips_visible=False))
    assert a.metrics["trunk_inclination_deg"] is None
    assert a.findings["hunched_back"] == 0.0
    assert a.posture is Verdict.GOOD


def test_slumped_needs_recline_and_head_pulled_forward() -> None:
    reclined_upright_head = _assess(side_pose(trunk_deg=-30.0, neck_deg=-5.0, pitch_deg=5.0))
    slumped = _assess(side_pose(trunk_deg=-30.0, neck_deg=20.0, pitch_deg=15.0))
    assert reclined_upright_head.findings["slumped"] < 1.0
    assert slumped.findings["slumped"] >= 1.0


def test_extreme_angles_stay_finite() -> None:
    a = _assess(side_pose(trunk_deg=85.0, neck_deg=120.0, pitch_deg=80.0))
    assert a.posture is Verdict.POOR
    assert all(v is None or abs(v) < 1000 for v in a.metrics.values())


def test_front_view_without_baseline_judges_side_lean_only() -> None:
    straight = _assess(front_pose())
    leaning = _assess(front_pose(tilt_deg=14.0))
    assert straight.posture is Verdict.GOOD
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
    assert drop.metrics["head_drop_pct"] == pytest.approx(100 * (110 - 80) / 110, abs=0.5)
    assert drop.findings["forward_head"] >= 1.0
    assert same.posture is Verdict.GOOD
    assert "face_scale_pct" in same.estimated


def test_baseline_deviation_drives_side_findings() -> None:
    # A camera tilted so the good posture already reads a forward trunk of 12°.
    base = baseline_from_measurements([measure(side_pose(trunk_deg=12.0, neck_deg=20.0), CFG)])
    assert _assess(side_pose(trunk_deg=12.0, neck_deg=20.0)).findings["hunched_back"] >= 0.5
    assert _assess(side_pose(trunk_deg=12.0, neck_deg=20.0), base.values).findings["hunched_back"] == 0.0
    assert _assess(side_pose(trunk_deg=28.0, neck_deg=20.0), base.values).findings["hunched_back"] >= 1.0


def test_oblique_without_baseline_is_uncertain() -> None:
    p = side_pose()
    world = p.world_m.copy()
    world[11] = [0.12, -0.5, 0.12]
    world[12] = [-0.12, -0.5, -0.12]
    from posture.landmarks import Pose

    raw = measure(Pose(p.xy_px, p.visibility, world, p.image_size), CFG)
    assert raw.view is View.OBLIQUE
    assert assess(raw, CFG).posture is Verdict.UNCERTAIN


def test_baseline_profile_round_trip(tmp_path) -> None:
    base = baseline_from_measurements([measure(side_pose(trunk_deg=-5.0), CFG)] * 3, source="test")
    path = tmp_path / "profile.json"
    base.save(path)
    loaded = Baseline.load(path)
    assert loaded.view == "side"
    assert loaded.frames == 3
    assert loaded.values["trunk_inclination_deg"] == pytest.approx(-5.0, abs=0.01)


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


def test_oblique_view_never_uses_the_absolute_bands() -> None:
    """A front-view baseline has no side angles: an oblique frame must not be judged on absolute
    side-view bands (its angles are foreshortened)."""
    from posture.landmarks import Pose

    base = baseline_from_measurements([measure(front_pose(), CFG)])
    p = side_pose(trunk_deg=30.0, neck_deg=40.0)
    world = p.world_m.copy()
    world[11] = [0.12, -0.5, 0.12]
    world[12] = [-0.12, -0.5, -0.12]
    raw = measure(Pose(p.xy_px, p.visibility, world, p.image_size), CFG)
    assert raw.view is View.OBLIQUE
    a = assess(raw, CFG, base.values)
    assert a.findings["hunched_back"] == 0.0 and a.findings["forward_head"] < 1.0


def test_malformed_profile_is_a_baseline_error(tmp_path) -> None:
    bad = tmp_path / "p.json"
    bad.write_text(json.dumps({"kind": "posture-baseline", "version": 1, "values": {}, "frames": "many"}))
    with pytest.raises(BaselineError, match="frames"):
        Baseline.load(bad)
