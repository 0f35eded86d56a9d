"""The sustained-poor-posture detector, on hand-built reading sequences with explicit timestamps."""

from __future__ import annotations

import pytest

from posture.detector import (
    ALERT,
    BREAK_DUE,
    BREAK_TAKEN,
    EPISODE_END,
    EPISODE_START,
    Detector,
    DetectorConfig,
    Event,
    alert_spans,
    counted_s,
    gap_limit_s,
    settle_alerts,
)
from posture.errors import ConfigError
from posture.findings import FINDINGS, BodyPart
from posture.geometry import View
from posture.reading import Reading, Verdict

FPS = 10.0
FRAME_S = 1.0 / FPS
GOOD: dict[str, float] = {}
HEAD = {"forward_head": 1.5}


def reading(t_s: float, state: dict[str, float] | str) -> Reading:
    """A reading at ``t_s``: findings (poor when one reaches 1.0), or "away" / "uncertain"."""
    if state == "away":
        return Reading(t_s, False, View.UNKNOWN, {}, {}, Verdict.AWAY)
    if state == "uncertain":
        return Reading(t_s, True, View.UNKNOWN, {}, {}, Verdict.UNCERTAIN)
    assert isinstance(state, dict)
    poor = any(v >= 1.0 for v in state.values())
    return Reading(t_s, True, View.SIDE, {}, dict(state), Verdict.POOR if poor else Verdict.GOOD)


def timeline(*segments: tuple[float, dict[str, float] | str], fps: float = FPS) -> list[Reading]:
    """Consecutive segments of (duration_s, state) sampled at ``fps`` from t = 0."""
    out: list[Reading] = []
    i = 0
    for duration_s, state in segments:
        for _ in range(round(duration_s * fps)):
            out.append(reading(i / fps, state))
            i += 1
    return out


def run(detector: Detector, readings: list[Reading]) -> list[Event]:
    events: list[Event] = []
    for r in readings:
        events.extend(detector.update(r))
    return events


def kinds(events: list[Event], kind: str) -> list[Event]:
    return [e for e in events if e.kind == kind]


# --- the glance and the basic sustained rule -----------------------------------------------------


@pytest.mark.parametrize("config", [DetectorConfig(), DetectorConfig(hold_s=30.0)])
def test_a_glance_never_alerts(config: DetectorConfig) -> None:
    det = Detector(config)
    readings = timeline((10, GOOD), (3, {"neck_flexion": 2.5}), (30, GOOD))
    active = []
    for r in readings:
        assert not kinds(det.update(r), ALERT)
        active.append(det.alert_active)
    assert not any(active)
    assert det.episodes == []
    assert det.episode is None


def test_sustained_poor_posture_alerts_after_the_holding_time() -> None:
    det = Detector(DetectorConfig(hold_s=30.0))
    events = run(det, timeline((10, GOOD), (40, HEAD), (1, GOOD)))
    (start,) = kinds(events, EPISODE_START)
    assert start.t_s == pytest.approx(15.0, abs=FRAME_S)  # after the 5 s grace
    (alert,) = kinds(events, ALERT)
    assert alert.t_s == pytest.approx(40.0, abs=FRAME_S)  # 30 s after the first poor frame
    assert alert.findings == ("forward_head",)
    assert alert.episode is not None and alert.episode.start_s == pytest.approx(10.0)
    assert det.alert_active


def test_alert_active_follows_the_alert() -> None:
    det = Detector(DetectorConfig(hold_s=30.0))
    for r in timeline((35, HEAD)):
        det.update(r)
        assert det.alert_active == (r.t_s >= 30.0 - 1e-9)
    assert det.state.alert_active
    assert det.state.findings == ("forward_head",)
    assert det.state.duration_s == pytest.approx(34.9)


def test_a_short_good_moment_pauses_but_does_not_end_the_episode() -> None:
    det = Detector(DetectorConfig(hold_s=30.0))
    events = run(det, timeline((20, HEAD), (3, GOOD), (20, HEAD)))
    assert len(kinds(events, EPISODE_START)) == 1
    assert not kinds(events, EPISODE_END)
    (alert,) = kinds(events, ALERT)
    # 20 s poor, 3 s paused, then 10 s more: the dose is paused, not reset
    assert alert.t_s == pytest.approx(33.0, abs=FRAME_S)


