"""``posture tray``: the icon's state and menu as plain data, and the controller that drives them.

Pure and testable: :func:`tray_view` turns the monitor's status reply (or its absence) into a
:class:`TrayView` (state, colour, tooltip), :func:`tray_menu` turns that into :class:`MenuItem`\\ s,
and :class:`TrayApp` polls the monitor through the control channel, pushes both to a
:class:`Backend` (the pystray adapter in :mod:`posture.live.tray_icon`, a fake in tests) and carries
out the menu's actions. Everything with a side effect is injected: the channel, the backend, the
monitor the tray started (:class:`OwnMonitor`), the pages, the desktop notifications, the clock.

One monitor, never a second: the tray talks to a running monitor; only when none answers does it
start one (a child process it owns), and on quit it stops only that one, through the control
channel's ``stop``, or SIGTERM when it refuses or does not answer (the session is saved as on
Ctrl-C). A monitor it did not start is left alone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Protocol

from posture.durations import clock_time
from posture.findings import FINDING_WORDS
from posture.live.control import (
    USER_PAUSE_REASON,
    Command,
    ControlError,
    MonitorNotRunningError,
    Request,
    Status,
)

if TYPE_CHECKING:
    from posture.outputs.history import DaySummary

__all__ = [
    "COLOURS",
    "NEAR_SEVERITY",
    "TOMORROW_HOUR",
    "Action",
    "Backend",
    "MenuItem",
    "MonitorState",
    "OwnMonitor",
    "TrayApp",
    "TrayState",
    "TrayView",
    "pause_end",
    "tray_menu",
    "tray_view",
]

log = logging.getLogger(__name__)

NEAR_SEVERITY = 0.7  # a finding from here counts as "poor posture building" (sampling.near_severity)
TOMORROW_HOUR = 6  # "until tomorrow" ends at the next 06:00, as `posture pause until-tomorrow`
STOP_WAIT_S = 15.0  # how long the tray waits for its own monitor to save and exit


class TrayState(str, Enum):
    FINE = "fine"  # watching, posture fine
    BUILDING = "building"  # poor posture building (poor now, or a finding near its threshold)
    ALERT = "alert"  # a sustained-posture alert is active
    PAUSED = "paused"  # by the user (until when) or by the context (screen locked, meeting)
    AWAY = "away"  # nobody at the desk
    NO_CAMERA = "no-camera"  # the camera stopped delivering frames
    CALIBRATING = "calibrating"
    STARTING = "starting"
    NOT_RUNNING = "not-running"  # no monitor answers
    CRASHED = "crashed"  # the monitor the tray started ended by itself


# The icon's colour per state. Good, poor, alert and away are the report's colours
# (posture.outputs.report.charts.COLOURS; a test checks they agree).
COLOURS: dict[TrayState, str] = {
    TrayState.FINE: "#1a7f37",
    TrayState.BUILDING: "#e8871e",
    TrayState.ALERT: "#cf222e",
    TrayState.PAUSED: "#1f6feb",
    TrayState.AWAY: "#8c959f",
    TrayState.NO_CAMERA: "#8250df",
    TrayState.CALIBRATING: "#1f6feb",
    TrayState.STARTING: "#8c959f",
    TrayState.NOT_RUNNING: "#57606a",
    TrayState.CRASHED: "#57606a",
}


@dataclass(frozen=True)
class MonitorState:
    """What the tray knows about the monitor apart from its status reply."""

    owned: bool = False  # the tray started it (and stops it on quit)
    exit_code: int | None = None  # the tray's own monitor ended with this code (crashed)
    last_words: str | None = None  # the last line it wrote before it ended
    starting: bool = False  # the tray has started it and waits for its first answer
    error: str | None = None  # the channel's error, when it is not "not running"


@dataclass(frozen=True)
class TrayView:
    """The icon: its state, colour and tooltip (the first line of the menu repeats the tooltip)."""

    state: TrayState
    colour: str
    tooltip: str
    user_paused: bool = False  # a pause the user can resume (not a locked screen)


def _worst(status: Status) -> str | None:
    if not status.findings:
        return None
    code = max(status.findings.items(), key=lambda kv: kv[1])[0]
    return FINDING_WORDS.get(code, code.replace("_", " "))


def tray_view(status: Status | None, monitor: MonitorState, now: datetime) -> TrayView:
    """The icon for a status reply (None: no monitor answered) and what the tray knows besides."""

    def view(state: TrayState, text: str, **extra: bool) -> TrayView:
        return TrayView(state, COLOURS[state], f"posture: {text}", **extra)

    if status is None or status.state == "stopped":
        if monitor.exit_code == 0:
            return view(TrayState.NOT_RUNNING, "the monitor has stopped (its session is saved)")
        if monitor.exit_code is not None:
            why = f": {monitor.last_words}" if monitor.last_words else ""
            return view(
                TrayState.CRASHED,
                f"the monitor stopped unexpectedly (exit {monitor.exit_code}){why}; restart it from the menu",
            )
        if monitor.starting:
            return view(TrayState.STARTING, "starting the monitor")
        if monitor.error:
            return view(TrayState.NOT_RUNNING, f"cannot reach the monitor: {monitor.error}")
        return view(TrayState.NOT_RUNNING, "the monitor is not running")
    state = status.state
    if state == "starting" or state == "stopping":
        return view(
            TrayState.STARTING,
            "the monitor is starting" if state == "starting" else "the monitor is stopping",
        )
    if state == "calibrating":
        return view(TrayState.CALIBRATING, f"calibrating: {status.calibration or 'sit well and hold still'}")
    if state == "paused":
        if status.reason == USER_PAUSE_REASON or status.reason is None:
            if status.paused_until_s is None:
                return view(TrayState.PAUSED, "paused until you resume", user_paused=True)
            return view(
                TrayState.PAUSED, f"paused until {clock_time(status.paused_until_s, now)}", user_paused=True
            )
        return view(TrayState.PAUSED, f"paused: {status.reason} (resumes by itself)")
    if state == "away":
        return view(TrayState.AWAY, "nobody at the desk")
    if state == "camera-lost":
        where = f" ({status.source})" if status.source else ""
        return view(TrayState.NO_CAMERA, f"no camera{where}: it stopped delivering frames; waiting for it")
    worst = _worst(status)
    if status.alert:
        return view(TrayState.ALERT, f"sustained poor posture: {worst or 'see the advice'}")
    near = any(sev >= NEAR_SEVERITY for sev in status.findings.values())
    if status.verdict == "poor" or near:
        return view(TrayState.BUILDING, f"poor posture building: {worst or 'poor posture'}")
    if status.verdict == "uncertain":
        return view(TrayState.FINE, "watching (cannot judge the posture from this view)")
    return view(TrayState.FINE, "watching, posture fine")


# -- the menu ------------------------------------------------------------------------------------------


class Action(str, Enum):
    PAUSE_30M = "pause-30m"
    PAUSE_1H = "pause-1h"
    PAUSE_TOMORROW = "pause-tomorrow"
    RESUME = "resume"
    CALIBRATE = "calibrate"
    OPEN_TODAY = "open-today"
    OPEN_WEEK = "open-week"
    START = "start"  # start (or restart) a monitor the tray owns
    CAMERA = "camera"  # switch the tray's own monitor to another camera (``arg``: the index)
    QUIT = "quit"


@dataclass(frozen=True)
class MenuItem:
    """One line of the menu; ``action`` None is a line of text (``separator``: a rule)."""

    label: str
    action: Action | None = None
    enabled: bool = True
    checked: bool | None = None  # None: not a choice
    arg: int | None = None
    separator: bool = False
    submenu: tuple[MenuItem, ...] = ()


SEPARATOR = MenuItem("", separator=True)


def tray_menu(
    view: TrayView,
    today: str,
    *,
    owned: bool,
    cameras: Sequence[int] = (),
    camera: int | None = None,
) -> tuple[MenuItem, ...]:
    """The menu for the icon ``view``: the status and today's line, pause, resume, calibrate, the
    pages, the camera (for the tray's own monitor on a machine with several), start or restart,
    quit."""
    s = view.state
    up = s not in (TrayState.NOT_RUNNING, TrayState.CRASHED, TrayState.STARTING)
    watching = up and s is not TrayState.CALIBRATING
    items: list[MenuItem] = [
        MenuItem(view.tooltip.removeprefix("posture: ").capitalize(), enabled=False),
        MenuItem(today, enabled=False),
        SEPARATOR,
        MenuItem("Pause for 30 minutes", Action.PAUSE_30M, enabled=watching),
        MenuItem("Pause for 1 hour", Action.PAUSE_1H, enabled=watching),
        MenuItem("Pause until tomorrow", Action.PAUSE_TOMORROW, enabled=watching),
        MenuItem("Resume", Action.RESUME, enabled=watching and view.user_paused),
        MenuItem(
            "Calibrate (sit well, hold still)",
            Action.CALIBRATE,
            enabled=watching and s is not TrayState.PAUSED,
        ),
        SEPARATOR,
        MenuItem("Open today's page", Action.OPEN_TODAY),
        MenuItem("Open the week page", Action.OPEN_WEEK),
    ]
    if owned and len(cameras) > 1:
        items.append(
            MenuItem(
                "Camera",
                submenu=tuple(
                    MenuItem(f"Camera {i}", Action.CAMERA, checked=i == camera, arg=i) for i in cameras
                ),
            )
        )
    items.append(SEPARATOR)
    if s is TrayState.CRASHED:
        items.append(MenuItem("Restart the monitor", Action.START))
    elif s is TrayState.NOT_RUNNING:
        items.append(MenuItem("Start the monitor", Action.START))
    items.append(
        MenuItem("Quit (and stop the monitor)" if owned else "Quit (the monitor keeps running)", Action.QUIT)
    )
    return tuple(items)


def pause_end(action: Action, now: datetime) -> float:
    """The unix time a pause from the menu ends (``now`` is local time)."""
    if action is Action.PAUSE_30M:
        return (now + timedelta(minutes=30)).timestamp()
    if action is Action.PAUSE_1H:
        return (now + timedelta(hours=1)).timestamp()
    end = now.replace(hour=TOMORROW_HOUR, minute=0, second=0, microsecond=0)
    return (end if end > now else end + timedelta(days=1)).timestamp()


# -- the controller ------------------------------------------------------------------------------------


class Backend(Protocol):
    """The tray icon itself (pystray, or a fake)."""

    def show(self, view: TrayView, menu: tuple[MenuItem, ...]) -> None:
        """Draw the icon for ``view`` and set its tooltip and menu (called only on a change)."""


class OwnMonitor(Protocol):
    """The monitor process the tray started (:class:`posture.live.monitor_process.MonitorProcess`)."""

    camera: int | None

    def start(self, camera: int | None = None) -> None: ...

    def exit_code(self) -> int | None:
        """None while it runs (or before it started); its exit code once it ended."""

    def last_words(self) -> str | None: ...

    def started(self) -> bool: ...

    def wait(self, timeout_s: float) -> int | None: ...

    def terminate(self) -> None:
        """SIGTERM: it saves its session and ends, as on Ctrl-C."""

    def kill(self) -> None: ...


Channel = Callable[[Request], Status]
Notify = Callable[[str, str], None]


@dataclass
class TrayApp:
    """Polls the monitor, shows what it says, and carries out the menu's actions.

    ``channel`` sends one request (``posture.live.control.send_command``); ``own`` starts the tray's
    own monitor when none answers (None: never start one); ``open_page(days)`` writes and opens
    the history page for the last ``days`` days; ``today()`` is the history's summary of today;
    ``notify(title, message)`` a desktop notification (it may do nothing: then the icon says it).
    """

    channel: Channel
    backend: Backend
    own: OwnMonitor | None
    open_page: Callable[[int], None]
    today: Callable[[], DaySummary | None]
    notify: Notify
    clock: Callable[[], datetime] = datetime.now
    cameras: Sequence[int] = ()
    start_timeout_s: float = 60.0  # a monitor that has not answered by then is taken as failed
    today_every_s: float = 10.0  # how often today's line is read from the history
    view: TrayView | None = field(default=None, init=False)
    status: Status | None = field(default=None, init=False)
    menu: tuple[MenuItem, ...] = field(default=(), init=False)
    _started_at: float | None = field(default=None, init=False)  # monotonic time the own monitor was started
    _said_crash: bool = field(default=False, init=False)
    _today_cache: tuple[float, str] | None = field(default=None, init=False)  # (monotonic time, line)
    _stopping: threading.Event = field(default_factory=threading.Event, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    @property
    def owned(self) -> bool:
        return self.own is not None and self.own.started()

    def attach(self) -> None:
        """At start: use the monitor that answers, or start one of the tray's own."""
        try:
            self.channel(Request(Command.STATUS))
        except MonitorNotRunningError:
            if self.own is not None:
                self._start(self.own.camera)
        except ControlError as exc:
            log.warning("cannot reach the posture monitor: %s", exc)
        self.tick()

    def _start(self, camera: int | None = None) -> None:
        assert self.own is not None
        self.own.start(camera)
        self._started_at = time.monotonic()
        self._said_crash = False

    def tick(self) -> TrayView:
        """Ask the monitor once and update the icon when anything it shows changed."""
        with self._lock:
            status: Status | None
            error = None
            try:
                status = self.channel(Request(Command.STATUS))
            except MonitorNotRunningError:
                status = None
            except ControlError as exc:  # e.g. no answer in time: show it, try again next tick
                status, error = None, str(exc)
            monitor = self._monitor_state(status, error)
            if monitor.exit_code not in (None, 0) and not self._said_crash:
                self._said_crash = True
                why = f" ({monitor.last_words})" if monitor.last_words else ""
                self.notify(
                    "posture: the monitor stopped",
                    f"It ended unexpectedly with exit code {monitor.exit_code}{why}. Restart it from the tray menu.",
                )
            self.status = status
            view = tray_view(status, monitor, self.clock())
            today = self._today_line()
            menu = tray_menu(
                view,
                today,
                owned=self.owned,
                cameras=self.cameras,
                camera=self.own.camera if self.own is not None else None,
            )
            if view != self.view or menu != self.menu:
                self.view, self.menu = view, menu
                self.backend.show(view, menu)
            return view

    def _monitor_state(self, status: Status | None, error: str | None) -> MonitorState:
        own = self.own
        if own is None or not own.started():
            return MonitorState(error=error)
        code = own.exit_code()
        if code is not None and status is None and not self._stopping.is_set():
            return MonitorState(owned=True, exit_code=code, last_words=own.last_words())
        waiting = self._started_at is not None and status is None and code is None
        if waiting and time.monotonic() - self._started_at > self.start_timeout_s:
            return MonitorState(owned=True, error=f"no answer {self.start_timeout_s:.0f} s after it started")
        return MonitorState(owned=True, starting=waiting, error=error)

    def _today_line(self) -> str:
        """Today's line from the history, read again at most every ``today_every_s``."""
        from posture.live.end_of_day import day_line

        now = time.monotonic()
        if self._today_cache is not None and now - self._today_cache[0] < self.today_every_s:
            return self._today_cache[1]
        try:
            line = day_line(self.today())
        except Exception as exc:  # a locked or broken history must not take the tray down
            log.debug("cannot read today's history", exc_info=True)
            line = f"Today: history unavailable ({type(exc).__name__})"
        self._today_cache = (now, line)
        return line

    def act(self, action: Action, arg: int | None = None) -> None:
        """Carry out a menu action; a refusal or failure is told as a notification."""
        try:
            self._act(action, arg)
        except ControlError as exc:
            self.notify("posture", str(exc))
        except Exception as exc:  # e.g. the page cannot be written: say so, keep the tray
            log.warning("the tray could not %s", action.value, exc_info=True)
            self.notify("posture", f"could not {action.value.replace('-', ' ')}: {exc}")
        if action is not Action.QUIT:
            self.tick()

    def _act(self, action: Action, arg: int | None) -> None:
        if action in (Action.PAUSE_30M, Action.PAUSE_1H, Action.PAUSE_TOMORROW):
            self.channel(Request(Command.PAUSE, pause_end(action, self.clock())))
        elif action is Action.RESUME:
            self.channel(Request(Command.RESUME))
        elif action is Action.CALIBRATE:
            status = self.channel(Request(Command.CALIBRATE))
            self.notify("posture: calibrating", status.calibration or "sit well and hold still")
        elif action is Action.OPEN_TODAY:
            self.open_page(1)
        elif action is Action.OPEN_WEEK:
            self.open_page(7)
        elif action is Action.START:
            if self.own is None:
                raise ControlError("this tray does not start monitors (--no-start)")
            if self.own.started() and self.own.exit_code() is None:
                raise ControlError(
                    "the monitor the tray started is still running; quit and start the tray again"
                )
            self._start(self.own.camera)
        elif action is Action.CAMERA:
            if not self.owned or arg is None:
                raise ControlError("only the tray's own monitor can change camera")
            assert self.own is not None
            if arg != self.own.camera:
                self._stop_own()
                self._start(arg)
        elif action is Action.QUIT:
            self.quit()

    def quit(self) -> None:
        """Stop the tray's own monitor (its session saved); a monitor it did not start runs on."""
        self._stopping.set()
        self._stop_own()

    def _stop_own(self) -> None:
        own = self.own
        if own is None or not own.started() or own.exit_code() is not None:
            return
        self._stopping.set()
        try:
            self.channel(Request(Command.STOP))
        except ControlError as exc:
            # Refused while it starts, or no answer: SIGTERM ends it as cleanly as `stop` would.
            log.warning("could not ask the monitor to stop (%s); sending it SIGTERM", exc)
            own.terminate()
        if own.wait(STOP_WAIT_S) is None:
            log.warning("the monitor did not stop within %.0f s; ending it", STOP_WAIT_S)
            own.kill()
        self._stopping.clear()
