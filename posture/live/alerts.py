"""Notification sinks: where the alert policy's notifications go.

Each sink has ``send(notification)`` and ``close()`` and is a context manager. External programs
(``notify-send``, ``osascript``, PowerShell, ``paplay``, ``afplay``) run with an argument list,
never through a shell, and with a timeout; the runner is injectable so tests use a fake. A missing
program is logged once as a warning and the sink then does nothing. No network, ever.
"""

from __future__ import annotations

import base64
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from posture.durations import clock
from posture.policy import Notification

__all__ = [
    "SINK_NAMES",
    "ConsoleSink",
    "DesktopSink",
    "Runner",
    "Sink",
    "SoundSink",
    "desktop_program",
    "make_sinks",
    "run_command",
    "sound_command",
]

logger = logging.getLogger(__name__)

SINK_NAMES: tuple[str, ...] = ("console", "desktop", "sound")

# runner(args, timeout_s) -> exit status; may raise OSError or subprocess.SubprocessError
Runner = Callable[[Sequence[str], float], int]
Which = Callable[[str], "str | None"]

# The Windows PowerShell app id: toasts from an unregistered app id are silently dropped.
_POWERSHELL_APP_ID = r"{1AC14E77-02E7-4E5D-B744-2EB1AE5198B7}\WindowsPowerShell\v1.0\powershell.exe"
_LINUX_SOUNDS = (
    "/usr/share/sounds/freedesktop/stereo/message-new-instant.oga",
    "/usr/share/sounds/freedesktop/stereo/bell.oga",
    "/usr/share/sounds/freedesktop/stereo/complete.oga",
)
_MACOS_SOUNDS = ("/System/Library/Sounds/Glass.aiff", "/System/Library/Sounds/Ping.aiff")


