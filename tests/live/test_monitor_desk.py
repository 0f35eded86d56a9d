"""What the monitor does for the desk app: a calibration asked for over the control channel, a stop
from the tray, breaks counted, alerts in the status, and the end-of-day line."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from posture.baseline import Baseline
from posture.config import Config, EndOfDayConfig
from posture.errors import ConfigError
from posture.live.control import RequestError
from posture.live.end_of_day import EndOfDay, day_line, end_of_day_message, tomorrow
from posture.outputs.history import DaySummary, SessionTotals
from posture.sources.media import Frame
from tests.builders import SLOUCHED, UPRIGHT
from tests.fakes import EPOCH, FakeHistory, fake_monitor


class GreyCamera:
    """The fake camera of test_monitor with a picture bright enough to calibrate on."""

    def __init__(self, camera, level: int = 128) -> None:
        self._camera = camera
        self.level = level

    def __getattr__(self, name):
        return getattr(self._camera, name)

    def read(self) -> Frame | None:
        frame = self._camera.read()
        if frame is None:
            return None
        return Frame(np.full((48, 64, 3), self.level, np.uint8), frame.index, frame.t_s)


def test_a_calibration_asked_for_runs_on_the_monitors_camera_and_is_used(tmp_path: Path) -> None:
    profile = tmp_path / "profile.json"
    monitor, camera, sink, clock = fake_monitor(lambda t: UPRIGHT, duration=80.0)
    monitor.frames = GreyCamera(camera)
    monitor.profile_path = profile
    original_sleep = clock.sleep
    replies = []

    def sleep(s: float) -> None:
        before = clock.t
        original_sleep(s)
        if before < 5.0 <= clock.t:
            replies.append(monitor.calibrate())

    monitor._sleep = sleep
    monitor.run()
    assert replies[0].state == "calibrating" and "hold still" in (replies[0].calibration or "")
    assert profile.is_file() and Baseline.load(profile).view == "side"
    assert monitor.session.analyzer.baseline is not None  # judged against it from then on
    assert monitor.status().calibration.startswith("saved: ")
    (note,) = [n for n in sink.sent if n.kind == "calibration"]
    assert note.title == "Calibration saved"


def test_a_failed_calibration_saves_nothing_and_says_why(tmp_path: Path) -> None:
    profile = tmp_path / "profile.json"
    monitor, camera, sink, clock = fake_monitor(lambda t: UPRIGHT, duration=60.0)
    monitor.frames = GreyCamera(camera, level=5)  # far too dark
    monitor.profile_path = profile
    original_sleep = clock.sleep

    def sleep(s: float) -> None:
        before = clock.t
        original_sleep(s)
        if before < 5.0 <= clock.t:
            monitor.calibrate()

    monitor._sleep = sleep
    totals = monitor.run()
    assert not profile.exists()
    assert monitor.status().calibration.startswith("not saved: ")
    (note,) = [n for n in sink.sent if n.kind == "calibration"]
    assert note.title == "Calibration not saved" and "dark" in note.message.lower()
    assert totals.good_s > 10.0  # the monitor went on watching


def test_a_monitor_without_a_profile_path_refuses_to_calibrate() -> None:
    monitor, *_ = fake_monitor(lambda t: UPRIGHT)
    with pytest.raises(RequestError, match="cannot calibrate"):
        monitor.calibrate()


def test_a_paused_monitor_refuses_to_calibrate(tmp_path: Path) -> None:
    """A calibration opens the camera, which a pause has released: refused until it resumes."""
    monitor, *_ = fake_monitor(lambda t: UPRIGHT)
    monitor.profile_path = tmp_path / "profile.json"
    monitor.pause(None)
    with pytest.raises(RequestError, match=r"^paused: resume first"):
        monitor.calibrate()
    assert monitor.status().state == "paused"
    monitor.resume()
    assert monitor.calibrate().state == "calibrating"


def test_a_pause_of_the_context_refuses_to_calibrate_and_one_run_out_does_not(tmp_path: Path) -> None:
    monitor, *_ = fake_monitor(lambda t: UPRIGHT)
    monitor.profile_path = tmp_path / "profile.json"
    monitor._set_status(state="paused", reason="screen locked")
    with pytest.raises(RequestError, match=r"^paused: screen locked; calibrate once"):
        monitor.calibrate()
    monitor._set_status(state="running")
    monitor.pause(monitor._wall().timestamp() - 1.0)  # over; the loop has not noticed yet
    assert monitor.calibrate().state == "calibrating"


def test_finish_ends_the_session_like_ctrl_c() -> None:
    history = FakeHistory()
    monitor, _, _, clock = fake_monitor(lambda t: UPRIGHT, duration=None, history=history)
    original_sleep = clock.sleep

    def sleep(s: float) -> None:
        original_sleep(s)
        if clock.t > 8.0 and not monitor._stop.is_set():
            assert monitor.finish().state == "stopping"

    monitor._sleep = sleep
    monitor.run()
    assert 8.0 < clock.t < 10.0
    assert history.finished is not None and monitor.status().state == "stopped"


def test_breaks_are_counted_and_alerts_are_in_the_status() -> None:
    history = FakeHistory()
    # slouch for 40 s (an alert after 20 s), then away for 4 minutes (a break), then back
    script = lambda t: SLOUCHED if t < 40 else (None if t < 280 else UPRIGHT)  # noqa: E731
    monitor, _, _, clock = fake_monitor(script, duration=300.0, history=history)
    seen = []
    original_sleep = clock.sleep

    def sleep(s: float) -> None:
        original_sleep(s)
        seen.append(monitor.status().alerts)

    monitor._sleep = sleep
    totals = monitor.run()
    assert totals.alerts == 1 and max(seen) == 1
    assert totals.breaks == 1
    assert history.finished.breaks == 1


# -- the end-of-day line --------------------------------------------------------------------------------


def day(**kw) -> DaySummary:
    base = dict(
        day=date(2026, 3, 10),
        sessions=2,
        present_s=5 * 3600.0,
        poor_s=3600.0,
        episodes=3,
        alerts=2,
        breaks=4,
        finding_poor_s={"forward_head": 3000.0, "hunched_back": 600.0},
    )
    return DaySummary(**{**base, **kw})


def test_the_day_in_words() -> None:
    from posture.advice import load_catalogue

    catalogue = load_catalogue()
    assert day_line(None) == "Today: nothing watched yet"
    assert day_line(day()) == "Today: 5 hours watched, 20% poor, 2 alerts"
    title, message, topic = end_of_day_message(day(), catalogue)
    assert title == "Your day at the desk" and topic == "forward_head"
    assert message.startswith(
        "5 hours at the desk, poor posture 20% (mostly head forward), 2 alerts, 4 breaks."
    )
    assert "Tomorrow: " + catalogue.topic("forward_head").summary in message
    # nothing poor, few breaks: breaks; nothing poor, enough breaks: keep it up
    assert tomorrow(day(poor_s=0.0, finding_poor_s={}, breaks=0), catalogue).topic == "breaks"
    assert tomorrow(day(poor_s=0.0, finding_poor_s={}, breaks=6), catalogue).text.startswith("Keep it up")


def running(present_s: float = 3600.0) -> SessionTotals:
    return SessionTotals(duration_s=present_s, present_s=present_s, poor_s=600.0, good_s=present_s - 600.0)


def test_end_of_day_is_sent_once_when_the_time_passes() -> None:
    eod = EndOfDay(EndOfDayConfig(enabled=True, at="17:30"), today=lambda: None)
    start = datetime(2026, 3, 10, 17, 29, 0)
    sent = [eod.due(start + timedelta(seconds=s), running) for s in range(0, 180, 5)]
    notes = [n for n in sent if n is not None]
    assert len(notes) == 1 and notes[0].kind == "end_of_day"
    assert notes[0].message.startswith("1 hour at the desk, poor posture 17%")
    # the next day again, once
    later = [
        eod.due(datetime(2026, 3, 11, 17, 29, 50) + timedelta(seconds=s), running) for s in range(0, 30, 5)
    ]
    assert len([n for n in later if n is not None]) == 1


def test_end_of_day_not_when_off_not_on_an_empty_day_not_when_started_after() -> None:
    t = datetime(2026, 3, 10, 17, 29, 58)
    off = EndOfDay(EndOfDayConfig(enabled=False, at="17:30"), today=lambda: None)
    assert [off.due(t + timedelta(seconds=s), running) for s in range(5)] == [None] * 5
    empty = EndOfDay(EndOfDayConfig(enabled=True, at="17:30"), today=lambda: day(present_s=0.0, poor_s=0.0))
    assert [empty.due(t + timedelta(seconds=s), running) for s in range(5)] == [None] * 5
    late = EndOfDay(EndOfDayConfig(enabled=True, at="17:30"), today=lambda: None)
    assert late.due(datetime(2026, 3, 10, 20, 0), running) is None  # started after: no summary at once


def test_end_of_day_uses_the_history_of_the_day() -> None:
    eod = EndOfDay(EndOfDayConfig(enabled=True, at="09:00"), today=lambda: day())
    assert eod.due(datetime(2026, 3, 10, 8, 59, 59), running) is None
    note = eod.due(datetime(2026, 3, 10, 9, 0, 0), running)
    assert note is not None and "5 hours at the desk" in note.message and note.advice == ("forward_head",)


@pytest.mark.parametrize("at", ["5pm", "25:00", "17:60", "1730", "7:5", ""])
def test_end_of_day_time_must_be_hh_mm(at: str) -> None:
    with pytest.raises(ConfigError, match=r"end_of_day\.at"):
        EndOfDayConfig(enabled=True, at=at)


def test_end_of_day_reads_a_time_as_quiet_hours_do() -> None:
    assert EndOfDayConfig(enabled=True, at="7:30").hour_minute == (7, 30)
    assert EndOfDayConfig(enabled=True, at="07:30").hour_minute == (7, 30)


def test_the_monitor_sends_the_end_of_day_through_its_sinks_and_not_in_quiet_hours() -> None:
    # The fake wall clock starts at EPOCH (UTC); the line is set at the first whole minute after it.
    start = datetime.fromtimestamp(EPOCH, tz=timezone.utc)
    at = (start + timedelta(minutes=1)).strftime("%H:%M")
    config = Config().replace("end_of_day", enabled=True, at=at)
    monitor, _, sink, _ = fake_monitor(lambda t: UPRIGHT, duration=150.0, config=config)
    monitor.end_of_day = EndOfDay(config.end_of_day, today=lambda: None)
    monitor.run()
    notes = [n for n in sink.sent if n.kind == "end_of_day"]
    assert len(notes) == 1 and "at the desk" in notes[0].message

    quiet = config.replace("policy", quiet_hours=("00:00", "23:59"))
    monitor, _, sink, _ = fake_monitor(lambda t: UPRIGHT, duration=150.0, config=quiet)
    monitor.end_of_day = EndOfDay(quiet.end_of_day, today=lambda: None)
    monitor.run()
    assert [n for n in sink.sent if n.kind == "end_of_day"] == []


def test_end_of_day_in_quiet_hours_is_held_until_they_end() -> None:
    eod = EndOfDay(EndOfDayConfig(enabled=True, at="17:30"), today=lambda: None)

    def quiet(wall: datetime) -> bool:
        return wall < datetime(2026, 3, 10, 18, 0)

    t = datetime(2026, 3, 10, 17, 29, 0)
    sent = [eod.due(t + timedelta(minutes=m), running, quiet) for m in range(0, 45, 5)]
    assert [n is not None for n in sent] == [False] * 7 + [True, False]  # at 18:00, once


def test_a_stop_during_a_calibration_ends_it_at_once(tmp_path: Path) -> None:
    profile = tmp_path / "profile.json"
    monitor, camera, _sink, clock = fake_monitor(lambda t: UPRIGHT, duration=None)
    monitor.frames = GreyCamera(camera)
    monitor.profile_path = profile
    original_sleep = clock.sleep

    def sleep(s: float) -> None:
        before = clock.t
        original_sleep(s)
        if before < 5.0 <= clock.t:
            monitor.calibrate()
        if before < 8.0 <= clock.t:
            monitor.finish()  # 3 s into the 8 s capture

    monitor._sleep = sleep
    monitor.run()
    assert clock.t < 9.0 and not profile.exists()
    assert monitor.status().calibration.startswith("not saved")
