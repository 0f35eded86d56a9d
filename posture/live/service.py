"""``posture service install | uninstall | status``: start the monitor (or the tray) at login.

What each OS uses, written by posture and removed by it, never anything else:

* Linux with a systemd user session: a user unit, ``~/.config/systemd/user/posture.service``,
  enabled for the login session (``systemctl --user``);
* Linux without one: an XDG autostart entry, ``~/.config/autostart/posture.desktop``;
* macOS: a LaunchAgent, ``~/Library/LaunchAgents/posture.agent.plist`` (``launchctl``);
* Windows: a script in the Startup folder, ``posture.cmd``, that starts it without a console.

The file runs this very Python (``sys.executable -m posture``) with the ``POSTURE_*`` folders of the
shell that installed it, and the config file given, else the user's own. Every file carries a marker
(:data:`MARKER`), is written atomically (:func:`posture.atomic.atomic_write`), and a file without the
marker is never overwritten or removed. The contents are pure functions of their inputs; the
installer takes the folders and the program runner as arguments, so tests write into a temporary
home with a fake ``systemctl``.
"""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from posture import __version__
from posture.atomic import atomic_write
from posture.errors import ExitCode, InputError

__all__ = [
    "LAUNCH_AGENT_LABEL",
    "MARKER",
    "ServiceError",
    "ServiceFile",
    "ServiceLayout",
    "ServiceReport",
    "desktop_entry",
    "install",
    "launch_agent",
    "layout_for",
    "service_command",
    "startup_script",
    "status",
    "systemd_unit",
    "uninstall",
]


MARKER = "posture-managed"  # in every file posture writes: a comment, a desktop key, a plist key
UNIT_NAME = "posture.service"
LAUNCH_AGENT_LABEL = "posture.agent"
_ENV_KEYS = (
    "POSTURE_CONFIG_DIR",
    "POSTURE_DATA_DIR",
    "POSTURE_MODELS_DIR",
    "POSTURE_CACHE_DIR",
    "POSTURE_RUNTIME_DIR",
)

Runner = Callable[[Sequence[str]], "tuple[int, str]"]  # (exit status, output)


class ServiceError(InputError):
    """The service cannot be installed or removed (a file posture did not write, no permission)."""


