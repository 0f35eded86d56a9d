"""The tray's logic with a fake control channel, a fake tray backend and a fake own monitor: every
state the icon shows and every menu action."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

import pytest

from posture.live.channel import NoAnswer
from posture.live.control import (
    USER_PAUSE_REASON,
    Command,
    ControlError,
    MonitorNotRunningError,
    Request,
    Status,
)
from posture.live.tray import (
    COLOURS,
    Action,
    MenuItem,
    MonitorState,
    TrayApp,
    TrayState,
    TrayView,
    pause_end,
    tray_menu,
    tray_view,
)
from posture.outputs.history import DaySummary

NOW = datetime(2026, 3, 10, 14, 0, 0)
RUNNING = Status(state="running", verdict="good", source="camera 0", session_s=60.0, present_s=60.0)


class FakeChannel:
    """The control channel: answers with ``status`` (None: no monitor), records every request."""

    def __init__(self, status: Status | None = RUNNING) -> None:
        self.status = status
        self.requests: list[Request] = []
        self.refuse: str | None = None  # answer every command but status with this error
        self.error: ControlError | None = None  # raise this on every request

    def __call__(self, request: Request) -> Status:
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        if self.status is None:
            raise MonitorNotRunningError
        if self.refuse and request.cmd is not Command.STATUS:
            raise ControlError(self.refuse)
        if request.cmd is Command.PAUSE:
            self.status = replace(
                self.status, state="paused", reason=USER_PAUSE_REASON, paused_until_s=request.until_s
            )
        elif request.cmd is Command.RESUME:
            self.status = replace(self.status, state="running", reason=None, paused_until_s=None)
        elif request.cmd is Command.CALIBRATE:
            self.status = replace(self.status, state="calibrating", calibration="hold still")
        elif request.cmd is Command.STOP:
            self.status = replace(self.status, state="stopping")
        return self.status

    def commands(self) -> list[str]:
        return [r.cmd.value for r in self.requests if r.cmd is not Command.STATUS]


class FakeBackend:
    def __init__(self) -> None:
        self.shown: list[tuple[TrayView, tuple[MenuItem, ...]]] = []

    def show(self, view: TrayView, menu: tuple[MenuItem, ...]) -> None:
        self.shown.append((view, menu))


class FakeOwnMonitor:
    """The monitor the tray starts: it "runs" by making the channel answer."""

    def __init__(self, channel: FakeChannel) -> None:
        self.channel = channel
        self.camera: int | None = 0
        self.starts: list[int | None] = []
        self.code: int | None = None
        self.killed = False
        self.terminated = False
        self.stops_on_request = True
        self.stops_on_sigterm = True

    def start(self, camera: int | None = None) -> None:
        if camera is not None:
            self.camera = camera
        self.starts.append(self.camera)
        self.code = None
        self.channel.status = Status(state="starting")

    def started(self) -> bool:
        return bool(self.starts)

    def exit_code(self) -> int | None:
        return self.code

    def last_words(self) -> str | None:
        return "camera 0 is not available" if self.code else None

    def wait(self, timeout_s: float) -> int | None:
        if (
            self.stops_on_request
            and self.channel.status is not None
            and self.channel.status.state == "stopping"
        ):
            self.code, self.channel.status = 0, None
        return self.code

    def terminate(self) -> None:
        self.terminated = True
        if self.stops_on_sigterm:
            self.code, self.channel.status = 0, None

    def kill(self) -> None:
        self.killed = True
        self.code, self.channel.status = -9, None

    def crash(self, code: int = 1) -> None:
        self.code, self.channel.status = code, None


def make_app(
    status: Status | None = RUNNING, *, own: bool = False, cameras: tuple[int, ...] = ()
) -> tuple[TrayApp, FakeChannel, FakeBackend, FakeOwnMonitor | None, dict[str, list[Any]]]:
    channel = FakeChannel(status)
    backend = FakeBackend()
    monitor = FakeOwnMonitor(channel) if own else None
    calls: dict[str, list[Any]] = {"pages": [], "notes": []}
    app = TrayApp(
        channel=channel,
        backend=backend,
        own=monitor,
        open_page=calls["pages"].append,
        today=lambda: DaySummary(date(2026, 3, 10), 2, 3600.0, 720.0, 1, 2, 1, {"forward_head": 700.0}),
        notify=lambda title, message: calls["notes"].append((title, message)),
        clock=lambda: NOW,
        cameras=cameras,
    )
    return app, channel, backend, monitor, calls


def item(menu: tuple[MenuItem, ...], action: Action) -> MenuItem:
    return next(i for i in menu if i.action is action)


# -- every state ---------------------------------------------------------------------------------------

STATES = {
    TrayState.FINE: (RUNNING, MonitorState(), "watching, posture fine"),
    TrayState.BUILDING: (
        replace(RUNNING, verdict="poor", findings={"forward_head": 1.2}),
        MonitorState(),
        "poor posture building: head forward",
    ),
    TrayState.ALERT: (
        replace(RUNNING, verdict="poor", findings={"hunched_back": 1.6}, alert=True),
        MonitorState(),
        "sustained poor posture: upper back hunched",
    ),
    TrayState.PAUSED: (
        replace(RUNNING, state="paused", reason=USER_PAUSE_REASON, paused_until_s=NOW.timestamp() + 1800),
        MonitorState(),
        "paused until 14:30",
    ),
    TrayState.AWAY: (replace(RUNNING, state="away", verdict="away"), MonitorState(), "nobody at the desk"),
    TrayState.NO_CAMERA: (replace(RUNNING, state="camera-lost"), MonitorState(), "no camera (camera 0)"),
    TrayState.CALIBRATING: (
        replace(RUNNING, state="calibrating", calibration="hold still for 8 s"),
        MonitorState(),
        "calibrating: hold still for 8 s",
    ),
    TrayState.STARTING: (None, MonitorState(owned=True, starting=True), "starting the monitor"),
    TrayState.NOT_RUNNING: (None, MonitorState(), "the monitor is not running"),
    TrayState.CRASHED: (
        None,
        MonitorState(owned=True, exit_code=1, last_words="camera 0 is not available"),
        "stopped unexpectedly (exit 1): camera 0 is not available; restart it from the menu",
    ),
}


def test_the_states_cover_every_tray_state() -> None:
    assert set(STATES) == set(TrayState)


@pytest.mark.parametrize("state", list(TrayState), ids=lambda s: s.value)
def test_each_state_has_its_colour_and_tooltip(state: TrayState) -> None:
    status, monitor, words = STATES[state]
    view = tray_view(status, monitor, NOW)
    assert view.state is state
    assert view.colour == COLOURS[state]
    assert view.tooltip.startswith("posture: ") and words in view.tooltip, view.tooltip


def test_the_posture_colours_are_the_reports() -> None:
    from posture.outputs.report.charts import COLOURS as REPORT

    assert COLOURS[TrayState.FINE] == REPORT["good"]
    assert COLOURS[TrayState.BUILDING] == REPORT["poor"]
    assert COLOURS[TrayState.ALERT] == REPORT["alert"]
    assert COLOURS[TrayState.AWAY] == REPORT["away"]


def test_more_states_in_words() -> None:
    # a pause until resumed, a pause for tomorrow, a locked screen (the context pauses by itself)
    forever = replace(RUNNING, state="paused", reason=USER_PAUSE_REASON, paused_until_s=None)
    assert tray_view(forever, MonitorState(), NOW).tooltip == "posture: paused until you resume"
    tomorrow = replace(forever, paused_until_s=datetime(2026, 3, 11, 6, 0).timestamp())
    assert tray_view(tomorrow, MonitorState(), NOW).tooltip == "posture: paused until tomorrow 06:00"
    locked = replace(RUNNING, state="paused", reason="screen locked")
    view = tray_view(locked, MonitorState(), NOW)
    assert view.state is TrayState.PAUSED and "screen locked" in view.tooltip and not view.user_paused
    # a finding near its threshold is "building" even while the verdict is still good
    near = replace(RUNNING, findings={"forward_head": 0.8})
    assert tray_view(near, MonitorState(), NOW).state is TrayState.BUILDING
    # a view it cannot judge is still "watching"
    assert tray_view(replace(RUNNING, verdict="uncertain"), MonitorState(), NOW).state is TrayState.FINE
    # its own monitor stopped cleanly (the file ended): not a crash
    assert tray_view(None, MonitorState(owned=True, exit_code=0), NOW).state is TrayState.NOT_RUNNING
    # no answer in time
    view = tray_view(None, MonitorState(error="no answer"), NOW)
    assert view.state is TrayState.NOT_RUNNING and "no answer" in view.tooltip
    assert tray_view(Status(state="starting"), MonitorState(), NOW).state is TrayState.STARTING


# -- the menu ------------------------------------------------------------------------------------------


def test_menu_while_watching() -> None:
    view = tray_view(RUNNING, MonitorState(), NOW)
    menu = tray_menu(view, "Today: 1 hour watched, 20% poor, 2 alerts", owned=False)
    assert menu[0].label == "Watching, posture fine" and not menu[0].enabled
    assert menu[1].label.startswith("Today: 1 hour") and not menu[1].enabled
    for action in (Action.PAUSE_30M, Action.PAUSE_1H, Action.PAUSE_TOMORROW, Action.CALIBRATE):
        assert item(menu, action).enabled
    assert not item(menu, Action.RESUME).enabled
    assert item(menu, Action.OPEN_TODAY).enabled and item(menu, Action.OPEN_WEEK).enabled
    assert item(menu, Action.QUIT).label == "Quit (the monitor keeps running)"
    assert not any(i.action is Action.START for i in menu)


def test_menu_while_paused_and_while_down() -> None:
    paused = tray_view(STATES[TrayState.PAUSED][0], MonitorState(), NOW)
    menu = tray_menu(paused, "Today", owned=True)
    assert item(menu, Action.RESUME).enabled and not item(menu, Action.CALIBRATE).enabled
    assert item(menu, Action.QUIT).label == "Quit (and stop the monitor)"
    locked = tray_view(replace(RUNNING, state="paused", reason="screen locked"), MonitorState(), NOW)
    assert not item(tray_menu(locked, "Today", owned=False), Action.RESUME).enabled
    for state, start in (
        (TrayState.NOT_RUNNING, "Start the monitor"),
        (TrayState.CRASHED, "Restart the monitor"),
    ):
        status, monitor, _ = STATES[state]
        menu = tray_menu(tray_view(status, monitor, NOW), "Today", owned=True)
        assert item(menu, Action.START).label == start
        assert not any(
            i.enabled for i in menu if i.action in (Action.PAUSE_30M, Action.RESUME, Action.CALIBRATE)
        )
        assert item(menu, Action.OPEN_WEEK).enabled  # the pages need no monitor


def test_camera_choice_only_for_its_own_monitor_with_two_cameras() -> None:
    view = tray_view(RUNNING, MonitorState(), NOW)
    assert not any(i.submenu for i in tray_menu(view, "Today", owned=True, cameras=(0,), camera=0))
    assert not any(i.submenu for i in tray_menu(view, "Today", owned=False, cameras=(0, 1), camera=0))
    (cams,) = (i for i in tray_menu(view, "Today", owned=True, cameras=(0, 1), camera=1) if i.submenu)
    assert [(c.label, c.checked, c.arg) for c in cams.submenu] == [
        ("Camera 0", False, 0),
        ("Camera 1", True, 1),
    ]


def test_pause_ends() -> None:
    assert pause_end(Action.PAUSE_30M, NOW) == NOW.timestamp() + 1800
    assert pause_end(Action.PAUSE_1H, NOW) == NOW.timestamp() + 3600
    assert pause_end(Action.PAUSE_TOMORROW, NOW) == datetime(2026, 3, 11, 6, 0).timestamp()
    assert (
        pause_end(Action.PAUSE_TOMORROW, datetime(2026, 3, 11, 2, 0))
        == datetime(2026, 3, 11, 6, 0).timestamp()
    )


# -- the controller: every action ----------------------------------------------------------------------


def test_it_attaches_to_a_running_monitor_and_leaves_it_alone() -> None:
    app, channel, backend, own, _ = make_app(own=True)
    app.attach()
    assert own is not None and own.starts == []  # one monitor, never a second
    assert backend.shown[-1][0].state is TrayState.FINE
    assert "Today: 1 hour watched, 20% poor, 2 alerts" in [i.label for i in backend.shown[-1][1]]
    app.act(Action.QUIT)
    assert channel.commands() == []  # quitting leaves a monitor it did not start running


def test_it_starts_its_own_monitor_when_none_runs_and_stops_it_on_quit() -> None:
    app, channel, backend, own, _ = make_app(None, own=True)
    app.attach()
    assert own is not None and own.starts == [0]
    assert backend.shown[-1][0].state is TrayState.STARTING
    channel.status = RUNNING
    app.tick()
    assert backend.shown[-1][0].state is TrayState.FINE
    assert item(backend.shown[-1][1], Action.QUIT).label == "Quit (and stop the monitor)"
    app.act(Action.QUIT)
    assert channel.commands() == ["stop"] and own.code == 0 and not own.killed


def test_a_monitor_that_will_not_stop_is_ended(monkeypatch: pytest.MonkeyPatch) -> None:
    app, _channel, _backend, own, _ = make_app(None, own=True)
    app.attach()
    assert own is not None
    own.stops_on_request = False
    app.act(Action.QUIT)
    assert own.killed


@pytest.mark.parametrize(
    "why",
    [
        ControlError("the posture monitor is starting; try again in a moment"),
        NoAnswer("the posture monitor did not answer within 2 s"),
    ],
    ids=["refused-while-starting", "no-answer"],
)
def test_a_monitor_that_cannot_be_asked_to_stop_gets_sigterm_not_sigkill(why: ControlError) -> None:
    app, channel, _backend, own, _ = make_app(None, own=True)
    app.attach()
    assert own is not None
    channel.error = why
    app.act(Action.QUIT)
    assert own.terminated and not own.killed and own.code == 0  # its session saved


def test_a_monitor_that_ignores_sigterm_is_killed_after_the_wait() -> None:
    app, channel, _backend, own, _ = make_app(None, own=True)
    app.attach()
    assert own is not None
    channel.refuse = "the posture monitor is starting; try again in a moment"
    own.stops_on_sigterm = False
    app.act(Action.QUIT)
    assert own.terminated and own.killed


def test_a_camera_switch_while_starting_stops_the_monitor_with_sigterm() -> None:
    app, channel, _backend, own, _ = make_app(None, own=True, cameras=(0, 1))
    app.attach()
    assert own is not None
    channel.refuse = "the posture monitor is starting; try again in a moment"
    app.act(Action.CAMERA, 1)
    assert own.terminated and not own.killed and own.starts == [0, 1]


def test_without_own_monitor_it_only_shows() -> None:
    app, _channel, backend, _own, calls = make_app(None)
    app.attach()
    assert backend.shown[-1][0].state is TrayState.NOT_RUNNING
    app.act(Action.START)
    assert calls["notes"] and "does not start monitors" in calls["notes"][-1][1]


@pytest.mark.parametrize(
    ("action", "until"),
    [
        (Action.PAUSE_30M, NOW.timestamp() + 1800),
        (Action.PAUSE_1H, NOW.timestamp() + 3600),
        (Action.PAUSE_TOMORROW, datetime(2026, 3, 11, 6, 0).timestamp()),
    ],
)
def test_pause_actions_reach_the_monitor(action: Action, until: float) -> None:
    app, channel, backend, _own, _ = make_app()
    app.attach()
    app.act(action)
    pause = [r for r in channel.requests if r.cmd is Command.PAUSE]
    assert pause == [Request(Command.PAUSE, until)]
    view, menu = backend.shown[-1]
    assert view.state is TrayState.PAUSED and item(menu, Action.RESUME).enabled


def test_resume_calibrate_and_pages() -> None:
    app, channel, backend, _own, calls = make_app()
    app.attach()
    app.act(Action.PAUSE_1H)
    app.act(Action.RESUME)
    assert backend.shown[-1][0].state is TrayState.FINE
    app.act(Action.CALIBRATE)
    assert backend.shown[-1][0].state is TrayState.CALIBRATING
    assert calls["notes"][-1] == ("posture: calibrating", "hold still")
    app.act(Action.OPEN_TODAY)
    app.act(Action.OPEN_WEEK)
    assert calls["pages"] == [1, 7]
    assert channel.commands() == ["pause", "resume", "calibrate"]


def test_a_refusal_is_told() -> None:
    app, channel, _backend, _own, calls = make_app()
    app.attach()
    channel.refuse = "this monitor cannot calibrate: it has no profile to save to"
    app.act(Action.CALIBRATE)
    assert calls["notes"][-1] == ("posture", "this monitor cannot calibrate: it has no profile to save to")


def test_a_crash_is_said_once_and_restart_starts_it_again() -> None:
    app, channel, backend, own, calls = make_app(None, own=True)
    app.attach()
    assert own is not None
    channel.status = RUNNING
    app.tick()
    own.crash(1)
    app.tick()
    app.tick()
    assert backend.shown[-1][0].state is TrayState.CRASHED
    crash_notes = [n for n in calls["notes"] if "stopped" in n[0]]
    assert len(crash_notes) == 1 and "camera 0 is not available" in crash_notes[0][1]
    assert item(backend.shown[-1][1], Action.START).label == "Restart the monitor"
    app.act(Action.START)
    assert own.starts == [0, 0]
    assert backend.shown[-1][0].state is TrayState.STARTING


def test_camera_switch_restarts_its_own_monitor_on_the_other_camera() -> None:
    app, channel, _backend, own, _calls = make_app(None, own=True, cameras=(0, 1))
    app.attach()
    assert own is not None
    channel.status = RUNNING
    app.act(Action.CAMERA, 1)
    assert own.starts == [0, 1] and channel.commands() == ["stop"]
    app.act(Action.CAMERA, 1)  # already on it: nothing happens
    assert own.starts == [0, 1]
    other, channel2, _b, _o, calls2 = make_app(own=False, cameras=(0, 1))
    other.attach()
    other.act(Action.CAMERA, 1)
    assert "only the tray's own monitor" in calls2["notes"][-1][1] and channel2.commands() == []


def test_no_answer_is_shown_and_retried() -> None:
    app, channel, backend, _own, _ = make_app()
    channel.error = NoAnswer("the posture monitor did not answer within 2 s")
    app.attach()
    assert backend.shown[-1][0].state is TrayState.NOT_RUNNING
    assert "did not answer" in backend.shown[-1][0].tooltip
    channel.error = None
    app.tick()
    assert backend.shown[-1][0].state is TrayState.FINE


def test_a_pause_past_the_year_9999_is_shown_not_fatal() -> None:
    far = replace(RUNNING, state="paused", reason=USER_PAUSE_REASON, paused_until_s=1e20)
    app, _channel, backend, _own, _ = make_app(far)
    app.attach()  # tick() must not raise OverflowError: that ended the tray
    assert backend.shown[-1][0].tooltip == "posture: paused until unix time 1e+20"


def test_a_pause_days_away_names_the_day() -> None:
    later = replace(
        RUNNING, state="paused", reason=USER_PAUSE_REASON, paused_until_s=datetime(2026, 3, 13, 6).timestamp()
    )
    assert tray_view(later, MonitorState(), NOW).tooltip == "posture: paused until Fri 13 Mar 06:00"


def test_the_icon_is_redrawn_only_on_a_change() -> None:
    app, _channel, backend, _own, _ = make_app()
    app.attach()
    for _ in range(5):
        app.tick()
    assert len(backend.shown) == 1


def test_a_broken_history_does_not_take_the_tray_down() -> None:
    app, _channel, backend, _own, _ = make_app()

    def broken() -> None:
        raise OSError("database is locked")

    app.today = broken
    app.attach()
    assert backend.shown[-1][1][1].label == "Today: history unavailable (OSError)"


def test_start_is_refused_while_its_monitor_still_runs() -> None:
    app, channel, _backend, own, calls = make_app(None, own=True)
    app.attach()
    channel.error = NoAnswer("the posture monitor did not answer within 2 s")  # busy, not gone
    app.act(Action.START)
    assert own is not None and own.starts == [0]
    assert "still running" in calls["notes"][-1][1]


def test_a_failing_action_is_told_and_the_tray_goes_on() -> None:
    app, _channel, backend, _own, calls = make_app()
    app.attach()

    def broken_page(days: int) -> None:
        raise OSError("No space left on device")

    app.open_page = broken_page
    app.act(Action.OPEN_WEEK)
    assert calls["notes"][-1] == ("posture", "could not open week: No space left on device")
    assert backend.shown[-1][0].state is TrayState.FINE
