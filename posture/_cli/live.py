"""At the desk: ``monitor`` (with its preview window), ``status``, ``pause``, ``resume``, ``calibrate``, ``record``."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import IO, TYPE_CHECKING, Any

from posture._cli.common import config_from_args, positive
from posture.config import Config
from posture.errors import ExitCode, InputError
from posture.untrusted import printable

if TYPE_CHECKING:
    from posture.live.end_of_day import EndOfDay
    from posture.pose.estimator import EstimatorFactory

log = logging.getLogger("posture")

MAX_CALIBRATION_S = 600.0  # --seconds: a capture longer than ten minutes is a mistake


def _preview_window(config: Config) -> Any:
    """A window with the skeleton, the live angles and the thresholds (the boundaries) drawn."""
    import os

    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        raise InputError("--preview needs a display (no DISPLAY or WAYLAND_DISPLAY is set)")
    import cv2

    from posture.findings import FINDING_WORDS, bands_on
    from posture.metric_registry import Shown, shown
    from posture.outputs.overlay import VERDICT_TEXT, OverlayState, annotate_frame, put_text

    rules = config.metrics.rules
    # The metrics the registry shows in the preview, each beside the limit of the first band that
    # judges it on its own (the absolute limit where there is one: see posture.findings).
    limits = {}
    for info in shown(Shown.PREVIEW):
        first = next((b for _, b in bands_on(info.name) if b.alone), None)
        limits[info.name] = (info.short, info.unit, None if first is None else rules[first.name].limit)

    def show(frame, pose, reading, state) -> bool:
        image = frame.image.copy()
        worst = reading.worst_finding()
        label = VERDICT_TEXT[reading.posture] + (
            f": {FINDING_WORDS.get(worst[0], worst[0])}" if worst and worst[1] >= 1 else ""
        )
        words = ", ".join(FINDING_WORDS.get(c, c) for c in state.findings)
        alert = f"ALERT: {words}" if state.alert_active else None
        annotate_frame(image, reading, pose, OverlayState(reading.posture, label, alert, None))
        y = image.shape[0] - 12
        for key, (name, unit, limit) in limits.items():
            value = reading.metrics.get(key)
            if value is None:
                continue
            text = f"{name} {value:.0f}{unit}" + ("" if limit is None else f" / limit {limit:.0f}{unit}")
            put_text(image, text, (10, y), 0.5, (255, 255, 255), 1)
            y -= 20
        cv2.imshow("posture", image)
        return (cv2.waitKey(1) & 0xFF) not in (ord("q"), 27)

    return show


def cmd_monitor(args: argparse.Namespace, out: IO[str], *, estimators: EstimatorFactory | None = None) -> int:
    import signal
    from contextlib import ExitStack

    from posture.baseline import Baseline
    from posture.live.alerts import make_sinks
    from posture.live.context import ContextWatcher
    from posture.live.control import ControlServer
    from posture.live.monitor import Monitor
    from posture.paths import profile_path
    from posture.pipeline import Pipeline
    from posture.sources.camera import CameraFrames, FileFrames

    config = config_from_args(args)
    if args.duration is not None:
        positive("--duration", args.duration)
    profile = args.profile or profile_path()
    baseline = Baseline.load(profile) if (args.profile or profile.is_file()) else None
    if args.loop and not args.source:
        raise InputError("--loop needs --source FILE (a camera never ends)")
    camera = camera_index(args, config)
    frames = FileFrames(args.source, loop=args.loop) if args.source else CameraFrames(camera)
    preview = _preview_window(config) if args.preview else None
    try:
        sinks = make_sinks([s for s in args.alerts.split(",") if s], out)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    where = "a file played at real speed" if args.source else f"camera {camera}"
    calib = f"profile {printable(profile)}" if baseline else "no calibration (run posture calibrate)"
    monitor_ref: list[Monitor] = []
    stop_asked: list[int] = []  # signals received while starting up

    def on_signal(signum: int, _frame: Any) -> None:
        if monitor_ref:
            monitor_ref[0].stop()
        else:  # still starting up: stop at the next step, never inside a library's own set-up
            stop_asked.append(signum)

    def started(step: Any) -> Any:
        if stop_asked:  # nothing recorded yet: leave as interrupted (exit 130)
            raise KeyboardInterrupt
        return step

    # Closing the terminal (SIGHUP) ends the session as cleanly as Ctrl-C and SIGTERM.
    stop_on = [getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n)]
    previous = {sig: signal.signal(sig, on_signal) for sig in stop_on}
    try:
        with ExitStack() as stack:
            # The control channel first: it is what tells a second monitor that one runs, and that
            # one must stop here, before it writes a session or opens the camera (exit 2).
            server = started(stack.enter_context(ControlServer(None)))  # "starting" until the monitor is set
            history = None
            if not args.no_history:
                from posture.outputs.history import LiveSession

                # A file played as a stand-in for a camera is not the user's own sitting.
                history = started(stack.enter_context(LiveSession(kind="replay" if args.source else "live")))
            estimator = started(
                stack.enter_context(
                    Pipeline(config, estimators=estimators).open_estimator(video=True, sampled=True)
                )
            )
            monitor = Monitor(
                config,
                frames,
                estimator,
                baseline=baseline,
                sinks=sinks,
                duration_s=args.duration,
                history=history,
                context=None if args.no_context else ContextWatcher(config.context),
                preview=preview,
                profile_path=profile,
                end_of_day=_end_of_day(config, "replay" if args.source else "live", history is not None),
                on_start=lambda: print(
                    f"posture monitor: watching {where}; {calib}; Ctrl-C to stop", file=out
                ),
            )
            monitor_ref.append(monitor)
            stack.callback(monitor.release_source)
            monitor.open_source()  # a missing camera is reported before the loop starts
            if stop_asked:  # between the last step and the monitor taking over the signals
                monitor.stop()
            server.target = monitor
            totals = monitor.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sink in sinks:
            sink.close()
    print(_closing_summary(monitor, totals.paused_s), file=out)
    return ExitCode.OK


def _end_of_day(config: Config, kind: str, with_history: bool) -> EndOfDay | None:
    """The end-of-day notification when the config asks for it: the day from the history (this
    session included, as last flushed), or from this session alone without a history."""
    if not config.end_of_day.enabled:
        return None
    from datetime import datetime

    from posture.live.end_of_day import EndOfDay
    from posture.outputs.history import day_summaries

    def today() -> Any:
        if not with_history:
            return None
        now = datetime.now().date()
        return next((d for d in day_summaries(1, kinds=(kind,)) if d.day == now), None)

    return EndOfDay(config.end_of_day, today)


def _closing_summary(monitor: Any, paused_s: float) -> str:
    """The monitor's last line, from the very totals the session record stored (so the alerts and
    episodes it counts are the history's), plus how many notifications actually went out."""
    final = monitor.final_totals
    sent = sum(1 for n in monitor.notifications if n.kind == "posture")
    return (
        f"session over: present {final.present_s:.0f} s, poor posture {final.poor_share:.0%}, "
        f"{final.episodes} sustained episode(s), {final.alerts} alert(s) "
        f"({sent} posture notification(s) sent), paused {paused_s:.0f} s; "
        f"{monitor.readings} samples, "
        f"the pose model ran on {monitor.readings - monitor.reused} (the others showed no change)"
    )


