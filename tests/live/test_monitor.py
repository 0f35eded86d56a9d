"""The live monitor with a fake camera, a scripted estimator and a fake clock: no MediaPipe."""

from __future__ import annotations

import numpy as np
import pytest

from posture.config import Config, GateConfig, SamplingConfig
from posture.errors import CameraUnavailableError
from posture.geometry import View
from posture.live.monitor import Monitor
from posture.sampling import AdaptiveSampler, ChangeGate
from tests.builders import SLOUCHED, UPRIGHT
from tests.fakes import EPOCH, Clock, FakeCamera, FakeHistory, ScriptedEstimator, fake_monitor


def test_sustained_slouch_alerts_within_hold_plus_one_second() -> None:
    monitor, _, sink, _ = fake_monitor(lambda t: UPRIGHT if t < 10 else SLOUCHED, duration=60.0, hold=20.0)
    totals = monitor.run()
    posture_alerts = [n for n in sink.sent if n.kind == "posture"]
    assert posture_alerts, "no alert"
    assert 30.0 <= posture_alerts[0].t_s <= 31.0
    assert "head" in posture_alerts[0].message.lower()
    assert totals.alerts == 1
    assert totals.poor_s == pytest.approx(50.0, abs=1.5)


def test_glance_never_alerts_and_steady_posture_is_sampled_about_once_a_second() -> None:
    est_script = lambda t: SLOUCHED if 20 <= t < 23 else UPRIGHT  # noqa: E731
    monitor, camera, sink, _ = fake_monitor(est_script, duration=60.0, hold=20.0)
    monitor.run()
    assert [n for n in sink.sent if n.kind == "posture"] == []
    assert 55 <= camera.reads <= 75  # ~1 fps steady, a little faster around the glance


def test_away_slows_down_and_releases_the_camera() -> None:
    monitor, camera, _, _ = fake_monitor(lambda t: UPRIGHT if t < 10 else None, duration=200.0)
    totals = monitor.run()
    # 10 s at 1 fps, 10 s more at 1 fps, then 0.25 fps for 180 s ≈ 65 reads, not 200.
    assert camera.reads < 80
    assert camera.opens > 1  # after a long absence the camera is opened only to look
    # Each reading 4 s apart counts whole (the gap rule allows twice the planned step).
    assert totals.away_s == pytest.approx(190.0, abs=4.0)


def test_camera_lost_and_back_keeps_the_session(caplog) -> None:
    monitor, camera, _, _ = fake_monitor(lambda t: UPRIGHT, duration=60.0, down=((20.0, 30.0),))
    totals = monitor.run()
    lost = [r for r in caplog.records if "stopped delivering frames" in r.getMessage()]
    back = [r for r in caplog.records if "is back" in r.getMessage()]
    assert len(lost) == 1 and len(back) == 1
    assert camera.opens >= 2
    # The 16 s until the camera came back (retried after 1, 2, 4 and 8 s) count 2 s, not 16:
    # nobody saw the posture then (posture.detector.gap_limit_s).
    assert 40.0 < totals.good_s <= 60.0 - 16.0 + 2.0
    assert monitor.readings > 40


def test_camera_absent_at_start_is_an_input_error() -> None:
    monitor, *_ = fake_monitor(lambda t: UPRIGHT, down=((0.0, 999.0),))
    with pytest.raises(CameraUnavailableError):
        monitor.run()


def test_pause_and_resume_through_the_control_handler() -> None:
    monitor, camera, _, clock = fake_monitor(lambda t: UPRIGHT, duration=60.0)
    original_sleep = clock.sleep

    def sleep(s: float) -> None:
        before = clock.t
        original_sleep(s)
        if before < 10.0 <= clock.t:
            assert monitor.pause(EPOCH + 30.0).state == "paused"  # in effect as it returns
        if before < 20.0 <= clock.t:
            status = monitor.status()
            assert status.state == "paused" and status.reason == "paused by you"
            assert status.paused_until_s == EPOCH + 30.0

    monitor._sleep = sleep
    totals = monitor.run()
    assert totals.paused_s == pytest.approx(20.0, abs=1.0)
    assert 35 <= camera.reads <= 45  # nothing read while paused
    assert camera.closes >= 2  # released while paused
    assert monitor.status().state == "stopped"


