"""Context probes with fake command runners for each platform, /proc from a fake folder,
meeting-app matching, and the watcher's caching by interval."""

from __future__ import annotations

import os
import plistlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from posture.config import DEFAULT_MEETING_APPS, ContextConfig
from posture.errors import ConfigError
from posture.live import context
from posture.live.context import (
    ContextState,
    ContextWatcher,
    meeting_app,
    run_command,
    running_apps,
    screen_locked,
)


class FakeRunner:
    """Answers known argument lists; anything else is a missing tool (127). Records every call."""

    def __init__(self, answers: dict[tuple[str, ...], tuple[int, str]] | None = None) -> None:
        self.answers = answers or {}
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, args: Sequence[str], timeout_s: float) -> tuple[int, str]:
        assert all(isinstance(a, str) for a in args) and timeout_s > 0
        self.calls.append(tuple(args))
        return self.answers.get(tuple(args), (127, ""))


LOCKED_HINT = ("loginctl", "show-session", "3", "-p", "LockedHint", "--value")
GNOME_Q = ("gnome-screensaver-command", "-q")
DBUS = (
    "dbus-send",
    "--session",
    "--print-reply=literal",
    "--reply-timeout=1000",
    "--dest=org.freedesktop.ScreenSaver",
    "/org/freedesktop/ScreenSaver",
    "org.freedesktop.ScreenSaver.GetActive",
)


# -- the command runner --------------------------------------------------------------------------------


def test_run_command_runs_without_a_shell_and_never_raises() -> None:
    assert run_command([sys.executable, "-c", "print('hi; there')"], 10.0) == (0, "hi; there\n")
    assert run_command([sys.executable, "-c", "import sys; sys.exit(3)"], 10.0)[0] == 3
    assert run_command(["posture-no-such-tool-xyz"], 1.0) == (127, "")
    assert run_command([sys.executable, "-c", "import time; time.sleep(5)"], 0.2) == (124, "")


# -- screen lock: Linux --------------------------------------------------------------------------------


@pytest.mark.parametrize(("hint", "locked"), [("yes\n", True), ("no\n", False)])
def test_linux_locked_hint_from_the_session_id(hint: str, locked: bool) -> None:
    runner = FakeRunner({LOCKED_HINT: (0, hint)})
    assert screen_locked(platform="linux", runner=runner, env={"XDG_SESSION_ID": "3"}) is locked
    assert runner.calls == [LOCKED_HINT]  # loginctl answered: no fallback


def test_linux_finds_the_display_session_without_xdg_session_id() -> None:
    runner = FakeRunner(
        {
            ("loginctl", "show-user", "ada", "-p", "Display", "--value"): (0, "3\n"),
            LOCKED_HINT: (0, "yes\n"),
        }
    )
    assert screen_locked(platform="linux", runner=runner, env={"USER": "ada"}) is True


@pytest.mark.parametrize(
    ("out", "locked"), [("The screensaver is active\n", True), ("The screensaver is inactive\n", False)]
)
def test_linux_falls_back_to_gnome_screensaver(out: str, locked: bool) -> None:
    runner = FakeRunner({GNOME_Q: (0, out)})  # no loginctl
    assert screen_locked(platform="linux", runner=runner, env={"XDG_SESSION_ID": "3"}) is locked
    assert runner.calls == [LOCKED_HINT, GNOME_Q]


@pytest.mark.parametrize(("out", "locked"), [("   boolean true\n", True), ("   boolean false\n", False)])
def test_linux_falls_back_to_the_freedesktop_screensaver(out: str, locked: bool) -> None:
    runner = FakeRunner({LOCKED_HINT: (0, "\n"), DBUS: (0, out)})  # logind without a hint
    assert screen_locked(platform="linux", runner=runner, env={"XDG_SESSION_ID": "3"}) is locked


def test_linux_cannot_tell() -> None:
    runner = FakeRunner()
    assert screen_locked(platform="linux", runner=runner, env={}) is None
    assert runner.calls[-1] == DBUS


def test_linux_session_ids_that_look_like_options_are_not_passed() -> None:
    runner = FakeRunner()
    assert screen_locked(platform="linux", runner=runner, env={"XDG_SESSION_ID": "--help"}) is None
    assert not any(call[:2] == ("loginctl", "show-session") for call in runner.calls)


def test_a_runner_that_raises_means_cannot_tell() -> None:
    def broken(args: Sequence[str], timeout_s: float) -> tuple[int, str]:
        raise OSError("boom")

    assert screen_locked(platform="linux", runner=broken, env={"XDG_SESSION_ID": "3"}) is None
    assert running_apps(platform="darwin", runner=broken) is None


# -- screen lock: macOS --------------------------------------------------------------------------------

IOREG = ("ioreg", "-n", "Root", "-d1", "-a")