def run_program(args: Sequence[str]) -> tuple[int, str]:
    """Run ``systemctl``/``launchctl`` (no shell, 20 s at most); (127, "") when it is missing."""
    if shutil.which(args[0]) is None:
        return 127, f"{args[0]} not found"
    try:
        done = subprocess.run(list(args), capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return 1, str(exc)
    return done.returncode, (done.stdout + done.stderr).strip()


# -- what runs -----------------------------------------------------------------------------------------


def service_command(
    *, tray: bool, config: Path | None = None, python: str | None = None, windowless: bool = False
) -> list[str]:
    """The command the service runs: ``python -m posture monitor|tray [--config FILE]``."""
    exe = python or sys.executable
    if windowless:  # Windows: pythonw.exe opens no console window
        w = Path(exe).with_name("pythonw.exe")
        exe = str(w) if w.is_file() else exe
    args = [exe, "-m", "posture", "tray" if tray else "monitor"]
    if config is not None:
        args += ["--config", str(config)]
    return args


def service_environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The ``POSTURE_*`` folders of the installing shell, so the service uses the same ones."""
    env = os.environ if env is None else env
    return {k: env[k] for k in _ENV_KEYS if env.get(k)}


def _what(tray: bool) -> str:
    return "posture tray (icon and monitor)" if tray else "posture monitor"


# -- the files, as pure functions ----------------------------------------------------------------------


def _systemd_word(arg: str) -> str:
    """One ExecStart word: %-specifiers and $-variables escaped, quoted when it has spaces or quotes."""
    text = arg.replace("%", "%%").replace("$", "$$")
    if any(c in text for c in " \t\"'\\;"):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def systemd_unit(argv: Sequence[str], env: Mapping[str, str], *, tray: bool) -> str:
    """A systemd user unit that runs ``argv`` in the login session."""
    target = "graphical-session.target" if tray else "default.target"
    lines = [
        f"# {MARKER}: written by posture {__version__} (posture service install);",
        "# posture service uninstall removes it. Edits are lost at the next install.",
        "[Unit]",
        f"Description={_what(tray)}: webcam posture monitor",
    ]
    if tray:
        lines += ["PartOf=graphical-session.target", "After=graphical-session.target"]
    lines += [
        "",
        "[Service]",
        "Type=simple",
        "ExecStart=" + " ".join(_systemd_word(a) for a in argv),
    ]
    lines += [f'Environment="{k}={v.replace("%", "%%")}"' for k, v in sorted(env.items())]
    lines += [
        "Restart=on-failure",
        "RestartSec=30",
        # no camera, a bad config (bad input): restarting does not help
        f"RestartPreventExitStatus={int(ExitCode.BAD_INPUT)}",
        "KillSignal=SIGTERM",  # the monitor saves its session and exits 0
        "TimeoutStopSec=20",
        "",
        "[Install]",
        f"WantedBy={target}",
    ]
    return "\n".join(lines) + "\n"


def _desktop_word(arg: str) -> str:
    """One Exec word of a desktop entry (the spec's quoting; % doubled)."""
    text = arg.replace("%", "%%")
    if any(c in text for c in " \t\n\"'\\><~|&;$*?#()`="):
        return '"' + "".join("\\" + c if c in '"`$\\' else c for c in text) + '"'
    return text


def desktop_entry(argv: Sequence[str], env: Mapping[str, str], *, tray: bool) -> str:
    """An XDG autostart entry that runs ``argv`` when the desktop session starts."""
    words = [_desktop_word(a) for a in argv]
    if env:
        words = ["env", *(_desktop_word(f"{k}={v}") for k, v in sorted(env.items())), *words]
    return (
        "\n".join(
            [
                f"# {MARKER}: written by posture {__version__} (posture service install);",
                "# posture service uninstall removes it.",
                "[Desktop Entry]",
                "Type=Application",
                "Name=posture",
                f"Comment={_what(tray)}: webcam posture monitor",
                "Exec=" + " ".join(words),
                "Terminal=false",
                "NoDisplay=true",
                "X-GNOME-Autostart-enabled=true",
                f"X-Posture-Managed={__version__}",
            ]
        )
        + "\n"
    )


def launch_agent(argv: Sequence[str], env: Mapping[str, str], *, tray: bool, log_path: Path) -> bytes:
    """A LaunchAgent property list that runs ``argv`` at login (and again if it fails)."""
    plist: dict[str, object] = {
        "Label": LAUNCH_AGENT_LABEL,
        "ProgramArguments": list(argv),
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},  # restarted after a crash, not after a clean stop
        "ThrottleInterval": 30,
        "ProcessType": "Interactive",
        "StandardOutPath": str(log_path),
        "StandardErrorPath": str(log_path),
        "PostureManaged": f"{MARKER} {__version__}: {_what(tray)}; posture service uninstall removes it",
    }
    if env:
        plist["EnvironmentVariables"] = dict(sorted(env.items()))
    return plistlib.dumps(plist, sort_keys=False)


def _cmd_word(arg: str) -> str:
    return '"' + arg.replace("%", "%%").replace('"', '""') + '"'


def startup_script(argv: Sequence[str], env: Mapping[str, str], *, tray: bool) -> str:
    """A Startup-folder script that starts ``argv`` without a console window and returns at once."""
    lines = [
        "@echo off",
        f"rem {MARKER}: written by posture {__version__} (posture service install) to start {_what(tray)};",
        "rem posture service uninstall removes it.",
        *(f'set "{k}={v.replace("%", "%%")}"' for k, v in sorted(env.items())),
        'start "posture" ' + " ".join(_cmd_word(a) for a in argv),
    ]
    return "\r\n".join(lines) + "\r\n"


def is_ours(path: Path) -> bool:
    """Whether ``path`` is a file posture wrote (it carries the marker)."""
    try:
        with open(path, "rb") as fh:
            return MARKER.encode() in fh.read(4096)
    except OSError:
        return False


# -- where, per platform -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceFile:
    kind: str  # systemd, autostart, launchagent, startup
    path: Path
    description: str  # "systemd user unit", ...


@dataclass(frozen=True)
class ServiceLayout:
    """The files one platform may use, in order of preference, and how to reach its service manager."""

    platform: str  # linux, darwin, win32
    files: tuple[ServiceFile, ...]
    home: Path
    log_path: Path  # the LaunchAgent's output


def layout_for(
    platform: str, env: Mapping[str, str] | None = None, home: Path | None = None
) -> ServiceLayout:
    env = os.environ if env is None else env
    home = home or Path(env.get("HOME") or env.get("USERPROFILE") or Path.home())
    if platform == "darwin":
        agents = home / "Library" / "LaunchAgents"
        files = (ServiceFile("launchagent", agents / f"{LAUNCH_AGENT_LABEL}.plist", "LaunchAgent"),)
        log_path = home / "Library" / "Logs" / "posture.log"
    elif platform in ("win32", "cygwin"):
        appdata = Path(env.get("APPDATA") or home / "AppData" / "Roaming")
        startup = appdata / "Microsoft" / "Windows" / "Start Menu" / "Programs" / "Startup"
        files = (ServiceFile("startup", startup / "posture.cmd", "Startup-folder script"),)
        log_path = appdata / "posture" / "posture.log"
    else:
        config = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
        files = (
            ServiceFile("systemd", config / "systemd" / "user" / UNIT_NAME, "systemd user unit"),
            ServiceFile("autostart", config / "autostart" / "posture.desktop", "XDG autostart entry"),
        )
        log_path = Path(env.get("XDG_STATE_HOME") or home / ".local" / "state") / "posture" / "posture.log"
    return ServiceLayout(platform, files, home, log_path)


def has_systemd_user(runner: Runner) -> bool:
    """Whether a systemd user manager runs for this user (``systemctl --user`` answers)."""
    code, _ = runner(["systemctl", "--user", "show-environment"])
    return code == 0


# -- install, uninstall, status ------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceReport:
    """What is installed and whether it runs, in words for ``posture service status``."""

    installed: tuple[ServiceFile, ...]  # posture's own files found
    foreign: tuple[Path, ...]  # files at posture's paths that posture did not write
    running: str  # "yes (systemd: active)", "no", "the monitor answers", ...


def _content(kind: str, argv: list[str], env: Mapping[str, str], tray: bool, layout: ServiceLayout) -> bytes:
    if kind == "systemd":
        return systemd_unit(argv, env, tray=tray).encode()
    if kind == "autostart":
        return desktop_entry(argv, env, tray=tray).encode()
    if kind == "launchagent":
        return launch_agent(argv, env, tray=tray, log_path=layout.log_path)
    return startup_script(argv, env, tray=tray).encode()


def _write(path: Path, data: bytes) -> None:
    if path.exists() and not is_ours(path):
        raise ServiceError(f"{path} exists and was not written by posture; move it aside first")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path, binary=True, mode=0o644) as fh:
            fh.write(data)
    except OSError as exc:
        raise ServiceError(f"cannot write {path}: {exc.strerror or exc}") from None