def test_recovery_ends_the_episode_after_release_s_at_the_start_of_the_recovery() -> None:
    det = Detector(DetectorConfig(hold_s=30.0, release_s=5.0))
    run(det, timeline((40, HEAD)))
    # 4.9 s of good posture: not yet released
    for i in range(49):
        assert not kinds(det.update(reading(40.0 + i * FRAME_S, GOOD)), EPISODE_END)
    assert det.episode is not None and det.alert_active
    events = run(det, [reading(40.0 + i * FRAME_S, GOOD) for i in range(49, 60)])
    (end,) = kinds(events, EPISODE_END)
    assert end.t_s == pytest.approx(45.0, abs=FRAME_S)
    assert end.episode is not None
    assert end.episode.start_s == pytest.approx(0.0)
    assert end.episode.end_s == pytest.approx(40.0)
    assert end.episode.alert_s == pytest.approx(30.0, abs=FRAME_S)
    assert det.episodes == [end.episode]
    assert det.episode is None and not det.alert_active


def test_between_release_and_threshold_neither_starts_nor_ends() -> None:
    middling = {"forward_head": 0.9}
    det = Detector(DetectorConfig(hold_s=30.0))
    assert run(det, timeline((10, GOOD), (120, middling))) == []

    det = Detector(DetectorConfig(hold_s=30.0))
    events = run(det, timeline((40, HEAD), (60, middling)))
    assert not kinds(events, EPISODE_END)
    assert det.alert_active
    events = run(det, [reading(100.0 + i * FRAME_S, GOOD) for i in range(60)])
    (end,) = kinds(events, EPISODE_END)
    assert end.episode is not None and end.episode.end_s == pytest.approx(100.0)


def test_a_middling_moment_interrupts_the_recovery() -> None:
    det = Detector(DetectorConfig(hold_s=30.0, release_s=5.0))
    events = run(det, timeline((40, HEAD), (3, GOOD), (10, {"forward_head": 0.9}), (4.9, GOOD)))
    assert not kinds(events, EPISODE_END)  # the recovery restarted at 53 s
    events = run(det, [reading(57.9 + i * FRAME_S, GOOD) for i in range(3)])
    (end,) = kinds(events, EPISODE_END)
    assert end.episode is not None and end.episode.end_s == pytest.approx(53.0)


def test_a_poor_frame_restarts_the_recovery() -> None:
    det = Detector(DetectorConfig(hold_s=30.0))
    events = run(det, timeline((40, HEAD), (4, GOOD), (0.1, HEAD), (4, GOOD)))
    assert not kinds(events, EPISODE_END)


# --- ISO 11226 holding times ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "severity", "expected_s"),
    [
        ("forward_head", 1.0, 480.0),
        ("forward_head", 3.0, 60.0),
        ("hunched_back", 1.0, 240.0),
    ],
)
def test_iso_holding_time_alerts(code: str, severity: float, expected_s: float) -> None:
    det = Detector()
    events = run(det, timeline((expected_s + 10, {code: severity}), fps=5.0))
    (alert,) = kinds(events, ALERT)
    assert alert.t_s == pytest.approx(expected_s, abs=0.2)


def test_iso_holding_time_mapping() -> None:
    cfg = DetectorConfig()
    assert cfg.hold_time_s("neck_flexion", 2.0) == pytest.approx(270.0)  # 8 → 1 min, halfway
    assert cfg.hold_time_s("leaning_in", 10.0) == pytest.approx(60.0)  # floor beyond 3.0
    assert cfg.hold_time_s("side_lean", 2.0) == pytest.approx(150.0)  # 4 → 1 min, halfway
    assert cfg.hold_time_s("slumped", 3.0) == pytest.approx(60.0)
    assert DetectorConfig(hold_s=30.0).hold_time_s("forward_head", 3.0) == 30.0


