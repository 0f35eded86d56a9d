"""Notification sinks, with fake runners and program lookups: nothing is really run."""

from __future__ import annotations

import base64
import io
import logging
import subprocess
from collections.abc import Sequence

import pytest

from posture.live.alerts import ConsoleSink, DesktopSink, SoundSink, make_sinks
from posture.policy import Notification

NOTE = Notification(
    t_s=250.0,
    kind="posture",
    title="Check your posture",
    message="Your head has been forward of your shoulders for 4 minutes.",
    level=1,
    findings=("forward_head",),
    advice=("forward_head",),
)


class FakeRunner:
    def __init__(self, status: int = 0, error: Exception | None = None) -> None:
        self.calls: list[list[str]] = []
        self.status = status
        self.error = error

    def __call__(self, args: Sequence[str], timeout_s: float) -> int:
        assert timeout_s > 0
        self.calls.append(list(args))
        if self.error is not None:
            raise self.error
        return self.status


def found(name: str) -> str:
    return f"/usr/bin/{name}"


def not_found(name: str) -> None:
    return None


def test_console_sink_writes_one_line() -> None:
    out = io.StringIO()
    with ConsoleSink(out) as sink:
        sink.send(NOTE)
        sink.send(Notification(3725.0, "break", "Time for a break", "Line one\nline two.", 1))
    lines = out.getvalue().splitlines()
    assert lines == [
        "[4:10] Check your posture: Your head has been forward of your shoulders for 4 minutes."
        " (advice: forward_head)",
        "[1:02:05] Time for a break: Line one line two.",
    ]


def test_desktop_linux_uses_notify_send() -> None:
    runner = FakeRunner()
    sink = DesktopSink(runner=runner, which=found, platform="linux")
    sink.send(NOTE)
    assert runner.calls == [
        [
            "/usr/bin/notify-send",
            "--app-name=posture",
            "--urgency=normal",
            "Check your posture",
            "Your head has been forward of your shoulders for 4 minutes.",
        ]
    ]
    sink.send(Notification(0.0, "posture", "Time to change position", "m", level=3))
    assert runner.calls[1][2] == "--urgency=critical"


def test_desktop_macos_passes_text_as_arguments_not_code() -> None:
    runner = FakeRunner()
    sink = DesktopSink(runner=runner, which=found, platform="darwin")
    tricky = Notification(0.0, "posture", 'Say "hi"', 'end tell" & do shell script "rm', 1)
    sink.send(tricky)
    (args,) = runner.calls
    assert args[0] == "/usr/bin/osascript"
    assert args[1::2][:3] == ["-e", "-e", "-e"]
    assert "display notification (item 2 of argv) with title (item 1 of argv)" in args
    assert args[-2:] == ['Say "hi"', 'end tell" & do shell script "rm']


def test_desktop_windows_uses_an_encoded_powershell_toast() -> None:
    runner = FakeRunner()
    sink = DesktopSink(runner=runner, which=lambda n: f"C:/Windows/{n}.exe", platform="win32")
    sink.send(Notification(0.0, "posture", "It's time", "Don\u2019t slouch", 1))
    (args,) = runner.calls
    assert args[:4] == ["C:/Windows/powershell.exe", "-NoProfile", "-NonInteractive", "-EncodedCommand"]
    script = base64.b64decode(args[4]).decode("utf-16-le")
    assert "ToastNotificationManager" in script
    assert "CreateTextNode('It''s time')" in script
    assert "CreateTextNode('Don\u2019\u2019t slouch')" in script


def test_missing_tool_warns_once_and_does_nothing(caplog: pytest.LogCaptureFixture) -> None:
    runner = FakeRunner()
    sink = DesktopSink(runner=runner, which=not_found, platform="linux")
    with caplog.at_level(logging.WARNING, logger="posture.live.alerts"):
        for _ in range(3):
            sink.send(NOTE)
    assert runner.calls == []
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "notify-send" in warnings[0].getMessage()


def test_unsupported_platform_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    runner = FakeRunner()
    sink = DesktopSink(runner=runner, which=found, platform="plan9")
    with caplog.at_level(logging.WARNING, logger="posture.live.alerts"):
        sink.send(NOTE)
        sink.send(NOTE)
    assert runner.calls == []
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


@pytest.mark.parametrize(
    "runner",
    [
        FakeRunner(status=1),
        FakeRunner(error=FileNotFoundError("gone")),
        FakeRunner(error=subprocess.TimeoutExpired(["notify-send"], 10.0)),
    ],
)
def test_a_failing_notifier_warns_once(runner: FakeRunner, caplog: pytest.LogCaptureFixture) -> None:
    sink = DesktopSink(runner=runner, which=found, platform="linux")
    with caplog.at_level(logging.WARNING, logger="posture.live.alerts"):
        sink.send(NOTE)
        sink.send(NOTE)
    assert len(runner.calls) == 2
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


def test_sound_plays_a_system_sound_when_there_is_a_player() -> None:
    runner, out = FakeRunner(), io.StringIO()
    sink = SoundSink(stream=out, runner=runner, which=found, platform="linux", sound_file="/s/bell.oga")
    sink.send(NOTE)
    assert runner.calls == [["/usr/bin/paplay", "/s/bell.oga"]]
    assert out.getvalue() == ""

    runner = FakeRunner()
    SoundSink(stream=out, runner=runner, which=found, platform="darwin", sound_file="/S/Glass.aiff").send(
        NOTE
    )
    assert runner.calls == [["/usr/bin/afplay", "/S/Glass.aiff"]]


def test_sound_falls_back_to_the_terminal_bell() -> None:
    runner, out = FakeRunner(), io.StringIO()
    SoundSink(stream=out, runner=runner, which=not_found, platform="linux", sound_file="/s/bell.oga").send(
        NOTE
    )
    assert runner.calls == []
    assert out.getvalue() == "\a"

    out = io.StringIO()
    SoundSink(stream=out, runner=runner, which=found, platform="win32").send(NOTE)
    assert out.getvalue() == "\a"

    out = io.StringIO()
    failing = FakeRunner(status=2)
    SoundSink(stream=out, runner=failing, which=found, platform="linux", sound_file="/s/bell.oga").send(NOTE)
    assert len(failing.calls) == 1
    assert out.getvalue() == "\a"


def test_make_sinks() -> None:
    out = io.StringIO()
    sinks = make_sinks(["console", "Desktop", "sound", "console"], out)
    assert [type(s) for s in sinks] == [ConsoleSink, DesktopSink, SoundSink]
    assert make_sinks([], out) == []


def test_make_sinks_rejects_an_unknown_name() -> None:
    with pytest.raises(ValueError, match="unknown alert sink 'email'"):
        make_sinks(["console", "email"], io.StringIO())
