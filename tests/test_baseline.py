"""The session's habitual reference: what it learns from, when it speaks, when it starts afresh."""

from __future__ import annotations

import pytest

from posture.baseline import HabitualReference
from posture.config import HabitConfig

UPRIGHT = {
    "neck_inclination_deg": 8.0,
    "trunk_inclination_deg": -6.0,
    "neck_flexion_deg": 14.0,
    "head_forward_deg": 10.0,
}


def _feed(
    habit: HabitualReference, values: dict, start_s: float, seconds: float, *, upright: bool, fps: float = 5.0
):
    for i in range(round(seconds * fps)):
        habit.observe(start_s + i / fps, values, upright)
    return start_s + seconds


def test_it_says_nothing_until_it_has_seen_enough_upright_frames() -> None:
    habit = HabitualReference(HabitConfig(min_frames=5, min_span_s=1.0))
    _feed(habit, UPRIGHT, 0.0, 0.6, upright=True)  # 3 frames over 0.4 s
    assert habit.values is None
    _feed(habit, UPRIGHT, 0.6, 1.0, upright=True)
    assert habit.values == pytest.approx(UPRIGHT)


def test_it_never_learns_from_frames_outside_the_upright_band() -> None:
    habit = HabitualReference(HabitConfig())
    slumped = {**UPRIGHT, "trunk_inclination_deg": -22.0, "neck_flexion_deg": 30.0}
    _feed(habit, slumped, 0.0, 60.0, upright=False)
    assert habit.values is None
    _feed(habit, UPRIGHT, 60.0, 5.0, upright=True)
    assert habit.values == pytest.approx(UPRIGHT)


def test_a_clear_upright_stretch_that_differs_replaces_what_was_learnt() -> None:
    """The chair or the camera moved: after ``reset_s`` of a clear upright stretch 6° away from the
    reference, the reference is that stretch; a stretch within 5° only adds to it."""
    habit = HabitualReference(HabitConfig(reset_s=10.0))
    t = _feed(habit, UPRIGHT, 0.0, 60.0, upright=True)
    t = _feed(habit, {**UPRIGHT, "neck_inclination_deg": 11.0}, t, 5.0, upright=False)  # a break in the run
    near = {**UPRIGHT, "neck_inclination_deg": 11.0}
    t = _feed(habit, near, t, 15.0, upright=True)
    assert habit.values["neck_inclination_deg"] == pytest.approx(8.0)  # 3° away: the median holds
    t = _feed(habit, UPRIGHT, t, 1.0, upright=False)
    moved = {**UPRIGHT, "neck_inclination_deg": 14.0}
    t = _feed(habit, moved, t, 9.0, upright=True)
    assert habit.values["neck_inclination_deg"] == pytest.approx(8.0)  # not yet reset_s long
    _feed(habit, moved, t, 2.0, upright=True)
    assert habit.values["neck_inclination_deg"] == pytest.approx(14.0)


def test_a_stretch_broken_by_another_view_is_two_stretches() -> None:
    """6 s upright, a turn to the camera, 6 s upright: no clear stretch of reset_s = 10 s, so
    the reference learnt before stays."""
    habit = HabitualReference(HabitConfig(reset_s=10.0))
    t = _feed(habit, UPRIGHT, 0.0, 30.0, upright=True)
    habit.interrupt()
    moved = {**UPRIGHT, "neck_inclination_deg": 14.0}
    t = _feed(habit, moved, t, 6.0, upright=True)
    habit.interrupt()
    _feed(habit, moved, t, 6.0, upright=True)
    assert habit.values["neck_inclination_deg"] == pytest.approx(8.0)


def test_an_upright_stretch_of_hours_keeps_only_what_it_needs() -> None:
    """An hour upright at 2 fps: the stretch keeps its last reset_s, the reference its window."""
    cfg = HabitConfig(reset_s=10.0, window_s=600.0)
    habit = HabitualReference(cfg)
    _feed(habit, UPRIGHT, 0.0, 3600.0, upright=True, fps=2.0)
    assert len(habit._run) <= cfg.reset_s * 2 + 1
    assert len(habit._frames) <= cfg.window_s * 2 + 1
    assert habit.values == pytest.approx(UPRIGHT)


def test_it_forgets_beyond_its_window() -> None:
    habit = HabitualReference(HabitConfig(window_s=30.0, reset_s=1000.0))
    t = _feed(habit, UPRIGHT, 0.0, 20.0, upright=True)
    _feed(habit, {**UPRIGHT, "neck_inclination_deg": 12.0}, t, 40.0, upright=True)
    assert habit.values["neck_inclination_deg"] == pytest.approx(12.0)


def test_the_band_and_the_evidence_are_checked() -> None:
    from posture.errors import ConfigError

    with pytest.raises(ConfigError, match="upright_neck_deg"):
        HabitConfig(upright_neck_deg=(15.0, -5.0))
    with pytest.raises(ConfigError, match="min_frames"):
        HabitConfig(min_frames=0)