def test_holding_time_curve_follows_the_registry_body_part() -> None:
    cfg = DetectorConfig()
    for code, finding in FINDINGS.items():
        longest = cfg.head_hold_s if finding.body_part is BodyPart.HEAD_NECK else cfg.trunk_hold_s
        assert cfg.hold_time_s(code, 1.0) == longest
    assert cfg.hold_time_s("chin_poke", 1.0) == cfg.trunk_hold_s  # unknown: the more cautious curve


def test_dose_adds_up_across_severities() -> None:
    # 120 s at severity 2.0 (hold 270 s) is 4/9 of the dose; the rest at 3.0 (hold 60 s) takes 33.3 s
    det = Detector()
    events = run(det, timeline((120, {"forward_head": 2.0}), (60, {"forward_head": 3.0}), fps=5.0))
    (alert,) = kinds(events, ALERT)
    assert alert.t_s == pytest.approx(120.0 + 60.0 * 5 / 9, abs=0.2)


# --- away and uncertain --------------------------------------------------------------------------


def test_away_pauses_the_clock_and_never_alerts() -> None:
    det = Detector(DetectorConfig(hold_s=30.0))
    events = []
    for r in timeline((20, HEAD), (60, "away"), (15, HEAD)):
        new = det.update(r)
        if r.posture == Verdict.AWAY:
            assert not kinds(new, ALERT)
            assert not det.alert_active
        events.extend(new)
    (alert,) = kinds(events, ALERT)
    assert alert.t_s == pytest.approx(90.0, abs=FRAME_S)  # 20 s + 10 s of poor time
    assert not kinds(events, EPISODE_END)


def test_an_active_alert_is_suspended_while_away() -> None:
    det = Detector(DetectorConfig(hold_s=30.0))
    run(det, timeline((35, HEAD)))
    assert det.alert_active
    det.update(reading(35.0, "away"))
    assert not det.alert_active
    det.update(reading(36.0, HEAD))
    assert det.alert_active


def test_uncertain_frames_neither_count_for_nor_against() -> None:
    det = Detector(DetectorConfig(hold_s=30.0))
    events = run(det, timeline((20, HEAD), (30, "uncertain"), (15, HEAD)))
    (alert,) = kinds(events, ALERT)
    assert alert.t_s == pytest.approx(60.0, abs=FRAME_S)  # the uncertain 30 s are not poor time

    # nor do they reset a recovery: 3 s good + 10 s uncertain + 2 s good ends the episode
    det = Detector(DetectorConfig(hold_s=30.0, release_s=5.0))
    events = run(det, timeline((40, HEAD), (3, GOOD), (10, "uncertain"), (1.9, GOOD)))
    assert not kinds(events, EPISODE_END)
    events = run(det, [reading(54.9 + i * FRAME_S, GOOD) for i in range(5)])
    (end,) = kinds(events, EPISODE_END)
    assert end.t_s == pytest.approx(55.0, abs=FRAME_S)
    assert end.episode is not None and end.episode.end_s == pytest.approx(40.0)


def test_a_gap_between_readings_counts_up_to_twice_the_step_or_2_s() -> None:
    assert gap_limit_s(0.2) == 2.0 and gap_limit_s(1.0) == 2.0 and gap_limit_s(10.0) == 20.0
    assert counted_s(0.5, 0.2) == 0.5 and counted_s(7.0, 0.2) == 2.0 and counted_s(-1.0, 0.2) == 0.0
    det = Detector(DetectorConfig(hold_s=30.0))
    events = run(det, [reading(t, HEAD) for t in (0.0, 100.0, 200.0)])
    assert not kinds(events, ALERT)
    assert det.bout_s == pytest.approx(4.0)


def test_a_slow_sampling_counts_its_whole_step() -> None:
    """One reading every 10 s (a recording sampled at 0.1 fps): each stands for its 10 s."""
    det = Detector(DetectorConfig(hold_s=30.0), step_s=10.0)
    events = run(det, [reading(t, HEAD) for t in (0.0, 10.0, 20.0, 30.0, 40.0)])
    assert det.bout_s == pytest.approx(40.0)
    assert kinds(events, ALERT)