def test_resume_ends_an_indefinite_pause() -> None:
    monitor, _, _, clock = fake_monitor(lambda t: UPRIGHT, duration=30.0)
    original_sleep = clock.sleep

    def sleep(s: float) -> None:
        before = clock.t
        original_sleep(s)
        if before < 5.0 <= clock.t:
            assert monitor.pause(None).paused_until_s is None
        if before < 15.0 <= clock.t:
            assert monitor.resume().state == "running"

    monitor._sleep = sleep
    totals = monitor.run()
    assert totals.paused_s == pytest.approx(10.0, abs=1.0)


def test_a_pause_or_resume_between_two_turns_of_the_loop_stands() -> None:
    """The loop sets its status after it looked at the pause; a command in between must win."""
    from posture.reading import Reading, Verdict

    monitor, *_ = fake_monitor(lambda t: UPRIGHT, duration=10.0)
    monitor.run()
    reading = Reading(1.0, True, View.SIDE, {}, {"forward_head": 0.2}, Verdict.GOOD)
    monitor.pause(EPOCH + 600.0)
    monitor._set_status(state="running", reading=reading)  # the turn that began before the pause
    status = monitor.status()
    assert (status.state, status.reason, status.paused_until_s) == ("paused", "paused by you", EPOCH + 600.0)
    assert status.verdict == "good" and status.findings == {"forward_head": 0.2}  # still up to date
    monitor.resume()
    monitor._set_status(state="paused", reason="paused by you")  # the turn that began before the resume
    assert monitor.status().state == "running" and monitor.status().reason is None
    monitor._set_status(state="paused", reason="screen locked")  # a pause of its own still shows
    assert (monitor.status().state, monitor.status().reason) == ("paused", "screen locked")


def test_screen_lock_pauses() -> None:
    from posture.live.context import ContextState

    class Context:
        def poll(self, now):
            return ContextState(locked=20.0 <= now < 40.0, meeting="zoom" if 45.0 <= now < 50.0 else None)

    reasons = []
    monitor, _, _, clock = fake_monitor(lambda t: UPRIGHT, duration=60.0, context=Context())
    original_sleep = clock.sleep

    def sleep(s: float) -> None:
        original_sleep(s)
        if monitor.status().state == "paused":
            reasons.append(monitor.status().reason)

    monitor._sleep = sleep
    totals = monitor.run()
    assert totals.paused_s == pytest.approx(25.0, abs=1.5)
    assert set(reasons) == {"screen locked", "zoom is running"}


def test_history_is_flushed_every_few_seconds_and_finished() -> None:
    history = FakeHistory()
    monitor, *_ = fake_monitor(lambda t: UPRIGHT if t < 30 else SLOUCHED, duration=60.0, history=history)
    monitor.run()
    assert 10 <= len(history.updates) <= 13  # every 5 s
    assert history.finished is not None
    assert history.finished.duration_s == pytest.approx(60.0, abs=1.0)
    assert history.finished.poor_s > 20.0


def test_stop_ends_the_loop() -> None:
    monitor, _, _, clock = fake_monitor(lambda t: UPRIGHT, duration=None)
    original_sleep = clock.sleep

    def sleep(s: float) -> None:
        original_sleep(s)
        if clock.t > 12.0:
            monitor.stop()

    monitor._sleep = sleep
    monitor.run()
    assert 11.0 < clock.t < 14.0


def test_sampler_rates() -> None:
    from posture.detector import DetectorState
    from posture.reading import Reading, Verdict

    sampler = AdaptiveSampler(SamplingConfig())

    def reading(t, posture, sev=0.0):
        return Reading(t, posture is not Verdict.AWAY, View.SIDE, {}, {"forward_head": sev}, posture)

    assert sampler.interval_s(reading(0, Verdict.GOOD), DetectorState()) == pytest.approx(1.0)
    assert sampler.interval_s(reading(1, Verdict.GOOD, 0.8), DetectorState()) == pytest.approx(0.5)
    assert sampler.interval_s(
        reading(2, Verdict.POOR, 1.5), DetectorState(alert_active=True)
    ) == pytest.approx(1.0)
    assert sampler.interval_s(reading(3, Verdict.AWAY), DetectorState()) == pytest.approx(1.0)
    assert sampler.interval_s(reading(14, Verdict.AWAY), DetectorState()) == pytest.approx(4.0)
    assert sampler.interval_s(reading(15, Verdict.GOOD), DetectorState()) == pytest.approx(1.0)


