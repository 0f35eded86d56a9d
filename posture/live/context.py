"""What the desktop says about the user's context: is the screen locked, is a meeting app running.

The monitor pauses while either holds. Each probe is small, takes an injectable command runner
(argument lists, never a shell) so tests use fakes, and returns ``None`` when it cannot tell (tool
missing, an error, an unknown platform) rather than raising; what it found is logged at debug
level. :class:`ContextWatcher` calls the probes at most every few seconds, so the per-frame loop
pays nothing between polls.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import plistlib
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from posture.config import ContextConfig

__all__ = [
    "ContextState",
    "ContextWatcher",
    "Runner",
    "meeting_app",
    "run_command",
    "running_apps",
    "screen_locked",
]

log = logging.getLogger(__name__)

Runner = Callable[[Sequence[str], float], tuple[int, str]]  # (argv, timeout_s) -> (exit code, stdout)

COMMAND_TIMEOUT_S = 2.0


# -- running commands ----------------------------------------------------------------------------------


def run_command(args: Sequence[str], timeout_s: float) -> tuple[int, str]:
    """Run ``args`` (no shell) with a timeout and the C locale; (exit code, stdout).

    Never raises: a missing tool gives 127, a timeout 124, another OS error 126.
    """
    kwargs: dict[str, Any] = {}
    if sys.platform == "win32":
        kwargs["creationflags"] = getattr(subprocess, "CREATE_NO_WINDOW", 0)  # no console flashing
    try:
        done = subprocess.run(
            list(args),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout_s,
            check=False,
            env={**os.environ, "LC_ALL": "C"},  # untranslated output
            **kwargs,
        )
    except FileNotFoundError:
        return 127, ""
    except subprocess.TimeoutExpired:
        return 124, ""
    except OSError:
        return 126, ""
    return done.returncode, done.stdout or ""


def _call(runner: Runner, args: Sequence[str], timeout_s: float = COMMAND_TIMEOUT_S) -> str | None:
    """stdout of a successful command, else None (logged at debug level)."""
    try:
        code, out = runner(args, timeout_s)
    except Exception:  # an injected runner may raise; a probe never does
        log.debug("%s failed", args[0], exc_info=True)
        return None
    if code != 0:
        log.debug("%s exited with %d", args[0], code)
        return None
    return out


def _platform_kind(platform: str | None) -> str:
    p = platform or sys.platform
    if p.startswith("linux"):
        return "linux"
    if p == "darwin":
        return "macos"
    if p in ("win32", "cygwin"):
        return "windows"
    return "other"


# -- screen lock ---------------------------------------------------------------------------------------

_SESSION_ID = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]{0,63}")


def screen_locked(
    *, platform: str | None = None, runner: Runner | None = None, env: Mapping[str, str] | None = None
) -> bool | None:
    """Whether the screen is locked (or its screen saver is on), or None when it cannot tell.

    * Linux: logind's ``LockedHint`` for the session (``XDG_SESSION_ID``, else the user's display
      session from ``loginctl show-user``), set by GNOME, KDE and other desktops that report it;
      when logind cannot tell, ``gnome-screensaver-command -q`` and then the freedesktop
      ``org.freedesktop.ScreenSaver.GetActive`` over D-Bus (``dbus-send``). ``xdg-screensaver status``
      is not used: it says whether the screen saver is enabled, not whether it is on.
    * macOS: ``CGSSessionScreenIsLocked`` in ``ioreg -n Root -d1 -a`` for the user's console
      session (a user switched away from counts as locked).
    * Windows: the input desktop cannot be opened or switched to (the secure desktop of the lock
      screen; a UAC prompt counts too, briefly).
    """
    kind = _platform_kind(platform)
    run = runner or run_command
    if kind == "linux":
        result = _linux_locked(run, os.environ if env is None else env)
    elif kind == "macos":
        result = _macos_locked(run)
    elif kind == "windows":
        result = _windows_locked(_user32())
    else:
        result = None
    log.debug("screen locked: %s", result)
    return result


def _linux_locked(runner: Runner, env: Mapping[str, str]) -> bool | None:
    session = env.get("XDG_SESSION_ID") or _display_session(runner, env)
    if session and _SESSION_ID.fullmatch(session):
        out = _call(runner, ["loginctl", "show-session", session, "-p", "LockedHint", "--value"])
        value = (out or "").strip().lower()
        if value in ("yes", "no"):
            return value == "yes"
        log.debug("loginctl gave no LockedHint for session %s: %r", session, out)
    out = _call(runner, ["gnome-screensaver-command", "-q"])
    if out is not None:
        text = out.lower()
        if "inactive" in text:
            return False
        if "active" in text:
            return True
    out = _call(
        runner,
        [
            "dbus-send",
            "--session",
            "--print-reply=literal",
            "--reply-timeout=1000",
            "--dest=org.freedesktop.ScreenSaver",
            "/org/freedesktop/ScreenSaver",
            "org.freedesktop.ScreenSaver.GetActive",
        ],
    )
    if out is not None:
        words = out.split()
        if "true" in words:
            return True
        if "false" in words:
            return False
    return None


def _display_session(runner: Runner, env: Mapping[str, str]) -> str | None:
    user = env.get("USER") or env.get("LOGNAME") or (str(os.getuid()) if hasattr(os, "getuid") else "")
    if not user or user.startswith("-"):
        return None
    out = _call(runner, ["loginctl", "show-user", user, "-p", "Display", "--value"])
    return (out or "").strip() or None


def _macos_locked(runner: Runner) -> bool | None:
    out = _call(runner, ["ioreg", "-n", "Root", "-d1", "-a"])
    if not out:
        return None
    try:
        root = plistlib.loads(out.encode("utf-8"))
    except Exception:  # plistlib raises several types on bad input
        log.debug("ioreg's output is not a plist", exc_info=True)
        return None
    if isinstance(root, list):
        root = root[0] if root else None
    users = root.get("IOConsoleUsers") if isinstance(root, dict) else None
    if not isinstance(users, list):
        return None
    users = [u for u in users if isinstance(u, dict)]
    uid = os.getuid() if hasattr(os, "getuid") else None
    mine = [u for u in users if u.get("kCGSSessionUserIDKey") == uid]
    entry = (mine or [u for u in users if u.get("kCGSSessionOnConsoleKey") is True] or [None])[0]
    if entry is None:
        return None
    return entry.get("CGSSessionScreenIsLocked") is True or entry.get("kCGSSessionOnConsoleKey") is False


def _user32() -> Any:
    """user32.dll with the prototypes the lock probe needs, or None off Windows."""
    try:
        import ctypes
        from ctypes import wintypes

        user32 = ctypes.WinDLL("user32", use_last_error=True)  # type: ignore[attr-defined]
    except (ImportError, AttributeError, OSError):
        return None
    user32.OpenInputDesktop.restype = wintypes.HANDLE
    user32.OpenInputDesktop.argtypes = (wintypes.DWORD, wintypes.BOOL, wintypes.DWORD)
    user32.SwitchDesktop.restype = wintypes.BOOL
    user32.SwitchDesktop.argtypes = (wintypes.HANDLE,)
    user32.CloseDesktop.restype = wintypes.BOOL
    user32.CloseDesktop.argtypes = (wintypes.HANDLE,)
    return user32


_DESKTOP_SWITCHDESKTOP = 0x0100


def _windows_locked(user32: Any) -> bool | None:
    """Locked when the input desktop cannot be opened or switched to (it is Winlogon's)."""
    if user32 is None:
        return None
    try:
        handle = user32.OpenInputDesktop(0, False, _DESKTOP_SWITCHDESKTOP)
        if not handle:
            return True
        try:
            return not user32.SwitchDesktop(handle)
        finally:
            user32.CloseDesktop(handle)
    except Exception:
        log.debug("the Windows desktop probe failed", exc_info=True)
        return None


# -- running apps --------------------------------------------------------------------------------------


def running_apps(
    *, platform: str | None = None, runner: Runner | None = None, proc_root: Path | None = None
) -> set[str] | None:
    """Lowercase names of the running processes, or None when they cannot be listed.

    Linux reads ``/proc/*/comm`` (the kernel cuts names to 15 characters); macOS and other
    Unix-likes run ``ps -A -o comm=`` and keep each path's last part; Windows runs
    ``tasklist /fo csv /nh`` (names keep their ``.exe``).
    """
    kind = _platform_kind(platform)
    run = runner or run_command
    if kind == "linux":
        apps = _proc_names(proc_root or Path("/proc"))
    elif kind == "windows":
        apps = _tasklist_names(_call(run, ["tasklist", "/fo", "csv", "/nh"]))
    else:
        apps = _ps_names(_call(run, ["ps", "-A", "-o", "comm="]))
    log.debug("running apps: %s", "unknown" if apps is None else f"{len(apps)} names")
    return apps


def _proc_names(proc_root: Path) -> set[str] | None:
    try:
        entries = list(os.scandir(proc_root))
    except OSError:
        log.debug("cannot list %s", proc_root, exc_info=True)
        return None
    names: set[str] = set()
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            with open(os.path.join(entry.path, "comm"), encoding="utf-8", errors="replace") as f:
                name = f.read().strip().lower()
        except OSError:  # the process ended, or is not ours to read
            continue
        if name:
            names.add(name)
    return names


def _ps_names(out: str | None) -> set[str] | None:
    if out is None:
        return None
    return {line.strip().rsplit("/", 1)[-1].lower() for line in out.splitlines() if line.strip()}


def _tasklist_names(out: str | None) -> set[str] | None:
    if out is None:
        return None
    # "INFO: No tasks are running..." has one field; process rows have five.
    return {
        row[0].strip().lower() for row in csv.reader(io.StringIO(out)) if len(row) >= 2 and row[0].strip()
    }


def _strip_exe(name: str) -> str:
    name = name.strip().lower()
    return name[:-4] if name.endswith(".exe") else name


def meeting_app(names: Iterable[str], apps: set[str] | None) -> str | None:
    """The first of ``names`` (as configured) that is running, or None (also when ``apps`` is None).

    Case-insensitive, on the exact process name or the name without ``.exe``.
    """
    if not apps:
        return None
    running = {_strip_exe(a) for a in apps}
    for name in names:
        if _strip_exe(name) in running:
            return name
    return None


# -- the watcher ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContextState:
    """The last probes' answer. ``locked`` is False when the lock state is unknown."""

    locked: bool = False
    meeting: str | None = None  # the configured name of a running meeting app

    @property
    def paused(self) -> bool:
        return self.locked or self.meeting is not None

    def reason(self) -> str | None:
        """Why the monitor pauses, in a few words, or None."""
        if self.locked:
            return "screen locked"
        if self.meeting is not None:
            return f"{self.meeting} is running"
        return None


class ContextWatcher:
    """Probes the context at most every ``interval_s`` and returns the cached state in between.

    ``poll(now_s)`` takes the caller's clock (``time.monotonic()`` in the monitor), so tests drive
    it with plain numbers; a clock that goes backwards triggers a fresh probe. The probes are
    injectable; the defaults are :func:`screen_locked` and :func:`running_apps`.
    """

    def __init__(
        self,
        config: ContextConfig | None = None,
        *,
        lock_probe: Callable[[], bool | None] = screen_locked,
        apps_probe: Callable[[], set[str] | None] = running_apps,
    ) -> None:
        self.config = config or ContextConfig()
        self._lock_probe = lock_probe
        self._apps_probe = apps_probe
        self._state = ContextState()
        self._last_s: float | None = None  # when the probes last ran
        self.probes = 0  # how many times the probes ran

    @property
    def state(self) -> ContextState:
        return self._state

    def poll(self, now_s: float) -> ContextState:
        """The context now: probed afresh when ``interval_s`` has passed, else the cached state."""
        last = self._last_s
        if last is not None and last <= now_s < last + self.config.interval_s:
            return self._state
        self._last_s = now_s
        self.probes += 1
        locked = False
        if self.config.pause_on_lock:
            locked = self._probe(self._lock_probe) is True
        meeting = None
        if self.config.meeting_apps:
            meeting = meeting_app(self.config.meeting_apps, self._probe(self._apps_probe))
        state = ContextState(locked=locked, meeting=meeting)
        if state != self._state:
            log.debug("context changed: %s", state)
        self._state = state
        return state

    @staticmethod
    def _probe(probe: Callable[[], Any]) -> Any:
        try:
            return probe()
        except Exception:  # the defaults never raise; an injected probe might
            log.debug("a context probe failed", exc_info=True)
            return None
