"""One function per subcommand: turn parsed arguments into library calls and print the result.

Imported only once a command runs, so heavy imports stay out of ``posture --help``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from pathlib import Path
from typing import IO, Any

from posture.config import Config, load_config
from posture.errors import ExitCode, InputError
from posture.reading import Reading
from posture.untrusted import printable

log = logging.getLogger("posture")


MAX_SAMPLE_FPS = 240.0  # more analysed frames a second than any video has: use --every-frame


def _positive(flag: str, value: float, *, most: float = math.inf) -> float:
    """A finite number of seconds or frames, above zero and at most ``most``: else exit 2."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{flag} needs a number, not {value!r}")
    if not (math.isfinite(value) and 0 < value <= most):
        bound = "" if math.isinf(most) else f" and at most {most:g}"
        raise InputError(f"{flag} must be a number above 0{bound}, not {value!r}")
    return value


def _config(args: argparse.Namespace) -> Config:
    config = load_config(getattr(args, "config", None))
    if getattr(args, "model", None) is not None:
        config = config.replace("analysis", model=args.model)
    if getattr(args, "every_frame", False):
        config = config.replace("analysis", sample_fps=None)
    elif getattr(args, "fps", None) is not None:
        _positive("--fps", args.fps, most=MAX_SAMPLE_FPS)
        config = config.replace("analysis", sample_fps=args.fps)
    if getattr(args, "hold", None) is not None:
        _positive("--hold", args.hold)
        config = config.replace("detector", hold_s=args.hold)
    return config


def _fmt(value: float | None, unit: str = "°") -> str:
    return "-" if value is None else f"{value:.1f}{unit}"


def _reading_lines(name: str, reading: Reading) -> list[str]:
    m = reading.metrics
    lines = [f"{name}: {reading.posture.value} (view: {reading.view})"]
    if not reading.person:
        lines.append("  no person found")
        return lines
    shown = [
        ("neck", "neck_inclination_deg", "°"),
        ("trunk", "trunk_inclination_deg", "°"),
        ("neck flexion", "neck_flexion_deg", "°"),
        ("CVA", "cva_deg", "°"),
        ("head forward", "head_forward_deg", "°"),
        ("shoulder tilt", "shoulder_tilt_deg", "°"),
        ("head roll", "head_roll_deg", "°"),
        ("face scale", "face_scale_pct", "%"),
        ("head drop", "head_drop_pct", "%"),
    ]
    parts = [
        f"{label} {_fmt(m.get(key), unit)}{'~' if key in reading.estimated else ''}"
        for label, key, unit in shown
        if m.get(key) is not None
    ]
    if parts:
        lines.append("  " + ", ".join(parts))
    active = [(c, s) for c, s in reading.findings.items() if s > 0]
    if active:
        flagged = ", ".join(
            f"{c} {s:.2f}{' (poor)' if s >= 1 else ''}" for c, s in sorted(active, key=lambda x: -x[1])
        )
        lines.append(f"  findings: {flagged}")
    if reading.estimated:
        lines.append("  ~ estimate (front or oblique view)")
    return lines


def cmd_measure(args: argparse.Namespace, out: IO[str]) -> int:
    from posture.pipeline import load_baseline, measure_images
    from posture.sources.media import check_media_path, is_image_file

    for path in args.images:
        check_media_path(path)
        if not is_image_file(path):
            raise InputError(f"{path} is not an image (use 'posture analyze' for videos)")
    config = _config(args)
    baseline = load_baseline(args.baseline, config) if args.baseline else None
    results = []
    for res in measure_images(args.images, config, baseline):
        if args.json:
            d = res.reading.to_dict()
            results.append(
                {
                    "source": str(res.source),
                    "person": d["person"],
                    "view": d["view"],
                    "metrics": d["metrics"],
                    "estimated": d["estimated"],
                    "findings": d["findings"],
                    "posture": d["posture"],
                }
            )
        else:
            print("\n".join(_reading_lines(printable(str(res.source)), res.reading)), file=out)
    if args.json:
        json.dump(results, out, indent=2)
        out.write("\n")
    return ExitCode.OK


