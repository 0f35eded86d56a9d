"""posture service: the start-at-login files of each OS, written into a temporary home with a fake
service manager; the Linux unit checked by systemd-analyze, the autostart entry by
desktop-file-validate (when the machine has them), the plist by plistlib."""

from __future__ import annotations

import io
import os
import plistlib
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from posture._cli.main import main
from posture.live import service
from posture.live.service import MARKER, ServiceError, layout_for


class FakeManager:
    """systemctl / launchctl: records the calls; ``user_session`` says whether a systemd user
    manager answers."""

    def __init__(self, *, user_session: bool = True, active: bool = False) -> None:
        self.user_session = user_session
        self.active = active
        self.calls: list[list[str]] = []

    def __call__(self, args: Sequence[str]) -> tuple[int, str]:
        self.calls.append(list(args))
        if args[:3] == ["systemctl", "--user", "show-environment"]:
            return (0, "HOME=/home/x") if self.user_session else (1, "Failed to connect to bus")
        if args[:3] == ["systemctl", "--user", "is-active"]:
            return (0, "active") if self.active else (3, "inactive")
        if args[:2] == ["launchctl", "list"]:
            return (0, '{\n\t"PID" = 4242;\n\t"Label" = "posture.agent";\n};') if self.active else (113, "")
        return 0, ""