def test_a_break_ends_an_open_episode_when_the_person_left() -> None:
    det = Detector(DetectorConfig(hold_s=30.0))
    events = run(det, timeline((40, HEAD), (200, "away")))
    (end,) = kinds(events, EPISODE_END)
    assert end.t_s == pytest.approx(220.0, abs=FRAME_S)
    assert end.episode is not None and end.episode.end_s == pytest.approx(40.0)
    assert kinds(events, BREAK_TAKEN)


# --- sitting bout and breaks ---------------------------------------------------------------------


def test_break_due_fires_once_after_the_sitting_bout() -> None:
    det = Detector()
    events = run(det, timeline((2500, GOOD), fps=2.0))
    (due,) = kinds(events, BREAK_DUE)
    assert due.t_s == pytest.approx(1800.0, abs=0.5)
    assert due.duration_s == pytest.approx(1800.0, abs=0.5)
    assert det.bout_s == pytest.approx(2499.5)


def test_a_long_absence_is_a_break_and_resets_the_bout() -> None:
    det = Detector(DetectorConfig(sitting_bout_s=120.0, break_s=180.0))
    events = run(det, timeline((100, GOOD), (200, "away"), (10, GOOD)))
    (taken,) = kinds(events, BREAK_TAKEN)
    assert taken.t_s == pytest.approx(280.0, abs=FRAME_S)
    assert not kinds(events, BREAK_DUE)
    assert det.bout_s == pytest.approx(9.9, abs=FRAME_S)
    # the new bout runs to its own break_due
    events = run(det, [reading(310.0 + i, GOOD) for i in range(120)])
    (due,) = kinds(events, BREAK_DUE)
    assert due.t_s == pytest.approx(300.0 + 120.0, abs=1.0)


def test_a_short_absence_pauses_the_bout_without_resetting_it() -> None:
    det = Detector(DetectorConfig(sitting_bout_s=120.0, break_s=180.0))
    events = run(det, timeline((100, GOOD), (60, "away"), (30, GOOD)))
    assert not kinds(events, BREAK_TAKEN)
    (due,) = kinds(events, BREAK_DUE)
    assert due.t_s == pytest.approx(180.0, abs=FRAME_S)  # 100 s + 20 s of presence
    assert det.bout_s == pytest.approx(130.0, abs=2 * FRAME_S)


def test_no_break_taken_without_a_bout() -> None:
    det = Detector()
    assert run(det, timeline((400, "away"))) == []


# --- episodes ------------------------------------------------------------------------------------


def test_episode_statistics() -> None:
    det = Detector(DetectorConfig(hold_s=30.0))
    events = run(
        det,
        timeline(
            (20, {"forward_head": 1.5, "side_lean": 0.5}),
            (10, {"forward_head": 2.5}),
            (10, {"forward_head": 2.5, "hunched_back": 1.2}),
            (10, GOOD),
        ),
    )
    (end,) = kinds(events, EPISODE_END)
    episode = end.episode
    assert episode is not None
    assert list(episode.findings) == ["forward_head", "hunched_back"]  # most exposed first
    head, back = episode.findings["forward_head"], episode.findings["hunched_back"]
    assert head.peak == pytest.approx(2.5)
    assert head.mean == pytest.approx(2.0)
    assert head.poor_s == pytest.approx(40.0)
    assert (back.peak, back.mean, back.poor_s) == pytest.approx((1.2, 1.2, 10.0))
    data = episode.to_dict()
    assert data["start_s"] == 0.0 and data["end_s"] == 40.0 and data["duration_s"] == 40.0
    assert data["alert_s"] == pytest.approx(30.0, abs=FRAME_S)
    assert data["findings"]["forward_head"] == {"peak": 2.5, "mean": 2.0, "poor_s": 40.0}


def test_non_alerting_episodes_are_not_kept() -> None:
    det = Detector()  # ISO holds: 10 s of poor posture is an episode but far below the hold
    events = run(det, timeline((10, HEAD), (10, GOOD)))
    assert [e.kind for e in events] == [EPISODE_START, EPISODE_END]
    assert det.episodes == []