class _Progress:
    """A tqdm bar over seconds of video on a terminal; silent otherwise."""

    def __init__(self, total_s: float, enabled: bool) -> None:
        self._bar: Any = None
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(
                total=round(total_s, 1) or None,
                unit="s",
                desc="analysing",
                dynamic_ncols=True,
                bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} s video [{elapsed}<{remaining}, {rate_fmt}]",
            )

    def __call__(self, t_s: float) -> None:
        if self._bar is not None:
            self._bar.update(max(0.0, round(t_s, 1) - self._bar.n))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def run_analysis(
    video: Path,
    out_dir: Path,
    config: Config,
    *,
    baseline_spec: Path | None = None,
    calibrate_first_s: float | None = None,
    workers: int | None = None,
    annotate: bool = False,
    report: bool = True,
    key_frames: bool = True,
    history: bool = True,
    quiet: bool = False,
    kind: str = "analyze",
    footage_credit: str = "",
) -> dict[str, Any]:
    """Analyse a video and write its outputs; returns the summary (shared by analyze and demo).

    ``footage_credit`` (who made the video, its licence) goes into the report's footer.
    """
    from posture.outputs.files import analysis_summary, write_outputs
    from posture.outputs.staging import staged_output
    from posture.pipeline import analyze_video, load_baseline
    from posture.pose.parallel import auto_workers, available_cores
    from posture.sources.media import VideoFileSource

    if baseline_spec is not None and calibrate_first_s is not None:
        raise InputError("use either --baseline or --calibrate-first, not both")
    if calibrate_first_s is not None:
        _positive("--calibrate-first", calibrate_first_s)
    from posture.sources.media import check_media_path, is_image_file

    check_media_path(video)
    if is_image_file(video):
        raise InputError(f"{video} is a still image; use posture measure for photos")
    with VideoFileSource(video) as probe:
        info = probe.info
    baseline = load_baseline(baseline_spec, config) if baseline_spec else None
    n_workers = workers if workers is not None else auto_workers(info)
    if n_workers < 1:
        raise InputError("--workers must be at least 1")
    cores = available_cores()
    if n_workers > cores:
        log.warning("--workers %d: this machine has %d core(s); using %d", n_workers, cores, cores)
        n_workers = cores
    with staged_output(out_dir) as staging:  # all files appear at the end, or none
        progress = _Progress(info.duration_s, not quiet)
        started = time.monotonic()
        try:
            result = analyze_video(
                video,
                config,
                baseline=baseline,
                calibrate_first_s=calibrate_first_s,
                progress=progress,
                workers=n_workers,
                info=info,
            )
        finally:
            progress.close()
        if not result.readings:
            raise InputError(f"{video} has no frames to analyse")
        if result.truncated:
            log.warning(
                "%s ends at %.1f s of a stated %.1f s: analysed what could be read",
                video,
                result.readings[-1].t_s,
                info.duration_s,
            )
        log.info("analysis: %.1f s", time.monotonic() - started)
        started = time.monotonic()
        files = write_outputs(result, staging)
        summary = analysis_summary(result)
        log.info("timeline, summary and events written in %.2f s", time.monotonic() - started)
        if annotate:
            from posture.outputs.annotate import write_annotated_video

            started = time.monotonic()
            files.files["video"] = write_annotated_video(result, staging / "annotated")
            log.info("annotated video written in %.1f s", time.monotonic() - started)
        if report:
            from posture.outputs.report import write_report

            started = time.monotonic()
            files.files["report"] = write_report(
                result,
                summary,
                staging / "report.html",
                files.files,
                key_frames=key_frames,
                config=config,
                footage_credit=footage_credit,
            )
            log.info("report written in %.1f s", time.monotonic() - started)
    files.files = {k: out_dir / Path(v).name for k, v in files.files.items()}
    if history:
        from posture.outputs.history import record_analysis

        # The history keeps the file's name only, not where it lives.
        record_analysis(result, {**summary, "source": video.name}, kind=kind)
    summary["files"] = {k: str(v) for k, v in files.files.items()}
    return summary


