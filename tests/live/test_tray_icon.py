"""The tray's thin side: the icon's picture, the check for a tray host, the monitor it owns, and
``posture tray`` where no icon can be shown (it says so once; its monitor keeps running)."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from posture._cli.main import main
from posture.live.tray import COLOURS, TrayState, TrayView
from posture.live.tray_icon import icon_image, tray_host


@pytest.mark.parametrize("state", list(TrayState), ids=lambda s: s.value)
def test_the_icon_is_the_states_colour(state: TrayState) -> None:
    image = icon_image(TrayView(state, COLOURS[state], "posture"), size=32)
    assert image.size == (32, 32) and image.mode == "RGB"  # opaque: X11 tray hosts drop alpha
    colours = sorted(image.getcolors(), reverse=True)
    ref = tuple(int(COLOURS[state][i : i + 2], 16) for i in (1, 3, 5))
    assert colours[0][1] == ref and colours[0][0] > 32 * 32 // 2
    marked = state not in (TrayState.FINE, TrayState.BUILDING)  # the posture states are plain
    assert any(c == (255, 255, 255) for _, c in colours) is marked


def test_tray_host_says_why_there_is_no_tray() -> None:
    assert "no display" in (tray_host({}) or "")
    assert "Wayland" in (tray_host({"WAYLAND_DISPLAY": "wayland-0"}) or "")
    pytest.importorskip("Xlib", reason="python-xlib comes with pystray (the tray extra)")
    assert "cannot open the display" in (tray_host({"DISPLAY": ":999"}) or "")


def test_tray_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tray", "--source", str(tmp_path / "nope.mp4")], stdout=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert err.startswith("posture: error: --source: no such file") and err.count("\n") == 1


@pytest.mark.slow
@pytest.mark.mediapipe
def test_without_a_tray_it_says_so_once_and_its_monitor_keeps_running(tmp_path: Path) -> None:
    from posture.sources.demo import clip_path

    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env["WAYLAND_DISPLAY"] = "wayland-0"  # a Wayland session without XWayland: no tray to dock in
    with clip_path() as clip:
        cmd = [
            sys.executable,
            "-m",
            "posture",
            "tray",
            "--source",
            str(clip),
            "--loop",
            "--alerts",
            "console",
        ]
        tray = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            first = tray.stdout.readline()
            assert first.startswith("posture tray: no tray icon: this Wayland session has no X11 tray")
            assert "The monitor keeps running" in first
            deadline = time.monotonic() + 60
            while True:  # its monitor starts and answers
                out = io.StringIO()
                if main(["status"], stdout=out) == 0 and out.getvalue().startswith("Monitoring"):
                    break
                assert time.monotonic() < deadline, "the tray's monitor never answered"
                time.sleep(0.5)
        finally:
            tray.send_signal(signal.SIGTERM)
            rest, _ = tray.communicate(timeout=30)
    assert tray.returncode == 0, rest
    assert "no tray icon" not in rest  # said once
    log = (Path(os.environ["POSTURE_RUNTIME_DIR"]) / "tray-monitor.log").read_text()
    assert re.search(r"session over: present \d+ s", log)  # stopped cleanly, its session saved
    assert main(["status"], stdout=io.StringIO()) == 1  # and gone
