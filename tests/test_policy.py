"""The alert policy, with detector events and states built by hand and time injected."""

from __future__ import annotations

import math
from datetime import datetime

import pytest

from posture.detector import ALERT, BREAK_DUE, BREAK_TAKEN, EPISODE_END, DetectorState, Event
from posture.errors import ConfigError
from posture.findings import FINDINGS, Finding
from posture.policy import DEFAULT_ADVICE_LINKS, AlertPolicy, Notification, PolicyConfig, describe

NOON = datetime(2024, 5, 6, 12, 0)


def alert(
    t_s: float = 0.0, findings: tuple[str, ...] = ("forward_head",), duration_s: float = 240.0
) -> Event:
    return Event(ALERT, t_s, findings, duration_s=duration_s)


def active(duration_s: float = 300.0, findings: tuple[str, ...] = ("forward_head",)) -> DetectorState:
    return DetectorState(alert_active=True, findings=findings, duration_s=duration_s, bout_s=600.0)


IDLE = DetectorState()


def ticks(policy: AlertPolicy, start_s: float, end_s: float, state: DetectorState) -> list[Notification]:
    """Tick once a second over [start_s, end_s)."""
    out: list[Notification] = []
    for now in range(int(start_s), int(end_s)):
        out.extend(policy.tick(float(now), NOON, state))
    return out


def test_the_first_alert_notifies() -> None:
    policy = AlertPolicy()
    (note,) = policy.on_event(alert(duration_s=240.0), 10.0, NOON)
    assert note.kind == "posture" and note.level == 1 and note.t_s == 10.0
    assert note.message == "Your head has been forward of your shoulders for 4 minutes."
    assert note.findings == ("forward_head",)
    assert note.advice == ("forward_head",)


def test_other_events_do_not_notify() -> None:
    policy = AlertPolicy()
    assert policy.on_event(Event("episode_start", 0.0, ("forward_head",)), 0.0, NOON) == []
    assert policy.on_event(Event(EPISODE_END, 1.0), 1.0, NOON) == []
    assert policy.on_event(Event(BREAK_TAKEN, 2.0), 2.0, NOON) == []


def test_cooldown_holds_then_delivers_if_still_relevant() -> None:
    policy = AlertPolicy(PolicyConfig(cooldown_s=180.0))
    assert policy.on_event(alert(), 0.0, NOON)
    policy.on_event(Event(EPISODE_END, 20.0), 20.0, NOON)
    assert policy.on_event(alert(), 60.0, NOON) == []  # a new episode, inside the cooldown
    assert ticks(policy, 61, 180, active()) == []
    (late,) = policy.tick(180.0, NOON, active())
    assert late.level == 1


def test_cooldown_drops_a_held_alert_that_ended() -> None:
    policy = AlertPolicy(PolicyConfig(cooldown_s=180.0))
    policy.on_event(alert(), 0.0, NOON)
    policy.on_event(Event(EPISODE_END, 20.0), 20.0, NOON)
    policy.on_event(alert(), 60.0, NOON)
    policy.on_event(Event(EPISODE_END, 90.0), 90.0, NOON)
    assert ticks(policy, 91, 400, IDLE) == []


def test_realert_timing_escalates_and_raises_the_level() -> None:
    policy = AlertPolicy(PolicyConfig(cooldown_s=60.0, realert_s=300.0, escalation=1.5, max_per_hour=20))
    policy.on_event(alert(), 0.0, NOON)
    sent = ticks(policy, 1, 2000, active())
    assert [n.t_s for n in sent] == [300.0, 750.0, 1425.0]  # waits 300, 450, 675 s
    assert [n.level for n in sent] == [2, 3, 3]  # capped at 3
    assert sent[0].title != sent[1].title


def test_no_realert_while_the_alert_is_inactive() -> None:
    policy = AlertPolicy()
    policy.on_event(alert(), 0.0, NOON)
    assert ticks(policy, 1, 1000, DetectorState(alert_active=False, findings=("forward_head",))) == []


def test_cap_per_hour() -> None:
    policy = AlertPolicy(PolicyConfig(cooldown_s=0.0, max_per_hour=2))
    sent = []
    for t in (0.0, 100.0, 200.0):
        sent += policy.on_event(alert(t), t, NOON)
        policy.on_event(Event(EPISODE_END, t + 10), t + 10, NOON)
    assert [n.t_s for n in sent] == [0.0, 100.0]
    policy.on_event(alert(3500.0), 3500.0, NOON)
    assert ticks(policy, 3500, 3600, active()) == []
    (n,) = policy.tick(3600.0, NOON, active())  # the first of the two has left the window
    assert n.level == 1


def test_snooze_suppresses_then_resumes() -> None:
    policy = AlertPolicy()
    policy.snooze(600.0)
    assert policy.snoozed_until == 600.0
    assert policy.on_event(alert(), 0.0, NOON) == []
    assert ticks(policy, 1, 600, active()) == []
    (n,) = policy.tick(600.0, NOON, active())
    assert n.level == 1


def test_pause_until_resume() -> None:
    policy = AlertPolicy()
    policy.pause()
    assert policy.snoozed_until == math.inf
    assert policy.on_event(alert(), 0.0, NOON) == []
    assert ticks(policy, 1, 5000, active()) == []
    policy.resume()
    assert policy.snoozed_until is None
    assert policy.tick(5000.0, NOON, active())


def test_timed_pause() -> None:
    policy = AlertPolicy()
    policy.pause(100.0)
    assert policy.on_event(alert(), 0.0, NOON) == []
    assert policy.tick(100.0, NOON, active())