def install(
    layout: ServiceLayout,
    *,
    tray: bool,
    config: Path | None = None,
    env: Mapping[str, str] | None = None,
    runner: Runner = run_program,
    python: str | None = None,
) -> tuple[ServiceFile, list[str]]:
    """Write (or rewrite) the platform's start-at-login file and register it; returns the file and
    what was done, in words. Refuses to touch a file posture did not write."""
    notes: list[str] = []
    env = service_environment(env)
    chosen = layout.files[0]
    if layout.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")) and not has_systemd_user(runner):
        chosen = layout.files[1]
        notes.append("no systemd user session here: the desktop session starts it (XDG autostart)")
    argv = service_command(tray=tray, config=config, python=python, windowless=chosen.kind == "startup")
    _write(chosen.path, _content(chosen.kind, argv, env, tray, layout))
    for other in layout.files:  # one of posture's files at a time: an entry of the other kind goes
        if other is chosen or not other.path.exists():
            continue
        if is_ours(other.path):
            _remove(other, runner)
            notes.append(f"removed the {other.description} {other.path}")
        else:
            notes.append(f"left alone {other.path}: posture did not write it")
    if chosen.kind == "systemd":
        for args in (["systemctl", "--user", "daemon-reload"], ["systemctl", "--user", "enable", UNIT_NAME]):
            code, out = runner(args)
            if code != 0:
                raise ServiceError(f"{' '.join(args)} failed: {out or f'exit {code}'}")
        notes.append(f"enabled: starts at your next login (now: systemctl --user start {UNIT_NAME})")
    elif chosen.kind == "launchagent":
        layout.log_path.parent.mkdir(parents=True, exist_ok=True)
        code, out = runner(["launchctl", "load", "-w", str(chosen.path)])
        notes.append("loaded: runs now and at every login" if code == 0 else f"launchctl load failed: {out}")
    else:
        notes.append("starts at your next login")
    return chosen, notes


