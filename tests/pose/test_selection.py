"""Choosing the person at the desk among several: pure, on hand-built poses."""

from __future__ import annotations

import numpy as np

from posture.landmarks import Pose
from posture.pose.selection import PersonSelector, desk_score
from tests.builders import side_pose

SIZE = (640, 480)


def _placed(pose: Pose, *, centre_x: float, scale: float) -> Pose:
    """``pose`` scaled about its box centre and moved so that centre sits at ``centre_x`` (0-1)."""
    x0, y0, x1, y1 = pose.bbox_px
    c = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    xy = (pose.xy_px - c) * scale + np.array([centre_x * SIZE[0], SIZE[1] / 2])
    return Pose(xy, pose.visibility, pose.world_m, SIZE)


BASE = side_pose()
AT_DESK = _placed(BASE, centre_x=0.5, scale=1.0)
PASSER_BY = _placed(BASE, centre_x=0.85, scale=0.5)


def test_larger_and_more_central_scores_higher() -> None:
    assert desk_score(AT_DESK) > desk_score(PASSER_BY)
    off_centre = _placed(BASE, centre_x=0.9, scale=1.0)
    assert desk_score(AT_DESK) > desk_score(off_centre) > 0


def test_the_person_at_the_desk_is_chosen_whatever_the_order() -> None:
    assert PersonSelector().select([PASSER_BY, AT_DESK], 0.0) is AT_DESK
    assert PersonSelector().select([AT_DESK, PASSER_BY], 0.0) is AT_DESK


def test_nobody_is_none() -> None:
    assert PersonSelector().select([], 0.0) is None


def test_it_keeps_following_the_same_person_when_a_larger_one_walks_in() -> None:
    selector = PersonSelector()
    small_user = _placed(BASE, centre_x=0.5, scale=0.6)
    assert selector.select([small_user], 0.0) is small_user
    big_visitor = _placed(BASE, centre_x=0.2, scale=1.3)
    assert selector.select([big_visitor, small_user], 0.1) is small_user


def test_it_does_not_jump_to_someone_else_while_the_user_is_briefly_lost() -> None:
    selector = PersonSelector(forget_s=2.0)
    selector.select([AT_DESK], 0.0)
    elsewhere = _placed(BASE, centre_x=0.1, scale=1.0)
    assert selector.select([elsewhere], 1.0) is None
    # gone longer than forget_s: the one now there is the person at the desk
    assert selector.select([elsewhere], 3.5) is elsewhere


def test_a_small_move_between_frames_is_still_the_same_person() -> None:
    selector = PersonSelector(max_jump=0.25)
    selector.select([AT_DESK], 0.0)
    moved = _placed(BASE, centre_x=0.6, scale=1.0)
    assert selector.select([moved, PASSER_BY], 0.2) is moved
