"""The live monitor: the same pipeline as ``analyze``, paced by an adaptive sampler, at low CPU.

A frame is read only when a sample is due (a camera's other frames are dropped by its driver
unseen; a file stand-in grabs forward without converting). Around the pipeline: the alert
policy and its sinks, pause/resume from the control channel, screen-lock and meeting-app pauses,
the camera's lifecycle (released while paused or long away, retried with back-off when lost),
and the history, flushed every few seconds so a crash loses at most the last few.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from posture.baseline import Baseline
from posture.config import Config
from posture.detector import BREAK_TAKEN, DetectorState, Event, counted_s
from posture.errors import CameraUnavailableError
from posture.landmarks import Pose
from posture.live.control import USER_PAUSE_REASON, RequestError, Status, finite_number
from posture.live.totals import Totals
from posture.metrics import RawMeasurement, measure
from posture.pipeline import Pipeline
from posture.policy import AlertPolicy, Notification
from posture.reading import Reading, Verdict
from posture.sampling import AdaptiveSampler, ChangeGate
from posture.sources.camera import LiveFrames, thumbnail
from posture.sources.media import Frame

if TYPE_CHECKING:
    from posture.live.context import ContextState
    from posture.outputs.history import SessionTotals
    from posture.pose.estimator import PoseEstimator

__all__ = ["AlertSink", "DesktopContext", "EndOfDayLine", "Monitor", "Preview", "SessionRecord", "Totals"]

log = logging.getLogger(__name__)


# The monitor's parts, as it uses them: each names the real class; tests pass fakes.


class AlertSink(Protocol):
    """Where a notification goes (:mod:`posture.live.alerts`: desktop, sound, console)."""

    def send(self, notification: Notification) -> None: ...


class SessionRecord(Protocol):
    """The session in the history, kept up to date as it runs (:class:`posture.outputs.history.LiveSession`)."""

    session_id: int | None  # set by start()

    def start(self, source: str) -> int: ...

    def update(self, totals: SessionTotals) -> None: ...

    def finish(self, totals: SessionTotals) -> None: ...


class DesktopContext(Protocol):
    """Whether the desktop asks for a pause: a locked screen, a meeting (:class:`posture.live.context.ContextWatcher`)."""

    def poll(self, now_s: float) -> ContextState: ...


class EndOfDayLine(Protocol):
    """The day's summary once a day (:class:`posture.live.end_of_day.EndOfDay`)."""

    def due(
        self, wall: datetime, running: Callable[[], SessionTotals], quiet: Callable[[datetime], bool]
    ) -> Notification | None: ...


# Shows each analysed frame with its pose, reading and the detector's state; False stops the monitor.
Preview = Callable[[Frame, Pose | None, Reading, DetectorState], bool]