def test_finish_closes_an_open_episode() -> None:
    det = Detector(DetectorConfig(hold_s=30.0))
    run(det, timeline((40, HEAD)))
    events = det.finish(40.0)
    (end,) = kinds(events, EPISODE_END)
    assert end.episode is not None and end.episode.end_s == pytest.approx(40.0)
    assert len(det.episodes) == 1 and det.episode is None
    assert det.finish(41.0) == []


def test_finish_during_recovery_ends_at_the_recovery() -> None:
    det = Detector(DetectorConfig(hold_s=30.0))
    run(det, timeline((40, HEAD), (2, GOOD)))
    (end,) = det.finish()
    assert end.episode is not None and end.episode.end_s == pytest.approx(40.0)


def test_a_short_fixed_hold_still_catches_a_short_slouch() -> None:
    det = Detector(DetectorConfig(hold_s=0.4))
    events = run(det, timeline((5, GOOD), (0.5, HEAD), (10, GOOD)))
    assert [e.kind for e in events] == [EPISODE_START, ALERT, EPISODE_END]
    (episode,) = det.episodes
    assert episode.start_s == pytest.approx(5.0)
    assert episode.end_s == pytest.approx(5.5)


@pytest.mark.parametrize(
    "changes",
    [
        {"hold_s": 0.0},
        {"grace_s": -1.0},
        {"release_severity": 1.2},
        {"release_severity": 0.0},
        {"head_hold_s": 30.0, "head_min_hold_s": 60.0},
        {"min_hold_severity": 1.0},
        {"sitting_bout_s": 0.0},
        {"break_s": -5.0},
        {"release_s": float("nan")},
    ],
)
def test_config_validation(changes: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match="detector"):
        DetectorConfig(**changes)  # type: ignore[arg-type]


# --- a change of problem -------------------------------------------------------------------------

HUNCHED = {"hunched_back": 1.5, "forward_head": 1.2}
SLUMPED = {"slumped": 1.5}


def test_a_new_problem_starts_an_episode_and_an_alert_of_its_own() -> None:
    """Hunched over the desk, then slid down and reclined with no upright moment between: two
    episodes, each alerting a hold after its own start; the first ends where the second began."""
    det = Detector(DetectorConfig(hold_s=3.0))
    events = run(det, timeline((10.0, HUNCHED), (10.0, SLUMPED), (8.0, GOOD)))
    starts, alerts = kinds(events, EPISODE_START), kinds(events, ALERT)
    assert len(det.episodes) == 2
    first, second = det.episodes
    assert first.start_s == pytest.approx(0.0) and first.end_s == pytest.approx(10.0)
    assert set(first.findings) == {"hunched_back", "forward_head"}
    assert second.start_s == pytest.approx(10.0) and set(second.findings) == {"slumped"}
    assert [round(a.t_s, 1) for a in alerts] == [3.0, 13.0]
    assert len(starts) == 2


def test_findings_that_take_turns_within_one_slouch_stay_one_episode() -> None:
    """The head forward, then the back as well, then the head alone again: one problem."""
    det = Detector(DetectorConfig(hold_s=3.0))
    run(det, timeline((4.0, HEAD), (4.0, HUNCHED), (4.0, HEAD), (4.0, {"hunched_back": 1.3}), (8.0, GOOD)))
    assert len(det.episodes) == 1
    assert set(det.episodes[0].findings) == {"forward_head", "hunched_back"}


def test_a_new_problem_that_gives_way_before_change_s_stays_in_the_episode() -> None:
    det = Detector(DetectorConfig(hold_s=3.0, change_s=2.0))
    run(det, timeline((6.0, HEAD), (1.0, SLUMPED), (4.0, HEAD), (8.0, GOOD)))
    assert len(det.episodes) == 1
    assert set(det.episodes[0].findings) == {"forward_head", "slumped"}