def ioreg_output(**user: Any) -> str:
    entry = {"kCGSSessionUserIDKey": os.getuid() if hasattr(os, "getuid") else 501, **user}
    other = {"kCGSSessionUserIDKey": 9999, "kCGSSessionOnConsoleKey": False}
    return plistlib.dumps({"IOConsoleUsers": [other, entry], "IOKitBuildVersion": "Darwin"}).decode()


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="uses the POSIX uid")
@pytest.mark.parametrize(
    ("user", "locked"),
    [
        ({"kCGSSessionOnConsoleKey": True, "CGSSessionScreenIsLocked": True}, True),
        ({"kCGSSessionOnConsoleKey": True}, False),
        ({"kCGSSessionOnConsoleKey": False}, True),  # switched to another user
    ],
)
def test_macos_ioreg(user: dict[str, Any], locked: bool) -> None:
    runner = FakeRunner({IOREG: (0, ioreg_output(**user))})
    assert screen_locked(platform="darwin", runner=runner) is locked


@pytest.mark.parametrize(
    "answer",
    [(1, ""), (0, "not a plist"), (0, plistlib.dumps({"IOKitBuildVersion": "x"}).decode())],
)
def test_macos_cannot_tell(answer: tuple[int, str]) -> None:
    assert screen_locked(platform="darwin", runner=FakeRunner({IOREG: answer})) is None


# -- screen lock: Windows and others -------------------------------------------------------------------


class FakeUser32:
    def __init__(self, handle: int, switch: int) -> None:
        self.handle, self.switch = handle, switch
        self.closed: list[int] = []

    def OpenInputDesktop(self, flags: int, inherit: bool, access: int) -> int:
        assert access == 0x0100
        return self.handle

    def SwitchDesktop(self, handle: int) -> int:
        return self.switch

    def CloseDesktop(self, handle: int) -> int:
        self.closed.append(handle)
        return 1


@pytest.mark.parametrize(("handle", "switch", "locked"), [(0, 1, True), (7, 0, True), (7, 1, False)])
def test_windows_input_desktop(
    monkeypatch: pytest.MonkeyPatch, handle: int, switch: int, locked: bool
) -> None:
    user32 = FakeUser32(handle, switch)
    monkeypatch.setattr(context, "_user32", lambda: user32)
    assert screen_locked(platform="win32") is locked
    assert user32.closed == ([handle] if handle else [])


@pytest.mark.skipif(sys.platform == "win32", reason="off Windows only")
def test_windows_branch_off_windows_cannot_tell() -> None:
    assert screen_locked(platform="win32") is None


def test_unknown_platform_cannot_tell() -> None:
    runner = FakeRunner()
    assert screen_locked(platform="sunos5", runner=runner) is None
    assert runner.calls == []


# -- running apps --------------------------------------------------------------------------------------


def test_linux_reads_proc_comm(tmp_path: Path) -> None:
    for pid, comm in (("1", "systemd\n"), ("42", "zoom\n"), ("77", "Teams-For-Linux\n"), ("self", "nope\n")):
        (tmp_path / pid).mkdir()
        (tmp_path / pid / "comm").write_text(comm)
    (tmp_path / "99").mkdir()  # a process that ended while we looked: no comm
    (tmp_path / "meminfo").write_text("MemTotal: 1 kB\n")
    runner = FakeRunner()
    assert running_apps(platform="linux", runner=runner, proc_root=tmp_path) == {
        "systemd",
        "zoom",
        "teams-for-linux",
    }
    assert runner.calls == []  # no subprocess on Linux


def test_linux_without_proc_cannot_tell(tmp_path: Path) -> None:
    assert running_apps(platform="linux", proc_root=tmp_path / "missing") is None


@pytest.mark.skipif(not Path("/proc/self/comm").exists(), reason="needs Linux /proc")
def test_linux_real_proc_lists_this_process() -> None:
    me = Path("/proc/self/comm").read_text().strip().lower()
    apps = running_apps(platform="linux")
    assert apps is not None and me in apps


def test_macos_ps_keeps_the_last_part_of_each_path() -> None:
    out = (
        "/sbin/launchd\n"
        "/Applications/zoom.us.app/Contents/MacOS/zoom.us\n"
        "/Applications/Microsoft Teams.app/Contents/MacOS/MSTeams\n"
        "  \n"
        "-zsh\n"
    )
    runner = FakeRunner({("ps", "-A", "-o", "comm="): (0, out)})
    assert running_apps(platform="darwin", runner=runner) == {"launchd", "zoom.us", "msteams", "-zsh"}
    assert running_apps(platform="darwin", runner=FakeRunner()) is None