def _remove(file: ServiceFile, runner: Runner) -> None:
    if file.kind == "systemd":
        runner(["systemctl", "--user", "disable", "--now", UNIT_NAME])
    elif file.kind == "launchagent":
        runner(["launchctl", "unload", "-w", str(file.path)])
    try:
        file.path.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise ServiceError(f"cannot remove {file.path}: {exc.strerror or exc}") from None
    if file.kind == "systemd":
        runner(["systemctl", "--user", "daemon-reload"])


def uninstall(layout: ServiceLayout, *, runner: Runner = run_program) -> tuple[list[ServiceFile], list[Path]]:
    """Stop and remove every start-at-login file posture wrote; returns (removed, left alone: not
    posture's)."""
    removed: list[ServiceFile] = []
    foreign: list[Path] = []
    for file in layout.files:
        if not file.path.exists():
            continue
        if not is_ours(file.path):
            foreign.append(file.path)
            continue
        _remove(file, runner)
        removed.append(file)
    return removed, foreign


def status(
    layout: ServiceLayout, *, runner: Runner = run_program, monitor_answers: Callable[[], bool] | None = None
) -> ServiceReport:
    """What is installed, and whether it runs (the service manager's word, or the control channel's)."""
    installed = tuple(f for f in layout.files if f.path.exists() and is_ours(f.path))
    foreign = tuple(f.path for f in layout.files if f.path.exists() and not is_ours(f.path))
    answers = monitor_answers() if monitor_answers is not None else False
    running = "a posture monitor answers" if answers else "no posture monitor answers"
    for file in installed:
        if file.kind == "systemd":
            code, out = runner(["systemctl", "--user", "is-active", UNIT_NAME])
            running = f"{'yes' if code == 0 else 'no'} (systemd: {out or 'unknown'}); {running}"
        elif file.kind == "launchagent":
            code, out = runner(["launchctl", "list", LAUNCH_AGENT_LABEL])
            pid = next((ln for ln in out.splitlines() if '"PID"' in ln), None) if code == 0 else None
            state = "loaded, running" if pid else ("loaded, not running" if code == 0 else "not loaded")
            running = f"{'yes' if pid else 'no'} (launchd: {state}); {running}"
    return ServiceReport(installed, foreign, running)