def _print_summary(summary: dict[str, Any], out: IO[str]) -> None:
    share = summary["share"]
    print(
        f"analysed {summary['duration_s']:.1f} s ({summary['frames_analysed']} frames, view: {summary['view']}): "
        f"good {share['good']:.0%}, poor {share['poor']:.0%}, away {share['away']:.0%}, uncertain {share['uncertain']:.0%}; "
        f"{summary['episodes']} sustained episode(s)",
        file=out,
    )
    if summary.get("top_finding"):
        print(
            f"most frequent problem: {summary['top_finding']} (see: posture advice {summary['top_finding']})",
            file=out,
        )
    for name, path in summary.get("files", {}).items():
        print(f"  {name:9s} {printable(path)}", file=out)


def cmd_analyze(args: argparse.Namespace, out: IO[str]) -> int:
    config = _config(args)
    out_dir = args.out or Path("posture-out") / args.video.stem
    summary = run_analysis(
        args.video,
        out_dir,
        config,
        baseline_spec=args.baseline,
        calibrate_first_s=args.calibrate_first,
        workers=args.workers,
        annotate=args.annotate,
        report=not args.no_report,
        key_frames=not args.no_key_frames,
        history=not args.no_history,
        quiet=args.quiet,
    )
    _print_summary(summary, out)
    return ExitCode.OK


class _BatchBar:
    """One tqdm bar for the archive on a terminal (recordings, video-hours, throughput); silent otherwise."""

    def __init__(self, enabled: bool) -> None:
        self._enabled = enabled and sys.stderr.isatty()
        self._bar: Any = None

    def __call__(self, p: Any) -> None:
        if not self._enabled or p.total == 0:
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=p.total, unit="rec", desc="recordings", dynamic_ncols=True)
        self._bar.update(p.done + p.failed - self._bar.n)
        speed = p.video_s / p.wall_s if p.wall_s > 0 else 0.0
        self._bar.set_postfix_str(
            f"{p.failed} failed, video {p.video_s / 3600:.2f} h, {speed:.1f} video-s/s", refresh=True
        )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def cmd_batch(args: argparse.Namespace, out: IO[str]) -> int:
    from posture.batch import BatchOptions, run_batch

    options = BatchOptions(
        inputs=tuple(args.inputs),
        out=args.out,
        config=_config(args),
        engine=args.engine,
        workers=args.workers,
        ray_address=args.ray_address,
        cpus_per_task=args.cpus_per_task,
        people_csv=args.people,
        baseline=args.baseline,
        calibrate_first_s=args.calibrate_first,
        annotate=args.annotate,
        report=not args.no_report,
        key_frames=not args.no_key_frames,
        max_attempts=args.max_attempts,
        retry_failed=args.retry_failed,
    )
    bar = _BatchBar(not args.quiet)
    try:
        result = run_batch(options, progress=bar)
    finally:
        bar.close()
    how = ""
    if result.workers:
        how = f" ({result.engine}, {result.workers} worker(s)"
        if result.analysed:
            how += f", {result.video_s / result.wall_s:.1f} video-s per wall-s"
        how += ")"
    print(
        f"{result.recordings} recording(s): {result.analysed} analysed now{how}, "
        f"{result.skipped + result.recovered} done before, {len(result.failed)} failed",
        file=out,
    )
    for rel, error in result.failed:
        print(f"  failed: {rel}: {error}", file=out)
    print(f"  cohort    {result.cohort_csv}", file=out)
    print(f"  report    {result.cohort_html}", file=out)
    return ExitCode.FAILURE if result.failed else ExitCode.OK


def cmd_advice(args: argparse.Namespace, out: IO[str]) -> int:
    from posture.advice import UnknownTopicError, load_catalogue, render_html, render_list, render_text

    catalogue = load_catalogue()
    if args.html is not None:
        from posture.outputs.timeline import open_text

        try:
            with open_text(args.html) as fh:
                fh.write(render_html(catalogue))
        except OSError as exc:
            raise InputError(f"cannot write {args.html}: {exc.strerror or exc}") from None
        print(f"wrote {args.html}", file=out)
        return ExitCode.OK
    if args.list:
        out.write(render_list(catalogue))
        return ExitCode.OK
    try:
        out.write(render_text(catalogue, args.topic))
    except UnknownTopicError as exc:
        raise InputError(str(exc).strip("'\"")) from None
    return ExitCode.OK


