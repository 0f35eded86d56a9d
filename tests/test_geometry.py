"""Geometry on hand-built landmarks: signs, facing left vs right, missing hips, views."""

from __future__ import annotations

import math

import numpy as np
import pytest

from posture import geometry as geo
from posture.geometry import View
from posture.landmarks import Landmark as L
from posture.landmarks import Pose
from tests.builders import front_pose, side_pose


@pytest.mark.parametrize("facing", [1, -1])
@pytest.mark.parametrize(
    "trunk,neck", [(0.0, 10.0), (25.0, 40.0), (-30.0, 5.0), (70.0, 80.0), (-60.0, -20.0)]
)
def test_side_angles_recover_the_built_inclinations(facing: int, trunk: float, neck: float) -> None:
    a = geo.side_angles(side_pose(trunk_deg=trunk, neck_deg=neck, facing=facing), 0.5)
    assert a["trunk_inclination_deg"] == pytest.approx(trunk, abs=0.5)
    assert a["neck_inclination_deg"] == pytest.approx(neck, abs=0.5)
    assert a["neck_flexion_deg"] == pytest.approx(neck - trunk, abs=1.0)
    assert a["cva_deg"] == pytest.approx(90.0 - neck, abs=0.5)


@pytest.mark.parametrize("facing", [1, -1])
def test_head_pitch_is_positive_looking_down(facing: int) -> None:
    # An estimate from vertical distances (the nose's drop against the face's height): it rises
    # and falls with the pitch, in the same sense, though not degree for degree.
    level = geo.side_angles(side_pose(pitch_deg=0.0, facing=facing), 0.5)["head_pitch_deg"]
    down = geo.side_angles(side_pose(pitch_deg=30.0, facing=facing), 0.5)["head_pitch_deg"]
    up = geo.side_angles(side_pose(pitch_deg=-15.0, facing=facing), 0.5)["head_pitch_deg"]
    assert level == pytest.approx(0.0, abs=0.5)
    assert down > 25.0
    assert up < -10.0


def test_hidden_hips_give_no_trunk_angle_but_keep_the_neck() -> None:
    a = geo.side_angles(side_pose(trunk_deg=20.0, neck_deg=30.0, hips_visible=False), 0.5)
    assert a["trunk_inclination_deg"] is None
    assert a["neck_flexion_deg"] is None
    assert a["neck_inclination_deg"] == pytest.approx(30.0, abs=0.5)


def test_facing_direction_from_nose() -> None:
    assert geo.facing_sign(side_pose(facing=1)) == 1
    assert geo.facing_sign(side_pose(facing=-1)) == -1
    assert geo.facing_sign(front_pose()) == 0


def test_views() -> None:
    assert geo.classify_view(side_pose(), 0.5) is View.SIDE
    assert geo.classify_view(front_pose(), 0.5) is View.FRONT
    p = front_pose()
    world = p.world_m.copy()
    world[L.LEFT_SHOULDER] = [0.12, -0.5, 0.12]
    world[L.RIGHT_SHOULDER] = [-0.12, -0.5, -0.12]
    assert geo.classify_view(Pose(p.xy_px, p.visibility, world, p.image_size), 0.5) is View.OBLIQUE


def test_view_unknown_without_shoulders() -> None:
    p = side_pose()
    vis = p.visibility.copy()
    vis[[L.LEFT_SHOULDER, L.RIGHT_SHOULDER]] = 0.1
    assert geo.classify_view(Pose(p.xy_px, vis, p.world_m, p.image_size), 0.5) is View.UNKNOWN


def test_yaw_falls_back_to_the_image_without_world_landmarks() -> None:
    side = side_pose()
    front = front_pose()
    assert geo.shoulder_yaw_deg(Pose(side.xy_px, side.visibility, None, side.image_size)) > 60
    assert geo.shoulder_yaw_deg(Pose(front.xy_px, front.visibility, None, front.image_size)) < 30


@pytest.mark.parametrize("tilt", [-12.0, 0.0, 7.0])
def test_shoulder_tilt_sign_and_mirror(tilt: float) -> None:
    p = front_pose(tilt_deg=tilt)
    assert geo.front_angles(p, 0.5)["shoulder_tilt_deg"] == pytest.approx(tilt, abs=0.3)
    mirrored = p.xy_px.copy()
    mirrored[:, 0] = 640 - mirrored[:, 0]
    m = Pose(mirrored, p.visibility, p.world_m, p.image_size)
    # Anatomical sides: the same person in a mirrored image has the same tilt.
    assert geo.front_angles(m, 0.5)["shoulder_tilt_deg"] == pytest.approx(tilt, abs=0.3)


def test_trunk_side_lean_needs_hips() -> None:
    assert geo.front_angles(front_pose(), 0.5)["trunk_side_lean_deg"] is None
    assert geo.front_angles(front_pose(hips_visible=True), 0.5)["trunk_side_lean_deg"] == pytest.approx(
        0.0, abs=0.5
    )


def test_face_scale_and_head_height() -> None:
    assert geo.face_width_px(front_pose(face_width=70.0), 0.5) == pytest.approx(70.0)
    assert geo.head_height_ratio(front_pose(head_height=110.0, shoulder_width=200.0), 0.5) == pytest.approx(
        0.5
    )


def test_inclination_reference_axis() -> None:
    lower = np.array([0.0, 100.0])
    assert geo.inclination_deg(lower, np.array([0.0, 0.0]), 1) == pytest.approx(0.0)
    assert geo.inclination_deg(lower, np.array([100.0, 0.0]), 1) == pytest.approx(45.0)
    assert geo.inclination_deg(lower, np.array([100.0, 0.0]), -1) == pytest.approx(-45.0)
    assert geo.inclination_deg(lower, np.array([100.0, 100.0]), 1) == pytest.approx(90.0)
    assert math.isclose(geo.inclination_deg(lower, np.array([0.0, 200.0]), 1), 180.0)