def test_change_gate_skips_the_model_only_while_the_picture_is_still() -> None:
    rng = np.random.default_rng(0)
    scene = rng.integers(0, 255, (36, 64)).astype(np.uint8)
    gate = ChangeGate(GateConfig(max_reuse_s=5.0))
    assert not gate.unchanged(scene, 0.0)  # nothing analysed yet
    gate.analysed(scene, 0.0)
    noisy = np.clip(scene.astype(int) + rng.integers(-3, 4, scene.shape), 0, 255).astype(np.uint8)
    assert gate.unchanged(noisy, 1.0)  # sensor noise is not a change
    moved = scene.copy()
    moved[5:15, 20:30] = 255 - moved[5:15, 20:30]  # a head-sized patch changes
    assert not gate.unchanged(moved, 1.0)
    assert not gate.unchanged(noisy, 5.5)  # a proper look at least every 5 s
    assert not ChangeGate(GateConfig(enabled=False)).unchanged(scene, 0.1)


def test_monitor_reuses_the_measurement_while_nothing_moves() -> None:
    clock = Clock()
    camera = FakeCamera(clock)
    estimator = ScriptedEstimator(lambda t: UPRIGHT)
    monitor = Monitor(
        Config(),
        camera,
        estimator,
        duration_s=30.0,
        clock=clock,
        wall=clock.wall,
        sleep=clock.sleep,
    )
    monitor.run()
    assert monitor.readings >= 28
    assert len(estimator.calls) <= 8  # one look every 5 s of a still picture
    assert monitor.reused == monitor.readings - len(estimator.calls)


def test_closing_summary_counts_alerts_as_the_session_record() -> None:
    from posture._cli.live import _closing_summary

    # Two slouches: two alerts, the second held back by the policy's cooldown (one notification).
    history = FakeHistory()
    monitor, _camera, sink, _clock = fake_monitor(
        lambda t: SLOUCHED if 10 < t < 60 or t > 80 else UPRIGHT, duration=120.0, history=history
    )
    totals = monitor.run()
    assert monitor.final_totals is history.finished  # one object: what is printed is what is stored
    assert (history.finished.alerts, history.finished.episodes) == (2, 2)
    sent = [n for n in sink.sent if n.kind == "posture"]
    assert len(sent) == 1
    line = _closing_summary(monitor, totals.paused_s)
    assert "2 sustained episode(s), 2 alert(s) (1 posture notification(s) sent)" in line
    assert f"poor posture {history.finished.poor_share:.0%}" in line


def test_monitor_without_history_still_has_final_totals() -> None:
    monitor, *_ = fake_monitor(lambda t: SLOUCHED if t > 10 else UPRIGHT, duration=60.0)
    monitor.run()
    assert monitor.final_totals is not None
    assert (monitor.final_totals.alerts, monitor.final_totals.episodes) == (1, 1)


def test_verbose_logs_the_model_and_each_sampling_decision(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.INFO, logger="posture")
    monitor, *_ = fake_monitor(lambda t: None if t > 40 else (SLOUCHED if t > 10 else UPRIGHT), duration=80.0)
    monitor.run()
    lines = [r.getMessage() for r in caplog.records if r.name == "posture.live.monitor"]
    assert any(m.startswith("watching fake camera with pose model") for m in lines)
    rates = [m for m in lines if m.startswith("sampling ")]
    assert any("a finding nears its threshold" in m for m in rates), rates
    assert any("posture steady" in m for m in rates), rates
    assert any("nobody there" in m for m in rates), rates
    # only changes are logged, not every sample
    assert len(rates) < 10