@pytest.mark.parametrize(
    ("quiet", "hour", "minute", "silent"),
    [
        (("22:00", "07:00"), 23, 30, True),
        (("22:00", "07:00"), 3, 0, True),
        (("22:00", "07:00"), 6, 59, True),
        (("22:00", "07:00"), 7, 0, False),
        (("22:00", "07:00"), 12, 0, False),
        (("22:00", "07:00"), 21, 59, False),
        (("12:30", "13:30"), 13, 0, True),
        (("12:30", "13:30"), 14, 0, False),
    ],
)
def test_quiet_hours(quiet: tuple[str, str], hour: int, minute: int, silent: bool) -> None:
    policy = AlertPolicy(PolicyConfig(quiet_hours=quiet))
    wall = datetime(2024, 5, 6, hour, minute)
    assert (policy.on_event(alert(), 0.0, wall) == []) is silent


def test_quiet_hours_hold_until_morning() -> None:
    policy = AlertPolicy(PolicyConfig(quiet_hours=("22:00", "07:00")))
    night = datetime(2024, 5, 6, 23, 0)
    assert policy.on_event(alert(), 0.0, night) == []
    assert policy.tick(60.0, datetime(2024, 5, 7, 6, 59), active()) == []
    assert policy.tick(120.0, datetime(2024, 5, 7, 7, 0), active())


def test_break_reminder() -> None:
    policy = AlertPolicy()
    (n,) = policy.on_event(Event(BREAK_DUE, 1800.0, duration_s=1800.0), 1800.0, NOON)
    assert n.kind == "break"
    assert n.message.startswith("You have been sitting for 30 minutes.")
    assert n.advice == ("breaks",)
    assert policy.tick(1900.0, NOON, IDLE) == []  # delivered once


def test_break_reminder_held_by_cooldown_then_delivered_or_dropped() -> None:
    policy = AlertPolicy(PolicyConfig(cooldown_s=180.0))
    policy.on_event(alert(), 0.0, NOON)
    assert policy.on_event(Event(BREAK_DUE, 30.0, duration_s=1800.0), 30.0, NOON) == []
    (n,) = policy.tick(180.0, NOON, DetectorState(bout_s=1950.0))
    assert n.kind == "break" and "32 minutes" in n.message

    policy = AlertPolicy(PolicyConfig(cooldown_s=180.0))
    policy.on_event(alert(), 0.0, NOON)
    policy.on_event(Event(BREAK_DUE, 30.0, duration_s=1800.0), 30.0, NOON)
    policy.on_event(Event(BREAK_TAKEN, 100.0), 100.0, NOON)
    assert ticks(policy, 101, 500, IDLE) == []


def test_break_reminders_can_be_turned_off() -> None:
    policy = AlertPolicy(PolicyConfig(break_reminders=False))
    assert policy.on_event(Event(BREAK_DUE, 1800.0, duration_s=1800.0), 1800.0, NOON) == []
    assert ticks(policy, 1800, 2000, IDLE) == []


def test_advice_links_are_injected() -> None:
    links = {"forward_head": ["neck", "screen_height"], "hunched_back": ["neck"], "sitting_bout": ["move"]}
    policy = AlertPolicy(PolicyConfig(cooldown_s=0.0), advice_links=links)
    (n,) = policy.on_event(alert(findings=("forward_head", "hunched_back")), 0.0, NOON)
    assert n.advice == ("neck", "screen_height")
    assert "Also: upper back hunched." in n.message
    (b,) = policy.on_event(Event(BREAK_DUE, 1.0, duration_s=1800.0), 1.0, NOON)
    assert b.advice == ("move",)


@pytest.mark.parametrize(
    ("code", "start"),
    [
        ("forward_head", "Your head has been forward of your shoulders"),
        ("hunched_back", "Your upper back has been hunched forward"),
        ("neck_flexion", "Your neck has been bent forward"),
        ("leaning_in", "You have been leaning in towards the screen"),
        ("side_lean", "You have been leaning to one side"),
        ("slumped", "You have been slumped back"),
    ],
)
def test_describe_names_each_finding(code: str, start: str) -> None:
    text = describe(code, 240.0)
    assert text.startswith(start)
    assert text.endswith(" for 4 minutes.")


def test_describe_an_unknown_code() -> None:
    assert describe("chin_poke", 40.0) == "Your posture has shown chin poke for 40 seconds."


def test_every_finding_notifies_with_its_registry_notice_and_topic() -> None:
    for code, finding in FINDINGS.items():
        assert describe(code, 65.0) == f"{finding.notice} for 1 minute."
        assert DEFAULT_ADVICE_LINKS[code] == (finding.advice_topic,)
    assert DEFAULT_ADVICE_LINKS["sitting_bout"] == ("breaks",)


def test_notification_lists_the_other_findings_in_their_registry_words() -> None:
    policy = AlertPolicy(PolicyConfig(cooldown_s=0.0))
    findings = (Finding.SLUMPED.value, Finding.SIDE_LEAN.value, "chin_poke")
    (n,) = policy.on_event(alert(findings=findings, duration_s=3900.0), 0.0, NOON)
    assert n.message == (
        "You have been slumped back with your head pushed forward for 1 hour 5 minutes."
        " Also: leaning sideways, chin poke."
    )
    assert n.advice == ("slumped", "side_lean")  # an unknown code links to nothing


@pytest.mark.parametrize(
    "changes",
    [
        {"cooldown_s": -1.0},
        {"realert_s": 0.0},
        {"escalation": 0.5},
        {"max_per_hour": 0},
        {"quiet_hours": ("22:00",)},
        {"quiet_hours": ("25:00", "07:00")},
        {"quiet_hours": ("07:00", "07:00")},
    ],
)
def test_config_validation(changes: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="policy"):
        PolicyConfig(**changes)  # type: ignore[arg-type]