def run_command(args: Sequence[str], timeout_s: float) -> int:
    """Run a program (no shell), discarding its output; returns its exit status."""
    completed = subprocess.run(
        list(args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=timeout_s,
        check=False,
    )
    return completed.returncode


class Sink:
    """Receives notifications. Subclasses implement :meth:`send`; :meth:`close` releases."""

    def send(self, notification: Notification) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the sink holds (nothing by default)."""

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _one_line(text: str) -> str:
    return " ".join(text.split())


class ConsoleSink(Sink):
    """One line per notification on a text stream (the stream stays open: it is not ours)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def send(self, notification: Notification) -> None:
        line = f"[{clock(notification.t_s, decimals=False)}] {notification.title}: {notification.message}"
        if notification.advice:
            line += f" (advice: {', '.join(notification.advice)})"
        self._stream.write(_one_line(line) + "\n")
        self._stream.flush()

    def close(self) -> None:
        self._stream.flush()


class _CommandSink(Sink):
    """Shared by the sinks that run a program: the runner, the lookup and warn-once logging."""

    def __init__(self, runner: Runner | None, which: Which, platform: str, timeout_s: float) -> None:
        self._runner = runner if runner is not None else run_command
        self._which = which
        self._platform = platform
        self._timeout_s = timeout_s
        self._warned: set[str] = set()  # warnings already logged once

    def _warn_once(self, key: str, message: str, *args: object) -> None:
        if key in self._warned:
            logger.debug(message, *args)
        else:
            self._warned.add(key)
            logger.warning(message, *args)

    def _run(self, args: Sequence[str]) -> bool:
        """Run ``args``; False (and a warning once) when it fails."""
        name = os.path.basename(args[0])
        try:
            status = self._runner(list(args), self._timeout_s)
        except subprocess.TimeoutExpired:
            self._warn_once("timeout", "%s took longer than %.0f s", name, self._timeout_s)
            return False
        except (OSError, subprocess.SubprocessError) as exc:
            self._warn_once("error", "%s failed: %s", name, exc)
            return False
        if status:
            self._warn_once("status", "%s exited with status %s", name, status)
            return False
        return True


def _powershell_literal(text: str) -> str:
    # PowerShell also ends single-quoted strings at typographic single quotes; doubling escapes
    for quote in "'\u2018\u2019\u201a\u201b":
        text = text.replace(quote, quote * 2)
    return f"'{text}'"


def _toast_script(title: str, message: str) -> str:
    return "\n".join(
        [
            "[Windows.UI.Notifications.ToastNotificationManager, Windows.UI.Notifications,"
            " ContentType = WindowsRuntime] > $null",
            "$xml = [Windows.UI.Notifications.ToastNotificationManager]::GetTemplateContent("
            "[Windows.UI.Notifications.ToastTemplateType]::ToastText02)",
            "$texts = $xml.GetElementsByTagName('text')",
            f"$texts.Item(0).AppendChild($xml.CreateTextNode({_powershell_literal(title)})) > $null",
            f"$texts.Item(1).AppendChild($xml.CreateTextNode({_powershell_literal(message)})) > $null",
            "$toast = [Windows.UI.Notifications.ToastNotification]::new($xml)",
            "[Windows.UI.Notifications.ToastNotificationManager]::CreateToastNotifier("
            f"{_powershell_literal(_POWERSHELL_APP_ID)}).Show($toast)",
        ]
    )


def desktop_program(platform: str = sys.platform) -> str | None:
    """The program that shows a desktop notification on ``platform``, or None where none is known."""
    if platform == "darwin":
        return "osascript"
    if platform in ("win32", "cygwin"):
        return "powershell"
    if platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return "notify-send"
    return None


def sound_command(
    platform: str = sys.platform, which: Which = shutil.which, sound_file: str | None = None
) -> list[str] | None:
    """The player and system sound that play an alert sound on ``platform`` (``paplay`` on Linux,
    ``afplay`` on macOS), or None when either is missing (the sound sink then rings the bell)."""
    if platform == "darwin":
        name, candidates = "afplay", _MACOS_SOUNDS
    elif platform.startswith("linux"):
        name, candidates = "paplay", _LINUX_SOUNDS
    else:
        return None
    sound = sound_file or next((p for p in candidates if os.path.isfile(p)), None)
    player = which(name) if sound is not None else None
    return [player, sound] if sound is not None and player is not None else None


class DesktopSink(_CommandSink):
    """An OS notification: ``notify-send`` on Linux, ``osascript`` on macOS, a PowerShell toast
    on Windows, chosen by ``platform`` (default ``sys.platform``)."""

    def __init__(
        self,
        runner: Runner | None = None,
        which: Which = shutil.which,
        platform: str = sys.platform,
        timeout_s: float = 10.0,
    ) -> None:
        super().__init__(runner, which, platform, timeout_s)
        self._tool: str | None = None  # full path of the program, once found
        self._looked_up = False  # the program has been looked for

    def _program(self) -> str | None:
        if self._looked_up:
            return self._tool
        self._looked_up = True
        name = desktop_program(self._platform)
        if name is None:
            self._warn_once("missing", "desktop notifications are not supported on %s", self._platform)
            return None
        self._tool = self._which(name)
        if self._tool is None:
            self._warn_once("missing", "desktop notifications need %s, which was not found", name)
        return self._tool

    def command(self, notification: Notification) -> list[str] | None:
        """The argument list that shows ``notification``, or None without a notifier."""
        tool = self._program()
        if tool is None:
            return None
        title, message = _one_line(notification.title), _one_line(notification.message)
        if self._platform == "darwin":
            return [
                tool,
                "-e",
                "on run argv",
                "-e",
                "display notification (item 2 of argv) with title (item 1 of argv)",
                "-e",
                "end run",
                title,
                message,
            ]
        if self._platform in ("win32", "cygwin"):
            script = base64.b64encode(_toast_script(title, message).encode("utf-16-le")).decode("ascii")
            return [tool, "-NoProfile", "-NonInteractive", "-EncodedCommand", script]
        urgency = "critical" if notification.level >= 3 else "normal"
        return [tool, "--app-name=posture", f"--urgency={urgency}", title, message]

    def send(self, notification: Notification) -> None:
        args = self.command(notification)
        if args is not None:
            self._run(args)


class SoundSink(_CommandSink):
    """A short sound: ``paplay`` (Linux) or ``afplay`` (macOS) of a system sound when both the
    player and the sound exist, otherwise the terminal bell on ``stream``."""

    def __init__(
        self,
        stream: TextIO | None = None,
        runner: Runner | None = None,
        which: Which = shutil.which,
        platform: str = sys.platform,
        sound_file: str | None = None,
        timeout_s: float = 5.0,
    ) -> None:
        super().__init__(runner, which, platform, timeout_s)
        self._stream = stream
        self._sound_file = sound_file
        self._args: list[str] | None = None  # the player command, once chosen
        self._chosen = False  # the player has been looked for

    def _player(self) -> list[str] | None:
        if self._chosen:
            return self._args
        self._chosen = True
        self._args = sound_command(self._platform, self._which, self._sound_file)
        return self._args

    def _bell(self) -> None:
        if self._stream is None:
            self._warn_once("missing", "no sound player found and no terminal for the bell")
            return
        self._stream.write("\a")
        self._stream.flush()

    def send(self, notification: Notification) -> None:
        args = self._player()
        if args is None or not self._run(args):
            self._bell()


def make_sinks(names: Sequence[str], stream: TextIO) -> list[Sink]:
    """Sinks by name (``console``, ``desktop``, ``sound``); ``stream`` serves console and bell."""
    sinks: list[Sink] = []
    seen: set[str] = set()
    for raw in names:
        name = raw.strip().lower()
        if name not in SINK_NAMES:
            raise ValueError(f"unknown alert sink {raw!r}; choose from {', '.join(SINK_NAMES)}")
        if name in seen:
            continue
        seen.add(name)
        if name == "console":
            sinks.append(ConsoleSink(stream))
        elif name == "desktop":
            sinks.append(DesktopSink())
        else:
            sinks.append(SoundSink(stream=stream))
    return sinks