def cmd_check(args: argparse.Namespace, out: IO[str]) -> int:
    """Paths, versions, the pose model, cameras and alert back-ends; exit 1 only when something
    that breaks a command the user can run is wrong."""
    from posture._cli.environment import check_environment

    items = check_environment()
    width = max(len(item.label) for item in items) + 2
    for item in items:
        mark = {"fail": "PROBLEM: ", "note": "note: "}.get(item.status, "")
        print(f"{item.label:<{width}}{mark}{item.value}", file=out)
    failed = [item.label for item in items if item.status == "fail"]
    if failed:
        print(f"{'status':<{width}}not ready: fix {', '.join(failed)}", file=out)
        return ExitCode.FAILURE
    cameras = next(item for item in items if item.label == "cameras")
    verdict = "ready" if cameras.status == "ok" else "ready for analyze, measure and demo (no camera)"
    print(f"{'status':<{width}}{verdict}", file=out)
    return ExitCode.OK


def cmd_history(args: argparse.Namespace, out: IO[str]) -> int:
    from posture.outputs.history import (
        OWN_KINDS,
        count_sessions,
        daily_trend,
        history_json,
        list_sessions,
        render_history,
    )

    if args.limit < 1:
        raise InputError("--limit must be at least 1")
    kinds = None if args.all else OWN_KINDS
    sessions, trend = list_sessions(args.limit, kinds=kinds), daily_trend(kinds=kinds)
    hidden = {} if kinds is None else {k: n for k, n in count_sessions().items() if k not in kinds}
    if args.json:
        json.dump(history_json(sessions, trend, hidden), out, indent=2)
        out.write("\n")
    else:
        out.write(render_history(sessions, trend, hidden, own_only=kinds is not None))
    return ExitCode.OK


def _open_in_browser(path: Path, out: IO[str]) -> None:
    """Open ``path`` in the user's browser, or say where it is and why it could not be opened."""
    import os
    import webbrowser

    reason = ""
    try:
        opened = webbrowser.open(path.resolve().as_uri())
    except webbrowser.Error as exc:
        opened, reason = False, str(exc) or type(exc).__name__
    if opened:
        return
    if not reason:
        reason = "no web browser was found (set BROWSER to the one to use)"
        if sys.platform.startswith("linux") and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        ):
            reason = "there is no display (DISPLAY and WAYLAND_DISPLAY are unset) and " + reason
    print(f"could not open the report in a browser: {reason}; open it yourself: {path.resolve()}", file=out)


def cmd_demo(args: argparse.Namespace, out: IO[str]) -> int:
    from posture.sources import demo

    out_dir = args.out or demo.default_out_dir()
    config = load_config(None).replace("detector", hold_s=demo.HOLD_S)
    print(
        f"posture demo: analysing {demo.CLIP_NAME}, a time-lapse of real photos of one person at a desk, "
        f"calibrating on its first {demo.CALIBRATE_S:g} s, alerting after {demo.HOLD_S:g} s of poor posture",
        file=out,
    )
    print(demo.ATTRIBUTION, file=out)
    print(f"writing into {out_dir}", file=out)
    with demo.clip_path() as clip:
        summary = run_analysis(
            clip,
            out_dir,
            config,
            calibrate_first_s=demo.CALIBRATE_S,
            annotate=True,
            history=False,  # the history is the user's own: a demo never goes into it
            quiet=args.quiet,
            footage_credit=demo.ATTRIBUTION,
        )
    _print_summary(summary, out)
    report = summary["files"].get("report")
    print(f"open the report: {Path(report).resolve().as_uri() if report else out_dir}", file=out)
    if args.open and report:
        _open_in_browser(Path(report), out)
    return ExitCode.OK


