"""The one drawer: skeleton, angle markers, status bar and hint, drawn on synthetic frames."""

from __future__ import annotations

import numpy as np

from posture.detector import Episode
from posture.landmarks import Landmark as L
from posture.outputs import overlay as ov
from posture.outputs.annotate import overlay_states
from posture.reading import Verdict
from tests.builders import front_pose, has_colour, make_reading, side_pose

W, H = 640, 480
GREY = 90


def _frame() -> np.ndarray:
    return np.full((H, W, 3), GREY, np.uint8)


GOOD_SIDE = make_reading(neck_inclination_deg=10.0, trunk_inclination_deg=0.0)
POOR_SIDE = make_reading(
    posture=Verdict.POOR,
    findings={"forward_head": 1.6, "hunched_back": 0.2},
    neck_inclination_deg=35.0,
    trunk_inclination_deg=5.0,
)
AWAY = make_reading(posture=Verdict.AWAY)


def _changed(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    return np.any(before != after, axis=-1)


def _around(image: np.ndarray, point: np.ndarray, r: int = 6) -> np.ndarray:
    x, y = round(float(point[0])), round(float(point[1]))
    return image[max(0, y - r) : y + r + 1, max(0, x - r) : x + r + 1]


# --- drawing -------------------------------------------------------------------------------------


def test_skeleton_is_drawn_on_the_visible_upper_body_only() -> None:
    pose = side_pose(hips_visible=False)
    image = _frame()
    ov.draw_skeleton(image, pose)
    shoulder = pose.point(L.LEFT_SHOULDER)
    assert has_colour(_around(image, shoulder), ov.SKELETON_BGR)
    hip = pose.point(L.LEFT_HIP)
    # The hidden hips get no joint and no shoulder-hip bone near them.
    assert not _changed(_frame(), image)[
        int(hip[1]) - 5 : int(hip[1]) + 6, int(hip[0]) - 5 : int(hip[0]) + 6
    ].any()


def test_side_angles_draw_neck_and_trunk_lines_coloured_by_their_findings() -> None:
    pose = side_pose(trunk_deg=5.0, neck_deg=35.0)
    image = _frame()
    ov.draw_angles(image, pose, POOR_SIDE)
    shoulders = (pose.point(L.LEFT_SHOULDER) + pose.point(L.RIGHT_SHOULDER)) / 2
    ears = (pose.point(L.LEFT_EAR) + pose.point(L.RIGHT_EAR)) / 2
    hips = (pose.point(L.LEFT_HIP) + pose.point(L.RIGHT_HIP)) / 2
    assert has_colour(_around(image, (shoulders + ears) / 2, 3), ov.POOR_BGR)  # the neck is poor
    assert has_colour(_around(image, (hips + shoulders) / 2, 3), ov.GOOD_BGR)  # the trunk is not
    # The vertical reference line above the shoulders, away from the neck line.
    above = shoulders + np.array([0.0, -40.0])
    assert has_colour(_around(image, above, 2), ov.WHITE, tol=40)
    # The label is behind the person (facing image-right, so to the left of the lines).
    changed = _changed(_frame(), image)
    left_of_body = changed[:, : int(min(shoulders[0], hips[0])) - 12]
    assert left_of_body.sum() > 50


def test_side_angles_skip_metrics_the_reading_does_not_have() -> None:
    pose = side_pose()
    image = _frame()
    ov.draw_angles(image, pose, make_reading(neck_inclination_deg=10.0))  # no trunk value
    hips = (pose.point(L.LEFT_HIP) + pose.point(L.RIGHT_HIP)) / 2
    shoulders = (pose.point(L.LEFT_SHOULDER) + pose.point(L.RIGHT_SHOULDER)) / 2
    assert not has_colour(_around(image, (hips + shoulders) / 2, 3), ov.GOOD_BGR)
    assert has_colour(_around(image, shoulders, 3), ov.GOOD_BGR)


def test_front_angles_draw_the_shoulder_line_and_the_estimates_beside_the_head() -> None:
    pose = front_pose(tilt_deg=6.0)
    reading = make_reading(
        view="front",
        posture=Verdict.POOR,
        findings={"side_lean": 1.4, "leaning_in": 0.5},
        shoulder_tilt_deg=6.0,
        face_scale_pct=12.0,
        head_drop_pct=3.0,
        estimated=frozenset({"face_scale_pct", "head_drop_pct"}),
    )
    image = _frame()
    ov.draw_angles(image, pose, reading)
    mid = (pose.point(L.LEFT_SHOULDER) + pose.point(L.RIGHT_SHOULDER)) / 2
    assert has_colour(_around(image, mid, 3), ov.POOR_BGR)
    ear = pose.point(L.LEFT_EAR)  # image-right ear: the text starts just right of it
    band = _changed(_frame(), image)[int(ear[1]) - 12 : int(ear[1]) + 12, int(ear[0]) + 5 :]
    assert band.sum() > 100


def test_away_frames_get_the_status_bar_but_no_skeleton() -> None:
    image = _frame()
    state = overlay_states([AWAY], [])[0]
    ov.annotate_frame(image, AWAY, side_pose(), state)
    changed = _changed(_frame(), image)
    bar = ov.status_bar_height(image)
    assert changed[:bar].any()
    assert not changed[bar:].any()


def test_status_bar_shows_the_verdict_as_colour_and_text() -> None:
    for reading, colour in ((GOOD_SIDE, ov.GOOD_BGR), (POOR_SIDE, ov.POOR_BGR)):
        image = _frame()
        state = overlay_states([reading], [])[0]
        ov.draw_status_bar(image, state, reading)
        bar = image[: ov.status_bar_height(image)]
        assert has_colour(bar, colour, tol=2)  # the badge
        ink = ov._ink_for(colour)
        assert has_colour(bar[:, :200], ink, tol=30)  # its word, in a contrasting ink
        assert (image[ov.status_bar_height(image) :] == GREY).all()  # nothing below the bar


def test_alert_badge_sits_on_the_right_of_the_status_bar() -> None:
    reading = make_reading(20.0, posture=Verdict.POOR, findings={"forward_head": 2.0}, alert=True)
    state = overlay_states([reading], [Episode(8.0, 20.0, 18.0, {})])[0]
    assert state.alert == "ALERT: head forward for 12 s"
    image = _frame()
    ov.draw_status_bar(image, state, reading)
    bar = image[: ov.status_bar_height(image)]
    assert has_colour(bar[:, W // 2 :], ov.ALERT_BGR, tol=2)
    assert has_colour(bar[:, W // 2 :], ov._ink_for(ov.ALERT_BGR), tol=30)


def test_hint_is_wrapped_on_a_band_at_the_bottom() -> None:
    image = _frame()
    ov.draw_hint(image, "raise the screen to eye level and draw your chin back " * 6)
    changed = _changed(_frame(), image)
    rows = np.flatnonzero(changed.any(axis=1))
    assert rows.min() > H * 0.75 and rows.max() == H - 1
    text = np.all(image[rows.min() :] > 150, axis=-1)  # light text on the darkened band
    text_rows = np.flatnonzero(text.any(axis=1))
    assert text_rows.size and (np.diff(text_rows) > 3).any()  # two separate lines of text


def test_text_helpers_draw_the_degree_sign() -> None:
    assert ov.text_size("32°", 0.6, 1)[0] > ov.text_size("32", 0.6, 1)[0]
    image = np.zeros((40, 120, 3), np.uint8)
    ov.put_text(image, "32°", (5, 30), 0.8, ov.WHITE, 2)
    w32 = ov.text_size("32", 0.8, 2)[0]
    assert image[:, 5 + w32 :].any()  # the ring after the digits


def test_annotate_frame_scales_a_pose_from_a_different_image_size() -> None:
    pose = side_pose(size=(W, H))
    small = np.full((H // 2, W // 2, 3), GREY, np.uint8)
    ov.annotate_frame(small, GOOD_SIDE, pose, overlay_states([GOOD_SIDE], [])[0])
    shoulder = pose.point(L.LEFT_SHOULDER) / 2
    assert has_colour(_around(small, shoulder, 4), ov.GOOD_BGR)


def test_one_colour_draws_the_whole_skeleton_legs_included() -> None:
    # The report's key frames colour the skeleton by the verdict.
    pose = side_pose()
    colour = (46, 34, 207)
    image = _frame()
    ov.draw_skeleton(image, pose, colour=colour)
    knee = pose.point(L.LEFT_KNEE)
    hip = pose.point(L.LEFT_HIP)
    assert has_colour(_around(image, (knee + hip) / 2, 3), colour, tol=2)
    assert not has_colour(image, ov.SKELETON_BGR, tol=2)
    plain = _frame()
    ov.draw_skeleton(plain, pose)
    assert not has_colour(_around(plain, (knee + hip) / 2, 3), colour, tol=40)  # legs thin and grey


def test_fit_pose_scales_only_a_pose_from_another_frame_size() -> None:
    pose = side_pose(size=(W, H))
    assert ov.fit_pose(pose, _frame()) is pose
    half = ov.fit_pose(pose, np.zeros((H // 2, W // 2, 3), np.uint8))
    assert half.image_size == (W // 2, H // 2)
    np.testing.assert_allclose(half.point(L.NOSE), pose.point(L.NOSE) / 2)


def test_status_bar_shows_the_time_as_a_clock() -> None:
    image = _frame()
    reading = make_reading(75.0)
    ov.draw_status_bar(image, overlay_states([reading], [])[0], reading)
    other = _frame()
    later = make_reading(135.0)
    ov.draw_status_bar(other, overlay_states([later], [])[0], later)
    bar = ov.status_bar_height(image)
    assert (image[:bar] != other[:bar]).any()  # 1:15.0 and 2:15.0 differ