def test_a_one_frame_blip_of_another_problem_never_ends_the_episode() -> None:
    """One slumped frame inside a forward-head episode, then middling and uncertain frames for
    longer than change_s: the new problem never lasted, so the episode goes on."""
    det = Detector(DetectorConfig(hold_s=3.0, change_s=2.0))
    middling = {"forward_head": 0.9}
    run(
        det,
        timeline((6.0, HEAD), (0.1, SLUMPED), (1.5, middling), (1.5, "uncertain"), (4.0, HEAD), (8.0, GOOD)),
    )
    assert len(det.episodes) == 1
    assert det.episodes[0].start_s == pytest.approx(0.0) and det.episodes[0].end_s == pytest.approx(13.1)


def test_a_pending_new_problem_alerts_on_its_own_episode_only() -> None:
    """An episode of the head forward (long hold), then slumped (a trunk hold shorter than
    change_s): the slump's dose reaches its hold before the change is confirmed, yet it alerts
    once, on its own episode, never on the one it ends."""
    holds = {"head_hold_s": 10.0, "head_min_hold_s": 10.0, "trunk_hold_s": 1.5, "trunk_min_hold_s": 1.5}
    det = Detector(DetectorConfig(grace_s=1.0, change_s=2.0, **holds))
    events = run(det, timeline((3.0, HEAD), (6.0, SLUMPED), (20.0, GOOD)))
    alerts = kinds(events, ALERT)
    assert [(round(a.t_s, 1), a.findings) for a in alerts] == [(5.0, ("slumped",))]
    first, second = (e.episode for e in kinds(events, EPISODE_END))
    assert first is not None and first.alert_s is None and first.end_s == pytest.approx(3.0)
    assert second is not None and set(second.findings) == {"slumped"}
    assert second.start_s == pytest.approx(3.0) and second.alert_s == pytest.approx(5.0)


# --- one alert story for a whole recording (settle_alerts) ----------------------------------------


def _live_alerts(det: Detector, readings: list[Reading]) -> list[Reading]:
    """The readings with the live alert flag, as the pipeline sets it, then the recording's end."""
    out = []
    for r in readings:
        det.update(r)
        out.append(Reading(r.t_s, r.person, r.view, r.metrics, r.findings, r.posture, det.alert_active))
    det.finish()
    return out


def test_settled_alerts_end_where_the_episode_ends_not_when_the_recovery_is_confirmed() -> None:
    det = Detector(DetectorConfig(hold_s=10.0, release_s=5.0))
    readings = _live_alerts(det, timeline((20, HEAD), (2, "uncertain"), (8, HEAD), (10, GOOD)))
    (episode,) = det.episodes
    assert episode.alert_s == pytest.approx(10.0, abs=FRAME_S) and episode.end_s == pytest.approx(30.0)
    live = [r.t_s for r in readings if r.alert]
    assert max(live) == pytest.approx(34.9, abs=FRAME_S)  # live: until the recovery is confirmed
    settled = settle_alerts(readings, det.episodes)
    on = [r.t_s for r in settled if r.alert]
    assert on[0] == pytest.approx(episode.alert_s) and max(on) < episode.end_s
    # One run, uncertain frames included: the alert band has no gap inside the episode.
    assert len(on) == round((episode.end_s - episode.alert_s) * FPS)
    assert alert_spans(det.episodes) == [(episode.alert_s, episode.end_s)]
    assert [r.posture for r in settled] == [r.posture for r in readings]  # only the flag changes


def test_settled_alerts_pause_while_away_and_stay_off_outside_episodes() -> None:
    det = Detector(DetectorConfig(hold_s=10.0, release_s=5.0))
    readings = _live_alerts(det, timeline((5, GOOD), (15, HEAD), (3, "away"), (5, HEAD)))
    settled = settle_alerts(readings, det.episodes)
    (episode,) = det.episodes
    assert episode.end_s == pytest.approx(27.9)  # still open at the end of the recording
    for r in settled:
        inside = episode.alert_s - 1e-9 <= r.t_s < episode.end_s  # type: ignore[operator]
        assert r.alert == (inside and r.posture is not Verdict.AWAY), r
    assert settle_alerts(readings, []) == [
        Reading(r.t_s, r.person, r.view, r.metrics, r.findings, r.posture, False) for r in readings
    ]