def _preview_window(config: Config) -> Any:
    """A window with the skeleton, the live angles and the thresholds (the boundaries) drawn."""
    import os

    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        raise InputError("--preview needs a display (no DISPLAY or WAYLAND_DISPLAY is set)")
    import cv2

    from posture.outputs.annotate import OverlayState, annotate_frame, put_text

    rules = config.metrics.rules
    limits = {
        "head_forward_deg": ("head forward", rules.forward_head_deg.limit),
        "trunk_inclination_deg": ("trunk", rules.hunched_back_deg.limit),
        "neck_flexion_deg": ("neck flexion", rules.neck_flexion_deg.limit),
        "shoulder_tilt_deg": ("shoulder tilt", rules.side_lean_deg.limit),
        "face_scale_pct": ("face scale", rules.leaning_in_pct.limit),
        "head_drop_pct": ("head drop", rules.head_drop_pct.limit),
    }

    def show(frame, pose, reading, state) -> bool:
        image = frame.image.copy()
        worst = reading.worst_finding()
        label = reading.posture.value.upper() + (
            f": {worst[0].replace('_', ' ')}" if worst and worst[1] >= 1 else ""
        )
        alert = (
            f"ALERT: {', '.join(c.replace('_', ' ') for c in state.findings)}" if state.alert_active else None
        )
        annotate_frame(image, reading, pose, OverlayState(reading.posture, label, alert, None))
        y = image.shape[0] - 12
        for key, (name, limit) in limits.items():
            value = reading.metrics.get(key)
            if value is None:
                continue
            unit = "%" if key.endswith("_pct") else "°"
            put_text(
                image, f"{name} {value:.0f}{unit} / limit {limit:.0f}{unit}", (10, y), 0.5, (255, 255, 255), 1
            )
            y -= 20
        cv2.imshow("posture", image)
        return (cv2.waitKey(1) & 0xFF) not in (ord("q"), 27)

    return show


def cmd_monitor(args: argparse.Namespace, out: IO[str]) -> int:
    import signal
    from contextlib import ExitStack

    from posture.baseline import Baseline
    from posture.calibrate import default_profile_path
    from posture.live.alerts import make_sinks
    from posture.live.context import ContextWatcher
    from posture.live.control import ControlServer
    from posture.live.monitor import CameraFrames, FileFrames, Monitor, MonitorOptions
    from posture.pose.estimator import open_estimator

    config = _config(args)
    if args.duration is not None:
        _positive("--duration", args.duration)
    profile = args.profile or default_profile_path()
    baseline = Baseline.load(profile) if (args.profile or profile.is_file()) else None
    frames = FileFrames(args.source, loop=args.loop) if args.source else CameraFrames(args.camera)
    preview = _preview_window(config) if args.preview else None
    try:
        sinks = make_sinks([s for s in args.alerts.split(",") if s], out)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    where = "a file played at real speed" if args.source else f"camera {args.camera}"
    calib = f"profile {profile}" if baseline else "no calibration (run posture calibrate)"
    monitor_ref: list[Monitor] = []

    def on_signal(signum: int, _frame: Any) -> None:
        if monitor_ref:
            monitor_ref[0].stop()
        else:  # still starting up: stop right here
            raise KeyboardInterrupt

    # Closing the terminal (SIGHUP) ends the session as cleanly as Ctrl-C and SIGTERM.
    stop_on = [getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n)]
    previous = {sig: signal.signal(sig, on_signal) for sig in stop_on}
    try:
        with ExitStack() as stack:
            history = None
            if not args.no_history:
                from posture.outputs.history import LiveSession

                # A file played as a stand-in for a camera is not the user's own sitting.
                history = stack.enter_context(LiveSession(kind="replay" if args.source else "live"))
            estimator = stack.enter_context(
                open_estimator(
                    config.analysis.model,
                    video=True,
                    model_complexity=config.analysis.model_complexity,
                    sampled=True,
                )
            )
            monitor = Monitor(
                config,
                frames,
                estimator,
                baseline=baseline,
                sinks=sinks,
                options=MonitorOptions(duration_s=args.duration),
                history=history,
                context=None if args.no_context else ContextWatcher(config.context),
                preview=preview,
                on_start=lambda: print(
                    f"posture monitor: watching {where}; {calib}; Ctrl-C to stop", file=out
                ),
            )
            monitor_ref.append(monitor)
            stack.callback(monitor.release_source)
            monitor.open_source()  # a missing camera is reported before the control channel starts
            stack.enter_context(ControlServer(monitor.handle_command))  # started on entry
            totals = monitor.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sink in sinks:
            sink.close()
    print(_closing_summary(monitor, totals.paused_s), file=out)
    return ExitCode.OK


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
    from posture.live.control import format_status, send_command

    out.write(format_status(send_command({"cmd": "status"})).rstrip("\n") + "\n")
    return ExitCode.OK


