"""The command line: parse, build a config, call the library, map typed errors to exit codes.

Heavy modules (MediaPipe, OpenCV, matplotlib) are imported inside the commands, so
``posture --help`` is instant. ``POSTURE_DEBUG=1`` re-raises errors with their traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

from posture import __version__, extra_hint
from posture.errors import ExitCode, OptionError, PostureError

if TYPE_CHECKING:
    from posture.pose.estimator import EstimatorFactory

__all__ = ["build_parser", "main"]

log = logging.getLogger("posture")

MAX_LINE = 1000  # characters of one error or warning line: a 10 MB value is never echoed whole

# The flag of each library parameter that an error or a warning may name: the library says
# "workers must be at least 1" (posture.errors.Phrase), the command line "--workers must be at
# least 1". Parameters the command line sets only from its own constants (the demo's) keep their name.
PARAMETER_FLAGS = {
    "baseline": "--baseline",
    "calibrate_first_s": "--calibrate-first",
    "workers": "--workers",
    "engine": "--engine",
    "ray_address": "--ray-address",
    "cpus_per_task": "--cpus-per-task",
    "max_attempts": "--max-attempts",
    "people_csv": "--people",
    "out": "--out",
}


def flag_of(parameter: str) -> str:
    """The command line's name for a library parameter."""
    return PARAMETER_FLAGS.get(parameter, parameter)


# Commands whose native libraries print on the terminal's stderr: MediaPipe's C++ start-up notes,
# and OpenCV's WebM writer (record), which says a VP8 tag is "not supported" and then writes it.
NATIVE_COMMANDS = frozenset({"measure", "analyze", "batch", "demo", "monitor", "calibrate", "record"})


def _add_common_analysis(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=_path, help="TOML config file (default: the user's posture.toml if any)")
    p.add_argument(
        "--model",
        type=_path,
        help="a pose_landmarker_*.task file for the Tasks API (default: bundled full model)",
    )
    p.add_argument(
        "--baseline",
        type=_path,
        metavar="IMAGE_OR_PROFILE",
        help="your good posture: a photo or a saved profile (.json)",
    )