class Monitor:
    """Runs the live loop until stopped, the duration is over, or the stand-in file ends.

    Everything with a side effect is injected (frames, estimator, sinks, clocks, history, context,
    preview), so the loop is tested with fakes. It is what the control channel controls
    (:meth:`status`, :meth:`pause`, :meth:`resume`): thread-safe, the status a snapshot under a lock.
    """

    def __init__(
        self,
        config: Config,
        frames: LiveFrames,
        estimator: PoseEstimator,
        *,
        baseline: Baseline | None = None,
        sinks: Sequence[AlertSink] = (),
        duration_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = datetime.now,
        sleep: Callable[[float], None] | None = None,
        history: SessionRecord | None = None,
        context: DesktopContext | None = None,
        preview: Preview | None = None,
        advice_links: Mapping[str, Sequence[str]] | None = None,
        on_start: Callable[[], None] | None = None,
        profile_path: Path | None = None,
        end_of_day: EndOfDayLine | None = None,
    ) -> None:
        self.config = config
        self.frames = frames
        self.estimator = estimator
        self.options = config.monitor
        self.duration_s = duration_s  # stop after this long (a flag, not configuration)
        self.sinks = list(sinks)
        # The detector counts no time away: its step is the sampler's slowest while someone is there.
        self.session = Pipeline(config).session(baseline, step_s=1.0 / config.sampling.steady_fps)
        self.policy = AlertPolicy(config.policy, advice_links)
        self.sampler = AdaptiveSampler(config.sampling)
        self.gate = ChangeGate(config.change_gate)
        self._last_raw: RawMeasurement | None = None  # the last measurement made by the pose model
        self.reused = 0  # samples where the picture had not changed and the model was not run
        self.history = history
        self.context = context
        self.preview = preview
        self.on_start = on_start  # called once the camera delivers
        self.profile_path = profile_path  # where a calibration asked for over the control channel goes
        self.end_of_day = end_of_day  # None: not wanted
        self._clock = clock
        self._wall = wall
        self._stop = threading.Event()
        self._sleep = sleep or (lambda s: self._stop.wait(s))
        self._commands: queue.Queue[tuple[str, float | None]] = queue.Queue()
        self._lock = threading.Lock()
        self._status = Status(state="starting")  # what the control channel reports; under _lock
        self.totals = Totals()
        self.notifications: list[Notification] = []
        # The session's final totals, set when run() ends: exactly what the history stored, so a
        # closing summary made from them counts alerts and episodes as the session record does.
        self.final_totals: SessionTotals | None = None
        self.readings = 0
        self._paused_until: float | None = None  # wall-clock unix time; inf = until resumed
        self._user_paused = False
        self._camera_open = False
        self._camera_lost_since: float | None = None
        self._retry_s = self.options.retry_first_s
        self._next_retry = 0.0
        self._away_since: float | None = None
        self._fit_checked = False  # whether the calibration profile was checked against the set-up
        self._fit_start_s: float | None = None
        self._fit_raws: list[RawMeasurement] = []  # raw measurements of the first seconds, for that check

    # ---- control channel (called from other threads) -------------------------------------------
    def stop(self) -> None:
        self._stop.set()

    # The control channel's three commands (a posture.live.control.Controlled). Each takes effect
    # before it returns, so a status right after shows it; the loop then logs it and releases or
    # reopens the camera.
    def status(self) -> Status:
        with self._lock:
            return self._status

    def pause(self, until_s: float | None) -> Status:
        """Pause until ``until_s`` (a unix time), or until resumed when None."""
        if until_s is not None and finite_number(until_s) is None:
            # The server has checked it already; a bad time must never reach the loop.
            raise RequestError("pause needs until_s: a unix time, or null")
        until_s = None if until_s is None else float(until_s)
        with self._lock:
            self._user_paused = True
            self._paused_until = math.inf if until_s is None else until_s
            self._status = replace(
                self._status, state="paused", reason=USER_PAUSE_REASON, paused_until_s=until_s
            )
            status = self._status
        self._commands.put(("pause", until_s))
        return status

    def calibrate(self) -> Status:
        """Take a new calibration on this monitor's own camera (the loop runs it next turn); the
        outcome goes to the status's ``calibration`` and to the alert sinks."""
        if self.profile_path is None:
            raise RequestError("this monitor cannot calibrate: it has no profile to save to")
        if self.frames.ended:
            raise RequestError("the source has ended: nothing to calibrate on")
        seconds = self.config.calibration.seconds
        with self._lock:
            self._refuse_while_paused()
            self._status = replace(
                self._status,
                state="calibrating",
                calibration=f"sit the way you mean to sit and hold still for {seconds:g} s",
            )
            status = self._status
        self._commands.put(("calibrate", None))
        return status

    def _refuse_while_paused(self) -> None:
        """A calibration opens the camera: never while paused (by the user or the context). A
        user's pause that has run out but that the loop has not ended yet does not count."""
        if self._status.state != "paused":
            return
        reason = self._status.reason
        if reason == USER_PAUSE_REASON or reason is None:
            until = self._paused_until
            if until is not None and self._wall().timestamp() >= until:
                return
            raise RequestError("paused: resume first, then calibrate")
        raise RequestError(f"paused: {reason}; calibrate once the monitor resumes")

    def finish(self) -> Status:
        """End the session as Ctrl-C does (the history saved); the reply is the last status."""
        self.stop()
        with self._lock:
            self._status = replace(self._status, state="stopping")
            return self._status

    def resume(self) -> Status:
        with self._lock:
            self._user_paused = False
            self._paused_until = None
            if self._status.reason == USER_PAUSE_REASON:
                self._status = replace(self._status, state="running", reason=None, paused_until_s=None)
            status = self._status
        self._commands.put(("resume", None))
        return status

    def open_source(self) -> None:
        """Open the camera or file now (before the control channel starts, so a missing camera
        is reported as such); :meth:`run` opens it if this was not called. A camera that is not
        there at all is the user's error (exit 2)."""
        if not self._camera_open:
            self.frames.open()
            self._camera_open = True

    def release_source(self) -> None:
        """Release the camera if it is open (idempotent)."""
        self._release_camera()

    # ---- the loop ---------------------------------------------------------------------------------
    def run(self) -> Totals:
        start = self._clock()
        self.totals.started_s = start
        last_flush = start
        try:
            self.open_source()
            log.info("watching %s with pose model %s", self.frames.name, self.estimator.name)
            if self.history is not None:  # only a session that really started goes into the history
                self.history.start(Path(self.frames.name).name)
            if self.on_start is not None:
                self.on_start()
            next_due = start
            prev: Reading | None = None  # the last reading, credited with the time until the next one
            prev_t: float | None = None
            prev_step = 0.0  # the sampler's step planned after it
            while not self._stop.is_set():
                now = self._clock()
                if self.duration_s is not None and now - start >= self.duration_s:
                    break
                if self._apply_commands():
                    prev, prev_t = None, None  # a calibration took the camera's time: credit none of it
                    next_due = self._clock()
                    continue
                self._end_of_day()
                paused_reason = self._paused_reason(now)
                if paused_reason is not None:
                    self._release_camera()
                    self._set_status(state="paused", reason=paused_reason)
                    self.totals.paused_s += self._wait(1.0, now)
                    prev, prev_t = None, None
                    continue
                if now < next_due:
                    self._wait(next_due - now, now)
                    continue
                if not self._camera_open and not self._reopen(now):
                    self._wait(min(1.0, max(self._next_retry - now, 0.05)), now)
                    continue
                frame = self.frames.read()
                if frame is None:
                    if self.frames.ended:
                        log.info("%s ended", self.frames.name)
                        break
                    self._camera_lost(now)
                    continue
                reading, events = self._analyse(frame)
                if prev is not None and prev_t is not None:
                    self.totals.credit(prev, counted_s(reading.t_s - prev_t, prev_step))
                self._notify(events, reading, now)
                interval = self.sampler.interval_s(reading, self.session.detector.state)
                prev, prev_t, prev_step = reading, reading.t_s, interval
                self._log_rate(interval, reading)
                self._manage_absence(reading, now)
                self._set_status(
                    state="away" if reading.posture is Verdict.AWAY else "running",
                    reading=reading,
                    sample_fps=round(1.0 / interval, 2),
                )
                if self.preview is not None and not self.preview(
                    frame, self._last_pose, reading, self.session.detector.state
                ):
                    break
                if self.history is not None and now - last_flush >= self.options.history_flush_s:
                    self.history.update(self.totals.for_history(now - start))
                    last_flush = now
                next_due = now + interval
            if prev is not None:
                for event in self.session.finish(prev.t_s):
                    self._count(event)
            return self.totals
        finally:
            self._release_camera()
            self.final_totals = self.totals.for_history(self._clock() - start)
            if self.history is not None and self.history.session_id is not None:
                self.history.finish(self.final_totals)
            self._set_status(state="stopped")

    # ---- pieces -----------------------------------------------------------------------------------
    _last_pose: Pose | None = None  # the last analysed frame's pose, for the preview

    def _wait(self, seconds: float, now: float) -> float:
        """Sleep up to ``seconds``, in steps of at most a quarter second so that commands and a
        stop are seen promptly; returns the time actually waited."""
        self._sleep(max(min(seconds, 0.25), 0.0))
        return max(self._clock() - now, 0.0)

    def _analyse(self, frame: Frame) -> tuple[Reading, list[Event]]:
        thumb = thumbnail(frame.image)
        if self._last_raw is not None and self.gate.unchanged(thumb, frame.t_s):
            raw = self._last_raw  # nothing moved: the last measurement still holds
            self.reused += 1
        else:
            pose = self.estimator.estimate(frame)
            self._last_pose = pose
            raw = self._last_raw = measure(pose, self.config.metrics)
            self.gate.analysed(thumb, frame.t_s)
        self._check_profile(frame.t_s, raw)
        reading, events = self.session.step(frame.t_s, raw)
        self.readings += 1
        return reading, events

    def _check_profile(self, t_s: float, raw: RawMeasurement) -> None:
        """Over the first seconds, see whether the calibration still fits the set-up, and say so
        once (before blaming the user for a posture that is really a moved camera)."""
        from posture.profile import PROFILE_CHECK_S, profile_fit

        baseline = self.session.analyzer.baseline
        if self._fit_checked:
            return
        if self._fit_start_s is None:
            self._fit_start_s = t_s
        self._fit_raws.append(raw)
        if t_s - self._fit_start_s < PROFILE_CHECK_S:
            return
        self._fit_checked = True
        raws, self._fit_raws = self._fit_raws, []
        if baseline is None:
            # No calibration: say what this camera cannot show, and ask for one where it matters.
            from posture import setup_check

            for line in (
                setup_check.only_face_warning(raws),
                setup_check.front_without_baseline_warning(raws),
            ):
                if line:
                    log.warning("%s", line)
                    with self._lock:
                        self._status = replace(self._status, profile=line)
            return
        fit = profile_fit(baseline, raws)
        if not fit.fits:
            # Judging against a baseline from another set-up would blame the user for the camera.
            self.session.analyzer.baseline = None
            log.warning("%s; until then posture is judged without it", fit.message)
            with self._lock:
                self._status = replace(self._status, profile=fit.message)

    _rate_fps: float | None = None  # the sampling rate last logged

    def _log_rate(self, interval_s: float, reading: Reading) -> None:
        """Log each change of the sampling rate, with the reason for it."""
        fps = round(1.0 / interval_s, 2)
        if fps == self._rate_fps:
            return
        self._rate_fps = fps
        c = self.sampler.config
        if reading.posture is Verdict.AWAY:
            why = "nobody there" + (" for a while" if fps == round(c.away_fps, 2) else "")
        elif fps == round(c.watch_fps, 2):
            why = "a finding nears its threshold: an alert may be due"
        else:
            why = "posture steady"
        log.info("sampling %.2g frames a second at %.1f s: %s", fps, reading.t_s, why)

    def _count(self, event: Event) -> None:
        if event.kind == "alert":
            self.totals.alerts += 1
            log.info("sustained poor posture at %.1f s: %s", event.t_s, ", ".join(event.findings))
        elif event.kind == "episode_end" and event.episode is not None and event.episode.alert_s is not None:
            self.totals.episodes += 1
        elif event.kind == BREAK_TAKEN:
            self.totals.breaks += 1

    def _notify(self, events: list[Event], reading: Reading, now: float) -> None:
        wall = self._wall()
        out: list[Notification] = []
        for event in events:
            self._count(event)
            out.extend(self.policy.on_event(event, reading.t_s, wall))
        out.extend(self.policy.tick(reading.t_s, wall, self.session.detector.state))
        for note in out:
            self._deliver(note)

    def _deliver(self, note: Notification) -> None:
        self.notifications.append(note)
        for sink in self.sinks:
            try:
                sink.send(note)
            except Exception as exc:
                log.warning("could not deliver a notification through %s: %s", type(sink).__name__, exc)

    def _end_of_day(self) -> None:
        """The day's summary once a day at the configured time (when the user asked for it)."""
        if self.end_of_day is None:
            return
        note = self.end_of_day.due(
            self._wall(),
            lambda: self.totals.for_history(self._clock() - self.totals.started_s),
            self.policy.config.is_quiet,  # held until the quiet hours end, like any notification
        )
        if note is not None:
            log.info("end of the day: %s", note.message)
            self._deliver(note)

    def _calibrate(self) -> None:
        """A calibration asked for over the control channel, on this monitor's camera and model."""
        from posture.errors import PostureError
        from posture.live.calibration import calibrate_live

        assert self.profile_path is not None  # calibrate() refuses otherwise
        title, message, outcome = "Calibration not saved", "", None
        try:
            if not self._camera_open:
                self.open_source()
            done = calibrate_live(
                self.frames,
                self.estimator,
                self.config,
                self.profile_path,
                sleep=self._sleep,
                stopped=self._stop.is_set,
            )
        except PostureError as exc:
            message = str(exc).removeprefix("calibration not saved: ")
            outcome = f"not saved: {message}"
        else:
            self.session.analyzer.baseline = done.baseline
            self._fit_checked, self._fit_start_s, self._fit_raws = True, None, []
            title, message = "Calibration saved", f"{done.message}; posture is judged against it from now on"
            outcome = f"saved: {done.message}"
            with self._lock:
                self._status = replace(self._status, profile=None)
        log.info("calibration %s", outcome)
        with self._lock:
            self._status = replace(self._status, calibration=outcome)
        self._deliver(Notification(self._clock() - self.totals.started_s, "calibration", title, message, 1))
        self._last_raw = None  # the next sample runs the model

    def _apply_commands(self) -> bool:
        """Log the pauses and resumes the control channel applied (their state is already set) and
        run a calibration asked for; True when one ran."""
        calibrated = False
        while True:
            try:
                cmd, arg = self._commands.get_nowait()
            except queue.Empty:
                return calibrated
            if cmd == "calibrate" and not self._stop.is_set():
                self._calibrate()
                calibrated = True
                continue
            if cmd == "pause":
                log.info(
                    "paused %s",
                    "until resumed" if arg is None else f"for {arg - self._wall().timestamp():.0f} s",
                )
            elif cmd == "resume":
                log.info("resumed")

    def _paused_reason(self, now: float) -> str | None:
        if self._user_paused:
            if self._paused_until is not None and self._wall().timestamp() >= self._paused_until:
                self._user_paused, self._paused_until = False, None
                log.info("pause over")
            else:
                return USER_PAUSE_REASON
        return self.context.poll(now).reason() if self.context is not None else None

    def _reopen(self, now: float) -> bool:
        if now < self._next_retry:
            return False
        try:
            self.frames.open()
        except CameraUnavailableError:
            self._next_retry = now + self._retry_s
            self._retry_s = min(self._retry_s * 2.0, self.options.retry_max_s)
            self._set_status(state="camera-lost")
            return False
        self._camera_open = True
        if self._camera_lost_since is not None:
            log.warning("%s is back after %.0f s", self.frames.name, now - self._camera_lost_since)
            self._camera_lost_since = None
        self._retry_s = self.options.retry_first_s
        return True

    def _camera_lost(self, now: float) -> None:
        self._release_camera()
        if self._camera_lost_since is None:
            self._camera_lost_since = now
            log.warning(
                "%s stopped delivering frames (unplugged, or taken by another app?); retrying",
                self.frames.name,
            )
        self._next_retry = now + self._retry_s
        self._set_status(state="camera-lost")

    def _release_camera(self) -> None:
        if self._camera_open:
            self.frames.close()
            self._camera_open = False

    def _manage_absence(self, reading: Reading, now: float) -> None:
        """After a long absence the camera is opened only to look, then released again."""
        if reading.posture is not Verdict.AWAY:
            self._away_since = None
            return
        if self._away_since is None:
            self._away_since = now
        if now - self._away_since >= self.options.release_after_away_s:
            self._release_camera()

    def _set_status(self, *, state: str, reading: Reading | None = None, **extra: Any) -> None:
        changes: dict[str, Any] = {"state": state, "reason": None, **extra}  # a reason only while paused
        if reading is not None:
            changes.update(
                verdict=reading.posture.value,
                findings={k: round(v, 2) for k, v in reading.findings.items() if v > 0},
                alert=reading.alert,
                view=reading.view.value,
            )
        with self._lock:
            # A pause or resume from the control thread since this turn of the loop began stands.
            if self._user_paused and state not in ("paused", "stopped"):
                changes.update(state="paused", reason=USER_PAUSE_REASON)
            elif not self._user_paused and changes["reason"] == USER_PAUSE_REASON:
                changes.update(state=self._status.state, reason=self._status.reason)
            paused_until = self._paused_until if self._user_paused else None
            self._status = replace(
                self._status,
                **changes,
                paused_until_s=None if paused_until in (None, math.inf) else paused_until,
                source=self.frames.name,
                session_s=round(self._clock() - self.totals.started_s, 1),
                poor_s=round(self.totals.poor_s, 1),
                present_s=round(self.totals.present_s, 1),
                alerts=self.totals.alerts,
            )