def cmd_pause(args: argparse.Namespace, out: IO[str]) -> int:
    from datetime import datetime

    from posture.live.control import parse_duration, send_command

    try:
        until = parse_duration(args.duration, datetime.now())
    except ValueError as exc:
        raise InputError(str(exc)) from None
    send_command({"cmd": "pause", "until_s": until})
    when = "until you resume" if until is None else f"until {datetime.fromtimestamp(until):%a %H:%M}"
    print(f"posture monitor paused {when}", file=out)
    return ExitCode.OK


def cmd_resume(args: argparse.Namespace, out: IO[str]) -> int:
    from posture.live.control import send_command

    send_command({"cmd": "resume"})
    print("posture monitor resumed", file=out)
    return ExitCode.OK


def _live_frames(args: argparse.Namespace) -> Any:
    from posture.live.monitor import CameraFrames, FileFrames

    return FileFrames(args.source) if getattr(args, "source", None) else CameraFrames(args.camera)


def _frames_from(live: Any, seconds: float) -> Any:
    """Frames from a live source for ``seconds`` of its own time, about 15 a second."""
    import time

    first: float | None = None
    while True:
        frame = live.read()
        if frame is None:
            if live.ended:
                return
            time.sleep(0.05)
            continue
        first = frame.t_s if first is None else first
        if frame.t_s - first > seconds:
            return
        yield frame
        time.sleep(1.0 / 15.0)


def cmd_calibrate(args: argparse.Namespace, out: IO[str]) -> int:
    from itertools import islice

    from posture.calibrate import CalibrationConfig, default_profile_path, run_calibration, validate
    from posture.metrics import measure
    from posture.pose.estimator import open_estimator

    config = _config(args)
    _positive("--seconds", args.seconds, most=600.0)
    cal = CalibrationConfig(seconds=args.seconds)
    profile = args.profile or default_profile_path()
    live = _live_frames(args)
    shown: dict[str, str] = {}  # the last line printed per check

    def on_check(report: Any) -> None:
        # One line per check whose state changed, not the whole block again.
        for c in report.checks:
            line = f"  {'ok ' if c.ok else '...'} {c.message}"
            if shown.get(c.name) != line:
                shown[c.name] = line
                print(line, file=out)
        out.flush()

    print(
        f"posture calibrate: sit the way you mean to sit, look at your screen and hold still for {args.seconds:g} s",
        file=out,
    )
    live.open()
    try:
        with open_estimator(
            config.analysis.model, video=True, model_complexity=config.analysis.model_complexity, sampled=True
        ) as est:
            baseline, report = run_calibration(
                _frames_from(live, args.seconds + 30.0), est, config, cal, on_check=on_check
            )
            if baseline is None:
                failed = "; ".join(c.message for c in report.failed) or "no usable frames"
                raise InputError(f"calibration not saved: {failed}")
            print("checking it: keep sitting the same way for 3 s ...", file=out)
            raws = [
                measure(est.estimate(f), config.metrics) for f in islice(_frames_from(live, 3.0), 0, None, 3)
            ]
    finally:
        live.close()
    check = validate(baseline, raws, config)
    if not check.ok:  # only a profile that passed its check is ever saved
        raise InputError(f"calibration not saved: {check.message}")
    baseline.save(profile)
    print(f"ok: {check.message}", file=out)
    print(f"saved your baseline ({baseline.view} view, {baseline.frames} frames) to {profile}", file=out)
    return ExitCode.OK


def cmd_record(args: argparse.Namespace, out: IO[str]) -> int:
    from posture.live.record import record_camera

    _positive("--seconds", args.seconds)
    result = record_camera(args.out, camera=args.camera, seconds=args.seconds)
    print(f"recorded {result.frames} frames ({result.duration_s:.1f} s) to {result.path}", file=out)
    return ExitCode.OK
