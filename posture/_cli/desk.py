"""At the desk all day: ``tray`` (the icon) and ``service`` (start at login)."""

from __future__ import annotations

import argparse
import logging
import os
import queue
import signal
import sys
import threading
import webbrowser
from pathlib import Path
from typing import IO, Any

from posture.errors import ExitCode, InputError

log = logging.getLogger("posture")

ICON_STOP_S = 3.0  # how long the tray waits for pystray's loop to end once the icon is stopped


def _monitor_args(args: argparse.Namespace) -> list[str]:
    """The tray's options that its own monitor takes."""
    out: list[str] = []
    if args.source is not None:
        out += ["--source", str(args.source.resolve())]
        if args.loop:
            out.append("--loop")
    for flag in ("config", "profile", "model"):
        value = getattr(args, flag)
        if value is not None:
            out += [f"--{flag}", str(Path(value).resolve())]
    if args.alerts is not None:
        out += ["--alerts", args.alerts]
    if args.no_context:
        out.append("--no-context")
    if args.no_history:
        out.append("--no-history")
    return out


def cmd_tray(args: argparse.Namespace, out: IO[str]) -> int:
    from datetime import datetime

    from posture._cli.common import config_from_args, positive
    from posture._cli.info import write_history_page
    from posture.live.alerts import DesktopSink
    from posture.live.control import send_command
    from posture.live.monitor_process import MonitorProcess
    from posture.live.tray import TrayApp
    from posture.live.tray_icon import NoTray, PystrayBackend, tray_host
    from posture.outputs.history import OWN_KINDS, day_summaries
    from posture.paths import cache_dir, runtime_dir
    from posture.policy import Notification

    config = config_from_args(args)  # a bad config is reported here, before anything starts
    positive("--poll", args.poll, most=60.0)
    if args.source is not None and not args.source.is_file():
        raise InputError(f"--source: no such file: {args.source}")
    kinds = ("replay",) if args.source is not None else OWN_KINDS
    camera = args.camera if args.camera is not None else (None if args.source else config.monitor.camera)
    own = None
    if not args.no_start:
        own = MonitorProcess(_monitor_args(args), runtime_dir() / "tray-monitor.log", camera=camera)
    cameras: list[int] = []
    if own is not None and args.source is None and args.cameras:
        from posture.sources.camera import cameras_found

        cameras = cameras_found()
    desktop = DesktopSink()

    def notify(title: str, message: str) -> None:
        log.info("%s", message)
        desktop.send(Notification(0.0, "tray", title, message, 1))

    def open_page(days: int) -> None:
        name = "today.html" if days == 1 else f"history-{days}d.html"
        path = write_history_page(cache_dir() / name, days, kinds)
        if not webbrowser.open(path.resolve().as_uri()):
            notify("posture", f"the page is at {path} (no browser found to open it)")

    actions: queue.Queue[tuple[Any, int | None]] = queue.Queue()
    stop = threading.Event()

    def invoke(action: Any, arg: int | None) -> None:
        actions.put((action, arg))

    why_not = tray_host()
    backend: Any = None
    if why_not is None:
        try:
            backend = PystrayBackend(invoke)
        except NoTray as exc:
            why_not = str(exc)
    if backend is None:
        print(
            f"posture tray: no tray icon: {why_not}. The monitor keeps running: "
            "posture status / pause / resume reach it; Ctrl-C here stops the tray (and a monitor it started).",
            file=out,
            flush=True,
        )
        backend = _Headless()

    app = TrayApp(
        channel=send_command,
        backend=backend,
        own=own,
        open_page=open_page,
        today=lambda: next(
            (d for d in day_summaries(1, kinds=kinds) if d.day == datetime.now().date()), None
        ),
        notify=notify,
        cameras=cameras,
    )

    def loop() -> None:
        """The tray's one worker thread: it starts the monitor (so the monitor dies with this
        thread's process, not with a short-lived one), polls it and carries out the menu's actions."""
        from posture.live.tray import Action

        try:
            app.attach()
            while not stop.is_set():
                try:
                    action, arg = actions.get(timeout=args.poll)
                except queue.Empty:
                    app.tick()
                    continue
                app.act(action, arg)
                if action is Action.QUIT:
                    stop.set()
        except Exception:
            log.exception("the tray stopped on an error")
            stop.set()
        finally:
            stop.set()
            app.quit()
            if isinstance(backend, PystrayBackend):
                backend.stop()
                if not icon_done.wait(ICON_STOP_S):
                    # pystray's X11 loop sometimes misses the end of its window (the event is read
                    # by the thread that asked for the stop) and waits for ever. Everything is
                    # stopped and saved by now: end the process here.
                    log.debug("pystray's loop did not end; exiting")
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(ExitCode.OK)

    def on_signal(_signum: int, _frame: Any) -> None:
        stop.set()  # the worker sees it within a poll, stops its monitor, then the icon

    stop_on = [getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n)]
    previous = {sig: signal.signal(sig, on_signal) for sig in stop_on}
    worker = threading.Thread(target=loop, name="posture-tray", daemon=False)
    icon_done = threading.Event()  # pystray's loop has returned
    try:
        if isinstance(backend, PystrayBackend):
            from posture.live.tray import MonitorState, tray_menu, tray_view

            first = tray_view(
                None, MonitorState(owned=own is not None, starting=own is not None), datetime.now()
            )
            backend.create(first, tray_menu(first, "Today: …", owned=own is not None))
            backend.run(setup=worker.start)  # pystray's loop in the main thread until stopped
            icon_done.set()
        else:
            worker.start()
            while worker.is_alive():
                worker.join(0.5)
    finally:
        stop.set()
        if worker.is_alive():
            worker.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        desktop.close()
    return ExitCode.OK


class _Headless:
    """No icon (no tray host): the tray keeps its monitor and logs what the icon would show."""

    def show(self, view: Any, menu: Any) -> None:
        log.info("%s", view.tooltip)


def cmd_service(args: argparse.Namespace, out: IO[str]) -> int:
    from posture.live import service
    from posture.live.control import Command, ControlError, Request, send_command

    layout = service.layout_for(sys.platform)
    if args.action == "install":
        config = args.config.resolve() if args.config is not None else None
        if config is not None and not config.is_file():
            raise InputError(f"config file not found: {args.config}")
        file, notes = service.install(layout, tray=args.tray, config=config)
        what = "posture tray" if args.tray else "posture monitor"
        print(f"installed {file.description} {file.path}: runs {what} at login", file=out)
        for note in notes:
            print(f"  {note}", file=out)
        return ExitCode.OK
    if args.action == "uninstall":
        removed, foreign = service.uninstall(layout)
        for file in removed:
            print(f"removed {file.description} {file.path}", file=out)
        for path in foreign:
            print(f"left alone {path}: posture did not write it", file=out)
        if not removed:
            print("nothing to remove: posture is not set to start at login", file=out)
        return ExitCode.OK

    def answers() -> bool:
        try:
            send_command(Request(Command.STATUS), timeout_s=1.0)
        except ControlError:
            return False
        return True

    report = service.status(layout, monitor_answers=answers)
    if report.installed:
        for file in report.installed:
            print(f"installed: {file.description} {file.path}", file=out)
    else:
        print("installed: nothing (posture service install sets it up)", file=out)
    for path in report.foreign:
        print(f"not posture's: {path}", file=out)
    print(f"running: {report.running}", file=out)
    return ExitCode.OK