def _path(text: str) -> Path:
    """A path flag: an empty one (``--out ''``) would quietly mean the current folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path")
    return Path(text)


def _camera_index(text: str) -> int:
    """``--camera N``: a camera index OpenCV takes for one (0-99), else a usage error (exit 2)."""
    from posture.sources.camera import MAX_CAMERA_INDEX

    try:
        index = int(text)
    except ValueError:
        index = None
    if index is None or not 0 <= index <= MAX_CAMERA_INDEX:
        raise argparse.ArgumentTypeError(f"a camera index from 0 to {MAX_CAMERA_INDEX}, not {text[:40]!r}")
    return index


def _add_live_source(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group()
    # No default here: argparse lets an option given its default value (--camera 0) past the
    # mutual exclusion with --source. A missing --camera means the config's monitor.camera (0).
    src.add_argument(
        "--camera",
        type=_camera_index,
        metavar="N",
        help="camera index (default: monitor.camera in the config, 0)",
    )
    src.add_argument(
        "--source",
        type=_path,
        metavar="PATH",
        help="a video file played at real speed, as a stand-in for a camera",
    )


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line on stderr (exit 2), like every other error of the tool."""

    def error(self, message: str) -> NoReturn:
        self.exit(ExitCode.BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="posture",
        description="Webcam posture monitor: neck and upper-back angles, sustained-posture alerts, prevention advice.",
    )
    parser.add_argument("--version", action="version", version=f"posture {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the pipeline does")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "measure",
        help="one reading per photo",
        description="Measure posture on still images (EXIF orientation applied).",
    )
    p.add_argument("images", nargs="+", type=_path, metavar="IMAGE")
    p.add_argument("--json", action="store_true", help="print a JSON array, one object per image")
    _add_common_analysis(p)

    p = sub.add_parser(
        "analyze",
        help="analyse a recorded video",
        description="Run the pipeline over a recorded video as fast as it can and write the results into DIR.",
    )
    p.add_argument("video", type=_path, metavar="VIDEO")
    p.add_argument(
        "--out", type=_path, metavar="DIR", help="output folder (default: ./posture-out/<video name>)"
    )
    _add_common_analysis(p)
    p.add_argument(
        "--calibrate-first",
        type=float,
        metavar="SECONDS",
        help="take the baseline from the clip's first SECONDS",
    )
    p.add_argument(
        "--every-frame",
        action="store_true",
        help="analyse every frame (default: 5 frames per second of video, plus the frames around each change of verdict)",
    )
    p.add_argument("--fps", type=float, metavar="N", help="analysed frames per second of video")
    p.add_argument(
        "--hold",
        type=float,
        metavar="SECONDS",
        help="fixed holding time before an alert (default: ISO 11226 holding times by severity)",
    )
    p.add_argument(
        "--workers", type=int, metavar="N", help="estimator processes (default: 2 on clips of 20 s or more)"
    )
    p.add_argument("--annotate", action="store_true", help="also write an annotated copy of the video")
    p.add_argument("--no-report", action="store_true", help="skip report.html")
    p.add_argument(
        "--no-key-frames",
        action="store_true",
        help="no pictures in report.html (by default it embeds up to 3 key frames)",
    )
    p.add_argument("--no-history", action="store_true", help="do not record this session in the history")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser(
        "batch",
        help="analyse a whole archive of recordings",
        description="Analyse every video under the inputs with the same pipeline and options as analyze, "
        "one result folder per recording plus cohort.csv and cohort.html in OUT. Resumable: running the "
        "same command again skips what is done and retries what failed.",
    )
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="DIR_OR_GLOB",
        help="folders (searched recursively), globs or video files",
    )
    p.add_argument("--out", type=_path, required=True, metavar="RESULTS", help="results folder")
    p.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help=f"local: processes on this machine (default); ray: a Ray instance (the ray extra: {extra_hint('ray', 'ray')})",
    )
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="recordings analysed at once (default: one per core, as memory allows, ~430 MB each)",
    )
    p.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="an existing Ray cluster (default: start Ray on this machine); paths must be shared",
    )
    p.add_argument(
        "--cpus-per-task", type=float, default=1.0, metavar="N", help="with --engine ray: CPUs per recording"
    )
    p.add_argument(
        "--people",
        type=_path,
        metavar="CSV",
        help="who each recording shows: a CSV with the columns file,person,baseline (paths relative to it)",
    )
    _add_common_analysis(p)
    p.add_argument(
        "--calibrate-first",
        type=float,
        metavar="SECONDS",
        help="take each recording's baseline from its first SECONDS",
    )
    p.add_argument("--every-frame", action="store_true", help="analyse every frame")
    p.add_argument("--fps", type=float, metavar="N", help="analysed frames per second of video")
    p.add_argument("--hold", type=float, metavar="SECONDS", help="fixed holding time before an alert")
    p.add_argument("--annotate", action="store_true", help="also write an annotated copy of each video")
    p.add_argument("--no-report", action="store_true", help="skip each recording's report.html")
    p.add_argument("--no-key-frames", action="store_true", help="no pictures in the reports")
    p.add_argument(
        "--max-attempts",
        type=int,
        default=3,
        metavar="N",
        help="analyses of a recording that may fail before it is left as failed (default 3); "
        "bad input (a broken file) is not retried unless the file changes",
    )
    p.add_argument("--retry-failed", action="store_true", help="try every failed recording again")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser(
        "demo",
        help="analyse the project's own sample clip",
        description="Analyse the bundled demo clip (real photos of one person at a desk, CC BY 4.0) and write "
        "a report, an annotated video and the data files. The demo never goes into your history.",
    )
    p.add_argument(
        "--out", type=_path, metavar="DIR", help="output folder (default: demo/ in your cache folder, reused)"
    )
    # Accepted for old scripts: the demo never writes to the history.
    p.add_argument("--no-history", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--open", action="store_true", help="open the report in a browser when done")

    p = sub.add_parser(
        "advice",
        help="prevention advice",
        description="Prevention advice in the project's own words, after 'Upper back pain, causes and possible treatments (2025)'.",
    )
    p.add_argument("topic", nargs="?", help="a topic id or finding code (see --list)")
    p.add_argument("--list", action="store_true", help="list the topics")
    p.add_argument("--html", type=_path, metavar="FILE", help="write the advice as one HTML page")

    p = sub.add_parser(
        "history",
        help="past sessions and trends",
        description="Your own live sessions (posture monitor on a camera) and a daily trend; "
        "--all adds analysed videos and monitor runs on a file.",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--all", action="store_true", help="every session: also analyze and monitor --source (replay)"
    )
    p.add_argument("--limit", type=int, default=20, help="sessions to list (default 20)")
    p.add_argument(
        "--html",
        type=_path,
        metavar="FILE",
        help="write one self-contained page of the last --days days instead: time watched, poor share "
        "per finding, alerts and breaks per day, the trend, the top finding's advice, streaks of good days",
    )
    p.add_argument("--days", type=int, default=7, metavar="N", help="with --html: the days shown (default 7)")

    p = sub.add_parser(
        "monitor",
        help="watch the webcam while you work",
        description="Live monitoring at low CPU: alerts on sustained poor posture and break reminders. "
        "Stop with Ctrl-C; from another terminal: posture status / pause / resume.",
    )
    _add_live_source(p)
    p.add_argument("--loop", action="store_true", help="with --source: start the file over at its end")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long")
    p.add_argument(
        "--preview", action="store_true", help="show a window with the skeleton, angles and thresholds"
    )
    p.add_argument(
        "--profile",
        type=_path,
        metavar="PROFILE",
        help="calibration profile (default: the one posture calibrate saved)",
    )
    p.add_argument(
        "--alerts",
        default="console,desktop",
        metavar="SINKS",
        help="comma-separated: console, desktop, sound (default console,desktop)",
    )
    p.add_argument(
        "--no-context", action="store_true", help="do not pause on screen lock or while meeting apps run"
    )
    p.add_argument("--no-history", action="store_true", help="do not record this session in the history")
    p.add_argument("--config", type=_path, help="TOML config file")
    p.add_argument("--model", type=_path, help="a pose_landmarker_*.task file (default: bundled full model)")

    p = sub.add_parser(
        "calibrate",
        help="record your good posture as a baseline",
        description="A guided capture of your good posture with live checks (person, shoulders and ears "
        "visible, steady, lighting, view), saved as a profile, then a short validation pass.",
    )
    _add_live_source(p)
    p.add_argument(
        "--seconds",
        type=float,
        help="length of the capture (default 8, or calibration.seconds in the config)",
    )
    p.add_argument(
        "--profile",
        type=_path,
        metavar="PATH",
        help="where to save the profile (default: the user config folder)",
    )
    p.add_argument("--config", type=_path, help="TOML config file")
    p.add_argument("--model", type=_path, help="a pose_landmarker_*.task file (default: bundled full model)")

    p = sub.add_parser(
        "record",
        help="record a clip from the webcam",
        description="Record a clip from the webcam for later analysis: the only way camera frames reach the disk.",
    )
    p.add_argument(
        "out", type=_path, metavar="OUT.webm", help="output file (.webm, or .mp4 with the h264 extra)"
    )
    p.add_argument("--camera", type=_camera_index, default=0, metavar="N", help="camera index (default 0)")
    p.add_argument("--seconds", type=float, default=10.0, help="length (default 10)")

    sub.add_parser(
        "status",
        help="state of the running monitor",
        description="Ask the running posture monitor how things are.",
    )
    p = sub.add_parser(
        "pause",
        help="pause the running monitor",
        description="Pause the running monitor: 15m, 1h, 1h30m, until-tomorrow, or indefinite.",
    )
    p.add_argument(
        "duration",
        nargs="?",
        default="indefinite",
        metavar="DURATION",
        help="15m, 1h, until-tomorrow, indefinite (default)",
    )
    sub.add_parser("resume", help="resume the running monitor", description="Resume a paused monitor.")

    p = sub.add_parser(
        "tray",
        help="a tray icon for the monitor",
        description="An icon in the system tray that shows how the monitor sees you (green fine, orange "
        "poor posture building, red alert, blue paused, grey away or not running, purple no camera) with a "
        "menu: today's figures, pause, resume, calibrate, today's and the week's page. It uses the running "
        "monitor, or starts one of its own and stops it (session saved) on quit. Needs the tray extra: "
        f"{extra_hint('tray', 'pystray')}.",
    )
    _add_live_source(p)
    p.add_argument("--loop", action="store_true", help="with --source: start the file over at its end")
    p.add_argument("--config", type=_path, help="TOML config file (for the monitor the tray starts)")
    p.add_argument("--profile", type=_path, metavar="PROFILE", help="calibration profile for its monitor")
    p.add_argument("--model", type=_path, help="a pose_landmarker_*.task file for its monitor")
    p.add_argument("--alerts", metavar="SINKS", help="its monitor's alert sinks (default console,desktop)")
    p.add_argument(
        "--no-context", action="store_true", help="its monitor does not pause on screen lock or meetings"
    )
    p.add_argument("--no-history", action="store_true", help="its monitor records no history")
    p.add_argument("--no-start", action="store_true", help="never start a monitor: only show one that runs")
    p.add_argument(
        "--cameras", action="store_true", help="look for every camera and offer a choice in the menu"
    )
    p.add_argument("--poll", type=float, default=1.0, help=argparse.SUPPRESS)

    p = sub.add_parser(
        "service",
        help="start the monitor (or the tray) at login",
        description="install: a systemd user unit on Linux (an XDG autostart entry without a systemd user "
        "session), a LaunchAgent on macOS, a Startup-folder script on Windows, running posture monitor "
        "(or posture tray with --tray) with your config. uninstall removes it; status says what is "
        "installed and whether it runs. Files posture did not write are never touched.",
    )
    p.add_argument("action", choices=("install", "uninstall", "status"))
    p.add_argument(
        "--tray", action="store_true", help="install: start the tray (icon and monitor), not the bare monitor"
    )
    p.add_argument(
        "--config", type=_path, help="install: the config file to run with (default: your posture.toml)"
    )

    sub.add_parser(
        "check",
        help="check the environment",
        description="Where posture keeps its config, history and models; the pose model and whether it "
        "loads; cameras; the annotated-video encoder; notification and sound back-ends. Exits 1 only "
        "for what breaks a command.",
    )
    return parser


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the moment (it is swapped by tests and by
    :func:`posture.pose.estimator.divert_native_stderr`), never to a stream that has gone away."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


class _PrintableFormatter(logging.Formatter):
    """Messages name files and sources: their control characters never reach the terminal."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        from posture.errors import Phrase
        from posture.untrusted import printable

        if isinstance(record.msg, Phrase):  # a parameter it names is shown as its flag
            record = logging.makeLogRecord({**record.__dict__, "message": record.msg.naming(flag_of)})
        return printable(super().formatMessage(record), MAX_LINE)


def _show_warning(message: Any, category: type[Warning], filename: str, lineno: int, *_: Any) -> None:
    """Python warnings of the libraries underneath (Pillow, matplotlib, numpy) as one log line at
    INFO (shown with --verbose), never with their file and source line: posture has already dealt
    with what they warn about, or says so in its own words."""
    logging.getLogger("posture.warnings").info("%s: %s", category.__name__, message)


def _setup_logging(verbose: bool) -> None:
    import warnings

    handler = _StderrHandler()
    handler.setFormatter(_PrintableFormatter("posture: %(message)s"))
    root = logging.getLogger("posture")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    root.propagate = False
    warnings.showwarning = _show_warning


def _hint(exc: PostureError, args: argparse.Namespace) -> str:
    """What to try next, for the errors a first run meets: a camera that is not there."""
    from posture.errors import CameraUnavailableError

    if not isinstance(exc, CameraUnavailableError):
        return ""
    instead = "; --source FILE plays a recording instead" if hasattr(args, "source") else ""
    return f" (posture check lists the cameras it finds, try another with --camera N{instead})"


def main(
    argv: Sequence[str] | None = None,
    stdout: IO[str] | None = None,
    *,
    estimators: EstimatorFactory | None = None,
) -> int:
    """Entry point; returns the exit status instead of exiting so tests can call it in-process.

    ``estimators`` opens the pose model for the commands that use one (MediaPipe's when None):
    tests run those commands in-process with a scripted model.
    """
    out = stdout or sys.stdout
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    _setup_logging(args.verbose)
    if args.command is None:  # a usage error, as argparse has it: the usage on stderr, exit 2
        parser.print_help(sys.stderr)
        return ExitCode.BAD_INPUT
    debug = os.environ.get("POSTURE_DEBUG") == "1"
    from posture._cli import COMMANDS, MODEL_COMMANDS

    if args.command in NATIVE_COMMANDS:
        # Before any progress bar or handler picks up stderr: MediaPipe's C++ notes go nowhere.
        from posture.pose.estimator import divert_native_stderr

        divert_native_stderr()

    from posture.lifecycle import Terminated, signals_raise
    from posture.untrusted import printable

    handler = COMMANDS[args.command]()
    injected = {"estimators": estimators} if args.command in MODEL_COMMANDS else {}
    try:
        if args.command == "monitor":  # stops on its own signal handlers, with exit 0
            return int(handler(args, out, **injected))
        with signals_raise():  # SIGTERM and SIGHUP unwind like Ctrl-C: workers stopped, no partial file
            return int(handler(args, out, **injected))
    except Terminated as exc:
        if debug:
            raise
        print(f"posture: stopped by {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        if debug:
            raise
        print("posture: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except PostureError as exc:
        if debug:
            raise
        message = exc.phrase.naming(flag_of) if isinstance(exc, OptionError) else str(exc)
        print(f"posture: error: {printable(message, MAX_LINE)}{_hint(exc, args)}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # `posture ... | head`
        return ExitCode.OK
    except Exception as exc:
        if debug:
            raise
        print(
            f"posture: unexpected error: {type(exc).__name__}: {printable(exc, MAX_LINE)} (POSTURE_DEBUG=1 shows details)",
            file=sys.stderr,
        )
        return ExitCode.FAILURE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