def missing(what: str) -> None:
    """Skip for want of a checking tool; in CI (POSTURE_REQUIRE_DESKTOP=1) fail instead."""
    if os.environ.get("POSTURE_REQUIRE_DESKTOP") == "1":
        pytest.fail(f"POSTURE_REQUIRE_DESKTOP=1 but {what}")
    pytest.skip(what)


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def systemd_analyze_clean(unit: Path, tmp_path: Path) -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        missing("systemd-analyze is not on this machine (Debian: systemd)")
    runtime = tmp_path / "xdg-runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    done = subprocess.run(
        [tool, "verify", "--user", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.strip() == "" and done.stderr.strip() == "", done.stderr


def desktop_file_valid(entry: Path) -> None:
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        missing("desktop-file-validate is not on this machine (Debian: desktop-file-utils)")
    done = subprocess.run([tool, str(entry)], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "" and done.stderr.strip() == "", done.stdout


ODD_ENV = {"POSTURE_DATA_DIR": "/tmp/my data %d $HOME", "POSTURE_CONFIG_DIR": "/tmp/conf", "UNRELATED": "x"}


@pytest.mark.parametrize("tray", [False, True])
def test_linux_systemd_unit_installs_verifies_and_uninstalls(tmp_path: Path, tray: bool) -> None:
    home = tmp_path / "home"
    layout = layout_for("linux", env={}, home=home)
    manager = FakeManager()
    config = tmp_path / "my config" / "posture.toml"
    file, notes = service.install(layout, tray=tray, config=config, env=ODD_ENV, runner=manager)
    assert file.kind == "systemd" and file.path == home / ".config" / "systemd" / "user" / "posture.service"
    text = file.path.read_text()
    assert text.startswith(f"# {MARKER}")
    command = "tray" if tray else "monitor"
    assert f'ExecStart={sys.executable} -m posture {command} --config "{config}"' in text
    assert 'Environment="POSTURE_DATA_DIR=/tmp/my data %%d $HOME"' in text and "UNRELATED" not in text
    assert ("WantedBy=graphical-session.target" in text) is tray
    assert manager.calls[-2:] == [
        ["systemctl", "--user", "daemon-reload"],
        ["systemctl", "--user", "enable", "posture.service"],
    ]
    assert any("next login" in n for n in notes)
    systemd_analyze_clean(file.path, tmp_path)

    manager.active = True
    report = service.status(layout, runner=manager, monitor_answers=lambda: True)
    assert report.installed == (file,) and report.running.startswith("yes (systemd: active)")

    removed, foreign = service.uninstall(layout, runner=manager)
    assert removed == [file] and foreign == []
    assert ["systemctl", "--user", "disable", "--now", "posture.service"] in manager.calls
    assert files_under(home) == []  # nothing left behind
    assert service.status(layout, runner=manager).installed == ()


def test_linux_without_systemd_uses_an_autostart_entry(tmp_path: Path) -> None:
    home = tmp_path / "home"
    layout = layout_for("linux", env={"XDG_CONFIG_HOME": str(tmp_path / "xdg")}, home=home)
    manager = FakeManager(user_session=False)
    file, notes = service.install(layout, tray=True, env=ODD_ENV, runner=manager)
    assert file.kind == "autostart" and file.path == tmp_path / "xdg" / "autostart" / "posture.desktop"
    text = file.path.read_text()
    assert f"Exec=env {service._desktop_word('POSTURE_CONFIG_DIR=/tmp/conf')}" in text
    assert f"{sys.executable} -m posture tray" in text and MARKER in text
    assert any("XDG autostart" in n for n in notes)
    assert not any(c[:3] == ["systemctl", "--user", "enable"] for c in manager.calls)
    desktop_file_valid(file.path)
    service.uninstall(layout, runner=manager)
    assert files_under(tmp_path / "xdg") == []


def test_installing_again_switches_kind_and_keeps_one_file(tmp_path: Path) -> None:
    layout = layout_for("linux", env={}, home=tmp_path)
    service.install(layout, tray=False, runner=FakeManager(user_session=False))
    file, notes = service.install(layout, tray=True, runner=FakeManager(user_session=True))
    assert file.kind == "systemd" and any("removed the XDG autostart entry" in n for n in notes)
    assert files_under(tmp_path) == [file.path]


def test_a_file_posture_did_not_write_is_never_touched(tmp_path: Path) -> None:
    layout = layout_for("linux", env={}, home=tmp_path)
    unit = layout.files[0].path
    unit.parent.mkdir(parents=True)
    unit.write_text("[Service]\nExecStart=/usr/bin/my-own-thing\n")
    with pytest.raises(ServiceError, match="was not written by posture"):
        service.install(layout, tray=False, runner=FakeManager())
    assert unit.read_text() == "[Service]\nExecStart=/usr/bin/my-own-thing\n"
    removed, foreign = service.uninstall(layout, runner=FakeManager())
    assert removed == [] and foreign == [unit] and unit.exists()
    assert service.status(layout, runner=FakeManager()).foreign == (unit,)
    assert [p.name for p in unit.parent.iterdir()] == ["posture.service"]  # no temporary file left


def test_macos_launch_agent(tmp_path: Path) -> None:
    layout = layout_for("darwin", env={}, home=tmp_path)
    manager = FakeManager()
    file, _notes = service.install(layout, tray=True, env=ODD_ENV, runner=manager)
    assert file.path == tmp_path / "Library" / "LaunchAgents" / "posture.agent.plist"
    plist = plistlib.loads(file.path.read_bytes())
    assert plist["Label"] == "posture.agent"
    assert plist["ProgramArguments"] == [sys.executable, "-m", "posture", "tray"]
    assert plist["RunAtLoad"] is True and plist["KeepAlive"] == {"SuccessfulExit": False}
    assert plist["EnvironmentVariables"] == {
        "POSTURE_CONFIG_DIR": "/tmp/conf",
        "POSTURE_DATA_DIR": "/tmp/my data %d $HOME",
    }
    assert plist["StandardErrorPath"] == str(tmp_path / "Library" / "Logs" / "posture.log")
    assert plist["PostureManaged"].startswith(MARKER)
    assert ["launchctl", "load", "-w", str(file.path)] in manager.calls
    manager.active = True
    assert service.status(layout, runner=manager).running.startswith("yes (launchd: loaded, running)")
    service.uninstall(layout, runner=manager)
    assert ["launchctl", "unload", "-w", str(file.path)] in manager.calls
    assert not file.path.exists()


def test_windows_startup_script(tmp_path: Path) -> None:
    appdata = tmp_path / "AppData" / "Roaming"
    layout = layout_for("win32", env={"APPDATA": str(appdata)}, home=tmp_path)
    manager = FakeManager()
    file, _notes = service.install(
        layout,
        tray=False,
        env={"POSTURE_DATA_DIR": r"C:\Users\a b\100%"},
        runner=manager,
        python=r"C:\py\python.exe",
    )
    startup = appdata / "Microsoft" / "Windows" / "Start Menu" / "Programs" / "Startup"
    assert file.path == startup / "posture.cmd"
    raw = file.path.read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n")  # CRLF line ends
    lines = raw.decode().splitlines()
    assert lines[0] == "@echo off" and MARKER in lines[1]
    assert r'set "POSTURE_DATA_DIR=C:\Users\a b\100%%"' in lines
    assert lines[-1] == r'start "posture" "C:\py\python.exe" "-m" "posture" "monitor"'
    assert manager.calls == []  # no service manager on Windows: the Startup folder is enough
    service.uninstall(layout, runner=manager)
    assert files_under(tmp_path) == []


def test_windowless_python_is_used_where_there_is_one(tmp_path: Path) -> None:
    (tmp_path / "python.exe").write_text("")
    (tmp_path / "pythonw.exe").write_text("")
    argv = service.service_command(tray=True, python=str(tmp_path / "python.exe"), windowless=True)
    assert argv[0] == str(tmp_path / "pythonw.exe")


@pytest.mark.slow
def test_cli_install_status_uninstall_with_a_fake_systemctl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commands end to end; the PATH's systemctl is a script that has no user session, so
    nothing reaches the machine's own service manager."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "systemctl.log"
    fake = bin_dir / "systemctl"
    fake.write_text(f'#!/bin/sh\necho "$@" >> "{log}"\nexit 1\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    config_home = Path(os.environ["XDG_CONFIG_HOME"])
    out = io.StringIO()
    assert main(["service", "status"], stdout=out) == 0
    assert "installed: nothing" in out.getvalue() and "running: no posture monitor answers" in out.getvalue()
    out = io.StringIO()
    assert main(["service", "install", "--tray"], stdout=out) == 0
    entry = config_home / "autostart" / "posture.desktop"
    assert f"installed XDG autostart entry {entry}: runs posture tray at login" in out.getvalue()
    out = io.StringIO()
    assert main(["service", "status"], stdout=out) == 0
    assert f"installed: XDG autostart entry {entry}" in out.getvalue()
    out = io.StringIO()
    assert main(["service", "uninstall"], stdout=out) == 0
    assert out.getvalue() == f"removed XDG autostart entry {entry}\n"
    assert not entry.exists()
    assert main(["service", "install", "--config", str(tmp_path / "missing.toml")], stdout=io.StringIO()) == 2
    assert "show-environment" in log.read_text()