def test_windows_tasklist_csv() -> None:
    out = (
        '"System Idle Process","0","Services","0","8 K"\r\n'
        '"Zoom.exe","1234","Console","1","120,000 K"\r\n'
        '"ms-teams.exe","5678","Console","1","90,000 K"\r\n'
    )
    runner = FakeRunner({("tasklist", "/fo", "csv", "/nh"): (0, out)})
    assert running_apps(platform="win32", runner=runner) == {
        "system idle process",
        "zoom.exe",
        "ms-teams.exe",
    }
    none = FakeRunner(
        {
            ("tasklist", "/fo", "csv", "/nh"): (
                0,
                "INFO: No tasks are running which match the specified criteria.\n",
            )
        }
    )
    assert running_apps(platform="win32", runner=none) == set()


# -- meeting apps --------------------------------------------------------------------------------------


def test_meeting_app_matching() -> None:
    assert meeting_app(DEFAULT_MEETING_APPS, {"zoom.exe", "explorer.exe"}) == "zoom"
    assert meeting_app(DEFAULT_MEETING_APPS, {"ms-teams.exe"}) == "ms-teams"
    assert meeting_app(DEFAULT_MEETING_APPS, {"zoom.us"}) == "zoom.us"
    assert meeting_app(DEFAULT_MEETING_APPS, {"msteams", "launchd"}) == "msteams"
    assert meeting_app(["Zoom.US"], {"zoom.us"}) == "Zoom.US"  # as configured
    assert meeting_app(["Teams.exe"], {"teams"}) == "Teams.exe"
    assert meeting_app(["skype", "zoom"], {"zoom", "skype"}) == "skype"  # the first configured
    assert meeting_app(DEFAULT_MEETING_APPS, {"zoomhelper", "zoom.us helper"}) is None  # exact names only
    assert meeting_app(DEFAULT_MEETING_APPS, None) is None
    assert meeting_app((), {"zoom"}) is None


# -- the config and the watcher ------------------------------------------------------------------------


def test_context_config_validation() -> None:
    assert ContextConfig(meeting_apps=["zoom ", "teams"]).meeting_apps == ("zoom", "teams")  # type: ignore[arg-type]
    for bad in ({"interval_s": 0}, {"interval_s": float("nan")}, {"interval_s": True}):
        with pytest.raises(ConfigError, match=r"context\.interval_s"):
            ContextConfig(**bad)
    with pytest.raises(ConfigError, match=r"context\.meeting_apps"):
        ContextConfig(meeting_apps="zoom")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"context\.meeting_apps"):
        ContextConfig(meeting_apps=("zoom", ""))
    with pytest.raises(ConfigError, match=r"context\.pause_on_lock"):
        ContextConfig(pause_on_lock="yes")  # type: ignore[arg-type]


class Probes:
    def __init__(self) -> None:
        self.locked: bool | None = False
        self.apps: set[str] | None = set()
        self.lock_calls = 0
        self.app_calls = 0

    def lock(self) -> bool | None:
        self.lock_calls += 1
        return self.locked

    def running(self) -> set[str] | None:
        self.app_calls += 1
        return self.apps


def test_watcher_probes_at_most_every_interval() -> None:
    probes = Probes()
    watcher = ContextWatcher(ContextConfig(interval_s=5.0), lock_probe=probes.lock, apps_probe=probes.running)
    assert watcher.poll(100.0) == ContextState(locked=False, meeting=None)
    probes.locked, probes.apps = True, {"zoom"}
    assert watcher.poll(101.0) == ContextState()  # cached
    assert watcher.poll(104.9).locked is False
    assert (probes.lock_calls, probes.app_calls) == (1, 1)
    state = watcher.poll(105.0)
    assert state == ContextState(locked=True, meeting="zoom") and state.paused
    assert state.reason() == "screen locked"
    assert watcher.probes == 2 and watcher.state is state
    probes.locked = None  # cannot tell: not locked
    assert watcher.poll(50.0) == ContextState(locked=False, meeting="zoom")  # the clock went back: re-probe
    assert watcher.poll(50.0).reason() == "zoom is running"
    assert probes.lock_calls == 3


def test_watcher_skips_disabled_probes() -> None:
    probes = Probes()
    probes.locked = True
    watcher = ContextWatcher(
        ContextConfig(pause_on_lock=False, meeting_apps=()), lock_probe=probes.lock, apps_probe=probes.running
    )
    assert watcher.poll(0.0) == ContextState() and not watcher.state.paused
    assert (probes.lock_calls, probes.app_calls) == (0, 0)


def test_watcher_survives_a_probe_that_raises() -> None:
    def boom() -> bool:
        raise RuntimeError("probe bug")

    watcher = ContextWatcher(lock_probe=boom, apps_probe=lambda: {"teams.exe"})
    assert watcher.poll(0.0) == ContextState(locked=False, meeting="teams")