def cmd_status(args: argparse.Namespace, out: IO[str]) -> int:
    from posture._cli.live_text import format_status
    from posture.live.control import Command, Request, send_command

    out.write(format_status(send_command(Request(Command.STATUS))))
    return ExitCode.OK


def cmd_pause(args: argparse.Namespace, out: IO[str]) -> int:
    from datetime import datetime

    from posture._cli.live_text import parse_duration
    from posture.live.control import Command, Request, send_command

    try:
        until = parse_duration(args.duration, datetime.now())
    except ValueError as exc:
        raise InputError(str(exc)) from None
    send_command(Request(Command.PAUSE, until))
    when = "until you resume" if until is None else f"until {datetime.fromtimestamp(until):%a %H:%M}"
    print(f"posture monitor paused {when}", file=out)
    return ExitCode.OK


def cmd_resume(args: argparse.Namespace, out: IO[str]) -> int:
    from posture.live.control import Command, Request, send_command

    send_command(Request(Command.RESUME))
    print("posture monitor resumed", file=out)
    return ExitCode.OK


def camera_index(args: argparse.Namespace, config: Config) -> int:
    """``--camera N``, else the config's ``monitor.camera`` (the one to use on a machine with two)."""
    camera = getattr(args, "camera", None)
    return config.monitor.camera if camera is None else camera


def _live_frames(args: argparse.Namespace, config: Config) -> Any:
    from posture.sources.camera import CameraFrames, FileFrames

    if getattr(args, "source", None):
        return FileFrames(args.source)
    return CameraFrames(camera_index(args, config))


def cmd_calibrate(
    args: argparse.Namespace, out: IO[str], *, estimators: EstimatorFactory | None = None
) -> int:
    from posture.live.calibration import calibrate_live
    from posture.paths import profile_path
    from posture.pipeline import Pipeline

    config = config_from_args(args)
    if args.seconds is not None:
        positive("--seconds", args.seconds, most=MAX_CALIBRATION_S)
        config = config.replace("calibration", seconds=args.seconds)
    seconds = config.calibration.seconds
    profile = args.profile or profile_path()
    live = _live_frames(args, config)
    shown: dict[str, str] = {}  # the last line printed per check

    def on_check(report: Any) -> None:
        # One line per check whose state changed, not the whole block again.
        for c in report.checks:
            line = f"  {'ok ' if c.ok else '...'} {c.message}"
            if shown.get(c.name) != line:
                shown[c.name] = line
                print(line, file=out)
        out.flush()

    live.open()  # a missing camera is said before asking anyone to hold still
    try:
        print(
            f"posture calibrate: sit the way you mean to sit, look at your screen and hold still for {seconds:g} s",
            file=out,
        )
        with Pipeline(config, estimators=estimators).open_estimator(video=True, sampled=True) as est:
            done = calibrate_live(
                live,
                est,
                config,
                profile,
                on_check=on_check,
                on_validating=lambda: print("checking it: keep sitting the same way for 3 s ...", file=out),
            )
    finally:
        live.close()
    print(f"ok: {done.message}", file=out)
    print(
        f"saved your baseline ({done.baseline.view.value} view, {done.baseline.frames} frames) to {printable(profile)}",
        file=out,
    )
    return ExitCode.OK


def cmd_record(args: argparse.Namespace, out: IO[str]) -> int:
    from posture.live.record import record_camera

    positive("--seconds", args.seconds)
    result = record_camera(args.out, camera=args.camera, seconds=args.seconds)
    print(
        f"recorded {result.frames} frames ({result.duration_s:.1f} s) to {printable(result.path)}", file=out
    )
    return ExitCode.OK
